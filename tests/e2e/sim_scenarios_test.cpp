// End to end, the CI smoke of pactum-sim's scenarios beyond chat (PACTUM_SIM_BIN) against a real
// pactumd, with small numbers for a few seconds each: the whole deal (with counter-offers, a
// deadline refund and the operator's ledger check), the negotiation cycle, the reconnect storm and
// the idle sessions. Each scenario's own end check must pass; and each must fail when what it
// checks does not hold (a dirty ledger check, a deal that never reaches its end, sessions the
// server refuses), so the smoke cannot pass vacuously.

#include <cstdlib>
#include <fstream>
#include <string>

#include <sys/wait.h>

#include <gtest/gtest.h>

#include "e2e_fixture.hpp"

using namespace pactum::sim;

namespace {

class SimScenarios : public pactum::test_support::server_test {
protected:
  /// A contract "day" of 4 s, so a refund deal's deadline (1 day) passes within the test while
  /// the released deals (delivered at once) are delivered well before theirs, even under ASan.
  std::vector<std::string> server_args() const override {
    return {"--contract-day-ms", "4000", "--timer-sweep-ms", "200"};
  }

  static std::string env(const char* name) {
    auto* v = std::getenv(name);
    return v ? v : "";
  }

  std::string sim_url() const { return "http://127.0.0.1:" + std::to_string(server_->port()); }
  std::string json_path(const std::string& name) { return server_->log_path() + "." + name + ".json"; }

  /// Runs `pactum-sim <args> --json-out F`; returns its exit status and the report.
  std::pair<int, json> sim(const std::string& name, const std::string& args) {
    auto out = json_path(name);
    auto cmd = env("PACTUM_SIM_BIN") + " " + args + " --url " + sim_url() + " --json-out " + out + " --quiet > "
               + out + ".log 2>&1";
    int rc = std::system(cmd.c_str());
    std::ifstream in(out);
    json r = json::parse(in, nullptr, false);
    std::ifstream log(out + ".log");
    std::string text((std::istreambuf_iterator<char>(log)), std::istreambuf_iterator<char>());
    if (WIFEXITED(rc) && WEXITSTATUS(rc) == 2)
      ADD_FAILURE() << "setup failed or bad usage: " << cmd << "\n" << text;
    return {WIFEXITED(rc) ? WEXITSTATUS(rc) : -1, r.is_discarded() ? json(nullptr) : r};
  }

  /// `pactumd --ledger-check` against the test database, as an operator runs it.
  std::string ledger_check_cmd() {
    return env("PACTUMD_BIN") + " --database-url '" + url() + "' --log-level warn --ledger-check > /dev/null";
  }

  void SetUp() override {
    server_test::SetUp();
    ASSERT_FALSE(env("PACTUM_SIM_BIN").empty()) << "PACTUM_SIM_BIN is not set";
    ASSERT_FALSE(env("PACTUMD_BIN").empty()) << "PACTUMD_BIN is not set";
  }
};

} // namespace

TEST_F(SimScenarios, WholeDealsReleaseOrRefundAndTheLedgerStaysClean) {
  auto [rc, r] = sim("deal", "deal --deals 4 --rate 8 --counters 2 --refund-share 0.25 --deal-timeout 30"
                             " --ledger-check-cmd \"" + ledger_check_cmd() + "\"");
  ASSERT_TRUE(r.is_object());
  EXPECT_EQ(rc, 0) << r.dump(2);
  EXPECT_EQ(r["passed"], true);
  EXPECT_EQ(r["completed"], 4);
  EXPECT_EQ(r["released"], 3) << "three deals delivered and approved";
  EXPECT_EQ(r["refunded"], 1) << "one deal left to its delivery deadline";
  EXPECT_EQ(r["failed"], 0);
  EXPECT_EQ(r["wrong_state"], 0);
  EXPECT_EQ(r["ledger_check"], "clean");
  EXPECT_EQ(r["streams_checked"], 16) << "conversation and contract, brand and creator, per deal";
  EXPECT_EQ(r["streams_incomplete"], 0);
  EXPECT_EQ(r["gaps"], 0);
  EXPECT_TRUE(r["violations"].empty()) << r["violations"].dump(2);
  // Each side got its notifications once: application, the offers the other side made, the
  // accept of its own offer, funding and the ending (5 per side here), plus any reminders.
  EXPECT_EQ(r["notifications_incomplete"], 0);
  EXPECT_EQ(r["notification_duplicates"], 0);
  EXPECT_GE(r["notifications"].get<int64_t>(), 40);
  auto& ops = r["operations"];
  EXPECT_GE(ops["notification"]["count"].get<int64_t>(), 40);
  EXPECT_EQ(ops["campaign_create"]["count"], 4);
  EXPECT_EQ(ops["counter"]["count"], 8) << "two counter-offers per deal";
  EXPECT_EQ(ops["accept"]["count"], 4);
  EXPECT_EQ(ops["funded"]["count"], 4);
  EXPECT_EQ(ops["approve"]["count"], 3);
  EXPECT_EQ(ops["released"]["count"], 3) << "the creator saw each release live";
  EXPECT_EQ(ops["refunded"]["count"], 1);
  EXPECT_GE(ops["refunded"]["p50_ms"].get<double>(), 3900) << "the refund came at the deadline, not before";
  EXPECT_EQ(ops["deal"]["count"], 4);
  EXPECT_GE(ops["deal"]["p99_ms"].get<double>(), ops["deal"]["p50_ms"].get<double>());
  EXPECT_GT(r["completed_per_s"].get<double>(), 0);

  // The same run with a ledger check that fails: the deals still complete, the verdict does not.
  auto [rc2, dirty] = sim("deal-dirty", "deal --deals 1 --rate 1 --counters 0 --ledger-check-cmd false");
  ASSERT_TRUE(dirty.is_object());
  EXPECT_EQ(rc2, 1);
  EXPECT_EQ(dirty["completed"], 1);
  EXPECT_EQ(dirty["ledger_check"], "FAILED");
  EXPECT_EQ(dirty["passed"], false);
}

TEST_F(SimScenarios, ADealThatNeverReachesItsEndFailsTheRun) {
  // Delivery due in 30 "days" (120 s here): the refund the deal waits for cannot come within its
  // 3 s timeout.
  auto [rc, r] = sim("deal-stuck", "deal --deals 1 --rate 1 --refund-share 1 --delivery-days 30 --deal-timeout 3"
                                   " --no-ledger-check");
  ASSERT_TRUE(r.is_object());
  EXPECT_EQ(rc, 1);
  EXPECT_EQ(r["failed"], 1);
  EXPECT_EQ(r["completed"], 0);
  EXPECT_EQ(r["passed"], false);
  ASSERT_FALSE(r["violations"].empty());
  EXPECT_NE(r["violations"][0].get<std::string>().find("refunded"), std::string::npos) << r["violations"].dump();
}

TEST_F(SimScenarios, TheNegotiationCycleEndsInOneContractPerDeal) {
  auto [rc, r] = sim("negotiate", "negotiate --deals 3 --rate 10 --counters 3");
  ASSERT_TRUE(r.is_object());
  EXPECT_EQ(rc, 0) << r.dump(2);
  EXPECT_EQ(r["scenario"], "negotiate");
  EXPECT_EQ(r["accepted"], 3) << "each contract awaits funding";
  EXPECT_EQ(r["operations"]["offer"]["count"], 3);
  EXPECT_EQ(r["operations"]["counter"]["count"], 9);
  EXPECT_EQ(r["operations"]["accept"]["count"], 3);
  EXPECT_FALSE(r["operations"].contains("fund"));
  EXPECT_EQ(r["streams_incomplete"], 0);
  EXPECT_EQ(r["passed"], true);
}

TEST_F(SimScenarios, AReconnectStormResumesEveryClientWithNothingLost) {
  auto [rc, r] = sim("storm", "storm --clients 40 --rate 40 --duration 3 --storm-at 1 --jitter-ms 300 --drain 20");
  ASSERT_TRUE(r.is_object());
  EXPECT_EQ(rc, 0) << r.dump(2);
  EXPECT_EQ(r["scenario"], "storm");
  auto& st = r["storm"];
  EXPECT_EQ(st["clients"], 40);
  EXPECT_EQ(st["dropped_by_client"], 40) << "every socket was open and dropped at once";
  EXPECT_EQ(st["resumed"], 40);
  EXPECT_EQ(st["caught_up"], 40);
  EXPECT_GT(st["resume_seconds"].get<double>(), 0);
  EXPECT_LT(st["resume_seconds"].get<double>(), 10);
  EXPECT_GE(r["reconnects"].get<int64_t>(), 40);
  EXPECT_NEAR(r["sent"].get<double>(), 120, 5) << "open loop: chat goes on through the storm";
  EXPECT_EQ(r["acked"], r["sent"]);
  EXPECT_EQ(r["lost"], 0);
  EXPECT_EQ(r["stored_twice"], 0);
  EXPECT_EQ(r["delivered"].get<int64_t>(), 2 * r["acked"].get<int64_t>());
  EXPECT_EQ(r["passed"], true);
}

TEST_F(SimScenarios, IdleSessionsAreHeldAndTheirMemoryIsMeasured) {
  auto [rc, r] = sim("idle", "idle --sessions 60 --sessions-per-user 10 --hold 1 --server-pid "
                               + std::to_string(server_->pid()));
  ASSERT_TRUE(r.is_object());
  EXPECT_EQ(rc, 0) << r.dump(2);
  EXPECT_EQ(r["accounts"], 6);
  EXPECT_EQ(r["held"], 60);
  EXPECT_EQ(r["connect_failures"], 0);
  EXPECT_EQ(r["operations"]["connect"]["count"], 60);
  ASSERT_TRUE(r["server_rss_kib"].is_object()) << r.dump(2);
  EXPECT_GT(r["server_rss_kib"]["before"].get<int64_t>(), 0);
  EXPECT_TRUE(r["bytes_per_session"].is_number());

  // pactumd allows 20 sockets per user: 25 sessions of one account leave 5 refused, and the run fails.
  auto [rc2, over] = sim("idle-over", "idle --sessions 25 --sessions-per-user 25 --hold 0");
  ASSERT_TRUE(over.is_object());
  EXPECT_EQ(rc2, 1);
  EXPECT_EQ(over["held"], 20);
  EXPECT_EQ(over["connect_failures"], 5);
  EXPECT_TRUE(over["server_rss_kib"].is_null()) << "no --server-pid, no memory figure";
  EXPECT_EQ(over["passed"], false);
}
