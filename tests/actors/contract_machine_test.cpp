#include "pactum/actors/contract_machine.hpp"

#include <map>

#include <gtest/gtest.h>

using namespace pactum;
using namespace pactum::actors::contract;
using protocol::error_code;

namespace {

constexpr millis hour = 3600 * 1000LL;
constexpr millis day = 24 * hour;
constexpr millis t0 = 1'700'000'000'000; // when the contract is opened

protocol::offer_terms sample_terms(int64_t amount = 150'000) {
  protocol::offer_terms t;
  t.amount = amount;
  t.currency = "USD";
  t.deliverables = {{"tiktok", "tiktok_duet", 2, "duet our launch video"}};
  t.delivery_days = 7;
  t.revision_rounds = 2;
  t.usage_rights = "organic";
  t.usage_days = 90;
  return t;
}

std::vector<protocol::delivery_item> items(std::string url = "https://tiktok.com/@zoe/video/1") {
  return {{std::move(url), "the duet"}};
}

class ContractMachineTest : public ::testing::Test {
protected:
  void SetUp() override {
    s_.id = uuid::v7();
    auto d = run(open{s_.id, conversation_, 5, brand_, creator_, sample_terms()}, t0);
    ASSERT_TRUE(std::holds_alternative<accepted>(d));
  }

  /// Decides and, when accepted, books the postings and applies the events (like the actor).
  template <class Cmd>
  decision run(const Cmd& cmd, millis now) {
    auto d = decide(s_, cmd, now, rules_);
    if (auto* a = std::get_if<accepted>(&d)) {
      for (auto& ev : a->events) {
        auto seq = s_.head + 1;
        for (auto& p : postings(s_, seq, ev)) {
          EXPECT_EQ(p.what, posting::kind::post);
          EXPECT_GT(p.amount, 0);
          EXPECT_EQ(p.currency, s_.terms.currency);
          EXPECT_EQ(p.id.rfind(s_.id.str() + ":" + std::to_string(seq) + ":", 0), 0u) << p.id;
          balance_[p.debit] -= p.amount;
          balance_[p.credit] += p.amount;
          booked_.push_back(p);
        }
        apply(s_, seq, ev, rules_);
        journal_.push_back(ev);
      }
    }
    return d;
  }

  static error_code code(const decision& d) {
    return std::holds_alternative<refusal>(d) ? std::get<refusal>(d).code : error_code::internal;
  }

  static std::string message(const decision& d) {
    return std::holds_alternative<refusal>(d) ? std::get<refusal>(d).message : std::string{};
  }

  /// The single event of an accepted decision, as `E`.
  template <class E>
  static const E& event(const decision& d) {
    const auto& events = std::get<accepted>(d).events;
    EXPECT_EQ(events.size(), 1u);
    return std::get<E>(events.front());
  }

  /// Funds the contract at `now` (request + provider success); returns the funded time.
  millis fund_at(millis now) {
    auto req = run(fund{brand_, "fund-" + std::to_string(now), "4242424242424242"}, now);
    EXPECT_TRUE(std::holds_alternative<accepted>(req)) << message(req);
    auto ok = run(payment_result{s_.intent, true}, now + 1);
    EXPECT_TRUE(std::holds_alternative<accepted>(ok));
    return now + 1;
  }

  /// Starts over with a fresh, opened contract.
  void reset() {
    s_ = state{};
    balance_.clear();
    booked_.clear();
    journal_.clear();
    SetUp();
  }

  int64_t sum_of_balances() const {
    int64_t sum = 0;
    for (auto& [account, b] : balance_)
      sum += b;
    return sum;
  }

  int64_t balance(const std::string& account) const {
    auto i = balance_.find(account);
    return i == balance_.end() ? 0 : i->second;
  }

  uuid brand_ = uuid::v7();
  uuid creator_ = uuid::v7();
  uuid conversation_ = uuid::v7();
  uuid moderator_ = uuid::v7();
  rules rules_;
  state s_;
  std::map<std::string, int64_t> balance_;
  std::vector<posting> booked_;
  std::vector<protocol::contract_event> journal_;
};

} // namespace

// -- opening --------------------------------------------------------------------------------------

TEST_F(ContractMachineTest, OpensOnceFromTheAcceptedOffer) {
  EXPECT_TRUE(s_.exists());
  EXPECT_EQ(s_.head, 1);
  EXPECT_EQ(s_.status, contract_status::awaiting_funding);
  EXPECT_EQ(s_.offer, 5);
  EXPECT_EQ(s_.conversation, conversation_);
  EXPECT_TRUE(s_.is_member(brand_));
  EXPECT_TRUE(s_.is_member(creator_));
  EXPECT_FALSE(s_.is_member(uuid::v7()));
  EXPECT_EQ(s_.next_timer(rules_), 0) << "no clock before funding";

  auto again = run(open{s_.id, conversation_, 5, brand_, creator_, sample_terms()}, t0 + 50);
  ASSERT_TRUE(std::holds_alternative<duplicate>(again)) << "the conversation's retry";
  EXPECT_EQ(std::get<duplicate>(again).seq, 1);
  EXPECT_EQ(std::get<duplicate>(again).at, t0);
  EXPECT_EQ(code(run(open{s_.id, conversation_, 5, brand_, creator_, sample_terms(9)}, t0)),
            error_code::conflict);
  EXPECT_EQ(s_.head, 1);
}

TEST_F(ContractMachineTest, OpenChecksItsInput) {
  state empty;
  empty.id = uuid::v7();
  auto with = [&](auto change) {
    open cmd{empty.id, conversation_, 5, brand_, creator_, sample_terms()};
    change(cmd);
    return decide(empty, cmd, t0, rules_);
  };
  EXPECT_TRUE(std::holds_alternative<accepted>(with([](open&) {})));
  EXPECT_EQ(code(with([](open& c) { c.id = uuid::v7(); })), error_code::internal);
  EXPECT_EQ(code(with([&](open& c) { c.creator = c.brand; })), error_code::bad_request);
  EXPECT_EQ(code(with([](open& c) { c.brand = {}; })), error_code::bad_request);
  EXPECT_EQ(code(with([](open& c) { c.offer = 0; })), error_code::bad_request);
  EXPECT_EQ(code(with([](open& c) { c.terms.amount = 0; })), error_code::bad_request);
  EXPECT_EQ(code(with([](open& c) { c.terms.deliverables.clear(); })), error_code::bad_request);
  EXPECT_EQ(code(with([](open& c) { c.terms.deliverables[0].platform = ""; })),
            error_code::bad_request) << "terms must be canonical so that the journal replays";
}

// -- the happy path -------------------------------------------------------------------------------

TEST_F(ContractMachineTest, HappyPathFundDeliverReviseDeliverApprove) {
  auto fund_req = run(fund{brand_, "f1", "4242424242424242"}, t0 + hour);
  ASSERT_TRUE(std::holds_alternative<accepted>(fund_req)) << message(fund_req);
  auto& requested = event<protocol::contract_funding_requested>(fund_req);
  EXPECT_EQ(requested.intent, s_.id.str() + ":fund:2");
  EXPECT_EQ(requested.amount, 150'000);
  EXPECT_EQ(requested.currency, "USD");
  EXPECT_EQ(requested.payment_method, "4242424242424242");
  EXPECT_EQ(s_.intent, requested.intent);
  EXPECT_EQ(s_.payment_method, "4242424242424242") << "to re-issue the charge after a restart";
  EXPECT_TRUE(booked_.empty()) << "nothing moves until the provider confirms";

  const millis funded_at = t0 + 2 * hour;
  auto funded = run(payment_result{requested.intent, true}, funded_at);
  ASSERT_TRUE(std::holds_alternative<accepted>(funded));
  EXPECT_EQ(event<protocol::contract_funded>(funded).delivery_due, funded_at + 7 * day);
  EXPECT_EQ(s_.status, contract_status::funded);
  EXPECT_EQ(s_.escrow, 150'000);
  EXPECT_EQ(balance(account::escrow(s_.id)), 150'000);
  EXPECT_EQ(balance(account::clearing("USD")), -150'000);
  EXPECT_TRUE(s_.intent.empty());
  EXPECT_TRUE(s_.payment_method.empty()) << "the token is kept no longer than needed";
  EXPECT_EQ(s_.funded_intent, requested.intent) << "refunds refer to the charge";
  EXPECT_EQ(s_.next_timer(rules_), funded_at + 7 * day - 24 * hour) << "the reminder first";

  auto d1 = run(deliver{creator_, "d1", items(), "first cut"}, funded_at + day);
  ASSERT_TRUE(std::holds_alternative<accepted>(d1)) << message(d1);
  EXPECT_EQ(event<protocol::contract_delivered>(d1).round, 0);
  EXPECT_EQ(event<protocol::contract_delivered>(d1).review_due, funded_at + day + 3 * day);
  EXPECT_EQ(s_.status, contract_status::delivered);

  auto rev = run(request_revision{brand_, "r1", "louder logo"}, funded_at + 2 * day);
  ASSERT_TRUE(std::holds_alternative<accepted>(rev)) << message(rev);
  auto& revision = event<protocol::contract_revision_requested>(rev);
  EXPECT_EQ(revision.round, 1);
  EXPECT_EQ(revision.delivery_due, funded_at + 7 * day) << "the old deadline was later";
  EXPECT_EQ(s_.status, contract_status::revision_requested);

  auto d2 = run(deliver{creator_, "d2", items("https://tiktok.com/@zoe/video/2")}, funded_at + 3 * day);
  ASSERT_TRUE(std::holds_alternative<accepted>(d2)) << message(d2);
  EXPECT_EQ(event<protocol::contract_delivered>(d2).round, 1);
  EXPECT_EQ(s_.deliveries, 2);

  auto ok = run(approve{brand_, "a1"}, funded_at + 4 * day);
  ASSERT_TRUE(std::holds_alternative<accepted>(ok)) << message(ok);
  auto& released = event<protocol::contract_released>(ok);
  EXPECT_EQ(released.to_creator, 150'000) << "gross";
  EXPECT_EQ(released.commission, 15'000);
  EXPECT_FALSE(released.automatic);
  EXPECT_EQ(released.by, brand_);
  EXPECT_EQ(s_.status, contract_status::released);
  EXPECT_TRUE(s_.terminal());
  EXPECT_EQ(s_.escrow, 0);
  EXPECT_EQ(balance(account::escrow(s_.id)), 0);
  EXPECT_EQ(balance(account::user(creator_, "USD")), 135'000) << "net of commission";
  EXPECT_EQ(balance(account::revenue("USD")), 15'000);
  EXPECT_EQ(sum_of_balances(), 0);
  EXPECT_EQ(s_.next_timer(rules_), 0);
  ASSERT_EQ(booked_.size(), 3u);
  EXPECT_EQ(booked_[1].id, s_.id.str() + ":" + std::to_string(s_.head) + ":0");
  EXPECT_EQ(booked_[2].id, s_.id.str() + ":" + std::to_string(s_.head) + ":1");

  // Nothing more can happen to the money.
  EXPECT_EQ(code(run(approve{brand_, "a2"}, funded_at + 5 * day)), error_code::conflict);
  EXPECT_EQ(code(run(cancel{brand_, "c"}, funded_at + 5 * day)), error_code::conflict);
  EXPECT_TRUE(std::holds_alternative<ignored>(run(timer_fired{}, funded_at + 50 * day)));
}

TEST_F(ContractMachineTest, ReplayAndSnapshotsRebuildTheSameState) {
  auto funded_at = fund_at(t0 + 10);
  run(deliver{creator_, "d1", items()}, funded_at + day);
  run(request_revision{brand_, "r1", "again"}, funded_at + 2 * day);
  run(cancel{creator_, "c1"}, funded_at + 2 * day + 5);
  run(timer_fired{}, funded_at + 6 * day + hour); // the delivery reminder
  ASSERT_EQ(s_.head, 7);

  state replayed;
  replayed.id = s_.id;
  for (size_t i = 0; i < journal_.size(); ++i) {
    // Through the journal's encoding, as on activation.
    auto bytes = protocol::encode_contract_event(journal_[i]);
    auto ev = protocol::decode_contract_event(protocol::contract_event_type(journal_[i]), 1, bytes);
    ASSERT_TRUE(ev) << ev.error();
    apply(replayed, static_cast<int64_t>(i + 1), ev.value(), rules_);
  }
  auto bytes = encode_snapshot(s_);
  EXPECT_EQ(encode_snapshot(replayed), bytes);

  auto restored = decode_snapshot(snapshot_version, bytes, rules_);
  ASSERT_TRUE(restored) << restored.error();
  EXPECT_EQ(encode_snapshot(restored.value()), bytes);
  EXPECT_EQ(restored->status, contract_status::revision_requested);
  EXPECT_EQ(restored->cancel_requested_by, creator_);
  EXPECT_EQ(restored->terms, s_.terms);
  EXPECT_EQ(restored->keys, s_.keys);
  EXPECT_EQ(restored->next_timer(rules_), s_.next_timer(rules_));
  auto retry = decide(restored.value(), deliver{creator_, "d1", items()}, funded_at + 3 * day, rules_);
  ASSERT_TRUE(std::holds_alternative<duplicate>(retry)) << "keys survive a snapshot";
  EXPECT_EQ(std::get<duplicate>(retry).seq, 4);
  EXPECT_TRUE(std::holds_alternative<accepted>(
    decide(restored.value(), cancel{brand_, "c2"}, funded_at + 3 * day, rules_)))
    << "the pending cancel survives too";

  EXPECT_FALSE(decode_snapshot(2, bytes, rules_)) << "an unknown version is refused, not misread";
  EXPECT_FALSE(decode_snapshot(snapshot_version, "garbage", rules_));
  state never_opened;
  never_opened.id = uuid::v7();
  auto empty = decode_snapshot(snapshot_version, encode_snapshot(never_opened), rules_);
  ASSERT_TRUE(empty) << empty.error();
  EXPECT_FALSE(empty->exists());
}

// -- deadlines ------------------------------------------------------------------------------------

TEST_F(ContractMachineTest, DeliveryDeadlineRefundsTheBrand) {
  auto funded_at = fund_at(t0);
  const millis due = funded_at + 7 * day;
  EXPECT_EQ(s_.next_timer(rules_), due - 24 * hour);
  EXPECT_TRUE(std::holds_alternative<ignored>(run(timer_fired{}, due - 24 * hour - 1)))
    << "nothing due yet: an early timer is harmless";

  auto reminder = run(timer_fired{}, due - 24 * hour);
  ASSERT_TRUE(std::holds_alternative<accepted>(reminder));
  EXPECT_EQ(event<protocol::contract_reminder>(reminder).deadline, "delivery");
  EXPECT_EQ(event<protocol::contract_reminder>(reminder).due, due);
  EXPECT_TRUE(std::holds_alternative<ignored>(run(timer_fired{}, due - hour))) << "reminded once";
  EXPECT_EQ(s_.next_timer(rules_), due);

  auto late = run(deliver{creator_, "d-late", items()}, due);
  EXPECT_EQ(code(late), error_code::conflict) << "deliver after the deadline";
  EXPECT_NE(message(late).find("deadline"), std::string::npos) << message(late);

  auto refund = run(timer_fired{}, due + 5);
  ASSERT_TRUE(std::holds_alternative<accepted>(refund));
  auto& refunded = event<protocol::contract_refunded>(refund);
  EXPECT_EQ(refunded.amount, 150'000);
  EXPECT_EQ(refunded.reason, "delivery_deadline");
  EXPECT_EQ(refunded.refund, s_.id.str() + ":refund:" + std::to_string(s_.head));
  EXPECT_EQ(s_.status, contract_status::refunded);
  EXPECT_EQ(s_.escrow, 0);
  EXPECT_EQ(balance(account::escrow(s_.id)), 0);
  EXPECT_EQ(balance(account::clearing("USD")), 0) << "in and out again";
  EXPECT_EQ(s_.outstanding.at(refunded.refund), 150'000);
  EXPECT_TRUE(std::holds_alternative<ignored>(run(timer_fired{}, due + 10))) << "terminal";

  // The provider confirms the refund, once.
  EXPECT_TRUE(std::holds_alternative<ignored>(run(confirm_call{"nope"}, due + 20)));
  auto confirmed = run(confirm_call{refunded.refund}, due + 20);
  ASSERT_TRUE(std::holds_alternative<accepted>(confirmed));
  EXPECT_EQ(event<protocol::contract_provider_confirmed>(confirmed).call, refunded.refund);
  EXPECT_TRUE(s_.outstanding.empty());
  EXPECT_TRUE(std::holds_alternative<ignored>(run(confirm_call{refunded.refund}, due + 30)));
}

TEST_F(ContractMachineTest, DeliverAfterTheDeadlineIsRefusedEvenBeforeTheTimerFires) {
  auto funded_at = fund_at(t0);
  EXPECT_TRUE(std::holds_alternative<accepted>(
    run(deliver{creator_, "d", items()}, funded_at + 7 * day - 1)))
    << "one millisecond before is in time";
  run(request_revision{brand_, "r", "redo"}, funded_at + 7 * day);
  const millis due = s_.delivery_due;
  EXPECT_EQ(due, funded_at + 10 * day) << "a revision gives at least the revision window";
  EXPECT_EQ(code(run(deliver{creator_, "d2", items()}, due)), error_code::conflict);
  EXPECT_EQ(s_.status, contract_status::revision_requested);
}

TEST_F(ContractMachineTest, ReviewWindowLapsesIntoAutomaticRelease) {
  auto funded_at = fund_at(t0);
  run(deliver{creator_, "d", items()}, funded_at + day);
  const millis review_due = funded_at + 4 * day;
  EXPECT_EQ(s_.review_due, review_due);
  EXPECT_EQ(s_.next_timer(rules_), review_due - 24 * hour);
  auto reminder = run(timer_fired{}, review_due - hour);
  ASSERT_TRUE(std::holds_alternative<accepted>(reminder));
  EXPECT_EQ(event<protocol::contract_reminder>(reminder).deadline, "review");
  EXPECT_EQ(code(run(request_revision{brand_, "late", "x"}, review_due)), error_code::conflict)
    << "the review window has ended";

  auto release = run(timer_fired{}, review_due);
  ASSERT_TRUE(std::holds_alternative<accepted>(release));
  auto& released = event<protocol::contract_released>(release);
  EXPECT_TRUE(released.automatic);
  EXPECT_TRUE(released.by.is_nil());
  EXPECT_EQ(released.to_creator, 150'000);
  EXPECT_EQ(released.commission, 15'000);
  EXPECT_EQ(balance(account::user(creator_, "USD")), 135'000);
  EXPECT_EQ(balance(account::revenue("USD")), 15'000);
  EXPECT_EQ(s_.escrow, 0);
  EXPECT_EQ(sum_of_balances(), 0);
}

TEST_F(ContractMachineTest, DeadlinesPassedLongAgoSettleWithoutAReminder) {
  auto funded_at = fund_at(t0);
  auto d = run(timer_fired{}, funded_at + 30 * day); // the server was down for weeks
  ASSERT_TRUE(std::holds_alternative<accepted>(d));
  EXPECT_TRUE(std::holds_alternative<protocol::contract_refunded>(std::get<accepted>(d).events[0]));
}

TEST_F(ContractMachineTest, RemindersGoOncePerDeadlineValue) {
  auto funded_at = fund_at(t0);
  const millis first_due = funded_at + 7 * day;
  ASSERT_TRUE(std::holds_alternative<accepted>(run(timer_fired{}, first_due - 20 * hour)));
  run(deliver{creator_, "d1", items()}, first_due - 19 * hour);
  // This revision moves the deadline (now + 3 days is later than the first one).
  run(request_revision{brand_, "r1", "more"}, first_due - 18 * hour);
  EXPECT_EQ(s_.delivery_due, first_due - 18 * hour + 3 * day);
  EXPECT_EQ(s_.next_timer(rules_), s_.delivery_due - 24 * hour) << "a new deadline, a new reminder";
  ASSERT_TRUE(std::holds_alternative<accepted>(run(timer_fired{}, s_.delivery_due - 24 * hour)));
  EXPECT_TRUE(std::holds_alternative<ignored>(run(timer_fired{}, s_.delivery_due - hour)));

  // A revision that keeps the deadline's value does not remind again.
  rules_.revision_window = hour;
  run(deliver{creator_, "d2", items()}, s_.delivery_due - 23 * hour);
  const millis kept = s_.delivery_due;
  ASSERT_TRUE(std::holds_alternative<accepted>(run(request_revision{brand_, "r2", "once more"}, kept - 22 * hour)));
  EXPECT_EQ(s_.delivery_due, kept);
  EXPECT_EQ(s_.next_timer(rules_), kept) << "already reminded of this deadline";
  EXPECT_TRUE(std::holds_alternative<ignored>(run(timer_fired{}, kept - hour)));
}

// -- disputes -------------------------------------------------------------------------------------

TEST_F(ContractMachineTest, DisputePausesEveryClockUntilResolved) {
  auto funded_at = fund_at(t0);
  run(deliver{creator_, "d", items()}, funded_at + day);
  const millis review_due = s_.review_due;
  auto d = run(dispute{brand_, "x1", "this is not what we agreed"}, review_due - hour);
  ASSERT_TRUE(std::holds_alternative<accepted>(d)) << message(d);
  auto& disputed = event<protocol::contract_disputed>(d);
  EXPECT_EQ(disputed.paused_status, "delivered");
  EXPECT_EQ(disputed.remaining, hour);
  EXPECT_EQ(s_.status, contract_status::disputed);
  EXPECT_EQ(s_.paused_status, contract_status::delivered);
  EXPECT_EQ(s_.next_timer(rules_), 0) << "no clock runs while disputed";
  EXPECT_TRUE(std::holds_alternative<ignored>(run(timer_fired{}, review_due + 90 * day)));
  EXPECT_EQ(code(run(approve{brand_, "a"}, review_due)), error_code::conflict);
  EXPECT_EQ(code(run(cancel{creator_, "c"}, review_due)), error_code::conflict);
  EXPECT_EQ(code(run(dispute{creator_, "x2", "me too"}, review_due)), error_code::conflict);
  EXPECT_EQ(s_.escrow, 150'000) << "the money waits in escrow";

  auto not_mod = run(resolve{brand_, "r", 0, false}, review_due);
  EXPECT_EQ(code(not_mod), error_code::forbidden);
  EXPECT_EQ(code(run(resolve{moderator_, "r", 150'001, true}, review_due)), error_code::bad_request);
  EXPECT_EQ(code(run(resolve{moderator_, "r", -1, true}, review_due)), error_code::bad_request);

  auto split = run(resolve{moderator_, "r", 100'000, true}, review_due + day);
  ASSERT_TRUE(std::holds_alternative<accepted>(split)) << message(split);
  auto& resolved = event<protocol::contract_resolved>(split);
  EXPECT_EQ(resolved.to_creator, 100'000);
  EXPECT_EQ(resolved.to_brand, 50'000);
  EXPECT_EQ(resolved.commission, 10'000);
  EXPECT_EQ(resolved.refund, s_.id.str() + ":refund:" + std::to_string(s_.head));
  EXPECT_EQ(s_.status, contract_status::resolved);
  EXPECT_EQ(s_.escrow, 0);
  EXPECT_EQ(balance(account::escrow(s_.id)), 0);
  EXPECT_EQ(balance(account::user(creator_, "USD")), 90'000);
  EXPECT_EQ(balance(account::revenue("USD")), 10'000);
  EXPECT_EQ(balance(account::clearing("USD")), -100'000) << "150,000 in, 50,000 back out";
  EXPECT_EQ(sum_of_balances(), 0);
  EXPECT_EQ(s_.outstanding.at(resolved.refund), 50'000);

  auto retry = run(resolve{moderator_, "r", 100'000, true}, review_due + 2 * day);
  ASSERT_TRUE(std::holds_alternative<duplicate>(retry));
  EXPECT_EQ(std::get<duplicate>(retry).seq, s_.head);
  EXPECT_EQ(code(run(resolve{moderator_, "r", 90'000, true}, review_due + 2 * day)),
            error_code::idempotency_mismatch);
  EXPECT_EQ(code(run(resolve{moderator_, "r2", 90'000, true}, review_due + 2 * day)),
            error_code::conflict) << "resolved is final";
}

TEST_F(ContractMachineTest, ResolveCanReleaseAllOrRefundAll) {
  for (int64_t to_creator : {int64_t{150'000}, int64_t{0}}) {
    reset(); // a fresh contract
    auto funded_at = fund_at(t0);
    ASSERT_TRUE(std::holds_alternative<accepted>(run(dispute{creator_, "x", "no reply"}, funded_at + day)));
    EXPECT_EQ(s_.paused_status, contract_status::funded);
    EXPECT_EQ(s_.remaining, 6 * day);
    auto d = run(resolve{moderator_, "r", to_creator, true}, funded_at + 2 * day);
    ASSERT_TRUE(std::holds_alternative<accepted>(d)) << message(d);
    auto& resolved = event<protocol::contract_resolved>(d);
    EXPECT_EQ(resolved.to_creator + resolved.to_brand, 150'000);
    if (to_creator == 0) {
      EXPECT_EQ(resolved.commission, 0);
      EXPECT_EQ(balance(account::clearing("USD")), 0) << "all back to the brand";
      EXPECT_EQ(balance(account::user(creator_, "USD")), 0);
    } else {
      EXPECT_TRUE(resolved.refund.empty()) << "nothing to refund, no provider call";
      EXPECT_TRUE(s_.outstanding.empty());
      EXPECT_EQ(balance(account::user(creator_, "USD")), 135'000);
    }
    EXPECT_EQ(balance(account::escrow(s_.id)), 0);
    EXPECT_EQ(sum_of_balances(), 0);
  }
}

TEST_F(ContractMachineTest, DisputesNeedAReasonARunningClockAndAParty) {
  EXPECT_EQ(code(run(dispute{brand_, "x", "why"}, t0)), error_code::conflict)
    << "nothing to dispute before funding";
  auto funded_at = fund_at(t0);
  EXPECT_EQ(code(run(dispute{brand_, "x", ""}, funded_at)), error_code::bad_request);
  EXPECT_EQ(code(run(dispute{brand_, "x", std::string(2001, 'a')}, funded_at)), error_code::too_large);
  EXPECT_EQ(code(run(dispute{uuid::v7(), "x", "me"}, funded_at)), error_code::forbidden);
  auto late = run(dispute{brand_, "x", "late!"}, funded_at + 7 * day);
  EXPECT_EQ(code(late), error_code::conflict) << "a passed deadline is settled, not disputed";
  EXPECT_NE(message(late).find("being settled"), std::string::npos) << message(late);
  EXPECT_EQ(code(run(resolve{moderator_, "r", 1, true}, funded_at)), error_code::conflict);
  state never_opened;
  EXPECT_EQ(code(decide(never_opened, resolve{moderator_, "r", 1, true}, t0, rules_)),
            error_code::not_found);
}

// -- revisions ------------------------------------------------------------------------------------

TEST_F(ContractMachineTest, RevisionsAreLimitedByTheTerms) {
  auto funded_at = fund_at(t0);
  millis now = funded_at;
  for (int round = 1; round <= 2; ++round) {
    ASSERT_TRUE(std::holds_alternative<accepted>(
      run(deliver{creator_, "d" + std::to_string(round), items()}, now += hour)));
    auto r = run(request_revision{brand_, "r" + std::to_string(round), "again"}, now += hour);
    ASSERT_TRUE(std::holds_alternative<accepted>(r)) << message(r);
    EXPECT_EQ(s_.revisions_used, round);
  }
  run(deliver{creator_, "d3", items()}, now += hour);
  auto third = run(request_revision{brand_, "r3", "one more?"}, now += hour);
  EXPECT_EQ(code(third), error_code::limit_reached);
  EXPECT_NE(message(third).find("2 revision rounds"), std::string::npos) << message(third);
  EXPECT_EQ(code(run(request_revision{brand_, "r4", std::string(2001, 'a')}, now)),
            error_code::too_large);
  EXPECT_EQ(code(run(request_revision{creator_, "r5", "x"}, now)), error_code::forbidden);
  EXPECT_TRUE(std::holds_alternative<accepted>(run(approve{brand_, "a"}, now)));
}

// -- cancelling -----------------------------------------------------------------------------------

TEST_F(ContractMachineTest, EitherSideCancelsAloneBeforeFunding) {
  auto d = run(cancel{creator_, "c"}, t0 + 5);
  ASSERT_TRUE(std::holds_alternative<accepted>(d)) << message(d);
  auto& cancelled = event<protocol::contract_cancelled>(d);
  EXPECT_EQ(cancelled.refunded, 0);
  EXPECT_TRUE(cancelled.refund.empty());
  EXPECT_EQ(s_.status, contract_status::cancelled);
  EXPECT_TRUE(booked_.empty()) << "no money moved";
  EXPECT_EQ(code(run(fund{brand_, "f", "4242424242424242"}, t0 + 6)), error_code::conflict);
}

TEST_F(ContractMachineTest, NoCancelWhileAFundingAttemptIsInFlight) {
  run(fund{brand_, "f", "4242424242424242"}, t0 + 5);
  auto d = run(cancel{brand_, "c"}, t0 + 6);
  EXPECT_EQ(code(d), error_code::conflict);
  EXPECT_NE(message(d).find("in flight"), std::string::npos) << message(d);
  run(payment_result{s_.intent, false, "card_declined"}, t0 + 7);
  EXPECT_TRUE(std::holds_alternative<accepted>(run(cancel{brand_, "c"}, t0 + 8)))
    << "the refused key is free to use";
}

TEST_F(ContractMachineTest, AFundedContractIsCancelledByBothSides) {
  auto funded_at = fund_at(t0);
  auto first = run(cancel{creator_, "c1"}, funded_at + hour);
  ASSERT_TRUE(std::holds_alternative<accepted>(first)) << message(first);
  const auto first_seq = s_.head;
  EXPECT_EQ(event<protocol::contract_cancel_requested>(first).by, creator_);
  EXPECT_EQ(s_.status, contract_status::funded) << "one side is not enough";
  EXPECT_EQ(s_.cancel_requested_by, creator_);

  auto again = run(cancel{creator_, "c1"}, funded_at + 2 * hour);
  ASSERT_TRUE(std::holds_alternative<duplicate>(again));
  EXPECT_EQ(std::get<duplicate>(again).seq, first_seq);
  EXPECT_EQ(code(run(cancel{creator_, "c1-bis"}, funded_at + 2 * hour)), error_code::conflict)
    << "the same side asking again with a new key";

  auto second = run(cancel{brand_, "c2"}, funded_at + 3 * hour);
  ASSERT_TRUE(std::holds_alternative<accepted>(second)) << message(second);
  auto& cancelled = event<protocol::contract_cancelled>(second);
  EXPECT_EQ(cancelled.by, brand_);
  EXPECT_EQ(cancelled.refunded, 150'000);
  EXPECT_EQ(cancelled.refund, s_.id.str() + ":refund:" + std::to_string(s_.head));
  EXPECT_EQ(s_.status, contract_status::cancelled);
  EXPECT_EQ(s_.escrow, 0);
  EXPECT_EQ(balance(account::escrow(s_.id)), 0);
  EXPECT_EQ(balance(account::clearing("USD")), 0);
  EXPECT_EQ(s_.outstanding.at(cancelled.refund), 150'000);
}

TEST_F(ContractMachineTest, ADeliveryLapsesAPendingCancelAndDeliveredCannotBeCancelled) {
  auto funded_at = fund_at(t0);
  run(cancel{brand_, "c1"}, funded_at + hour);
  run(deliver{creator_, "d", items()}, funded_at + 2 * hour);
  EXPECT_FALSE(s_.cancel_requested_by);
  EXPECT_EQ(code(run(cancel{creator_, "c2"}, funded_at + 3 * hour)), error_code::conflict);
  run(request_revision{brand_, "r", "x"}, funded_at + 4 * hour);
  auto d = run(cancel{creator_, "c3"}, funded_at + 5 * hour);
  ASSERT_TRUE(std::holds_alternative<accepted>(d));
  EXPECT_TRUE(std::holds_alternative<protocol::contract_cancel_requested>(std::get<accepted>(d).events[0]))
    << "the brand's old request lapsed with the delivery";
}

// -- funding --------------------------------------------------------------------------------------

TEST_F(ContractMachineTest, AFailedFundingCanBeRetriedWithANewKey) {
  auto first = run(fund{brand_, "f1", "4000000000000002"}, t0 + 10);
  ASSERT_TRUE(std::holds_alternative<accepted>(first));
  const auto intent1 = s_.intent;
  auto busy = run(fund{brand_, "f2", "4242424242424242"}, t0 + 11);
  EXPECT_EQ(code(busy), error_code::conflict) << "one attempt at a time";
  EXPECT_TRUE(std::holds_alternative<ignored>(run(payment_result{"other:fund:9", true}, t0 + 12)))
    << "not the intent in flight";

  auto failed = run(payment_result{intent1, false, "card_declined"}, t0 + 13);
  ASSERT_TRUE(std::holds_alternative<accepted>(failed));
  EXPECT_EQ(event<protocol::contract_funding_failed>(failed).code, "card_declined");
  EXPECT_EQ(s_.status, contract_status::awaiting_funding);
  EXPECT_TRUE(s_.intent.empty());
  EXPECT_TRUE(std::holds_alternative<ignored>(run(payment_result{intent1, true}, t0 + 14)))
    << "a late or repeated webhook for a settled attempt";
  auto retry = run(fund{brand_, "f1", "4000000000000002"}, t0 + 15);
  ASSERT_TRUE(std::holds_alternative<duplicate>(retry)) << "the same key is the same attempt";
  EXPECT_EQ(std::get<duplicate>(retry).seq, 2);
  EXPECT_EQ(std::get<duplicate>(retry).at, t0 + 10);

  auto second = run(fund{brand_, "f2", "4242424242424242"}, t0 + 16);
  ASSERT_TRUE(std::holds_alternative<accepted>(second)) << message(second);
  EXPECT_EQ(s_.intent, s_.id.str() + ":fund:4");
  EXPECT_NE(s_.intent, intent1);
  auto no_code = decide(s_, payment_result{s_.intent, false}, t0 + 17, rules_);
  EXPECT_EQ(event<protocol::contract_funding_failed>(no_code).code, "processing_error");
  ASSERT_TRUE(std::holds_alternative<accepted>(run(payment_result{s_.intent, true}, t0 + 17)));
  EXPECT_EQ(s_.status, contract_status::funded);
  EXPECT_EQ(balance(account::escrow(s_.id)), 150'000);
  EXPECT_TRUE(std::holds_alternative<ignored>(run(payment_result{s_.id.str() + ":fund:4", true}, t0 + 18)))
    << "a duplicated success webhook funds once";
  EXPECT_EQ(balance(account::escrow(s_.id)), 150'000);
  EXPECT_EQ(code(run(fund{brand_, "f3", "4242424242424242"}, t0 + 19)), error_code::conflict);
}

TEST_F(ContractMachineTest, FundChecksItsInput) {
  EXPECT_EQ(code(run(fund{creator_, "f", "4242424242424242"}, t0)), error_code::forbidden);
  EXPECT_EQ(code(run(fund{brand_, "f", ""}, t0)), error_code::bad_request);
  EXPECT_EQ(code(run(fund{brand_, "f", std::string(257, '4')}, t0)), error_code::bad_request);
  EXPECT_EQ(s_.head, 1);
}

// -- idempotency and permissions ------------------------------------------------------------------

TEST_F(ContractMachineTest, RetriesAreDuplicatesAndReusedKeysAreMismatches) {
  auto funded_at = fund_at(t0);
  auto d = run(deliver{creator_, "k", items(), "note"}, funded_at + hour);
  ASSERT_TRUE(std::holds_alternative<accepted>(d));
  const auto seq = s_.head;
  run(approve{brand_, "a"}, funded_at + 2 * hour); // the state moves on
  auto retry = run(deliver{creator_, "k", items(), "note"}, funded_at + 3 * hour);
  ASSERT_TRUE(std::holds_alternative<duplicate>(retry)) << message(retry);
  EXPECT_EQ(std::get<duplicate>(retry).seq, seq);
  EXPECT_EQ(std::get<duplicate>(retry).at, funded_at + hour);
  EXPECT_EQ(code(run(deliver{creator_, "k", items(), "other note"}, funded_at + 3 * hour)),
            error_code::idempotency_mismatch);
  EXPECT_EQ(code(run(deliver{creator_, "k", items("https://x.test/2"), "note"}, funded_at + 3 * hour)),
            error_code::idempotency_mismatch);
  EXPECT_EQ(code(run(cancel{creator_, "k"}, funded_at + 3 * hour)), error_code::idempotency_mismatch)
    << "a key belongs to one command";
  EXPECT_EQ(code(run(dispute{creator_, "k", "r"}, funded_at + 3 * hour)),
            error_code::idempotency_mismatch);
  EXPECT_EQ(code(run(approve{brand_, "k"}, funded_at + 3 * hour)), error_code::conflict)
    << "keys are per user: the brand's \"k\" is new (and the contract is released)";
  auto approve_retry = run(approve{brand_, "a"}, funded_at + 4 * hour);
  ASSERT_TRUE(std::holds_alternative<duplicate>(approve_retry)) << message(approve_retry);
  EXPECT_EQ(std::get<duplicate>(approve_retry).seq, s_.head);

  EXPECT_EQ(code(run(approve{brand_, ""}, funded_at)), error_code::bad_request);
  EXPECT_EQ(code(run(approve{brand_, std::string(129, 'k')}, funded_at)), error_code::bad_request);
  EXPECT_EQ(code(run(approve{brand_, std::string(128, 'k')}, funded_at)), error_code::conflict)
    << "128 bytes is a valid key";
}

TEST_F(ContractMachineTest, OnlyThePartiesAndOnlyTheRightOneMayAct) {
  auto stranger = uuid::v7();
  EXPECT_EQ(code(run(fund{stranger, "k", "4242424242424242"}, t0)), error_code::forbidden);
  auto funded_at = fund_at(t0);
  for (auto& d : {run(deliver{stranger, "k", items()}, funded_at),
                  run(approve{stranger, "k"}, funded_at),
                  run(request_revision{stranger, "k", "x"}, funded_at),
                  run(dispute{stranger, "k", "x"}, funded_at),
                  run(cancel{stranger, "k"}, funded_at)}) {
    EXPECT_EQ(code(d), error_code::forbidden);
    EXPECT_EQ(message(d), "not a party to this contract");
  }
  EXPECT_EQ(code(run(deliver{brand_, "k", items()}, funded_at)), error_code::forbidden);
  run(deliver{creator_, "d", items()}, funded_at);
  EXPECT_EQ(code(run(approve{creator_, "k"}, funded_at)), error_code::forbidden);
  EXPECT_EQ(code(run(request_revision{creator_, "k", "x"}, funded_at)), error_code::forbidden);
  EXPECT_EQ(code(run(resolve{creator_, "k", 0, false}, funded_at)), error_code::forbidden);
  state never_opened;
  EXPECT_EQ(code(decide(never_opened, deliver{creator_, "k", items()}, t0, rules_)),
            error_code::forbidden);
}

TEST_F(ContractMachineTest, WrongStatusIsAConflictNamingTheStatus) {
  auto d = run(deliver{creator_, "d", items()}, t0);
  EXPECT_EQ(code(d), error_code::conflict);
  EXPECT_NE(message(d).find("awaiting_funding"), std::string::npos) << message(d);
  auto funded_at = fund_at(t0);
  auto a = run(approve{brand_, "a"}, funded_at);
  EXPECT_EQ(code(a), error_code::conflict);
  EXPECT_NE(message(a).find("is funded"), std::string::npos) << message(a);
  EXPECT_EQ(code(run(request_revision{brand_, "r", "x"}, funded_at)), error_code::conflict);
}

TEST_F(ContractMachineTest, DeliveriesAreChecked) {
  auto funded_at = fund_at(t0);
  auto try_deliver = [&](std::vector<protocol::delivery_item> list, std::string note = {}) {
    return code(run(deliver{creator_, "d", std::move(list), std::move(note)}, funded_at));
  };
  EXPECT_EQ(try_deliver({}), error_code::bad_request);
  EXPECT_EQ(try_deliver(std::vector<protocol::delivery_item>(21, {"https://x.test", ""})),
            error_code::bad_request);
  EXPECT_EQ(try_deliver({{"ftp://x.test/file", ""}}), error_code::bad_request);
  EXPECT_EQ(try_deliver({{"https://", ""}}), error_code::bad_request);
  EXPECT_EQ(try_deliver({{"https://x.test/" + std::string(2048, 'a'), ""}}), error_code::too_large);
  EXPECT_EQ(try_deliver({{"https://x.test", std::string(2001, 'n')}}), error_code::too_large);
  EXPECT_EQ(try_deliver(items(), std::string(4001, 'n')), error_code::too_large);
  EXPECT_EQ(s_.status, contract_status::funded);
  auto twenty = std::vector<protocol::delivery_item>(20, {"http://x.test/" + std::string(2000, 'a'),
                                                          std::string(2000, 'n')});
  EXPECT_TRUE(std::holds_alternative<accepted>(
    run(deliver{creator_, "d", twenty, std::string(4000, 'n')}, funded_at)))
    << "every limit is inclusive";
}

TEST_F(ContractMachineTest, MemberCommandsAreCappedButSystemEventsAreNot) {
  rules_.max_commands = 4;
  run(fund{brand_, "f1", "4242424242424242"}, t0);   // 2
  run(payment_result{s_.intent, false}, t0 + 1);       // 3
  run(fund{brand_, "f2", "4242424242424242"}, t0 + 2); // 4
  run(payment_result{s_.intent, false}, t0 + 3);       // 5: a system event past the cap
  EXPECT_EQ(s_.head, 5);
  auto capped = run(fund{brand_, "f3", "4242424242424242"}, t0 + 4);
  EXPECT_EQ(code(capped), error_code::limit_reached);
  EXPECT_NE(message(capped).find("4 events"), std::string::npos) << message(capped);
  EXPECT_TRUE(std::holds_alternative<duplicate>(run(fund{brand_, "f2", "4242424242424242"}, t0 + 5)))
    << "retries still answer";
}

// -- money ----------------------------------------------------------------------------------------

TEST(ContractCommissionTest, IsExactAndNeverMoreThanTheShare) {
  rules r;
  EXPECT_EQ(commission(0, r), 0);
  EXPECT_EQ(commission(150'000, r), 15'000);
  EXPECT_EQ(commission(9, r), 0) << "rounded down";
  EXPECT_EQ(commission(19'999, r), 1'999);
  r.commission_fixed = 30;
  r.commission_bps = 290;
  EXPECT_EQ(commission(10'000, r), 290 + 30);
  EXPECT_EQ(commission(20, r), 20) << "never more than the share";
  EXPECT_EQ(commission(0, r), 0) << "nothing on nothing, fixed part included";
  r.commission_fixed = 0;
  r.commission_bps = 9'999;
  EXPECT_EQ(commission(max_amount, r), max_amount / 10'000 * 9'999) << "no overflow";
  EXPECT_EQ(commission(max_amount - 1, r), (max_amount - 1) / 10'000 * 9'999 + 9'999 * 9'999 / 10'000);
  r.commission_bps = 10'000;
  EXPECT_EQ(commission(max_amount, r), max_amount);
}

TEST(ContractStatusTest, WireNamesRoundTrip) {
  const std::vector<std::pair<contract_status, std::string_view>> all{
    {contract_status::awaiting_funding, "awaiting_funding"},
    {contract_status::funded, "funded"},
    {contract_status::delivered, "delivered"},
    {contract_status::revision_requested, "revision_requested"},
    {contract_status::released, "released"},
    {contract_status::refunded, "refunded"},
    {contract_status::cancelled, "cancelled"},
    {contract_status::disputed, "disputed"},
    {contract_status::resolved, "resolved"}};
  int terminal = 0;
  for (auto& [st, name] : all) {
    EXPECT_EQ(to_string(st), name);
    EXPECT_EQ(contract_status_from_string(name), st);
    terminal += is_terminal(st) ? 1 : 0;
  }
  EXPECT_EQ(terminal, 4);
  EXPECT_FALSE(contract_status_from_string("paid"));
  EXPECT_EQ(account::clearing("USD"), "clearing:USD");
  EXPECT_EQ(account::revenue("EUR"), "revenue:EUR");
  auto u = uuid::v7();
  EXPECT_EQ(account::escrow(u), "escrow:" + u.str());
  EXPECT_EQ(account::user(u, "USD"), "user:" + u.str() + ":USD");
  EXPECT_EQ(timer_kind, "contract_deadline");
}
