// End to end under failure: pactumd killed with SIGKILL in the middle of a chat, PostgreSQL
// restarted under a running pactumd, and a graceful stop under load. Each test checks what a user
// would notice: no acknowledged message is lost or moved, nothing is stored twice, every
// conversation stays gap-free, a retry with the same client_id succeeds, and the server recovers
// by itself.
//
// The moments of failure are random but seeded: the seed is printed, and PACTUM_CRASH_SEED=<n>
// replays the same choices (the interleaving of threads still varies from run to run).

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <deque>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "pactum/sim/client.hpp"
#include "pactumd_process.hpp"
#include "private_cluster.hpp"
#include "test_database.hpp"

using namespace pactum::sim;
using pactum::test_support::pactumd_process;
using pactum::test_support::private_cluster;

namespace {

using steady = std::chrono::steady_clock;

/// pactumd answers every request within this (runtime_config::request_timeout), `timeout` at the
/// latest. A client waiting longer than this plus a margin has been left hanging.
constexpr auto server_request_timeout = 10s;
constexpr auto hang_limit = server_request_timeout + 2s;

uint64_t crash_seed() {
  if (const char* s = std::getenv("PACTUM_CRASH_SEED"); s && *s)
    return std::stoull(s);
  return (uint64_t{std::random_device{}()} << 32) | std::random_device{}();
}

/// Seeds this test's random choices and prints the seed so that a failure can be replayed.
std::mt19937_64 seeded_rng() {
  auto seed = crash_seed();
  std::cout << "[   seed   ] PACTUM_CRASH_SEED=" << seed << " replays this test's choices\n";
  ::testing::Test::RecordProperty("crash_seed", std::to_string(seed));
  return std::mt19937_64{seed};
}

double ms_between(steady::time_point a, steady::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

std::string tail_lines(const std::string& text, size_t n) {
  size_t pos = text.size();
  for (size_t i = 0; i <= n && pos > 0; ++i)
    pos = text.rfind('\n', pos - 1);
  return pos == std::string::npos ? text : text.substr(pos + 1);
}

/// A brand, a creator and their conversation.
struct conversation_pair {
  account brand;
  account creator;
  std::string conversation;
};

std::vector<conversation_pair> make_pairs(const endpoint& ep, size_t n) {
  std::vector<conversation_pair> pairs(n);
  for (size_t i = 0; i < n; ++i) {
    pairs[i].brand = make_account(ep, "brand", "Brand" + std::to_string(i));
    pairs[i].creator = make_account(ep, "creator", "Creator" + std::to_string(i));
    ws_client b{ep, pairs[i].brand.token};
    auto r = b.request(json{{"type", "conversation.open"}, {"with", pairs[i].creator.id}});
    if (r["type"] != "ok")
      throw std::runtime_error("conversation.open failed: " + r.dump());
    pairs[i].conversation = r["conversation"]["id"].get<std::string>();
  }
  return pairs;
}

/// One message.send and what came of it.
struct attempt {
  enum class result { acked, refused, no_reply };
  size_t pair = 0;
  bool from_brand = true;
  std::string client_id;
  std::string text;
  result outcome = result::no_reply;
  int64_t seq = 0;        // when acked
  bool duplicate = false; // when acked
  std::string code;       // when refused
  steady::time_point sent_at{};
  steady::time_point answered_at{};
};

/// Fills `a` from the server's reply (or its absence).
void record_reply(attempt& a, const std::optional<json>& reply) {
  a.answered_at = steady::now();
  if (!reply) {
    a.outcome = attempt::result::no_reply;
  } else if ((*reply)["type"] == "ok") {
    a.outcome = attempt::result::acked;
    a.seq = (*reply)["seq"].get<int64_t>();
    a.duplicate = (*reply)["duplicate"].get<bool>();
  } else {
    a.outcome = attempt::result::refused;
    a.code = (*reply).value("code", "?");
  }
}

json send_request(const std::string& conversation, const attempt& a) {
  // The request id is the client id: unique per test, so replies are easy to match.
  return json{{"type", "message.send"},
              {"id", a.client_id},
              {"conversation", conversation},
              {"client_id", a.client_id},
              {"text", a.text}};
}

/// Brands and creators chatting concurrently: one WebSocket per member of each pair, each keeping
/// up to `window` message.send requests outstanding (pipelined), each with a unique client_id.
/// Senders keep going until `finish()` or until their connection ends.
class chat_load {
public:
  struct options {
    std::string tag;      ///< prefix of every client id; unique per load within a test
    size_t window = 20;   ///< outstanding requests per connection
    std::chrono::milliseconds reply_timeout = hang_limit;
    /// What a well-behaved client does after `unavailable`/`overloaded`; keeps a refusing server
    /// from being flooded with thousands of doomed requests.
    std::chrono::milliseconds backoff_after_refusal{50};
    size_t max_per_connection = 5'000; ///< a bound on the test, never reached when it works
  };

  chat_load(const endpoint& ep, const std::vector<conversation_pair>& pairs, options opt)
    : pairs_(pairs), opt_(std::move(opt)) {
    for (size_t p = 0; p < pairs_.size(); ++p)
      for (bool brand : {true, false}) {
        auto s = std::make_unique<sender>();
        s->pair = p;
        s->brand = brand;
        s->ws = std::make_unique<ws_client>(ep, brand ? pairs_[p].brand.token
                                                      : pairs_[p].creator.token);
        senders_.push_back(std::move(s));
      }
    for (auto& s : senders_)
      s->thread = std::thread([this, raw = s.get()] { run(*raw); });
  }

  ~chat_load() { finish(); }

  chat_load(const chat_load&) = delete;
  chat_load& operator=(const chat_load&) = delete;

  size_t connections() const { return senders_.size(); }

  size_t acked() const {
    std::lock_guard<std::mutex> guard{mtx_};
    return acked_;
  }

  /// Waits until `n` messages in total have been acknowledged.
  bool wait_acked(size_t n, std::chrono::milliseconds timeout) {
    std::unique_lock<std::mutex> guard{mtx_};
    return cv_.wait_for(guard, timeout, [&] { return acked_ >= n; });
  }

  /// Waits until every connection has had a message acknowledged that it sent at or after
  /// `since`; returns when that happened, or nullopt on timeout.
  std::optional<steady::time_point> wait_all_acked_since(steady::time_point since,
                                                         std::chrono::milliseconds timeout) {
    std::unique_lock<std::mutex> guard{mtx_};
    bool ok = cv_.wait_for(guard, timeout, [&] {
      return std::all_of(senders_.begin(), senders_.end(),
                         [&](const auto& s) { return s->last_acked_sent >= since; });
    });
    if (!ok)
      return std::nullopt;
    return steady::now();
  }

  /// Stops sending, waits for the answers still outstanding (or their connection's end), joins
  /// the senders and returns every attempt. Later calls return nothing.
  std::vector<attempt> finish() {
    stop_ = true;
    std::vector<attempt> all;
    for (auto& s : senders_) {
      if (s->thread.joinable())
        s->thread.join();
      for (auto& a : s->attempts)
        all.push_back(std::move(a));
      s->attempts.clear();
    }
    return all;
  }

  /// Per connection: the close code the server sent (0 while open or when none was sent) and
  /// whether it has ended.
  std::vector<std::pair<bool, uint16_t>> connection_states() const {
    std::vector<std::pair<bool, uint16_t>> out;
    for (auto& s : senders_)
      out.emplace_back(s->ws->closed(), s->ws->close_code());
    return out;
  }

private:
  struct sender {
    size_t pair = 0;
    bool brand = true;
    std::unique_ptr<ws_client> ws;
    std::vector<attempt> attempts;
    steady::time_point last_acked_sent{}; // guarded by mtx_
    std::thread thread;
  };

  void run(sender& s) {
    auto& c = *s.ws;
    const auto& conv = pairs_[s.pair].conversation;
    std::deque<size_t> outstanding; // indices into s.attempts, oldest first
    size_t n = 0;
    for (;;) {
      while (!stop_ && !c.closed() && outstanding.size() < opt_.window
             && n < opt_.max_per_connection) {
        attempt a;
        a.pair = s.pair;
        a.from_brand = s.brand;
        a.client_id = opt_.tag + (s.brand ? "-b" : "-c") + std::to_string(s.pair) + "-"
                      + std::to_string(n++);
        a.text = "message " + a.client_id;
        a.sent_at = steady::now();
        c.send(send_request(conv, a));
        s.attempts.push_back(std::move(a));
        outstanding.push_back(s.attempts.size() - 1);
      }
      if (outstanding.empty())
        return;
      auto& a = s.attempts[outstanding.front()];
      outstanding.pop_front();
      record_reply(a, c.wait_reply(a.client_id, opt_.reply_timeout));
      if (a.outcome == attempt::result::acked) {
        {
          std::lock_guard<std::mutex> guard{mtx_};
          ++acked_;
          s.last_acked_sent = std::max(s.last_acked_sent, a.sent_at);
        }
        cv_.notify_all();
      } else if (a.outcome == attempt::result::refused && !stop_) {
        std::this_thread::sleep_for(opt_.backoff_after_refusal);
      }
    }
  }

  const std::vector<conversation_pair>& pairs_;
  options opt_;
  std::vector<std::unique_ptr<sender>> senders_;
  std::atomic<bool> stop_{false};
  mutable std::mutex mtx_;
  std::condition_variable cv_;
  size_t acked_ = 0;
};

/// One stored event as `history` returns it.
struct stored_event {
  int64_t seq = 0;
  std::string type;
  std::string author;
  std::string client_id;
  std::string text;
};

/// The whole history of a conversation, oldest first, paged backwards 200 at a time the way a
/// client scrolls up.
std::vector<stored_event> read_history(ws_client& c, const std::string& conversation) {
  std::vector<stored_event> out;
  int64_t before = 0;
  for (;;) {
    json q{{"type", "history"}, {"conversation", conversation}, {"limit", 200}};
    if (before != 0)
      q["before"] = before;
    auto page = c.request(q, 20s);
    if (page["type"] != "ok")
      throw std::runtime_error("history failed: " + page.dump());
    const auto& events = page["events"];
    for (auto i = events.size(); i-- > 0;) {
      const auto& e = events[i];
      stored_event s;
      s.seq = e["seq"].get<int64_t>();
      s.type = e["event"].value("type", "");
      s.author = e["event"].value("author", "");
      s.client_id = e["event"].value("client_id", "");
      s.text = e["event"].value("text", "");
      out.push_back(std::move(s));
    }
    if (events.empty() || !page["more"].get<bool>())
      break;
    before = events[0]["seq"].get<int64_t>();
  }
  std::reverse(out.begin(), out.end());
  return out;
}

/// Connects like a well-behaved client after an outage: right after PostgreSQL restarts, the first
/// token lookup on each stale pooled connection fails fast (upgrade answered 503, `unavailable`),
/// so retry for a bounded time.
std::unique_ptr<ws_client> connect_retrying(const endpoint& ep, const std::string& token) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
  for (;;) {
    try {
      return std::make_unique<ws_client>(ep, token);
    } catch (const upgrade_refused& e) {
      if (e.status == 401 || e.status == 403 || std::chrono::steady_clock::now() > deadline)
        throw;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
}

std::vector<std::vector<stored_event>> read_histories(const endpoint& ep,
                                                      const std::vector<conversation_pair>& pairs) {
  std::vector<std::vector<stored_event>> out;
  for (const auto& p : pairs) {
    auto c = connect_retrying(ep, p.creator.token);
    out.push_back(read_history(*c, p.conversation));
  }
  return out;
}

/// Checks every conversation: seqs 1..head without a gap, seq 1 opens it, no client id stored
/// twice, and every acknowledged message stored at the seq of its ack, by its author, with its
/// text. With `complete`, also that exactly the attempted messages are stored, each once.
void expect_stored_correctly(const std::vector<conversation_pair>& pairs,
                             const std::vector<std::vector<stored_event>>& histories,
                             const std::vector<attempt>& attempts, bool complete) {
  for (size_t p = 0; p < pairs.size(); ++p) {
    const auto& h = histories[p];
    SCOPED_TRACE("conversation " + pairs[p].conversation);
    ASSERT_FALSE(h.empty());
    EXPECT_EQ(h.front().type, "conversation.opened");
    for (size_t i = 0; i < h.size(); ++i)
      if (h[i].seq != static_cast<int64_t>(i + 1)) {
        ADD_FAILURE() << "gap or disorder in the journal: position " << i << " holds seq "
                      << h[i].seq;
        break;
      }
    std::map<std::string, int> stored;
    for (const auto& e : h)
      if (e.type == "message.posted")
        ++stored[e.client_id];
    for (const auto& [cid, count] : stored)
      EXPECT_EQ(count, 1) << "client_id " << cid << " stored " << count << " times";
    size_t attempted = 0;
    for (const auto& a : attempts) {
      if (a.pair != p)
        continue;
      ++attempted;
      const auto& author = a.from_brand ? pairs[p].brand.id : pairs[p].creator.id;
      if (a.outcome == attempt::result::acked) {
        if (a.seq < 1 || a.seq > static_cast<int64_t>(h.size())) {
          ADD_FAILURE() << "acknowledged " << a.client_id << " at seq " << a.seq
                        << " is missing: the history ends at " << h.size();
          continue;
        }
        const auto& e = h[static_cast<size_t>(a.seq - 1)];
        EXPECT_EQ(e.client_id, a.client_id) << "seq " << a.seq << " was acknowledged for "
                                            << a.client_id << " but holds " << e.client_id;
        EXPECT_EQ(e.author, author) << a.client_id;
        EXPECT_EQ(e.text, a.text) << a.client_id;
      }
      if (complete) {
        EXPECT_EQ(stored.count(a.client_id), 1u) << a.client_id << " is not stored";
      }
    }
    if (complete) {
      EXPECT_EQ(stored.size(), attempted) << "the history holds messages nobody sent";
    }
  }
}

/// What happened to the retries of unacknowledged messages.
struct retry_summary {
  size_t retried = 0;
  size_t stored_before = 0; ///< acknowledged as duplicates: stored although never acknowledged
  size_t failed = 0;
};

/// Sends every unacknowledged attempt again with the same client_id, from the same author, as a
/// client does after reconnecting; the attempt records the retry's reply. Each must succeed.
retry_summary retry_unacknowledged(const endpoint& ep, const std::vector<conversation_pair>& pairs,
                                   std::vector<attempt>& attempts) {
  retry_summary sum;
  // One connection per author, each sending its retries pipelined in chunks below the server's
  // per-connection limit of unanswered requests.
  std::map<std::pair<size_t, bool>, std::vector<attempt*>> by_author;
  for (auto& a : attempts)
    if (a.outcome != attempt::result::acked)
      by_author[{a.pair, a.from_brand}].push_back(&a);
  for (auto& [who, list] : by_author) {
    const auto& pair = pairs[who.first];
    auto conn = connect_retrying(ep, who.second ? pair.brand.token : pair.creator.token);
    auto& c = *conn;
    constexpr size_t chunk = 100;
    for (size_t from = 0; from < list.size(); from += chunk) {
      auto to = std::min(list.size(), from + chunk);
      for (size_t i = from; i < to; ++i) {
        list[i]->sent_at = steady::now();
        c.send(send_request(pair.conversation, *list[i]));
      }
      for (size_t i = from; i < to; ++i) {
        auto& a = *list[i];
        record_reply(a, c.wait_reply(a.client_id, hang_limit));
        ++sum.retried;
        if (a.outcome != attempt::result::acked) {
          ++sum.failed;
          ADD_FAILURE() << "retry of " << a.client_id << " did not succeed: "
                        << (a.outcome == attempt::result::refused ? a.code : "no reply");
        } else if (a.duplicate) {
          ++sum.stored_before;
        }
      }
    }
  }
  return sum;
}

struct tally {
  size_t acked = 0, refused = 0, no_reply = 0;
  std::map<std::string, size_t> codes;
};

tally count(const std::vector<attempt>& attempts) {
  tally t;
  for (const auto& a : attempts)
    switch (a.outcome) {
      case attempt::result::acked:
        ++t.acked;
        break;
      case attempt::result::refused:
        ++t.refused;
        ++t.codes[a.code];
        break;
      case attempt::result::no_reply:
        ++t.no_reply;
        break;
    }
  return t;
}

std::string describe(const tally& t) {
  std::ostringstream out;
  out << t.acked << " acked, " << t.refused << " refused";
  for (const auto& [code, n] : t.codes)
    out << " (" << code << ": " << n << ")";
  out << ", " << t.no_reply << " unanswered";
  return out.str();
}

/// pactumd on a fresh database of the shared test cluster; the server log is shown on failure.
class CrashEndToEnd : public pactum::test_support::database_test {
protected:
  void SetUp() override {
    database_test::SetUp();
    if (HasFatalFailure())
      return;
    server_.emplace(url());
  }
  void TearDown() override {
    if (HasFailure() && server_)
      std::cerr << "---- pactumd log (end) ----\n"
                << tail_lines(server_->log(), 80) << "---------------------------\n";
    server_.reset();
    database_test::TearDown();
  }

  endpoint ep() const { return endpoint{"127.0.0.1", server_->port()}; }

  std::optional<pactumd_process> server_;
};

} // namespace

TEST_F(CrashEndToEnd, KillNineMidChatLosesNoAcknowledgedMessageAndRetriesStoreOnce) {
  auto rng = seeded_rng();
  auto pairs = make_pairs(ep(), 4);
  std::vector<attempt> all; // every message of every round, with its latest outcome
  for (int round = 0; round < 3; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    // The kill lands after a random number of acknowledgements, while 160 requests are in
    // flight: some committed and acknowledged, some committed but not yet acknowledged, some
    // queued or not yet read.
    auto kill_after = std::uniform_int_distribution<size_t>{10, 600}(rng);
    std::vector<attempt> attempts;
    {
      chat_load load{ep(), pairs, {.tag = "r" + std::to_string(round), .window = 20}};
      ASSERT_TRUE(load.wait_acked(kill_after, 30s))
        << "only " << load.acked() << " of " << kill_after << " messages acknowledged in 30 s";
      server_->kill_now();
      attempts = load.finish();
      for (auto [closed, code] : load.connection_states())
        EXPECT_TRUE(closed) << "a client did not notice the server's death";
    }
    auto t = count(attempts);
    EXPECT_EQ(t.refused, 0u) << "nothing should be refused before the kill: " << describe(t);

    server_->start();
    all.insert(all.end(), std::make_move_iterator(attempts.begin()),
               std::make_move_iterator(attempts.end()));
    ASSERT_NO_FATAL_FAILURE(
      expect_stored_correctly(pairs, read_histories(ep(), pairs), all, false));

    auto retries = retry_unacknowledged(ep(), pairs, all);
    std::cout << "[  round " << round << " ] killed after " << kill_after << " acks: "
              << describe(t) << "; retried " << retries.retried << ", of which "
              << retries.stored_before << " had been stored without an ack\n";
    ASSERT_EQ(retries.failed, 0u);
    ASSERT_NO_FATAL_FAILURE(
      expect_stored_correctly(pairs, read_histories(ep(), pairs), all, true));
  }
}

TEST_F(CrashEndToEnd, GracefulStopUnderLoadExitsCleanlyAndKeepsEveryAck) {
  auto rng = seeded_rng();
  auto pairs = make_pairs(ep(), 4);
  auto stop_after = std::uniform_int_distribution<size_t>{50, 600}(rng);
  std::vector<attempt> attempts;
  steady::time_point t0{};
  steady::duration stop_took{};
  {
    chat_load load{ep(), pairs, {.tag = "g", .window = 20}};
    ASSERT_TRUE(load.wait_acked(stop_after, 30s));
    t0 = steady::now();
    EXPECT_EQ(server_->stop(), 0) << "SIGTERM under load must end in a clean exit";
    stop_took = steady::now() - t0;
    attempts = load.finish();
    for (auto [closed, code] : load.connection_states()) {
      EXPECT_TRUE(closed);
      EXPECT_EQ(code, 1001) << "shutdown closes every WebSocket with 1001 (going away)";
    }
  }
  auto t = count(attempts);
  std::cout << "[ graceful ] SIGTERM after " << stop_after << " acks, exit took "
            << std::chrono::duration_cast<std::chrono::milliseconds>(stop_took).count()
            << " ms: " << describe(t) << "\n";
  size_t refused_before_signal = 0, unanswered_before_signal = 0;
  for (const auto& a : attempts) {
    if (a.outcome == attempt::result::refused && a.sent_at < t0)
      ++refused_before_signal;
    if (a.outcome == attempt::result::no_reply && a.sent_at < t0)
      ++unanswered_before_signal;
  }
  // Unanswered requests are allowed (the protocol calls their outcome unknown); a retry settles
  // them below.
  std::cout << "[ graceful ] sent before SIGTERM: " << refused_before_signal << " of the refused, "
            << unanswered_before_signal << " of the unanswered\n";
  for (const auto& [code, n] : t.codes)
    EXPECT_EQ(code, "unavailable") << n << " requests refused during shutdown with " << code;
  // Refusals during shutdown promise that nothing was done: their retries must store anew.
  std::set<std::string> refused;
  for (const auto& a : attempts)
    if (a.outcome == attempt::result::refused)
      refused.insert(a.client_id);

  server_->start();
  ASSERT_NO_FATAL_FAILURE(
    expect_stored_correctly(pairs, read_histories(ep(), pairs), attempts, false));
  auto retries = retry_unacknowledged(ep(), pairs, attempts);
  std::cout << "[ graceful ] retried " << retries.retried << ", of which "
            << retries.stored_before << " had been stored without an ack\n";
  ASSERT_EQ(retries.failed, 0u);
  for (const auto& a : attempts) {
    if (refused.count(a.client_id)) {
      EXPECT_FALSE(a.duplicate) << a.client_id
                                << " was answered `unavailable` at shutdown but had been stored";
    }
  }
  ASSERT_NO_FATAL_FAILURE(
    expect_stored_correctly(pairs, read_histories(ep(), pairs), attempts, true));
}

namespace {

/// pactumd against its own PostgreSQL cluster, which the test restarts.
class CrashPostgresRestart : public ::testing::Test {
protected:
  void SetUp() override {
    auto t0 = steady::now();
    cluster_.emplace();
    std::cout << "[ pg restart ] private cluster on port " << cluster_->port() << " started in "
              << ms_between(t0, steady::now()) << " ms\n";
    server_.emplace(cluster_->url());
  }
  void TearDown() override {
    if (HasFailure() && server_)
      std::cerr << "---- pactumd log (end) ----\n"
                << tail_lines(server_->log(), 80) << "---- postgresql log (end) ----\n"
                << tail_lines(cluster_->server_log(), 30) << "------------------------------\n";
    server_.reset();
    cluster_.reset();
  }

  endpoint ep() const { return endpoint{"127.0.0.1", server_->port()}; }

  std::optional<private_cluster> cluster_;
  std::optional<pactumd_process> server_;
};

} // namespace

TEST_F(CrashPostgresRestart, NoRequestHangsDuringTheOutageAndTheServerRecoversByItself) {
  auto pairs = make_pairs(ep(), 3);
  std::vector<attempt> attempts;
  steady::time_point back{};
  std::optional<steady::time_point> healthy, recovered;
  std::vector<int> health_statuses;
  double slowest_health_ms = 0;
  {
    // One request at a time per connection, so each answer's latency is its own.
    chat_load load{ep(), pairs, {.tag = "pg", .window = 1}};
    ASSERT_TRUE(load.wait_acked(60, 30s)) << "no traffic before the outage";

    // Probe /healthz throughout, as a load balancer would; it must always answer.
    std::atomic<bool> probing{true};
    std::mutex health_mtx;
    std::condition_variable health_cv;
    std::thread prober([&] {
      while (probing) {
        auto t0 = steady::now();
        int status = 0;
        try {
          status = http_call(ep(), "GET", "/healthz").status;
        } catch (const std::exception&) {
          status = -1; // no answer at all
        }
        auto t1 = steady::now();
        {
          std::lock_guard<std::mutex> guard{health_mtx};
          health_statuses.push_back(status);
          slowest_health_ms = std::max(slowest_health_ms, ms_between(t0, t1));
          if (status == 200 && back != steady::time_point{} && t0 >= back && !healthy)
            healthy = t1;
        }
        health_cv.notify_all();
        std::this_thread::sleep_for(100ms); // probe interval
      }
    });

    auto restart_at = steady::now();
    std::string restart_error; // no ASSERT while the prober runs: it must be joined first
    try {
      cluster_->restart_immediate();
    } catch (const std::exception& e) {
      restart_error = e.what();
    }
    std::cout << "[ pg restart ] scripts/pg restart-immediate took "
              << ms_between(restart_at, steady::now()) << " ms\n";
    {
      std::lock_guard<std::mutex> guard{health_mtx};
      back = steady::now();
    }
    if (restart_error.empty()) {
      recovered = load.wait_all_acked_since(back, 15s);
      std::unique_lock<std::mutex> guard{health_mtx};
      health_cv.wait_for(guard, 15s, [&] { return healthy.has_value(); });
    }
    probing = false;
    prober.join();
    ASSERT_EQ(restart_error, "") << "PostgreSQL did not come back";
    // A little more traffic after recovery, then stop.
    load.wait_acked(load.acked() + 40, 10s);
    attempts = load.finish();
    for (auto [closed, code] : load.connection_states())
      EXPECT_FALSE(closed) << "a database outage must not disconnect clients (close " << code
                           << ")";
  }

  auto t = count(attempts);
  double slowest_refusal_ms = 0;
  for (const auto& a : attempts)
    if (a.outcome == attempt::result::refused)
      slowest_refusal_ms = std::max(slowest_refusal_ms, ms_between(a.sent_at, a.answered_at));
  std::map<int, size_t> statuses;
  for (int s : health_statuses)
    ++statuses[s];
  std::cout << "[ pg restart ] " << describe(t) << "; slowest refusal " << slowest_refusal_ms
            << " ms; healthz statuses:";
  for (const auto& [s, n] : statuses)
    std::cout << " " << s << "x" << n;
  std::cout << " (slowest " << slowest_health_ms << " ms)";
  if (recovered)
    std::cout << "; sends succeed again " << ms_between(back, *recovered) << " ms after restart";
  if (healthy)
    std::cout << "; healthz 200 after " << ms_between(back, *healthy) << " ms";
  std::cout << "\n";

  // While PostgreSQL is away a request either fails fast (`unavailable`/`overloaded`), or waits
  // while the journal writer resolves a commit that was in flight when the connection broke and
  // then succeeds, or at worst answers `timeout` at the request timeout. It never goes unanswered.
  EXPECT_EQ(t.no_reply, 0u) << "requests left hanging beyond the request timeout ("
                            << std::chrono::duration_cast<std::chrono::seconds>(hang_limit).count()
                            << " s)";
  for (const auto& [code, n] : t.codes)
    EXPECT_TRUE(code == "unavailable" || code == "overloaded" || code == "timeout")
      << n << " requests refused with " << code;
  EXPECT_TRUE(recovered) << "sends did not succeed again on every connection within 15 s of the "
                            "database coming back";
  EXPECT_TRUE(healthy) << "/healthz did not answer 200 within 15 s of the database coming back";
  EXPECT_EQ(statuses.count(-1), 0u) << "/healthz failed to answer at all";
  EXPECT_LT(slowest_health_ms, 1000.0 * hang_limit.count()) << "/healthz hung";

  // `unavailable` and `overloaded` promise that nothing was stored; `timeout` leaves it open.
  std::set<std::string> nothing_done;
  for (const auto& a : attempts)
    if (a.outcome == attempt::result::refused && a.code != "timeout")
      nothing_done.insert(a.client_id);
  ASSERT_NO_FATAL_FAILURE(
    expect_stored_correctly(pairs, read_histories(ep(), pairs), attempts, false));
  auto retries = retry_unacknowledged(ep(), pairs, attempts);
  ASSERT_EQ(retries.failed, 0u);
  for (const auto& a : attempts) {
    if (nothing_done.count(a.client_id)) {
      EXPECT_FALSE(a.duplicate) << a.client_id
                                << " was refused (nothing stored) but had been stored";
    }
  }
  ASSERT_NO_FATAL_FAILURE(
    expect_stored_correctly(pairs, read_histories(ep(), pairs), attempts, true));
  EXPECT_EQ(server_->stop(), 0) << "pactumd must survive the outage and stop cleanly";
}
