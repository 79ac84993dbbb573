// The wallet's rules alone: who may withdraw what, idempotent retries, and the ledger
// reservation each withdrawal makes and its payout settles.

#include "pactum/actors/wallet_machine.hpp"

#include <gtest/gtest.h>

using namespace pactum;
using namespace pactum::actors::wallet;

namespace {

class WalletMachineTest : public ::testing::Test {
protected:
  void SetUp() override { s_.user = uuid::v7(); }

  withdraw request(std::string key, int64_t amount, int64_t withdrawable = 10'000, bool verified = true) {
    return withdraw{std::move(key), amount, "USD", "acct_123", withdrawable, verified};
  }

  /// Decides and, when accepted, applies; returns the decision.
  decision run(const auto& cmd) {
    auto d = decide(s_, cmd, 1'000, rules_);
    if (auto* a = std::get_if<accepted>(&d)) {
      postings_ = postings(s_, s_.head + 1, a->event);
      apply(s_, s_.head + 1, a->event);
    }
    return d;
  }

  rules rules_;
  state s_;
  std::vector<actors::contract::posting> postings_;
};

} // namespace

TEST_F(WalletMachineTest, AWithdrawalReservesItsAmountAndThePayoutPostsIt) {
  auto d = run(request("w1", 4'000));
  ASSERT_TRUE(std::holds_alternative<accepted>(d));
  auto& ev = std::get<protocol::withdrawal_requested>(std::get<accepted>(d).event);
  EXPECT_EQ(ev.payout, s_.user.str() + ":payout:1");
  ASSERT_EQ(postings_.size(), 1u);
  EXPECT_EQ(postings_[0].what, actors::contract::posting::kind::pending);
  EXPECT_EQ(postings_[0].debit, "user:" + s_.user.str() + ":USD");
  EXPECT_EQ(postings_[0].credit, "clearing:USD");
  EXPECT_EQ(s_.reserved("USD"), 4'000);
  EXPECT_EQ(payouts_due(s_), std::vector<std::string>{ev.payout});

  ASSERT_TRUE(std::holds_alternative<accepted>(run(payout_result{ev.payout, true})));
  ASSERT_EQ(postings_.size(), 1u);
  EXPECT_EQ(postings_[0].what, actors::contract::posting::kind::post_pending);
  EXPECT_EQ(postings_[0].pending_id, s_.user.str() + ":1:0");
  EXPECT_EQ(postings_[0].amount, 4'000);
  EXPECT_TRUE(payouts_due(s_).empty());
  EXPECT_TRUE(std::holds_alternative<ignored>(run(payout_result{ev.payout, true})))
    << "a repeated webhook changes nothing";
}

TEST_F(WalletMachineTest, AFailedPayoutVoidsTheReservation) {
  run(request("w1", 2'000));
  auto payout = s_.withdrawals.begin()->first;
  ASSERT_TRUE(std::holds_alternative<accepted>(run(payout_result{payout, false, "account_closed"})));
  EXPECT_EQ(postings_[0].what, actors::contract::posting::kind::void_pending);
  EXPECT_EQ(s_.withdrawals.at(payout).code, "account_closed");
  EXPECT_EQ(s_.reserved("USD"), 0);
}

TEST_F(WalletMachineTest, OnlyVerifiedUsersWithdrawWhatHasSettled) {
  auto unverified = run(request("w1", 100, 10'000, false));
  ASSERT_TRUE(std::holds_alternative<refusal>(unverified));
  EXPECT_EQ(std::get<refusal>(unverified).code, protocol::error_code::forbidden);
  auto too_much = run(request("w2", 5'001, 5'000));
  ASSERT_TRUE(std::holds_alternative<refusal>(too_much));
  EXPECT_EQ(std::get<refusal>(too_much).code, protocol::error_code::conflict);
  auto tiny = run(request("w3", rules_.min_withdrawal - 1));
  EXPECT_EQ(std::get<refusal>(tiny).code, protocol::error_code::bad_request);
  EXPECT_EQ(s_.head, 0);
}

TEST_F(WalletMachineTest, ARetryAnswersTheFirstWithdrawalAndAnAlteredOneIsRefused) {
  run(request("w1", 1'000));
  auto again = run(request("w1", 1'000, 0)); // the balance is spent now: still the same answer
  ASSERT_TRUE(std::holds_alternative<duplicate>(again));
  EXPECT_EQ(std::get<duplicate>(again).seq, 1);
  auto altered = run(request("w1", 2'000));
  ASSERT_TRUE(std::holds_alternative<refusal>(altered));
  EXPECT_EQ(std::get<refusal>(altered).code, protocol::error_code::idempotency_mismatch);
}

TEST_F(WalletMachineTest, PendingWithdrawalsAreLimited) {
  for (size_t i = 0; i < rules_.max_pending; ++i)
    ASSERT_TRUE(std::holds_alternative<accepted>(run(request("w" + std::to_string(i), 100))));
  auto over = run(request("one more", 100));
  ASSERT_TRUE(std::holds_alternative<refusal>(over));
  EXPECT_EQ(std::get<refusal>(over).code, protocol::error_code::limit_reached);
}

TEST_F(WalletMachineTest, EventsRoundTripThroughTheirEncoding) {
  run(request("w1", 1'500));
  protocol::wallet_event ev = protocol::withdrawal_requested{"w1", "p", 1'500, "USD", "acct", 7};
  auto bytes = protocol::encode_wallet_event(ev);
  auto back = protocol::decode_wallet_event("wallet.withdrawal_requested", 1, bytes);
  ASSERT_TRUE(back.has_value()) << back.error();
  EXPECT_EQ(back.value(), ev);
  EXPECT_FALSE(protocol::decode_wallet_event("wallet.withdrawal_failed", 1, bytes).has_value())
    << "a payload missing fields is an error";
}
