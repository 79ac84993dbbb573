#include "pactum/actors/contract_machine.hpp"

#include <map>
#include <set>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

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
    auto d = run(open{s_.id, conversation_, 5, brand_, creator_, sample_terms(), mode_}, t0);
    ASSERT_TRUE(std::holds_alternative<accepted>(d));
  }

  /// Decides and, when accepted, books the postings and applies the events (like the actor).
  /// Two-phase transfers follow the ledger's rules: a pending transfer moves nothing until it is
  /// posted, and is resolved once, by a resolution naming its own accounts and amount.
  template <class Cmd>
  decision run(const Cmd& cmd, millis now) {
    auto d = decide(s_, cmd, now, rules_);
    if (auto* a = std::get_if<accepted>(&d)) {
      for (auto& ev : a->events) {
        auto seq = s_.head + 1;
        for (auto& p : postings(s_, seq, ev)) {
          if (s_.mode == funding_mode::escrow) {
            EXPECT_EQ(p.what, posting::kind::post);
          }
          EXPECT_GT(p.amount, 0);
          EXPECT_EQ(p.currency, s_.terms.currency);
          EXPECT_EQ(p.id.rfind(s_.id.str() + ":" + std::to_string(seq) + ":", 0), 0u) << p.id;
          book(p);
          booked_.push_back(p);
        }
        apply(s_, seq, ev, rules_);
        journal_.push_back(ev);
      }
    }
    return d;
  }

  void book(const posting& p) {
    switch (p.what) {
      case posting::kind::post:
        balance_[p.debit] -= p.amount;
        balance_[p.credit] += p.amount;
        break;
      case posting::kind::pending:
        EXPECT_TRUE(pending_.emplace(p.id, p).second) << p.id;
        break;
      case posting::kind::post_pending:
      case posting::kind::void_pending: {
        auto i = pending_.find(p.pending_id);
        ASSERT_NE(i, pending_.end()) << "resolves no live pending transfer: " << p.pending_id;
        EXPECT_EQ(i->second.debit, p.debit);
        EXPECT_EQ(i->second.credit, p.credit);
        EXPECT_EQ(i->second.amount, p.amount);
        EXPECT_TRUE(resolved_.insert(p.pending_id).second) << "resolved twice";
        if (p.what == posting::kind::post_pending) {
          balance_[p.debit] -= p.amount;
          balance_[p.credit] += p.amount;
        }
        pending_.erase(i);
        break;
      }
    }
  }

  /// What the live pending transfers credit to `account`.
  int64_t pending_credit(const std::string& account) const {
    int64_t sum = 0;
    for (auto& [id, p] : pending_)
      sum += p.credit == account ? p.amount : 0;
    return sum;
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
    pending_.clear();
    resolved_.clear();
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
  funding_mode mode_ = funding_mode::escrow; ///< of the contract SetUp opens
  state s_;
  std::map<std::string, int64_t> balance_;
  std::vector<posting> booked_;
  std::vector<protocol::contract_event> journal_;
  std::map<std::string, posting> pending_; ///< live pending transfers by id
  std::set<std::string> resolved_;         ///< pending transfers posted or voided
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

  EXPECT_FALSE(decode_snapshot(snapshot_version + 1, bytes, rules_))
    << "an unknown version is refused, not misread";
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

// -- authorize_capture ----------------------------------------------------------------------------

namespace {

/// The same contract, opened in authorize_capture mode.
class ContractAuthCaptureTest : public ContractMachineTest {
protected:
  void SetUp() override {
    mode_ = funding_mode::authorize_capture;
    ContractMachineTest::SetUp();
  }

  using call = provider_call;
  using kind = provider_call::kind;

  std::string key(std::string_view what, int64_t seq) const {
    return s_.id.str() + ":" + std::string{what} + ":" + std::to_string(seq);
  }

  /// Funds (authorizes) at `now`, the result a millisecond later, and delivers a day after.
  millis fund_and_deliver(millis now) {
    auto funded_at = fund_at(now);
    auto d = run(deliver{creator_, "d", items()}, funded_at + day);
    EXPECT_TRUE(std::holds_alternative<accepted>(d)) << message(d);
    return funded_at;
  }

  const std::string card = "4242424242424242";
};

} // namespace

TEST_F(ContractAuthCaptureTest, OpenCarriesTheMode) {
  EXPECT_EQ(s_.mode, funding_mode::authorize_capture);
  EXPECT_EQ(std::get<protocol::contract_opened>(journal_[0]).mode, funding_mode::authorize_capture);
  EXPECT_EQ(protocol::contract_event_version(journal_[0]), 2);
  EXPECT_TRUE(std::holds_alternative<duplicate>(
    run(open{s_.id, conversation_, 5, brand_, creator_, sample_terms(), mode_}, t0 + 5)));
  EXPECT_EQ(code(run(open{s_.id, conversation_, 5, brand_, creator_, sample_terms()}, t0 + 5)),
            error_code::conflict)
    << "the same offer in the other mode is another contract";
}

TEST_F(ContractAuthCaptureTest, AuthorizeApproveCaptureRelease) {
  auto req = run(fund{brand_, "f1", card}, t0 + hour);
  ASSERT_TRUE(std::holds_alternative<accepted>(req)) << message(req);
  auto& requested = event<protocol::contract_funding_requested>(req);
  EXPECT_FALSE(requested.capture) << "authorize only";
  EXPECT_EQ(requested.intent, key("fund", 2));
  EXPECT_EQ(s_.authorization_requested_at, t0 + hour);
  EXPECT_EQ(calls_due(s_),
            (std::vector<call>{{kind::create_intent, key("fund", 2), key("fund", 2), 150'000, "USD",
                                false, card}}));

  const millis funded_at = t0 + 2 * hour;
  auto ok = run(payment_result{requested.intent, true}, funded_at);
  ASSERT_TRUE(std::holds_alternative<accepted>(ok));
  auto& funded = event<protocol::contract_funded>(ok);
  EXPECT_TRUE(funded.authorized);
  EXPECT_EQ(funded.authorization_expires_at, t0 + hour + 6 * day)
    << "trusted from the request on, not from the webhook";
  EXPECT_EQ(funded.delivery_due, funded_at + 7 * day);
  ASSERT_EQ(booked_.size(), 1u);
  EXPECT_EQ(booked_[0], (posting{posting::kind::pending, s_.id.str() + ":3:0",
                                 account::clearing("USD"), account::escrow(s_.id), 150'000, "USD"}));
  EXPECT_EQ(s_.status, contract_status::funded);
  EXPECT_EQ(s_.authorization, s_.id.str() + ":3:0");
  EXPECT_EQ(s_.authorized, 150'000);
  EXPECT_EQ(s_.escrow, 0) << "promised, not captured";
  EXPECT_EQ(balance(account::escrow(s_.id)), 0);
  EXPECT_EQ(pending_credit(account::escrow(s_.id)), 150'000);
  EXPECT_EQ(s_.funding_method, card) << "kept for renewals and the fallback charge";
  EXPECT_TRUE(s_.payment_method.empty());
  EXPECT_TRUE(calls_due(s_).empty());
  EXPECT_FALSE(s_.charge_on_approval());
  EXPECT_EQ(s_.reauthorize_at(rules_), t0 + hour + 5 * day)
    << "delivery (7 days) and a review could outlive the authorization";
  EXPECT_EQ(s_.next_timer(rules_), t0 + hour + 5 * day) << "before the delivery reminder";

  run(deliver{creator_, "d1", items()}, funded_at + day);
  EXPECT_EQ(s_.reauthorize_at(rules_), 0) << "the review ends before the authorization needs renewal";
  EXPECT_EQ(s_.next_timer(rules_), funded_at + 3 * day) << "the review reminder";

  auto approve_d = run(approve{brand_, "a1"}, funded_at + 2 * day);
  ASSERT_TRUE(std::holds_alternative<accepted>(approve_d)) << message(approve_d);
  const auto capture_seq = s_.head;
  auto& cap = event<protocol::contract_capture_requested>(approve_d);
  EXPECT_EQ(cap, (protocol::contract_capture_requested{key("capture", capture_seq), key("fund", 2),
                                                       false, 150'000, "approved", 150'000, 15'000,
                                                       funded_at + 2 * day, brand_, "a1"}));
  EXPECT_EQ(s_.status, contract_status::releasing);
  EXPECT_EQ(booked_.size(), 1u) << "nothing moves before the capture";
  EXPECT_EQ(calls_due(s_), (std::vector<call>{{kind::capture, key("capture", capture_seq),
                                               key("fund", 2), 150'000, "USD"}}));
  EXPECT_EQ(s_.next_timer(rules_), 0) << "no clock while releasing";

  auto retry = run(approve{brand_, "a1"}, funded_at + 3 * day);
  ASSERT_TRUE(std::holds_alternative<duplicate>(retry));
  EXPECT_EQ(std::get<duplicate>(retry).seq, capture_seq);
  EXPECT_EQ(code(run(request_revision{brand_, "r", "x"}, funded_at + 3 * day)), error_code::conflict);
  EXPECT_EQ(code(run(dispute{creator_, "x", "pay me"}, funded_at + 3 * day)), error_code::conflict);
  EXPECT_EQ(code(run(cancel{brand_, "c"}, funded_at + 3 * day)), error_code::conflict);
  EXPECT_TRUE(std::holds_alternative<ignored>(run(timer_fired{}, funded_at + 30 * day)));
  EXPECT_TRUE(std::holds_alternative<ignored>(run(capture_result{"other:capture:9", true}, funded_at)));
  EXPECT_TRUE(std::holds_alternative<ignored>(run(payment_result{key("fund", 2), true}, funded_at)))
    << "the funding webhook again";

  auto done = run(capture_result{cap.capture, true}, funded_at + 3 * day);
  ASSERT_TRUE(std::holds_alternative<accepted>(done));
  auto& released = event<protocol::contract_released>(done);
  EXPECT_EQ(released, (protocol::contract_released{150'000, 15'000, false, funded_at + 3 * day,
                                                   brand_, "a1"}));
  const auto seq = std::to_string(s_.head);
  ASSERT_EQ(booked_.size(), 4u);
  EXPECT_EQ(booked_[1], (posting{posting::kind::post_pending, s_.id.str() + ":" + seq + ":0",
                                 account::clearing("USD"), account::escrow(s_.id), 150'000, "USD",
                                 s_.id.str() + ":3:0"}));
  EXPECT_EQ(booked_[2].id, s_.id.str() + ":" + seq + ":1");
  EXPECT_EQ(s_.status, contract_status::released);
  EXPECT_EQ(s_.escrow, 0);
  EXPECT_EQ(s_.authorized, 0);
  EXPECT_TRUE(s_.authorization.empty());
  EXPECT_TRUE(s_.funding_method.empty()) << "the token is not kept past the end";
  EXPECT_EQ(balance(account::escrow(s_.id)), 0);
  EXPECT_EQ(pending_credit(account::escrow(s_.id)), 0) << "terminal: no authorization left";
  EXPECT_EQ(balance(account::user(creator_, "USD")), 135'000);
  EXPECT_EQ(balance(account::revenue("USD")), 15'000);
  EXPECT_EQ(balance(account::clearing("USD")), -150'000);
  EXPECT_EQ(sum_of_balances(), 0);
  EXPECT_TRUE(calls_due(s_).empty());
  EXPECT_EQ(s_.next_timer(rules_), 0);
  EXPECT_TRUE(std::holds_alternative<ignored>(run(capture_result{cap.capture, true}, funded_at + 4 * day)))
    << "a duplicated webhook";
}

TEST_F(ContractAuthCaptureTest, ALapsedReviewCapturesAutomatically) {
  auto funded_at = fund_and_deliver(t0);
  const millis review_due = s_.review_due;
  auto lapse = run(timer_fired{}, review_due);
  ASSERT_TRUE(std::holds_alternative<accepted>(lapse));
  auto& cap = event<protocol::contract_capture_requested>(lapse);
  EXPECT_EQ(cap.reason, "review_lapsed");
  EXPECT_TRUE(cap.by.is_nil());
  EXPECT_TRUE(cap.key.empty());
  EXPECT_EQ(code(run(approve{brand_, "late"}, review_due + 1)), error_code::conflict)
    << "releasing already";
  auto done = run(capture_result{cap.capture, true}, review_due + 2);
  ASSERT_TRUE(std::holds_alternative<accepted>(done));
  EXPECT_TRUE(event<protocol::contract_released>(done).automatic);
  EXPECT_EQ(balance(account::user(creator_, "USD")), 135'000);
  EXPECT_EQ(pending_credit(account::escrow(s_.id)), 0);
  EXPECT_EQ(sum_of_balances(), 0);
  (void)funded_at;
}

TEST_F(ContractAuthCaptureTest, AFailedCaptureVoidsTheAuthorizationAndChargesInstead) {
  auto funded_at = fund_and_deliver(t0);
  run(approve{brand_, "a1"}, funded_at + 2 * day);
  const auto cap = s_.capture;
  auto failed = run(capture_result{cap, false, "authorization_expired"}, funded_at + 2 * day + 5);
  ASSERT_TRUE(std::holds_alternative<accepted>(failed));
  const auto seq = s_.head;
  auto& f = event<protocol::contract_capture_failed>(failed);
  EXPECT_EQ(f, (protocol::contract_capture_failed{cap, "authorization_expired", "",
                                                  key("charge", seq), 150'000,
                                                  funded_at + 2 * day + 5}))
    << "a lapsed authorization needs no cancel";
  ASSERT_EQ(booked_.size(), 2u);
  EXPECT_EQ(booked_[1].what, posting::kind::void_pending);
  EXPECT_EQ(booked_[1].pending_id, s_.id.str() + ":3:0");
  EXPECT_EQ(s_.status, contract_status::releasing);
  EXPECT_TRUE(s_.authorization.empty());
  EXPECT_EQ(calls_due(s_), (std::vector<call>{{kind::create_intent, key("charge", seq),
                                               key("charge", seq), 150'000, "USD", true, card}}));

  auto charged = run(payment_result{key("charge", seq), true}, funded_at + 2 * day + 9);
  ASSERT_TRUE(std::holds_alternative<accepted>(charged));
  auto& events = std::get<accepted>(charged).events;
  ASSERT_EQ(events.size(), 2u) << "charged and released in one append";
  EXPECT_EQ(std::get<protocol::contract_charged>(events[0]),
            (protocol::contract_charged{key("charge", seq), 150'000, funded_at + 2 * day + 9}));
  EXPECT_EQ(std::get<protocol::contract_released>(events[1]).by, brand_);
  EXPECT_EQ(booked_[2], (posting{posting::kind::post, s_.id.str() + ":" + std::to_string(seq + 1) + ":0",
                                 account::clearing("USD"), account::escrow(s_.id), 150'000, "USD"}));
  EXPECT_EQ(s_.status, contract_status::released);
  EXPECT_EQ(balance(account::user(creator_, "USD")), 135'000);
  EXPECT_EQ(balance(account::escrow(s_.id)), 0);
  EXPECT_EQ(pending_credit(account::escrow(s_.id)), 0);
  EXPECT_EQ(sum_of_balances(), 0);
  EXPECT_TRUE(calls_due(s_).empty());

  // Any other failure may leave the authorization alive at the provider: it is cancelled too.
  reset();
  funded_at = fund_and_deliver(t0);
  run(approve{brand_, "a1"}, funded_at + 2 * day);
  auto other = run(capture_result{s_.capture, false}, funded_at + 2 * day + 5);
  auto& g = event<protocol::contract_capture_failed>(other);
  EXPECT_EQ(g.code, "processing_error");
  EXPECT_EQ(g.cancel, key("cancel", s_.head));
  EXPECT_EQ(calls_due(s_),
            (std::vector<call>{{kind::create_intent, g.charge, g.charge, 150'000, "USD", true, card},
                               {kind::cancel, g.cancel, key("fund", 2), 150'000, "USD"}}));
}

TEST_F(ContractAuthCaptureTest, AFailedChargeLeavesThePaymentDueUntilTheBrandPays) {
  auto funded_at = fund_and_deliver(t0);
  run(approve{brand_, "a1"}, funded_at + 2 * day);
  run(capture_result{s_.capture, false, "authorization_expired"}, funded_at + 2 * day);
  auto declined = run(payment_result{s_.intent, false, "card_declined"}, funded_at + 2 * day + 1);
  ASSERT_TRUE(std::holds_alternative<accepted>(declined));
  EXPECT_EQ(event<protocol::contract_charge_failed>(declined).code, "card_declined");
  EXPECT_EQ(s_.status, contract_status::payment_due);
  EXPECT_TRUE(calls_due(s_).empty());
  EXPECT_EQ(s_.next_timer(rules_), 0);
  EXPECT_EQ(s_.escrow + s_.authorized, 0) << "nothing is held";
  EXPECT_EQ(code(run(approve{brand_, "a2"}, funded_at + 3 * day)), error_code::conflict);
  EXPECT_EQ(code(run(dispute{creator_, "x", "unpaid"}, funded_at + 3 * day)), error_code::conflict);
  EXPECT_EQ(code(run(fund{creator_, "f", card}, funded_at + 3 * day)), error_code::forbidden);
  EXPECT_TRUE(std::holds_alternative<duplicate>(run(approve{brand_, "a1"}, funded_at + 3 * day)));

  auto again = run(fund{brand_, "f2", "4000000000000002"}, funded_at + 3 * day);
  ASSERT_TRUE(std::holds_alternative<accepted>(again)) << message(again);
  auto& req = event<protocol::contract_funding_requested>(again);
  EXPECT_TRUE(req.capture) << "paying, not authorizing";
  EXPECT_EQ(req.amount, 150'000);
  EXPECT_EQ(code(run(fund{brand_, "f3", card}, funded_at + 3 * day)), error_code::conflict)
    << "one attempt at a time";
  run(payment_result{req.intent, false, "card_declined"}, funded_at + 3 * day + 1);
  EXPECT_EQ(s_.status, contract_status::payment_due) << "the brand may try again";

  run(fund{brand_, "f3", card}, funded_at + 4 * day);
  auto paid = run(payment_result{s_.intent, true}, funded_at + 4 * day + 1);
  ASSERT_TRUE(std::holds_alternative<accepted>(paid));
  ASSERT_EQ(std::get<accepted>(paid).events.size(), 2u);
  EXPECT_EQ(s_.status, contract_status::released);
  EXPECT_EQ(balance(account::user(creator_, "USD")), 135'000);
  EXPECT_EQ(balance(account::escrow(s_.id)), 0);
  EXPECT_EQ(sum_of_balances(), 0);
}

TEST_F(ContractAuthCaptureTest, TheDeliveryDeadlineCancelsTheAuthorization) {
  rules_.authorization_validity = 30 * day; // no renewal before the deadline
  auto funded_at = fund_at(t0);
  const millis due = funded_at + 7 * day;
  run(timer_fired{}, due - day); // the reminder
  auto refund = run(timer_fired{}, due);
  ASSERT_TRUE(std::holds_alternative<accepted>(refund));
  auto& refunded = event<protocol::contract_refunded>(refund);
  EXPECT_EQ(refunded, (protocol::contract_refunded{150'000, "delivery_deadline", "", due,
                                                   key("cancel", s_.head)}));
  ASSERT_EQ(booked_.size(), 2u);
  EXPECT_EQ(booked_[1], (posting{posting::kind::void_pending,
                                 s_.id.str() + ":" + std::to_string(s_.head) + ":0",
                                 account::clearing("USD"), account::escrow(s_.id), 150'000, "USD",
                                 s_.id.str() + ":3:0"}));
  EXPECT_EQ(s_.status, contract_status::refunded);
  EXPECT_TRUE(s_.outstanding.empty()) << "nothing was captured: no refund";
  EXPECT_EQ(calls_due(s_), (std::vector<call>{{kind::cancel, refunded.cancel, key("fund", 2),
                                               150'000, "USD"}}));
  EXPECT_EQ(balance(account::clearing("USD")), 0);
  EXPECT_EQ(pending_credit(account::escrow(s_.id)), 0);

  auto confirmed = run(confirm_call{refunded.cancel}, due + 10);
  ASSERT_TRUE(std::holds_alternative<accepted>(confirmed));
  EXPECT_TRUE(calls_due(s_).empty());
  EXPECT_TRUE(std::holds_alternative<ignored>(run(confirm_call{refunded.cancel}, due + 20)));
}

TEST_F(ContractAuthCaptureTest, CancellingAFundedContractCancelsTheAuthorization) {
  auto funded_at = fund_at(t0);
  run(cancel{creator_, "c1"}, funded_at + hour);
  auto d = run(cancel{brand_, "c2"}, funded_at + 2 * hour);
  ASSERT_TRUE(std::holds_alternative<accepted>(d)) << message(d);
  auto& cancelled = event<protocol::contract_cancelled>(d);
  EXPECT_EQ(cancelled.refunded, 150'000) << "the hold is released";
  EXPECT_TRUE(cancelled.refund.empty());
  EXPECT_EQ(cancelled.cancel, key("cancel", s_.head));
  EXPECT_EQ(booked_.back().what, posting::kind::void_pending);
  EXPECT_EQ(pending_credit(account::escrow(s_.id)), 0);
  EXPECT_EQ(calls_due(s_).size(), 1u);
  EXPECT_EQ(calls_due(s_)[0].what, kind::cancel);
}

TEST_F(ContractAuthCaptureTest, AResolutionCapturesThenSplits) {
  auto funded_at = fund_at(t0);
  run(dispute{creator_, "x", "no answer"}, funded_at + day);
  EXPECT_EQ(s_.next_timer(rules_), t0 + 5 * day)
    << "a dispute has no end in sight: the authorization is kept alive";
  auto split = run(resolve{moderator_, "r", 100'000, true}, funded_at + 2 * day);
  ASSERT_TRUE(std::holds_alternative<accepted>(split)) << message(split);
  auto& cap = event<protocol::contract_capture_requested>(split);
  EXPECT_EQ(cap.reason, "resolved");
  EXPECT_EQ(cap.amount, 150'000) << "the provider captures whole authorizations";
  EXPECT_EQ(cap.to_creator, 100'000);
  EXPECT_EQ(cap.commission, 10'000);
  EXPECT_EQ(cap.by, moderator_);
  EXPECT_TRUE(std::holds_alternative<duplicate>(run(resolve{moderator_, "r", 100'000, true}, funded_at + 3 * day)));
  EXPECT_EQ(code(run(resolve{moderator_, "r", 90'000, true}, funded_at + 3 * day)),
            error_code::idempotency_mismatch);

  auto done = run(capture_result{cap.capture, true}, funded_at + 3 * day);
  ASSERT_TRUE(std::holds_alternative<accepted>(done));
  auto& resolved = event<protocol::contract_resolved>(done);
  EXPECT_EQ(resolved, (protocol::contract_resolved{moderator_, "r", 100'000, 50'000, 10'000,
                                                   key("refund", s_.head), funded_at + 3 * day}));
  ASSERT_EQ(booked_.size(), 5u);
  EXPECT_EQ(booked_[1].what, posting::kind::post_pending);
  EXPECT_EQ(booked_[4], (posting{posting::kind::post, s_.id.str() + ":" + std::to_string(s_.head) + ":3",
                                 account::escrow(s_.id), account::clearing("USD"), 50'000, "USD"}));
  EXPECT_EQ(balance(account::user(creator_, "USD")), 90'000);
  EXPECT_EQ(balance(account::revenue("USD")), 10'000);
  EXPECT_EQ(balance(account::clearing("USD")), -100'000);
  EXPECT_EQ(balance(account::escrow(s_.id)), 0);
  EXPECT_EQ(sum_of_balances(), 0);
  EXPECT_EQ(calls_due(s_), (std::vector<call>{{kind::refund, resolved.refund, key("fund", 2),
                                               50'000, "USD"}}))
    << "the brand's share is refunded from the captured intent";
}

TEST_F(ContractAuthCaptureTest, AResolutionAllToTheBrandCancelsAndAllToTheCreatorRefundsNothing) {
  auto funded_at = fund_at(t0);
  run(dispute{creator_, "x", "no answer"}, funded_at + day);
  auto all_back = run(resolve{moderator_, "r", 0, true}, funded_at + 2 * day);
  ASSERT_TRUE(std::holds_alternative<accepted>(all_back)) << message(all_back);
  auto& resolved = event<protocol::contract_resolved>(all_back);
  EXPECT_EQ(resolved.to_brand, 150'000);
  EXPECT_TRUE(resolved.refund.empty());
  EXPECT_EQ(resolved.cancel, key("cancel", s_.head));
  EXPECT_EQ(booked_.back().what, posting::kind::void_pending);
  EXPECT_EQ(s_.status, contract_status::resolved);
  EXPECT_EQ(balance(account::clearing("USD")), 0);
  EXPECT_EQ(pending_credit(account::escrow(s_.id)), 0);
  ASSERT_EQ(calls_due(s_).size(), 1u);
  EXPECT_EQ(calls_due(s_)[0].what, kind::cancel);

  reset();
  funded_at = fund_at(t0);
  run(dispute{creator_, "x", "no answer"}, funded_at + day);
  run(resolve{moderator_, "r", 150'000, true}, funded_at + 2 * day);
  auto done = run(capture_result{s_.capture, true}, funded_at + 2 * day + 1);
  EXPECT_TRUE(event<protocol::contract_resolved>(done).refund.empty());
  EXPECT_TRUE(calls_due(s_).empty());
  EXPECT_EQ(balance(account::user(creator_, "USD")), 135'000);
  EXPECT_EQ(sum_of_balances(), 0);
}

TEST_F(ContractAuthCaptureTest, ReauthorizationRenewsTheAuthorizationBeforeItLapses) {
  auto funded_at = fund_at(t0); // requested at t0
  const millis renew = t0 + 5 * day;
  EXPECT_EQ(s_.next_timer(rules_), renew);
  EXPECT_TRUE(std::holds_alternative<ignored>(run(timer_fired{}, renew - 1)));
  auto req = run(timer_fired{}, renew);
  ASSERT_TRUE(std::holds_alternative<accepted>(req));
  auto& r = event<protocol::contract_reauthorization_requested>(req);
  EXPECT_EQ(r, (protocol::contract_reauthorization_requested{key("reauth", s_.head), 150'000,
                                                             "USD", renew}));
  EXPECT_TRUE(s_.reauthorizing());
  EXPECT_EQ(s_.next_timer(rules_), 0) << "the clocks wait for the renewal";
  EXPECT_EQ(calls_due(s_), (std::vector<call>{{kind::create_intent, r.intent, r.intent, 150'000,
                                               "USD", false, card}}));
  EXPECT_TRUE(std::holds_alternative<ignored>(run(timer_fired{}, renew + 1)));

  // Nothing that moves money meanwhile; the rest goes on.
  run(cancel{creator_, "c1"}, renew + 2);
  auto busy = run(cancel{brand_, "c2"}, renew + 3);
  EXPECT_EQ(code(busy), error_code::conflict);
  EXPECT_NE(message(busy).find("renewed"), std::string::npos) << message(busy);
  ASSERT_TRUE(std::holds_alternative<accepted>(run(deliver{creator_, "d", items()}, renew + 4)));
  EXPECT_EQ(code(run(approve{brand_, "a"}, renew + 5)), error_code::conflict);
  EXPECT_TRUE(std::holds_alternative<ignored>(run(payment_result{key("fund", 2), true}, renew + 5)));

  auto ok = run(payment_result{r.intent, true}, renew + 10);
  ASSERT_TRUE(std::holds_alternative<accepted>(ok));
  const auto seq = s_.head;
  auto& re = event<protocol::contract_reauthorized>(ok);
  EXPECT_EQ(re, (protocol::contract_reauthorized{r.intent, key("fund", 2), key("cancel", seq),
                                                 renew + 6 * day, renew + 10}));
  ASSERT_EQ(booked_.size(), 3u);
  const auto pfx = s_.id.str() + ":" + std::to_string(seq) + ":";
  EXPECT_EQ(booked_[1], (posting{posting::kind::void_pending, pfx + "0", account::clearing("USD"),
                                 account::escrow(s_.id), 150'000, "USD", s_.id.str() + ":3:0"}));
  EXPECT_EQ(booked_[2], (posting{posting::kind::pending, pfx + "1", account::clearing("USD"),
                                 account::escrow(s_.id), 150'000, "USD"}));
  EXPECT_EQ(s_.authorization, pfx + "1");
  EXPECT_EQ(s_.funded_intent, r.intent);
  EXPECT_EQ(s_.authorization_expires_at, renew + 6 * day);
  EXPECT_EQ(pending_credit(account::escrow(s_.id)), 150'000);
  EXPECT_EQ(calls_due(s_), (std::vector<call>{{kind::cancel, re.cancel, key("fund", 2), 150'000,
                                               "USD"}}))
    << "the old authorization is released at the provider";
  EXPECT_EQ(s_.reauthorize_at(rules_), 0) << "the review ends before the new one needs renewal";

  auto a = run(approve{brand_, "a"}, renew + day);
  ASSERT_TRUE(std::holds_alternative<accepted>(a)) << message(a);
  EXPECT_EQ(event<protocol::contract_capture_requested>(a).intent, r.intent) << "the new one";
  run(capture_result{s_.capture, true}, renew + day + 1);
  EXPECT_EQ(booked_.back().what, posting::kind::post);
  EXPECT_EQ(booked_[booked_.size() - 3].pending_id, pfx + "1");
  EXPECT_EQ(balance(account::user(creator_, "USD")), 135'000);
  EXPECT_EQ(pending_credit(account::escrow(s_.id)), 0);
  EXPECT_EQ(sum_of_balances(), 0);
  (void)funded_at;
}

TEST_F(ContractAuthCaptureTest, ReauthorizationKeepsADisputeFunded) {
  auto funded_at = fund_at(t0);
  run(dispute{brand_, "x", "late"}, funded_at + hour);
  auto req = run(timer_fired{}, t0 + 5 * day);
  ASSERT_TRUE(std::holds_alternative<accepted>(req));
  EXPECT_EQ(code(run(resolve{moderator_, "r", 10, true}, t0 + 5 * day + 1)), error_code::conflict)
    << "renewing";
  run(payment_result{s_.intent, true}, t0 + 5 * day + 2);
  EXPECT_EQ(s_.next_timer(rules_), t0 + 10 * day) << "and again before the next one lapses";
  auto d = run(resolve{moderator_, "r", 10, true}, t0 + 6 * day);
  ASSERT_TRUE(std::holds_alternative<accepted>(d)) << message(d);
}

TEST_F(ContractAuthCaptureTest, AFailedReauthorizationFallsBackToChargingOnApproval) {
  auto funded_at = fund_at(t0);
  run(timer_fired{}, t0 + 5 * day);
  const auto reauth = s_.intent;
  auto failed = run(payment_result{reauth, false, "card_declined"}, t0 + 5 * day + 1);
  ASSERT_TRUE(std::holds_alternative<accepted>(failed));
  auto& fb = event<protocol::contract_fallback_charge_on_approval>(failed);
  EXPECT_EQ(fb, (protocol::contract_fallback_charge_on_approval{reauth, "card_declined",
                                                                key("cancel", s_.head),
                                                                t0 + 5 * day + 1}));
  EXPECT_EQ(booked_.back().what, posting::kind::void_pending);
  EXPECT_TRUE(s_.charge_on_approval());
  EXPECT_EQ(s_.status, contract_status::funded) << "funded in terms";
  EXPECT_EQ(s_.authorized + s_.escrow, 0);
  EXPECT_EQ(pending_credit(account::escrow(s_.id)), 0);
  EXPECT_EQ(s_.reauthorize_at(rules_), 0) << "nothing to renew";
  EXPECT_EQ(s_.next_timer(rules_), funded_at + 6 * day) << "the delivery reminder";
  EXPECT_EQ(calls_due(s_), (std::vector<call>{{kind::cancel, fb.cancel, key("fund", 2), 150'000,
                                               "USD"}}));

  run(deliver{creator_, "d", items()}, t0 + 5 * day + 2);
  auto a = run(approve{brand_, "a"}, t0 + 5 * day + 3);
  ASSERT_TRUE(std::holds_alternative<accepted>(a)) << message(a);
  auto& cap = event<protocol::contract_capture_requested>(a);
  EXPECT_TRUE(cap.charge);
  EXPECT_EQ(cap.capture, key("charge", s_.head));
  EXPECT_EQ(cap.intent, cap.capture);
  EXPECT_TRUE(s_.capture.empty()) << "a charge, not a capture";
  EXPECT_EQ(calls_due(s_)[0], (call{kind::create_intent, cap.capture, cap.capture, 150'000, "USD",
                                    true, card}));
  auto paid = run(payment_result{cap.capture, true}, t0 + 5 * day + 4);
  ASSERT_EQ(std::get<accepted>(paid).events.size(), 2u);
  EXPECT_EQ(s_.status, contract_status::released);
  EXPECT_EQ(balance(account::user(creator_, "USD")), 135'000);
  EXPECT_EQ(balance(account::escrow(s_.id)), 0);
  EXPECT_EQ(sum_of_balances(), 0);
}

TEST_F(ContractAuthCaptureTest, WithoutAnAuthorizationARefundMovesAndCallsNothing) {
  fund_at(t0);
  run(timer_fired{}, t0 + 5 * day);
  run(payment_result{s_.intent, false, "card_declined"}, t0 + 5 * day + 1);
  run(confirm_call{s_.cancels.begin()->first}, t0 + 5 * day + 2);
  const auto before = booked_.size();
  auto refund = run(timer_fired{}, s_.delivery_due);
  ASSERT_TRUE(std::holds_alternative<accepted>(refund));
  EXPECT_EQ(event<protocol::contract_refunded>(refund),
            (protocol::contract_refunded{0, "delivery_deadline", "", s_.delivery_due}));
  EXPECT_EQ(booked_.size(), before);
  EXPECT_TRUE(calls_due(s_).empty());
  EXPECT_EQ(s_.status, contract_status::refunded);
}

TEST_F(ContractAuthCaptureTest, WithoutAnAuthorizationASplitChargesOnlyTheCreatorsShare) {
  fund_at(t0);
  run(authorization_lapsed{s_.funded_intent}, t0 + hour);
  run(dispute{creator_, "x", "no answer"}, t0 + 2 * hour);
  auto split = run(resolve{moderator_, "r", 100'000, true}, t0 + 3 * hour);
  auto& cap = event<protocol::contract_capture_requested>(split);
  EXPECT_TRUE(cap.charge);
  EXPECT_EQ(cap.amount, 100'000) << "the brand's share is never taken";
  auto paid = run(payment_result{cap.capture, true}, t0 + 4 * hour);
  auto& events = std::get<accepted>(paid).events;
  ASSERT_EQ(events.size(), 2u);
  auto& resolved = std::get<protocol::contract_resolved>(events[1]);
  EXPECT_EQ(resolved.to_brand, 50'000);
  EXPECT_TRUE(resolved.refund.empty()) << "nothing to refund";
  EXPECT_EQ(balance(account::clearing("USD")), -100'000);
  EXPECT_EQ(balance(account::user(creator_, "USD")), 90'000);
  EXPECT_EQ(balance(account::escrow(s_.id)), 0);
  EXPECT_EQ(sum_of_balances(), 0);
  EXPECT_TRUE(calls_due(s_).empty());
}

TEST_F(ContractAuthCaptureTest, ALapseReportedByTheProviderFallsBack) {
  auto funded_at = fund_and_deliver(t0);
  EXPECT_TRUE(std::holds_alternative<ignored>(run(authorization_lapsed{"other"}, funded_at + day)));
  auto lapsed = run(authorization_lapsed{key("fund", 2)}, funded_at + day + 1);
  ASSERT_TRUE(std::holds_alternative<accepted>(lapsed));
  auto& fb = event<protocol::contract_fallback_charge_on_approval>(lapsed);
  EXPECT_EQ(fb.code, "authorization_expired");
  EXPECT_TRUE(fb.cancel.empty()) << "nothing left to cancel";
  EXPECT_EQ(booked_.back().what, posting::kind::void_pending);
  EXPECT_TRUE(calls_due(s_).empty());
  EXPECT_TRUE(std::holds_alternative<ignored>(run(authorization_lapsed{key("fund", 2)}, funded_at + day + 2)))
    << "reported twice";

  // While a capture is in flight, its own result decides.
  reset();
  funded_at = fund_and_deliver(t0);
  run(approve{brand_, "a"}, funded_at + 2 * day);
  EXPECT_TRUE(std::holds_alternative<ignored>(run(authorization_lapsed{key("fund", 2)}, funded_at + 2 * day)));
}

TEST_F(ContractMachineTest, CallsDueInEscrowMode) {
  EXPECT_TRUE(calls_due(s_).empty());
  run(fund{brand_, "f", "4242424242424242"}, t0);
  const auto intent = s_.intent;
  EXPECT_EQ(calls_due(s_), (std::vector<provider_call>{{provider_call::kind::create_intent, intent,
                                                        intent, 150'000, "USD", true,
                                                        "4242424242424242"}}));
  run(payment_result{intent, true}, t0 + 1);
  EXPECT_TRUE(calls_due(s_).empty());
  run(timer_fired{}, s_.delivery_due);
  auto refund = s_.outstanding.begin()->first;
  EXPECT_EQ(calls_due(s_), (std::vector<provider_call>{{provider_call::kind::refund, refund,
                                                        intent, 150'000, "USD"}}));
  run(confirm_call{refund}, s_.delivery_due + 1);
  EXPECT_TRUE(calls_due(s_).empty());
  EXPECT_EQ(to_string(provider_call::kind::create_intent), "create_intent");
  EXPECT_EQ(to_string(provider_call::kind::cancel), "cancel");
}

TEST_F(ContractMachineTest, Version1SnapshotsStillDecode) {
  run(fund{brand_, "f", "4242424242424242"}, t0); // a charge in flight
  run(cancel{creator_, "c"}, t0 + 1);             // refused: a key is not remembered
  auto v2 = nlohmann::json::from_msgpack(encode_snapshot(s_));
  // Exactly what a build before authorize_capture wrote: the version 1 fields only.
  for (auto* field : {"intent_capture", "intent_amount", "authorization_requested_at",
                      "funding_method", "authorization", "authorized", "authorization_expires_at",
                      "capture", "cancels", "opened_version"})
    ASSERT_EQ(v2.erase(field), 1u) << field;
  auto v1 = nlohmann::json::to_msgpack(v2);
  auto old = decode_snapshot(1, std::string{v1.begin(), v1.end()}, rules_);
  ASSERT_TRUE(old) << old.error();
  EXPECT_TRUE(old.value() == s_) << "a version 1 snapshot restores what replaying builds";
  EXPECT_EQ(old->mode, funding_mode::escrow);
  EXPECT_EQ(calls_due(old.value()), calls_due(s_));
  v2["status"] = static_cast<int>(contract_status::releasing);
  v1 = nlohmann::json::to_msgpack(v2);
  EXPECT_FALSE(decode_snapshot(1, std::string{v1.begin(), v1.end()}, rules_))
    << "version 1 knew no such status";
}

TEST_F(ContractAuthCaptureTest, SnapshotsAndReplayKeepEverything) {
  auto funded_at = fund_at(t0);
  run(timer_fired{}, t0 + 5 * day);
  run(payment_result{s_.intent, true}, t0 + 5 * day + 1); // a cancel outstanding
  run(deliver{creator_, "d", items()}, t0 + 5 * day + 2);
  run(approve{brand_, "a"}, t0 + 5 * day + 3); // releasing, a capture in flight
  ASSERT_TRUE(s_.settling);
  ASSERT_FALSE(s_.capture.empty());
  ASSERT_EQ(s_.cancels.size(), 1u);

  state replayed;
  replayed.id = s_.id;
  for (size_t i = 0; i < journal_.size(); ++i) {
    auto bytes = protocol::encode_contract_event(journal_[i]);
    auto ev = protocol::decode_contract_event(protocol::contract_event_type(journal_[i]),
                                              protocol::contract_event_version(journal_[i]), bytes);
    ASSERT_TRUE(ev) << ev.error();
    apply(replayed, static_cast<int64_t>(i + 1), ev.value(), rules_);
  }
  EXPECT_TRUE(replayed == s_);
  auto bytes = encode_snapshot(s_);
  auto restored = decode_snapshot(snapshot_version, bytes, rules_);
  ASSERT_TRUE(restored) << restored.error();
  EXPECT_TRUE(restored.value() == s_);
  EXPECT_EQ(encode_snapshot(restored.value()), bytes);
  EXPECT_EQ(calls_due(restored.value()), calls_due(s_));
  EXPECT_TRUE(std::holds_alternative<duplicate>(decide(restored.value(), approve{brand_, "a"},
                                                       t0 + 6 * day, rules_)));
  (void)funded_at;
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
    {contract_status::resolved, "resolved"},
    {contract_status::releasing, "releasing"},
    {contract_status::payment_due, "payment_due"}};
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
