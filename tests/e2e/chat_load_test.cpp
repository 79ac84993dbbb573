// End to end: the asynchronous load engine (`pactum-sim chat`, PACTUM_SIM_BIN) against a real
// pactumd. A short smoke run in both encodings, and a reconnect storm: every socket of 200
// clients in 100 conversations drops at once when pactumd is killed mid-run and restarted on the
// same port; all reconnect at once, resubscribe from their last seq and resend what had no answer
// (same client_id). The engine's own end check must then hold: every acknowledged message reached
// every subscriber exactly once after dedup by seq, in order, and nothing was refused except with
// documented retryable errors.

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <thread>

#include <sys/wait.h>

#include <gtest/gtest.h>

#include "e2e_fixture.hpp"
#include "pactum/sim/histogram.hpp"

using namespace pactum::sim;

namespace {

class ChatLoadEndToEnd : public pactum::test_support::server_test {
protected:
  std::string sim_bin() {
    auto* sim = std::getenv("PACTUM_SIM_BIN");
    return sim ? sim : "";
  }

  std::string sim_url() const { return "http://127.0.0.1:" + std::to_string(server_->port()); }

  static json read_report(const std::string& path) {
    std::ifstream in(path);
    json j = json::parse(in, nullptr, false);
    return j.is_discarded() ? json(nullptr) : j;
  }

  /// The checks every run must pass, whatever the load: nothing lost, nothing stored twice,
  /// every message acknowledged, every subscriber got every acknowledged message.
  static void expect_exactly_once(const json& r, int64_t subscribers_per_conversation = 2) {
    ASSERT_TRUE(r.is_object());
    EXPECT_GT(r["sent"].get<int64_t>(), 0);
    EXPECT_EQ(r["acked"], r["sent"]) << "every message is acknowledged in the end";
    EXPECT_EQ(r["lost"], 0);
    EXPECT_EQ(r["stored_twice"], 0);
    EXPECT_EQ(r["refused"], 0);
    EXPECT_EQ(r["unresolved"], 0);
    EXPECT_EQ(r["delivered"].get<int64_t>(), r["acked"].get<int64_t>() * subscribers_per_conversation)
      << "each acknowledged message reached both members' sockets";
    EXPECT_TRUE(r["violations"].empty()) << r["violations"].dump(2);
    EXPECT_EQ(r["passed"], true);
  }

  std::string json_path(const std::string& name) {
    return server_->log_path() + "." + name + ".json";
  }
};

} // namespace

TEST_F(ChatLoadEndToEnd, TheAsyncEngineLosesAndDuplicatesNothingInBothEncodings) {
  ASSERT_FALSE(sim_bin().empty()) << "PACTUM_SIM_BIN is not set";
  for (const char* enc : {"json", "msgpack"}) {
    auto out = json_path(enc);
    auto cmd = sim_bin() + " chat --url " + sim_url() + " --conversations 4 --conversations-per-user 2"
               + " --rate 100,200 --duration 1 --encoding " + enc + " --json-out " + out + " --quiet > /dev/null";
    EXPECT_EQ(std::system(cmd.c_str()), 0) << cmd;
    auto r = read_report(out);
    SCOPED_TRACE(enc);
    expect_exactly_once(r);
    EXPECT_EQ(r["sockets"], 4) << "2 brands x 2 creators, one socket each";
    EXPECT_EQ(r["conversations"], 4);
    ASSERT_EQ(r["steps"].size(), 2u);
    // Open loop: about rate x duration messages per step, whatever the server's speed.
    EXPECT_NEAR(r["steps"][0]["sent"].get<double>(), 100, 5);
    EXPECT_NEAR(r["steps"][1]["sent"].get<double>(), 200, 5);
    EXPECT_EQ(r["steps"][0]["ack_latency"]["count"], r["steps"][0]["acked"]);
    EXPECT_GT(r["steps"][1]["delivery_latency"]["count"].get<int64_t>(), 0);
    EXPECT_GE(r["ack_latency"]["p99_ms"].get<double>(), r["ack_latency"]["p50_ms"].get<double>());
    EXPECT_EQ(r["reconnects"], 0);
  }
}

TEST_F(ChatLoadEndToEnd, EveryClientResumesExactlyOnceAfterAReconnectStorm) {
  ASSERT_FALSE(sim_bin().empty()) << "PACTUM_SIM_BIN is not set";
  auto port = server_->port();
  auto out = json_path("storm");
  auto cmd = sim_bin() + " chat --url " + sim_url() + " --conversations 100 --conversations-per-user 1"
             + " --rate 400 --duration 6 --drain 40 --json-out " + out + " 2>&1";
  FILE* sim = ::popen(cmd.c_str(), "r");
  ASSERT_NE(sim, nullptr);
  std::string log;
  char line[4096];
  bool killed = false;
  while (std::fgets(line, sizeof line, sim)) {
    log += line;
    if (!killed && std::string{line}.rfind("load: step 1/1 started", 0) == 0) {
      std::this_thread::sleep_for(std::chrono::seconds(2));
      // Every socket drops at once: SIGKILL (nothing finishes in flight), then a new process on
      // the same port against the same database.
      restart_with({"--listen", "127.0.0.1:" + std::to_string(port)});
      EXPECT_EQ(server_->port(), port);
      killed = true;
    }
  }
  int status = ::pclose(sim);
  ASSERT_TRUE(killed) << log;
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << log;
  auto r = read_report(out);
  SCOPED_TRACE(log);
  expect_exactly_once(r);
  EXPECT_EQ(r["sockets"], 200);
  EXPECT_GE(r["reconnects"].get<int64_t>(), 200) << "every client reconnected";
  EXPECT_NEAR(r["sent"].get<double>(), 400 * 6, 20) << "open loop: sends continue through the outage";
  // Refusals, if any, are only the documented retryable ones; the rest are the dropped sockets.
  for (auto& [code, n] : r["errors"].items()) {
    bool network = code.rfind("disconnected:", 0) == 0 || code.rfind("connect:", 0) == 0
                   || code.rfind("handshake:", 0) == 0;
    bool retryable = code == "unavailable" || code == "overloaded" || code == "timeout" || code == "rate_limited";
    EXPECT_TRUE(network || retryable) << code << ": " << n;
  }
}

// The engine's histogram (no server needed): percentiles within its 0.8 % resolution, exact
// extremes, and merging equals recording everything in one.
TEST(LogHistogram, PercentilesAreWithinTheBucketResolutionAndMergeAddsUp) {
  pactum::sim::log_histogram a, b, all;
  for (int64_t v = 1; v <= 100'000; ++v) {
    (v % 2 ? a : b).record(v * 1000); // 1 µs .. 100 ms, in ns
    all.record(v * 1000);
  }
  a.merge(b);
  for (double p : {50.0, 90.0, 99.0, 99.9}) {
    auto exact = static_cast<double>(p / 100 * 100'000 * 1000);
    EXPECT_NEAR(static_cast<double>(a.percentile(p)), exact, exact * 0.008) << p;
    EXPECT_EQ(a.percentile(p), all.percentile(p)) << p;
  }
  EXPECT_EQ(a.count(), 100'000);
  EXPECT_EQ(a.min(), 1000);
  EXPECT_EQ(a.max(), 100'000'000);
  EXPECT_EQ(a.percentile(100), a.max());
  pactum::sim::log_histogram small;
  small.record(7);
  small.record(-3); // a clock step backwards counts as 0
  EXPECT_EQ(small.percentile(50), 0);
  EXPECT_EQ(small.percentile(100), 7);
  EXPECT_EQ(pactum::sim::log_histogram{}.percentile(99), 0);
}

// The rooms layout: campaign rooms of 4 (a brand and 3 approved creators, set up over REST and
// entered with campaign.room); every acknowledged message reaches all 4 members' sockets once.
TEST_F(ChatLoadEndToEnd, TheRoomsLayoutDeliversEveryMessageToEveryMemberOnce) {
  ASSERT_FALSE(sim_bin().empty()) << "PACTUM_SIM_BIN is not set";
  auto out = json_path("rooms");
  auto cmd = sim_bin() + " chat --url " + sim_url() + " --rooms 3 --room-size 4 --rate 100"
             + " --duration 1 --encoding msgpack --json-out " + out + " --quiet > /dev/null";
  EXPECT_EQ(std::system(cmd.c_str()), 0) << cmd;
  auto r = read_report(out);
  expect_exactly_once(r, 4);
  EXPECT_EQ(r["layout"], "rooms");
  EXPECT_EQ(r["room_size"], 4);
  EXPECT_EQ(r["sockets"], 12) << "3 brands and 9 creators, one socket each";
  EXPECT_EQ(r["conversations"], 3);
  EXPECT_NEAR(r["steps"][0]["sent"].get<double>(), 100, 5);
}
