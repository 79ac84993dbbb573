// Deterministic simulation of the conversation machinery: the real directory, conversation,
// session and timer-sweeper actors run under CAF's test coordinator (one thread, virtual time,
// which is also the clock entities decide deadlines with), against an in-memory store that fails
// appends, loses the answer to appends that did commit, holds answers back, and fails reads, all
// decided by a seeded random generator. Clients send messages and offers, retry with the same
// client id, answer offers (concurrently, from two devices), subscribe and re-subscribe; offers
// expire through the durable timers. After every step the invariants a user relies on are
// checked. A failure prints its seed: PACTUM_SIM_SEED=<seed> replays exactly that run.

#include <algorithm>
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
    for (auto& tc : req.timers) { // atomically with the events, as the journal writer does
      if (tc.clear) {
        timers_.erase({req.entity, tc.kind});
        written_.erase({req.entity, tc.kind});
      } else {
        timers_[{req.entity, tc.kind}] = tc.due_at;
        written_[{req.entity, tc.kind}] = tc.due_at;
      }
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

  void due_timers(millis now, size_t limit, millis retry,
                  std::function<void(persistence::result<std::vector<persistence::due_timer>>)> done)
    override {
    if (roll(f_.read_fails)) {
      done(persistence::failure{persistence::errc::unavailable, "down"});
      return;
    }
    std::vector<persistence::due_timer> out;
    for (auto& [key, due] : timers_)
      if (due <= now)
        out.push_back({key.first, "conversation", key.second, due});
    std::sort(out.begin(), out.end(), [](auto& a, auto& b) { return a.due_at < b.due_at; });
    if (out.size() > limit)
      out.resize(limit);
    if (retry > 0) // as the database does: what is handed out is offered again after `retry`
      for (auto& t : out)
        timers_[{t.entity, t.kind}] = now + retry;
    done(std::move(out));
  }

  /// The timer of `entity` of this kind as its appends stored it (0: none). The row itself may
  /// have been moved later since by a sweep that handed it out (checked here).
  millis timer(const uuid& entity, const std::string& kind) const {
    auto i = written_.find({entity, kind});
    auto row = timers_.find({entity, kind});
    EXPECT_EQ(i == written_.end(), row == timers_.end()) << "a timer row without its write, or back";
    if (i == written_.end())
      return 0;
    EXPECT_GE(row->second, i->second) << "a sweep moved a timer earlier";
    return i->second;
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
  std::map<std::pair<uuid, std::string>, millis> timers_;  ///< the rows (moved by sweeps)
  std::map<std::pair<uuid, std::string>, millis> written_; ///< what appends stored
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
    // Entities decide deadlines with the virtual clock: an offer expires when simulated time
    // passes its expiry, and the sweeper's period is virtual too.
    svc_.clock_ctx = this;
    svc_.clock = [](void* ctx) { return static_cast<simulation*>(ctx)->virtual_now(); };
    svc_.directory = spawn_directory(sys_, &svc_);
    svc_.registry = spawn_registry(sys_, &svc_);
    sweeper_ = spawn_timer_sweeper(sys_, &svc_);
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
    caf::anon_send_exit(sweeper_, caf::exit_reason::user_shutdown);
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
    if (a < 35) {
      send_new(pick_client());
    } else if (a < 42) {
      offer_new(pick_client());
    } else if (a < 48) {
      answer_offers();
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
    // Let every offer's expiry pass: the sweeper must end each one still pending, exactly once.
    for (int round = 0; round < 4; ++round) {
      sched_.advance_time(std::chrono::seconds(20));
      drain();
      read_frames();
      check();
    }
    for (auto& [seq, o] : replay_.offers)
      EXPECT_NE(o.status, conversation::offer_status::pending)
        << where() << ": offer " << seq << " outlived its expiry";
    EXPECT_EQ(store_.timer(conv_, std::string{conversation::offer_timer_kind}), 0) << where();
    // Every client that is subscribed has seen the whole journal.
    for (auto& c : clients_) {
      if (!c.subscribed)
        continue;
      auto head = static_cast<int64_t>(store_.journal(conv_).size());
      EXPECT_EQ(c.last_seq, head) << where() << ": a subscriber did not catch up";
    }
    // Every message and offer sent (and not refused for good) is in the journal exactly once.
    std::map<std::string, int> count;
    for (auto& ev : store_.journal(conv_)) {
      auto e = protocol::decode_event(ev.type, ev.version, ev.payload);
      ASSERT_TRUE(e);
      if (auto key = client_key(e.value()))
        ++count[*key];
    }
    EXPECT_EQ(count.size(), sent_.size()) << where();
    for (auto& [key, n] : count)
      EXPECT_EQ(n, 1) << where() << ": " << key << " stored " << n << " times";
  }

  size_t appends() const { return store_.appends; }
  /// How many stored events of each offer type (for the run's coverage report).
  std::map<std::string, size_t> offer_events() {
    std::map<std::string, size_t> out;
    for (auto& ev : store_.journal(conv_))
      if (ev.type.rfind("offer.", 0) == 0)
        ++out[ev.type];
    return out;
  }
  size_t acknowledged_accepts() const { return accepted_offers_.size(); }
  uint64_t passivations() const { return svc_.passivations; }
  uint64_t activations() const { return svc_.activations; }

private:
  struct pending {
    size_t client;
    json req;                 ///< the request to (re)send, without its id
    bool outstanding = false; ///< a request is in flight
  };

  millis virtual_now() const {
    return 1'800'000'000'000 // a fixed origin, so runs replay exactly
           + std::chrono::duration_cast<std::chrono::milliseconds>(
               sched_.clock().now().time_since_epoch())
               .count();
  }

  /// "author/client_id" of a message or offer event.
  static std::optional<std::string> client_key(const protocol::conversation_event& e) {
    if (auto* m = std::get_if<protocol::message_posted>(&e))
      return m->author.str() + "/" + m->client_id;
    if (auto* o = std::get_if<protocol::offer_made>(&e))
      return o->by.str() + "/" + o->client_id;
    return std::nullopt;
  }

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
    c.max_pending_offers = 4; // low, so the limit is hit too
    c.timer_sweep_interval = std::chrono::seconds(1);
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
    auto client_id = "m" + std::to_string(next_client_id_++);
    track(ci, client_id, json{{"type", "message.send"},
                              {"conversation", conv_.str()},
                              {"client_id", client_id},
                              {"text", "text of " + client_id}});
  }

  /// A fresh offer, or a counter to any offer (often no longer pending), expiring in 1..60 s.
  void offer_new(size_t ci) {
    auto client_id = "o" + std::to_string(next_client_id_++);
    json req{{"type", "offer.make"},
             {"conversation", conv_.str()},
             {"client_id", client_id},
             {"expires_in", std::uniform_int_distribution<int>(1, 60)(rng_)},
             {"terms", json{{"amount", std::uniform_int_distribution<int>(1, 100'000)(rng_)},
                            {"currency", "EUR"},
                            {"deliverables", json::array({json{{"type", "instagram_reel"}}})}}}};
    auto offers = offer_ids();
    if (!offers.empty() && std::uniform_int_distribution<int>(0, 1)(rng_))
      req["counter_to"] = offers[std::uniform_int_distribution<size_t>(0, offers.size() - 1)(rng_)];
    track(ci, client_id, std::move(req));
  }

  /// One or two answers at once (accept, decline or withdraw; from any device, to any offer ever
  /// made), so concurrent accepts of the same or of each other's offers happen.
  void answer_offers() {
    auto offers = offer_ids();
    if (offers.empty())
      return;
    int n = std::uniform_int_distribution<int>(1, 2)(rng_);
    for (int k = 0; k < n; ++k) {
      static const char* types[] = {"offer.accept", "offer.accept", "offer.decline", "offer.withdraw"};
      auto type = types[std::uniform_int_distribution<int>(0, 3)(rng_)];
      auto offer = offers[std::uniform_int_distribution<size_t>(0, offers.size() - 1)(rng_)];
      request(pick_client(), json{{"type", type}, {"conversation", conv_.str()}, {"offer", offer}});
    }
  }

  /// Seqs of every offer in the journal.
  std::vector<int64_t> offer_ids() const {
    std::vector<int64_t> out;
    for (auto& [seq, o] : replay_.offers)
      out.push_back(seq);
    return out;
  }

  void track(size_t ci, const std::string& client_id, json req) {
    auto key = clients_[ci].user.str() + "/" + client_id;
    sent_.insert(key);
    unacked_[key] = pending{ci, std::move(req), false};
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
    request(m.client, m.req);
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
        if (type == "event" && f["stream"].get<std::string>().rfind("contract:", 0) == 0) {
          // An accepted offer's contract opens with seq 1 of its own stream, pushed to both
          // members' sessions (the contract actor pushes the later events).
          ASSERT_EQ(f["event"]["type"], "contract.opened") << where() << f.dump();
          ASSERT_EQ(f["seq"], 1) << where() << f.dump();
          continue;
        }
        if (type == "event" && f["stream"] != "conversation:" + conv_.str()) {
          // Presence of the other member, on the client's own user stream. Every simulated
          // session stays connected, so the other member is always online.
          ASSERT_EQ(f["stream"], "user:" + c.user.str()) << where() << f.dump();
          ASSERT_EQ(f["event"]["type"], "presence") << where() << f.dump();
          ASSERT_EQ(f["event"]["online"], true) << where() << f.dump();
          continue;
        }
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
        if (req["type"] == "message.send" || req["type"] == "offer.make")
          on_send_reply(c, req, f);
        else if (req["type"].get<std::string>().rfind("offer.", 0) == 0)
          on_answer_reply(req, f);
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
    if (req["type"] == "offer.make"
        && (code == "conflict" || code == "limit_reached" || code == "forbidden")) {
      // Refused for good (countered offer no longer pending, too many pending, own offer). The
      // dedup check comes first, so a refusal means no earlier attempt was stored.
      ASSERT_FALSE(acked_.count(key)) << where() << ": refused after being acknowledged";
      if (i != unacked_.end())
        unacked_.erase(i);
      sent_.erase(key);
      refused_.insert(key);
      return;
    }
    ASSERT_TRUE(code == "unavailable" || code == "timeout" || code == "overloaded")
      << where() << ": unexpected refusal " << f.dump();
    if (i != unacked_.end()) {
      i->second.outstanding = false; // the client will retry with the same client id
    } else {
      ASSERT_TRUE(acked_.count(key)) << where();
    }
  }

  void on_answer_reply(const json& req, const json& f) {
    auto offer = req["offer"].get<int64_t>();
    if (f["type"] == "ok") {
      auto seq = f["seq"].get<int64_t>();
      auto& j = store_.journal(conv_);
      ASSERT_LE(seq, static_cast<int64_t>(j.size())) << where() << ": answered but not stored";
      auto e = protocol::decode_event(j[seq - 1].type, j[seq - 1].version, j[seq - 1].payload);
      ASSERT_TRUE(e);
      if (req["type"] == "offer.accept") {
        auto* acc = std::get_if<protocol::offer_accepted>(&e.value());
        ASSERT_TRUE(acc) << where() << ": accept acknowledged with seq " << seq << " of "
                         << j[seq - 1].type;
        ASSERT_EQ(acc->offer, offer) << where();
        ASSERT_EQ(f["contract"], acc->contract.str())
          << where() << ": an accept answered with another contract than the stored one";
        accepted_offers_.insert(offer);
      }
      return;
    }
    auto code = f["code"].get<std::string>();
    ASSERT_TRUE(code == "conflict" || code == "forbidden" || code == "not_found"
                || code == "unavailable" || code == "timeout" || code == "overloaded")
      << where() << ": unexpected refusal " << f.dump();
  }

  /// Replays events not yet seen through the machine, checking each answer to an offer was legal
  /// when it was stored, and that the stored timer matches the state.
  void replay_journal() {
    auto& j = store_.journal(conv_);
    conversation::rules r;
    r.max_pending_offers = 4;
    for (auto seq = replay_.head + 1; seq <= static_cast<int64_t>(j.size()); ++seq) {
      auto e = protocol::decode_event(j[seq - 1].type, j[seq - 1].version, j[seq - 1].payload);
      ASSERT_TRUE(e) << where();
      auto ended = [&](int64_t offer) {
        auto i = replay_.offers.find(offer);
        ASSERT_NE(i, replay_.offers.end()) << where() << ": seq " << seq << " answers no offer";
        ASSERT_EQ(i->second.status, conversation::offer_status::pending)
          << where() << ": seq " << seq << " (" << j[seq - 1].type << ") ends offer " << offer
          << " which was already " << conversation::to_string(i->second.status);
      };
      std::visit(
        [&](const auto& ev) {
          using T = std::decay_t<decltype(ev)>;
          if constexpr (std::is_same_v<T, protocol::offer_accepted>
                        || std::is_same_v<T, protocol::offer_declined>
                        || std::is_same_v<T, protocol::offer_withdrawn>) {
            ended(ev.offer);
            if (!::testing::Test::HasFatalFailure()) {
              ASSERT_LT(ev.at, replay_.offers.at(ev.offer).expires_at)
                << where() << ": an offer was answered after its expiry";
            }
          } else if constexpr (std::is_same_v<T, protocol::offer_expired>) {
            ended(ev.offer);
            if (!::testing::Test::HasFatalFailure()) {
              ASSERT_GE(ev.at, replay_.offers.at(ev.offer).expires_at)
                << where() << ": an offer expired early";
            }
          } else if constexpr (std::is_same_v<T, protocol::offer_made>) {
            if (ev.counter_to != 0)
              ended(ev.counter_to);
          }
        },
        e.value());
      if (::testing::Test::HasFatalFailure())
        return;
      conversation::apply(replay_, seq, e.value(), r);
    }
    ASSERT_EQ(store_.timer(conv_, std::string{conversation::offer_timer_kind}),
              replay_.next_offer_expiry())
      << where() << ": the stored timer disagrees with the stored offers";
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
    // Every acknowledged message and offer is stored at its seq.
    for (auto& [key, seq] : acked_) {
      ASSERT_LE(seq, static_cast<int64_t>(j.size())) << where() << ": acked but not stored";
      auto e = protocol::decode_event(j[seq - 1].type, j[seq - 1].version, j[seq - 1].payload);
      ASSERT_TRUE(e);
      ASSERT_EQ(client_key(e.value()).value_or("?"), key) << where();
    }
    for (auto& key : refused_)
      ASSERT_FALSE(acked_.count(key)) << where();
    replay_journal();
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
  std::set<std::string> refused_;       ///< offers refused for good (never stored)
  std::set<int64_t> accepted_offers_;   ///< offers whose accept was acknowledged
  size_t next_client_id_ = 0;
  conversation::state replay_;          ///< the journal replayed through the machine
  caf::actor sweeper_;
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
  std::map<std::string, size_t> offer_events;
  size_t acknowledged_accepts = 0;
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
  for (auto& [type, n] : sim.offer_events())
    t.offer_events[type] += n;
  t.acknowledged_accepts += sim.acknowledged_accepts();
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
  // PACTUM_SIM_SEEDS: how many (scripts/test runs all 2,000 in the release build and fewer under
  // ASan, where they check memory rather than add logic coverage and run ~30x slower).
  const uint64_t seeds = std::getenv("PACTUM_SIM_SEEDS") ? std::stoull(std::getenv("PACTUM_SIM_SEEDS")) : 2000;
  for (uint64_t seed = 1; seed <= seeds && !HasFailure(); ++seed)
    run_seed(seed, 60, t);
  std::cout << "simulated " << seeds << " seeds: " << t.appends << " appends, " << t.activations
            << " activations, " << t.passivations << " passivations; offer events:";
  for (auto& [type, n] : t.offer_events)
    std::cout << " " << type << " " << n;
  std::cout << "; accepts acknowledged " << t.acknowledged_accepts << "\n";
  // The runs must actually exercise recovery and passivation, or they prove nothing about them.
  EXPECT_GT(t.activations, 2 * seeds);
  EXPECT_GT(t.passivations, seeds / 20);
  // ... and the negotiation: every way an offer ends, including by its durable timer.
  for (auto type : {"offer.made", "offer.accepted", "offer.declined", "offer.withdrawn", "offer.expired"})
    EXPECT_GT(t.offer_events[type], seeds / 20) << type;
}
