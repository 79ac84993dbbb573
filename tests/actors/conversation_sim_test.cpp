// Deterministic simulation of the conversation machinery: the real directory, conversation and
// session actors run under CAF's test coordinator (one thread, virtual time), against an
// in-memory store that fails appends, loses the answer to appends that did commit, holds answers
// back, and fails reads, all decided by a seeded random generator. Clients send, retry with the
// same client id, subscribe and re-subscribe; after every step the invariants a user relies on are
// checked. A failure prints its seed: PACTUM_SIM_SEED=<seed> replays exactly that run.

#include <deque>
#include <map>
#include <random>
#include <set>

#include <caf/all.hpp>
#include <spdlog/spdlog.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "message_types.hpp"
#include "pactum/actors/entity_store.hpp"
#include "services.hpp"

using namespace pactum;
using namespace pactum::actors;
using json = nlohmann::json;

namespace {

/// The fault profile of one run.
struct faults {
  double append_fails = 0.0;   ///< nothing stored, answer unavailable
  double append_unknown = 0.0; ///< stored, but the answer says unavailable (lost COMMIT answer)
  double append_held = 0.0;    ///< the answer is held back until released
  double read_fails = 0.0;     ///< reads answer unavailable
};

class sim_store final : public entity_store {
public:
  sim_store(std::mt19937_64& rng, faults f) : rng_(rng), f_(f) {}

  void append(persistence::append_request req) override {
    auto& j = journals_[req.entity];
    if (req.expected_seq != static_cast<int64_t>(j.size())) {
      complete(std::move(req.done), persistence::failure{persistence::errc::conflict, "stale"});
      return;
    }
    if (roll(f_.append_fails)) {
      complete(std::move(req.done), persistence::failure{persistence::errc::unavailable, "down"});
      return;
    }
    for (auto& ev : req.events) {
      EXPECT_EQ(ev.seq, static_cast<int64_t>(j.size()) + 1) << "events must follow the head";
      j.push_back(ev);
    }
    ++appends;
    if (roll(f_.append_unknown)) {
      complete(std::move(req.done),
               persistence::failure{persistence::errc::unavailable, "answer lost"});
      return;
    }
    complete(std::move(req.done), static_cast<int64_t>(j.size()));
  }

  void read_events(uuid entity, int64_t after, int64_t before, size_t limit, bool newest_first,
                   std::function<void(persistence::result<std::vector<persistence::event_record>>)>
                     done) override {
    if (roll(f_.read_fails)) {
      done(persistence::failure{persistence::errc::unavailable, "down"});
      return;
    }
    std::vector<persistence::event_record> out;
    auto& j = journals_[entity];
    for (auto& ev : j)
      if (ev.seq > after && (before == 0 || ev.seq < before))
        out.push_back(ev);
    if (newest_first)
      std::reverse(out.begin(), out.end());
    if (out.size() > limit)
      out.resize(limit);
    done(std::move(out));
  }

  void save_snapshot(uuid entity, std::string, persistence::snapshot_record snap,
                     std::function<void(persistence::result<persistence::unit>)> done) override {
    auto& cur = snapshots_[entity];
    if (snap.seq > cur.seq)
      cur = std::move(snap);
    done(persistence::unit{});
  }

  void load_snapshot(
    uuid entity,
    std::function<void(persistence::result<std::optional<persistence::snapshot_record>>)> done)
    override {
    if (roll(f_.read_fails)) {
      done(persistence::failure{persistence::errc::unavailable, "down"});
      return;
    }
    auto i = snapshots_.find(entity);
    if (i == snapshots_.end())
      done(std::optional<persistence::snapshot_record>{});
    else
      done(std::optional<persistence::snapshot_record>{i->second});
  }

  /// Runs some held answers (all of them with `all`), in random order.
  void release(bool all) {
    while (!held_.empty() && (all || roll(0.5))) {
      std::uniform_int_distribution<size_t> pick(0, held_.size() - 1);
      auto i = held_.begin() + static_cast<std::ptrdiff_t>(pick(rng_));
      auto fn = std::move(*i);
      held_.erase(i);
      fn();
    }
  }

  void set_faults(faults f) { f_ = f; }
  std::vector<persistence::event_record>& journal(const uuid& id) { return journals_[id]; }
  size_t held() const { return held_.size(); }

  size_t appends = 0;

private:
  bool roll(double p) { return p > 0 && std::uniform_real_distribution<double>(0, 1)(rng_) < p; }

  void complete(std::function<void(persistence::result<int64_t>)> done,
                persistence::result<int64_t> r) {
    if (roll(f_.append_held))
      held_.push_back([done = std::move(done), r = std::move(r)]() mutable { done(std::move(r)); });
    else
      done(std::move(r));
  }

  std::mt19937_64& rng_;
  faults f_;
  std::map<uuid, std::vector<persistence::event_record>> journals_;
  std::map<uuid, persistence::snapshot_record> snapshots_;
  std::deque<std::function<void()>> held_;
};

/// Records what the session actor would write to the socket.
class recording_sink final : public session_sink {
public:
  void send(std::string frame, protocol::encoding) override { frames.push_back(json::parse(frame)); }
  void push(protocol::push_frame_ptr frame) override {
    frames.push_back(json::parse(frame->frame(protocol::encoding::json)));
  }
  void close(protocol::close_code code, std::string) override { closed = static_cast<int>(code); }

  std::vector<json> frames;
  int closed = 0;
};

/// One simulated client: a session actor plus what the client remembers.
struct client {
  uuid user;
  std::shared_ptr<recording_sink> sink = std::make_shared<recording_sink>();
  caf::actor session;
  size_t seen_frames = 0;
  bool subscribed = false;
  bool subscribing = false;
  int64_t last_seq = 0; ///< last event seq processed on the conversation stream
};

class simulation {
public:
  simulation(uint64_t seed, faults f)
    : seed_(seed), rng_(seed), store_(rng_, f), sys_(configure(cfg_)),
      sched_(dynamic_cast<caf::scheduler::test_coordinator&>(sys_.scheduler())),
      svc_{make_runtime_config(), nullptr, store_, {}, {}, {}} {
    svc_.directory = spawn_directory(sys_, &svc_);
    svc_.registry = spawn_registry(sys_);
    brand_ = uuid::v7();
    creator_ = uuid::v7();
    conv_ = uuid::v7();
    protocol::conversation_event opened = protocol::conversation_opened{brand_, creator_, 1};
    store_.journal(conv_).push_back(
      {1, "conversation.opened", 1, protocol::encode_event(opened), 1});
    clients_.resize(3);
    clients_[0].user = brand_;
    clients_[1].user = creator_;
    clients_[2].user = brand_; // the brand's second device
    for (auto& c : clients_)
      c.session = spawn_session(sys_, &svc_, principal{c.user, "brand", "x", {}}, c.sink);
    drain();
  }

  ~simulation() {
    for (auto& c : clients_)
      caf::anon_send_exit(c.session, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(svc_.directory, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(svc_.registry, caf::exit_reason::user_shutdown);
    store_.set_faults({});
    store_.release(true);
    drain();
  }

  std::string where() const { return "seed " + std::to_string(seed_) + ", step " + std::to_string(step_); }

  /// One random step, then the invariants.
  void step() {
    ++step_;
    std::uniform_int_distribution<int> action(0, 99);
    auto a = action(rng_);
    if (a < 45) {
      send_new(pick_client());
    } else if (a < 60) {
      retry_one();
    } else if (a < 67) {
      subscribe(pick_client());
    } else if (a < 70) {
      unsubscribe(pick_client());
    } else if (a < 85) {
      store_.release(false);
    } else {
      std::uniform_int_distribution<int> ms(1, 20'000);
      sched_.advance_time(std::chrono::milliseconds(ms(rng_)));
    }
    drain();
    read_frames();
    check();
  }

  /// Stops the faults and retries until every message ever sent is acknowledged.
  void settle() {
    store_.set_faults({});
    for (int round = 0; round < 50 && (!unacked_.empty() || store_.held() > 0); ++round) {
      store_.release(true);
      for (auto& [key, m] : std::map(unacked_))
        if (!m.outstanding)
          resend(key);
      drain();
      sched_.advance_time(std::chrono::seconds(11)); // past the request timeout
      drain();
      read_frames();
      check();
    }
    ASSERT_TRUE(unacked_.empty()) << where() << ": messages never acknowledged: " << unacked_.size();
    // Every client that is subscribed has seen the whole journal.
    for (auto& c : clients_) {
      if (!c.subscribed)
        continue;
      auto head = static_cast<int64_t>(store_.journal(conv_).size());
      EXPECT_EQ(c.last_seq, head) << where() << ": a subscriber did not catch up";
    }
    // Every message sent is in the journal exactly once.
    std::map<std::string, int> count;
    for (auto& ev : store_.journal(conv_)) {
      auto e = protocol::decode_event(ev.type, ev.version, ev.payload);
      ASSERT_TRUE(e);
      if (auto* m = std::get_if<protocol::message_posted>(&e.value()))
        ++count[m->author.str() + "/" + m->client_id];
    }
    EXPECT_EQ(count.size(), sent_.size()) << where();
    for (auto& [key, n] : count)
      EXPECT_EQ(n, 1) << where() << ": " << key << " stored " << n << " times";
  }

  size_t appends() const { return store_.appends; }
  uint64_t passivations() const { return svc_.passivations; }
  uint64_t activations() const { return svc_.activations; }

private:
  struct pending {
    size_t client;
    std::string client_id;
    bool outstanding = false; ///< a request is in flight
  };

  static caf::actor_system_config& configure(caf::actor_system_config& cfg) {
    cfg.set("scheduler.policy", caf::atom("testing"));
    cfg.set("logger.verbosity", caf::atom("quiet"));
    return cfg;
  }

  static runtime_config make_runtime_config() {
    runtime_config c;
    c.request_timeout = std::chrono::seconds(10);
    c.snapshot_every = 5;  // snapshots happen often, so recovery from them is exercised
    c.tail_cache = 8;      // replays and history come from the store as well as from memory
    c.passivate_after = std::chrono::seconds(5);
    c.max_gap = 100'000;
    return c;
  }

  void drain() {
    std::uniform_int_distribution<int> coin(0, 1);
    for (size_t n = 0; n < 100'000; ++n) {
      bool ran = coin(rng_) ? sched_.try_run_once() : sched_.try_run_once_lifo();
      if (!ran)
        return;
    }
    ADD_FAILURE() << where() << ": the actors did not quiesce";
  }

  size_t pick_client() {
    return std::uniform_int_distribution<size_t>(0, clients_.size() - 1)(rng_);
  }

  void request(size_t ci, json req) {
    req["id"] = next_id_++;
    if (std::getenv("PACTUM_SIM_TRACE"))
      std::cerr << "step " << step_ << " client " << ci << " -> " << req.dump().substr(0, 160) << "\n";
    auto dec = protocol::decode_request(req.dump(), protocol::encoding::json, protocol::limits{});
    ASSERT_TRUE(dec) << dec.error().message;
    caf::anon_send(clients_[ci].session, client_command{std::move(dec.value()), protocol::encoding::json});
    requests_[req["id"].get<int64_t>()] = req;
    requester_[req["id"].get<int64_t>()] = ci;
  }

  void send_new(size_t ci) {
    auto client_id = "m" + std::to_string(sent_.size());
    auto key = clients_[ci].user.str() + "/" + client_id;
    sent_.insert(key);
    unacked_[key] = pending{ci, client_id, false};
    resend(key);
  }

  void retry_one() {
    std::vector<std::string> idle;
    for (auto& [key, m] : unacked_)
      if (!m.outstanding)
        idle.push_back(key);
    if (idle.empty())
      return;
    resend(idle[std::uniform_int_distribution<size_t>(0, idle.size() - 1)(rng_)]);
  }

  void resend(const std::string& key) {
    auto& m = unacked_.at(key);
    m.outstanding = true;
    request(m.client, json{{"type", "message.send"},
                           {"conversation", conv_.str()},
                           {"client_id", m.client_id},
                           {"text", "text of " + m.client_id}});
  }

  void subscribe(size_t ci) {
    auto& c = clients_[ci];
    if (c.subscribing)
      return;
    c.subscribing = true;
    request(ci, json{{"type", "subscribe"}, {"conversation", conv_.str()}, {"after", c.last_seq}});
  }

  void unsubscribe(size_t ci) {
    auto& c = clients_[ci];
    if (c.subscribing || !c.subscribed)
      return;
    c.subscribed = false;
    request(ci, json{{"type", "unsubscribe"}, {"conversation", conv_.str()}});
  }

  void read_frames() {
    for (size_t ci = 0; ci < clients_.size(); ++ci) {
      auto& c = clients_[ci];
      ASSERT_EQ(c.sink->closed, 0) << where() << ": a session was closed";
      for (; c.seen_frames < c.sink->frames.size(); ++c.seen_frames) {
        auto f = c.sink->frames[c.seen_frames];
        if (std::getenv("PACTUM_SIM_TRACE"))
          std::cerr << "step " << step_ << " client " << ci << " <- " << f.dump().substr(0, 160) << "\n";
        auto type = f["type"].get<std::string>();
        if (type == "hello")
          continue;
        if (type == "event") {
          if (c.subscribed || c.subscribing)
            on_event(c, f);
          else // after unsubscribe: events still in flight may arrive; they must still be in order
            c.last_seq = std::max(c.last_seq, f["seq"].get<int64_t>());
          continue;
        }
        if (f["re"].is_null()) { // "subscription lost": subscribe again
          ASSERT_EQ(f["code"], "unavailable") << where() << f.dump();
          c.subscribed = false;
          continue;
        }
        auto id = f["re"].get<int64_t>();
        auto req = requests_.at(id);
        ASSERT_EQ(requester_.at(id), ci);
        if (req["type"] == "message.send")
          on_send_reply(c, req, f);
        else if (req["type"] == "subscribe") {
          c.subscribing = false;
          c.subscribed = f["type"] == "ok";
          if (f["type"] != "ok") {
            ASSERT_TRUE(f["code"] == "unavailable" || f["code"] == "timeout") << where() << f.dump();
          }
        }
      }
    }
  }

  void on_send_reply(client& c, const json& req, const json& f) {
    auto key = c.user.str() + "/" + req["client_id"].get<std::string>();
    auto i = unacked_.find(key);
    if (f["type"] == "ok") {
      auto seq = f["seq"].get<int64_t>();
      auto [it, fresh] = acked_.emplace(key, seq);
      ASSERT_EQ(it->second, seq) << where() << ": one message acknowledged with two seqs";
      if (i != unacked_.end())
        unacked_.erase(i);
      return;
    }
    auto code = f["code"].get<std::string>();
    ASSERT_TRUE(code == "unavailable" || code == "timeout" || code == "overloaded")
      << where() << ": unexpected refusal " << f.dump();
    if (i != unacked_.end()) {
      i->second.outstanding = false; // the client will retry with the same client id
    } else {
      ASSERT_TRUE(acked_.count(key)) << where();
    }
  }

  void on_event(client& c, const json& f) {
    ASSERT_EQ(f["stream"], "conversation:" + conv_.str());
    auto seq = f["seq"].get<int64_t>();
    ASSERT_EQ(seq, c.last_seq + 1) << where() << ": a subscriber saw a gap or a duplicate";
    c.last_seq = seq;
    auto& j = store_.journal(conv_);
    ASSERT_LE(seq, static_cast<int64_t>(j.size())) << where() << ": pushed an event not stored";
    auto stored = protocol::decode_event(j[seq - 1].type, j[seq - 1].version, j[seq - 1].payload);
    ASSERT_TRUE(stored);
    EXPECT_EQ(f["event"]["type"], std::string{protocol::event_type(stored.value())}) << where();
  }

  void check() {
    auto& j = store_.journal(conv_);
    for (size_t i = 0; i < j.size(); ++i)
      ASSERT_EQ(j[i].seq, static_cast<int64_t>(i + 1)) << where() << ": journal has a gap";
    // Every acknowledged message is stored at its seq.
    for (auto& [key, seq] : acked_) {
      ASSERT_LE(seq, static_cast<int64_t>(j.size())) << where() << ": acked but not stored";
      auto e = protocol::decode_event(j[seq - 1].type, j[seq - 1].version, j[seq - 1].payload);
      ASSERT_TRUE(e);
      auto& m = std::get<protocol::message_posted>(e.value());
      ASSERT_EQ(m.author.str() + "/" + m.client_id, key) << where();
    }
  }

  uint64_t seed_;
  size_t step_ = 0;
  std::mt19937_64 rng_;
  sim_store store_;
  caf::actor_system_config cfg_;
  caf::actor_system sys_;
  caf::scheduler::test_coordinator& sched_;
  services svc_;
  uuid brand_, creator_, conv_;
  std::vector<client> clients_;
  int64_t next_id_ = 1;
  std::map<int64_t, json> requests_;
  std::map<int64_t, size_t> requester_;
  std::set<std::string> sent_;
  std::map<std::string, pending> unacked_;
  std::map<std::string, int64_t> acked_;
};

uint64_t env_seed() {
  auto* s = std::getenv("PACTUM_SIM_SEED");
  return s ? std::stoull(s) : 0;
}

faults profile_for(uint64_t seed) {
  // A spread of fault mixes, from none to heavy, chosen by the seed.
  std::mt19937_64 r(seed ^ 0x9E3779B97F4A7C15ULL);
  std::uniform_real_distribution<double> p(0, 0.25);
  faults f;
  f.append_fails = p(r);
  f.append_unknown = p(r);
  f.append_held = p(r) * 2;
  f.read_fails = p(r) / 2;
  if (seed % 5 == 0)
    f = faults{};
  return f;
}

struct totals {
  uint64_t passivations = 0;
  uint64_t activations = 0;
  size_t appends = 0;
};

void run_seed(uint64_t seed, int steps, totals& t) {
  if (std::getenv("PACTUM_SIM_TRACE"))
    spdlog::set_level(spdlog::level::debug);
  simulation sim{seed, profile_for(seed)};
  for (int i = 0; i < steps && !::testing::Test::HasFatalFailure(); ++i)
    sim.step();
  if (!::testing::Test::HasFatalFailure())
    sim.settle();
  t.passivations += sim.passivations();
  t.activations += sim.activations();
  t.appends += sim.appends();
  if (::testing::Test::HasFailure())
    std::cerr << "replay with: PACTUM_SIM_SEED=" << seed
              << " pactum_actors_tests --gtest_filter='ConversationSimulation.*'\n";
}

} // namespace

TEST(ConversationSimulation, SeededRunsKeepEveryInvariant) {
  totals t;
  if (auto seed = env_seed()) {
    run_seed(seed, std::getenv("PACTUM_SIM_STEPS") ? std::stoi(std::getenv("PACTUM_SIM_STEPS")) : 60, t);
    return;
  }
  constexpr uint64_t seeds = 2000;
  for (uint64_t seed = 1; seed <= seeds && !HasFailure(); ++seed)
    run_seed(seed, 60, t);
  std::cout << "simulated " << seeds << " seeds: " << t.appends << " appends, " << t.activations
            << " activations, " << t.passivations << " passivations\n";
  // The runs must actually exercise recovery and passivation, or they prove nothing about them.
  EXPECT_GT(t.activations, 2 * seeds);
  EXPECT_GT(t.passivations, seeds / 20);
}
