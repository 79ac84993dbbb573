// The session actor's deadlines on requests to conversation actors (session_actor.cpp: one
// `expire` sweep per timeout period instead of a CAF clock timeout per request). Under CAF's test
// coordinator (virtual time) against an in-memory store that holds every append answer until the
// test releases it: a request the conversation does not answer within request_timeout is answered
// `timeout` exactly then, never twice (the late answer is dropped), and later requests are served.

#include <deque>
#include <functional>
#include <map>

#include <caf/all.hpp>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "message_types.hpp"
#include "pactum/actors/entity_store.hpp"
#include "services.hpp"

using namespace pactum;
using namespace pactum::actors;
using json = nlohmann::json;

namespace {

class holding_store final : public entity_store {
public:
  bool hold = true; ///< hold append answers until release()

  void append(persistence::append_request req) override {
    auto& j = journals[req.entity];
    for (auto& ev : req.events)
      j.push_back(ev);
    auto head = static_cast<int64_t>(j.size());
    if (hold)
      held.push_back([done = std::move(req.done), head] { done(head); });
    else
      req.done(head);
  }
  void read_events(uuid entity, int64_t after, int64_t before, size_t limit, bool newest_first,
                   std::function<void(persistence::result<std::vector<persistence::event_record>>)>
                     done) override {
    std::vector<persistence::event_record> out;
    for (auto& ev : journals[entity])
      if (ev.seq > after && (before == 0 || ev.seq < before))
        out.push_back(ev);
    if (newest_first)
      std::reverse(out.begin(), out.end());
    if (out.size() > limit)
      out.resize(limit);
    done(std::move(out));
  }
  void save_snapshot(uuid, std::string, persistence::snapshot_record,
                     std::function<void(persistence::result<persistence::unit>)> done) override {
    done(persistence::unit{});
  }
  void load_snapshot(uuid, std::function<void(persistence::result<std::optional<persistence::snapshot_record>>)>
                             done) override {
    done(std::optional<persistence::snapshot_record>{});
  }
  void due_timers(millis, size_t, millis,
                  std::function<void(persistence::result<std::vector<persistence::due_timer>>)> done)
    override {
    done(std::vector<persistence::due_timer>{});
  }
  void release() {
    auto fns = std::move(held);
    held.clear();
    for (auto& fn : fns)
      fn();
  }

  std::map<uuid, std::vector<persistence::event_record>> journals;
  std::deque<std::function<void()>> held;
};

class recording_sink final : public session_sink {
public:
  void send(std::string frame, protocol::encoding) override { frames.push_back(json::parse(frame)); }
  void push(protocol::push_frame_ptr frame) override {
    frames.push_back(json::parse(frame->frame(protocol::encoding::json)));
  }
  void close(protocol::close_code, std::string) override {}

  /// The answers (ok or error) to request `id`.
  std::vector<json> answers(int64_t id) const {
    std::vector<json> out;
    for (auto& f : frames)
      if (f.contains("re") && f["re"] == id)
        out.push_back(f);
    return out;
  }
  std::vector<json> frames;
};

caf::actor_system_config& configure(caf::actor_system_config& cfg) {
  cfg.set("scheduler.policy", caf::atom("testing"));
  cfg.set("logger.verbosity", caf::atom("quiet"));
  return cfg;
}

runtime_config make_config() {
  runtime_config c;
  c.request_timeout = std::chrono::seconds(10);
  c.passivate_after = std::chrono::seconds(3600);
  return c;
}

class SessionDeadline : public ::testing::Test {
protected:
  SessionDeadline()
    : sys_(configure(cfg_)), sched_(dynamic_cast<caf::scheduler::test_coordinator&>(sys_.scheduler())),
      svc_{make_config(), nullptr, store_, {}, {}, {}} {
    svc_.directory = spawn_directory(sys_, &svc_);
    svc_.registry = spawn_registry(sys_, &svc_);
    protocol::conversation_event opened = protocol::conversation_opened{brand_, creator_, 1};
    store_.journals[conv_].push_back({1, "conversation.opened", 1, protocol::encode_event(opened), 1});
    session_ = spawn_session(sys_, &svc_, principal{brand_, "brand", "b", {}}, sink_);
    drain();
  }

  ~SessionDeadline() override {
    caf::anon_send_exit(session_, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(svc_.directory, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(svc_.registry, caf::exit_reason::user_shutdown);
    store_.hold = false;
    store_.release();
    drain();
  }

  void drain() {
    for (size_t n = 0; n < 100'000 && sched_.try_run_once(); ++n) {
    }
  }

  void send_message(int64_t id, const std::string& client_id) {
    json req{{"type", "message.send"}, {"id", id}, {"conversation", conv_.str()},
             {"client_id", client_id}, {"text", "hello"}};
    auto dec = protocol::decode_request(req.dump(), protocol::encoding::json, protocol::limits{});
    ASSERT_TRUE(dec) << dec.error().message;
    caf::anon_send(session_, client_command{std::move(dec.value()), protocol::encoding::json});
    drain();
  }

  caf::actor_system_config cfg_;
  holding_store store_;
  caf::actor_system sys_;
  caf::scheduler::test_coordinator& sched_;
  services svc_;
  uuid brand_ = uuid::v7();
  uuid creator_ = uuid::v7();
  uuid conv_ = uuid::v7();
  std::shared_ptr<recording_sink> sink_ = std::make_shared<recording_sink>();
  caf::actor session_;
};

TEST_F(SessionDeadline, AnUnansweredRequestTimesOutOnceAtTheRequestTimeout) {
  send_message(1, "c1");
  EXPECT_TRUE(sink_->answers(1).empty()) << "the append is held: no answer yet";
  sched_.advance_time(std::chrono::seconds(9));
  drain();
  EXPECT_TRUE(sink_->answers(1).empty()) << "answered before the request timeout";
  sched_.advance_time(std::chrono::seconds(2));
  drain();
  auto a = sink_->answers(1);
  ASSERT_EQ(a.size(), 1u);
  EXPECT_EQ(a[0]["type"], "error");
  EXPECT_EQ(a[0]["code"], "timeout");
  // The commit completes late: its answer is dropped, the client got exactly one.
  store_.release();
  drain();
  EXPECT_EQ(sink_->answers(1).size(), 1u);
}

TEST_F(SessionDeadline, RequestsAnsweredInTimeAreNotTimedOutAndLaterOnesStillAre) {
  store_.hold = false;
  send_message(1, "c1");
  send_message(2, "c2");
  ASSERT_EQ(sink_->answers(1).size(), 1u);
  ASSERT_EQ(sink_->answers(2).size(), 1u);
  EXPECT_EQ(sink_->answers(2)[0]["type"], "ok");
  sched_.advance_time(std::chrono::seconds(11)); // the sweep finds nothing due
  drain();
  EXPECT_EQ(sink_->answers(1).size(), 1u);
  EXPECT_EQ(sink_->answers(2).size(), 1u);
  // A request sent after a sweep is still watched (the sweep re-arms on demand).
  store_.hold = true;
  send_message(3, "c3");
  sched_.advance_time(std::chrono::seconds(5));
  drain();
  send_message(4, "c4"); // queued behind 3's append in the conversation
  sched_.advance_time(std::chrono::seconds(6)); // 3 is due, 4 is not
  drain();
  ASSERT_EQ(sink_->answers(3).size(), 1u);
  EXPECT_EQ(sink_->answers(3)[0]["code"], "timeout");
  EXPECT_TRUE(sink_->answers(4).empty());
  sched_.advance_time(std::chrono::seconds(5)); // now 4 is due too
  drain();
  ASSERT_EQ(sink_->answers(4).size(), 1u);
  EXPECT_EQ(sink_->answers(4)[0]["code"], "timeout");
}

} // namespace
