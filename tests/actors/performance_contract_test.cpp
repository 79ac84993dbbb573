// Performance contracts (cpc/cpv campaigns): the contract machine's per-unit billing, against a
// double-entry ledger model (docs/contracts.md, "Performance contracts").

#include "pactum/actors/contract_machine.hpp"

#include <map>

#include <gtest/gtest.h>

using namespace pactum;
using namespace pactum::actors::contract;
using protocol::error_code;

namespace {

constexpr millis hour = 3600 * 1000LL;
constexpr millis day = 24 * hour;
constexpr millis t0 = 1'700'000'000'000;

protocol::offer_terms cap_terms(int64_t cap) {
  protocol::offer_terms t;
  t.amount = cap;
  t.currency = "USD";
  t.deliverables = {{"tiktok", "tiktok_duet", 1, "a duet with the link"}};
  t.delivery_days = 7;
  t.revision_rounds = 1;
  t.usage_rights = "organic";
  t.usage_days = 90;
  return t;
}

class PerformanceContractTest : public ::testing::Test {
protected:
  void open_with(std::string model, int64_t rate, int64_t cap = 1000, millis ends_at = 0) {
    s_ = state{};
    s_.id = uuid::v7();
    balance_.clear();
    perf_ = protocol::performance_terms{campaign_, std::move(model), rate, ends_at};
    auto d = run(open{s_.id, conversation_, 3, brand_, creator_, cap_terms(cap), funding_mode::escrow, perf_}, t0);
    ASSERT_TRUE(std::holds_alternative<accepted>(d));
    ASSERT_TRUE(s_.performance);
    ASSERT_TRUE(std::holds_alternative<accepted>(run(fund{brand_, "f", "pm_card_visa"}, t0 + 1)));
    ASSERT_TRUE(std::holds_alternative<accepted>(run(payment_result{s_.intent, true}, t0 + 2)));
    ASSERT_EQ(s_.status, contract_status::funded);
    ASSERT_EQ(s_.escrow, cap);
  }

  template <class Cmd>
  decision run(const Cmd& cmd, millis now) {
    auto d = decide(s_, cmd, now, rules_);
    if (auto* a = std::get_if<accepted>(&d))
      for (auto& ev : a->events) {
        auto seq = s_.head + 1;
        for (auto& p : postings(s_, seq, ev)) {
          EXPECT_EQ(p.what, posting::kind::post);
          EXPECT_GT(p.amount, 0);
          balance_[p.debit] -= p.amount;
          balance_[p.credit] += p.amount;
        }
        apply(s_, seq, ev, rules_);
        // A journaled event survives its encoding (what replay reads).
        auto bytes = protocol::encode_contract_event(ev);
        auto back = protocol::decode_contract_event(protocol::contract_event_type(ev),
                                                    protocol::contract_event_version(ev), bytes);
        EXPECT_TRUE(back && back.value() == ev) << protocol::contract_event_type(ev);
      }
    return d;
  }

  int64_t balance(const std::string& account) const {
    auto i = balance_.find(account);
    return i == balance_.end() ? 0 : i->second;
  }
  int64_t creator_balance() const { return balance(account::user(creator_, "USD")); }
  int64_t revenue() const { return balance(account::revenue("USD")); }
  int64_t held() const { return balance(account::escrow(s_.id)); }
  int64_t sum() const {
    int64_t x = 0;
    for (auto& [a, b] : balance_)
      x += b;
    return x;
  }

  static const protocol::contract_performance_billed& billed(const decision& d) {
    return std::get<protocol::contract_performance_billed>(std::get<accepted>(d).events.at(0));
  }
  static error_code code(const decision& d) {
    return std::holds_alternative<refusal>(d) ? std::get<refusal>(d).code : error_code::internal;
  }

  uuid brand_ = uuid::v7();
  uuid creator_ = uuid::v7();
  uuid conversation_ = uuid::v7();
  uuid campaign_ = uuid::v7();
  rules rules_;
  protocol::performance_terms perf_;
  state s_;
  std::map<std::string, int64_t> balance_;
};

} // namespace

TEST_F(PerformanceContractTest, BillsClicksAtTheRateWithCommission) {
  open_with("cpc", 5);
  auto d = run(bill{0, 42, 10}, t0 + hour);
  ASSERT_TRUE(std::holds_alternative<accepted>(d));
  EXPECT_EQ(billed(d).gross, 50);
  EXPECT_EQ(billed(d).commission, commission(50, rules_)); // 10% -> 5
  EXPECT_EQ(billed(d).commission, 5);
  EXPECT_FALSE(billed(d).ended);
  EXPECT_EQ(creator_balance(), 45);
  EXPECT_EQ(revenue(), 5);
  EXPECT_EQ(held(), 1000 - 50);
  EXPECT_EQ(s_.escrow, held());
  EXPECT_EQ(s_.billed_through, 42);
  EXPECT_EQ(s_.billed_units, 10);
  EXPECT_EQ(s_.status, contract_status::funded);
  EXPECT_EQ(sum(), 0);
}

TEST_F(PerformanceContractTest, ARepeatedOrStaleBillMovesNothing) {
  open_with("cpc", 5);
  ASSERT_TRUE(std::holds_alternative<accepted>(run(bill{0, 42, 10}, t0 + hour)));
  auto head = s_.head;
  // The same bill again (a crash between the journal and the marking of the rows).
  EXPECT_TRUE(std::holds_alternative<ignored>(run(bill{0, 42, 10}, t0 + 2 * hour)));
  // A count made before the watermark moved, reaching further: stale, recounted next round.
  EXPECT_TRUE(std::holds_alternative<ignored>(run(bill{0, 50, 14}, t0 + 2 * hour)));
  // Below the watermark.
  EXPECT_TRUE(std::holds_alternative<ignored>(run(bill{42, 40, 1}, t0 + 2 * hour)));
  EXPECT_EQ(s_.head, head);
  EXPECT_EQ(creator_balance(), 45);
  // The next count from the watermark bills.
  ASSERT_TRUE(std::holds_alternative<accepted>(run(bill{42, 50, 4}, t0 + 2 * hour)));
  EXPECT_EQ(creator_balance(), 45 + 18);
  EXPECT_EQ(code(run(bill{50, 60, 0}, t0 + 2 * hour)), error_code::bad_request);
}

TEST_F(PerformanceContractTest, CapsAtTheEscrowAndEndsAtZero) {
  open_with("cpc", 5, 100);
  auto d = run(bill{0, 10, 15}, t0 + hour); // 75
  ASSERT_TRUE(std::holds_alternative<accepted>(d));
  d = run(bill{10, 30, 20}, t0 + hour + 1); // 100 asked, 25 left
  ASSERT_TRUE(std::holds_alternative<accepted>(d));
  EXPECT_EQ(billed(d).gross, 25);
  EXPECT_TRUE(billed(d).ended);
  EXPECT_EQ(s_.status, contract_status::released);
  EXPECT_TRUE(s_.terminal());
  EXPECT_EQ(held(), 0);
  EXPECT_EQ(s_.escrow, 0);
  EXPECT_EQ(s_.billed_gross, 100);
  EXPECT_EQ(creator_balance() + revenue(), 100);
  EXPECT_EQ(s_.next_timer(rules_), 0) << "nothing runs after the end";
  EXPECT_EQ(code(run(bill{30, 40, 1}, t0 + 2 * hour)), error_code::conflict);
  EXPECT_EQ(sum(), 0);
}

TEST_F(PerformanceContractTest, ViewsArePricedPerThousandCarryingTheRemainder) {
  open_with("cpv", 7, 1000); // 7 per 1,000 views
  auto d = run(bill{0, 1, 500}, t0 + hour); // 3.5 -> 3 now, the half carries
  ASSERT_TRUE(std::holds_alternative<accepted>(d));
  EXPECT_EQ(billed(d).gross, 3);
  d = run(bill{1, 2, 500}, t0 + hour + 1); // 1,000 views: 7 in all
  EXPECT_EQ(billed(d).gross, 4);
  d = run(bill{2, 3, 100}, t0 + hour + 2); // 0.7: nothing yet, but the units count
  ASSERT_TRUE(std::holds_alternative<accepted>(d));
  EXPECT_EQ(billed(d).gross, 0);
  EXPECT_EQ(s_.billed_units, 1100);
  EXPECT_EQ(s_.billed_gross, 7);
  EXPECT_EQ(performance_gross(perf_, 1100, 900), 7); // 2,000 views: 14 in all
  EXPECT_EQ(performance_gross(perf_, 0, max_amount), max_amount / 1000 * 7);
  EXPECT_EQ(performance_gross(protocol::performance_terms{campaign_, "cpv", max_amount, 0}, 0, max_amount),
            max_amount) << "no overflow";
  EXPECT_EQ(performance_gross(protocol::performance_terms{campaign_, "cpc", max_amount, 0}, 0, 3), max_amount);
}

TEST_F(PerformanceContractTest, IsNotReleasedAsAWholeAndRefundsTheRestAtTheCampaignEnd) {
  const millis ends = t0 + 3 * day;
  open_with("cpc", 5, 1000, ends);
  EXPECT_EQ(s_.running_deadline(), ends) << "the campaign ends before the delivery deadline";
  ASSERT_TRUE(std::holds_alternative<accepted>(
    run(deliver{creator_, "d", {{"https://tiktok.com/@c/video/1", ""}}, ""}, t0 + day)));
  EXPECT_EQ(code(run(approve{brand_, "a"}, t0 + day + 1)), error_code::conflict);
  EXPECT_EQ(code(run(dispute{brand_, "x", "no"}, t0 + day + 1)), error_code::conflict);
  // The review window would have lapsed here; a performance contract keeps billing.
  ASSERT_TRUE(std::holds_alternative<accepted>(run(bill{0, 9, 20}, t0 + day + rules_.review_window - 1)));
  EXPECT_EQ(s_.status, contract_status::delivered);
  auto early = run(timer_fired{}, ends - 2 * hour);
  EXPECT_FALSE(std::holds_alternative<accepted>(early) && s_.terminal());
  auto end = run(timer_fired{}, ends);
  ASSERT_TRUE(std::holds_alternative<accepted>(end));
  auto& r = std::get<protocol::contract_refunded>(std::get<accepted>(end).events.at(0));
  EXPECT_EQ(r.reason, "campaign_ended");
  EXPECT_EQ(r.amount, 900);
  EXPECT_FALSE(r.refund.empty());
  EXPECT_EQ(s_.status, contract_status::refunded);
  EXPECT_EQ(held(), 0);
  EXPECT_EQ(balance(account::clearing("USD")), -1000 + 900);
  EXPECT_EQ(creator_balance(), 90);
  EXPECT_EQ(revenue(), 10);
  EXPECT_EQ(sum(), 0);
}

TEST_F(PerformanceContractTest, RefundsTheRestAtTheDeliveryDeadlineWithoutDelivery) {
  open_with("cpc", 5, 1000);
  ASSERT_TRUE(std::holds_alternative<accepted>(run(bill{0, 3, 2}, t0 + day)));
  auto end = run(timer_fired{}, s_.delivery_due);
  ASSERT_TRUE(std::holds_alternative<accepted>(end));
  auto& r = std::get<protocol::contract_refunded>(std::get<accepted>(end).events.at(0));
  EXPECT_EQ(r.reason, "delivery_deadline");
  EXPECT_EQ(r.amount, 990);
  EXPECT_EQ(held(), 0);
}

TEST_F(PerformanceContractTest, MutualCancelWhileDeliveredGivesBackTheRest) {
  open_with("cpv", 1000, 5000);
  ASSERT_TRUE(std::holds_alternative<accepted>(
    run(deliver{creator_, "d", {{"https://tiktok.com/@c/video/1", ""}}, ""}, t0 + day)));
  ASSERT_TRUE(std::holds_alternative<accepted>(run(bill{0, 7, 2000}, t0 + day + 1))); // 2,000
  ASSERT_TRUE(std::holds_alternative<accepted>(run(cancel{brand_, "c1"}, t0 + day + 2)));
  auto d = run(cancel{creator_, "c2"}, t0 + day + 3);
  ASSERT_TRUE(std::holds_alternative<accepted>(d));
  auto& c = std::get<protocol::contract_cancelled>(std::get<accepted>(d).events.at(0));
  EXPECT_EQ(c.refunded, 3000);
  EXPECT_EQ(s_.status, contract_status::cancelled);
  EXPECT_EQ(held(), 0);
  EXPECT_EQ(sum(), 0);
}

TEST_F(PerformanceContractTest, OpenRequiresEscrowModeAndValidTerms) {
  state empty;
  empty.id = uuid::v7();
  auto with = [&](funding_mode mode, protocol::performance_terms p) {
    return decide(empty, open{empty.id, conversation_, 3, brand_, creator_, cap_terms(100), mode, p}, t0, rules_);
  };
  EXPECT_TRUE(std::holds_alternative<accepted>(with(funding_mode::escrow, {campaign_, "cpc", 5, 0})));
  EXPECT_EQ(code(with(funding_mode::authorize_capture, {campaign_, "cpc", 5, 0})), error_code::bad_request);
  EXPECT_EQ(code(with(funding_mode::escrow, {campaign_, "cpa", 5, 0})), error_code::bad_request);
  EXPECT_EQ(code(with(funding_mode::escrow, {campaign_, "cpc", 0, 0})), error_code::bad_request);
  // An ordinary contract refuses bills.
  auto plain = decide(empty, open{empty.id, conversation_, 3, brand_, creator_, cap_terms(100)}, t0, rules_);
  apply(empty, 1, std::get<accepted>(plain).events.at(0), rules_);
  EXPECT_EQ(code(decide(empty, bill{0, 1, 1}, t0, rules_)), error_code::conflict);
}

TEST_F(PerformanceContractTest, SnapshotKeepsTermsAndWatermark) {
  open_with("cpc", 5, 1000, t0 + 5 * day);
  ASSERT_TRUE(std::holds_alternative<accepted>(run(bill{0, 77, 3}, t0 + hour)));
  auto bytes = encode_snapshot(s_);
  auto back = decode_snapshot(snapshot_version, bytes, rules_);
  ASSERT_TRUE(back) << back.error();
  EXPECT_EQ(back.value(), s_);
}
