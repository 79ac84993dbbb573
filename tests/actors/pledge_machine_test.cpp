// A pledge campaign's rules alone (no actors, no I/O): the end date with the goal reached or not,
// backers cancelling, tiers selling out, idempotent retries, and the ledger transfers each event
// makes, replayed against a small double-entry model so the escrow's balance is checked too.

#include "pactum/actors/pledge_machine.hpp"

#include <map>

#include <gtest/gtest.h>

using namespace pactum;
using namespace pactum::actors::pledge;
using protocol::error_code;

namespace {

constexpr millis t0 = 1'000'000;
constexpr millis end_at = t0 + 10'000;

/// Posted and pending balances per account, with pending transfers by id: enough to check that
/// each pending transfer is resolved once with its own accounts and amount.
struct ledger_model {
  std::map<std::string, int64_t> posted;
  std::map<std::string, int64_t> pending_in;
  std::map<std::string, posting> open;

  void run(const std::vector<posting>& ps) {
    for (auto& p : ps) {
      switch (p.what) {
        case posting::kind::post:
          posted[p.debit] -= p.amount;
          posted[p.credit] += p.amount;
          break;
        case posting::kind::pending:
          ASSERT_FALSE(open.count(p.id));
          open.emplace(p.id, p);
          pending_in[p.credit] += p.amount;
          break;
        case posting::kind::post_pending:
        case posting::kind::void_pending: {
          auto i = open.find(p.pending_id);
          ASSERT_NE(i, open.end()) << "resolves an unknown or resolved pending transfer " << p.pending_id;
          EXPECT_EQ(i->second.amount, p.amount);
          EXPECT_EQ(i->second.credit, p.credit);
          pending_in[p.credit] -= p.amount;
          if (p.what == posting::kind::post_pending) {
            posted[p.debit] -= p.amount;
            posted[p.credit] += p.amount;
          }
          open.erase(i);
          break;
        }
      }
    }
  }
};

class PledgeMachineTest : public ::testing::Test {
protected:
  void SetUp() override {
    s_.id = uuid::v7();
    creator_ = uuid::v7();
    auto d = run(create{creator_, "c1", "A board game", "Cards and dice", 10'000, "EUR", end_at,
                        {{"Early bird", 2'000, 2, end_at + 1'000}, {"Standard", 3'000, 0, end_at + 2'000}}});
    ASSERT_TRUE(std::holds_alternative<accepted>(d));
    ASSERT_TRUE(std::holds_alternative<accepted>(run(launch{creator_, "l1"})));
  }

  decision run(const auto& cmd, millis now = t0) {
    auto d = decide(s_, cmd, now, rules_);
    if (auto* a = std::get_if<accepted>(&d))
      for (auto& ev : a->events) {
        auto seq = s_.head + 1;
        ledger_.run(postings(s_, seq, ev));
        apply(s_, seq, ev);
      }
    return d;
  }

  /// A backer pledges and the provider authorizes; returns the pledge id.
  int64_t back(const uuid& who, int64_t tier, int64_t amount = 0) {
    auto d = run(pledge_cmd{who, "p-" + who.str(), tier, amount, "4242424242424242"});
    EXPECT_TRUE(std::holds_alternative<accepted>(d));
    auto id = s_.head;
    auto intent = s_.pledges.at(id).intent;
    EXPECT_TRUE(std::holds_alternative<accepted>(run(authorization_result{intent, true})));
    return id;
  }

  error_code refused_with(const decision& d) {
    EXPECT_TRUE(std::holds_alternative<refusal>(d));
    return std::holds_alternative<refusal>(d) ? std::get<refusal>(d).code : error_code::internal;
  }

  std::string escrow() const { return escrow_account(s_.id); }

  rules rules_;
  state s_;
  uuid creator_;
  ledger_model ledger_;
};

} // namespace

TEST_F(PledgeMachineTest, GoalReachedCapturesEveryPledgeAndReleasesToAVerifiedCreator) {
  auto a = back(uuid::v7(), 1, 6'000);
  auto b = back(uuid::v7(), 0);
  auto c = back(uuid::v7(), 1);
  EXPECT_EQ(s_.authorized, 11'000);
  EXPECT_EQ(ledger_.pending_in[escrow()], 11'000) << "authorizations are pending transfers into escrow";
  EXPECT_TRUE(std::holds_alternative<ignored>(run(timer_fired{}, end_at - 1))) << "not due yet";
  ASSERT_TRUE(std::holds_alternative<accepted>(run(timer_fired{}, end_at)));
  EXPECT_EQ(s_.status, campaign_status::succeeded);
  EXPECT_TRUE(std::holds_alternative<ignored>(run(timer_fired{}, end_at + 5))) << "the end fires once";
  auto calls = calls_due(s_);
  ASSERT_EQ(calls.size(), 3u);
  for (auto& call : calls)
    EXPECT_EQ(call.what, provider_call::kind::capture);
  for (auto id : {a, b, c})
    ASSERT_TRUE(std::holds_alternative<accepted>(run(capture_result{capture_key(s_.pledges.at(id).intent), true})));
  EXPECT_EQ(ledger_.posted[escrow()], 11'000);
  EXPECT_TRUE(s_.release_due());
  EXPECT_EQ(refused_with(run(release{false})), error_code::conflict) << "held until the creator is verified";
  EXPECT_EQ(ledger_.posted[escrow()], 11'000);
  ASSERT_TRUE(std::holds_alternative<accepted>(run(release{true})));
  EXPECT_EQ(ledger_.posted[escrow()], 0);
  EXPECT_EQ(ledger_.posted["user:" + creator_.str() + ":EUR"], 11'000 - 1'100);
  EXPECT_EQ(ledger_.posted["revenue:EUR"], 1'100);
  EXPECT_TRUE(s_.settled());
  EXPECT_EQ(s_.next_timer(), 0);
  EXPECT_TRUE(ledger_.open.empty());
}

TEST_F(PledgeMachineTest, GoalMissedVoidsEveryPledgeAndCancelsItsAuthorization) {
  back(uuid::v7(), 1);
  back(uuid::v7(), 0);
  ASSERT_TRUE(std::holds_alternative<accepted>(run(timer_fired{}, end_at + 100)));
  EXPECT_EQ(s_.status, campaign_status::failed);
  EXPECT_TRUE(s_.settled());
  EXPECT_TRUE(ledger_.open.empty()) << "every pending transfer is voided in the same event";
  EXPECT_EQ(ledger_.pending_in[escrow()], 0);
  EXPECT_EQ(ledger_.posted[escrow()], 0);
  auto calls = calls_due(s_);
  ASSERT_EQ(calls.size(), 2u);
  for (auto& call : calls) {
    EXPECT_EQ(call.what, provider_call::kind::cancel);
    ASSERT_TRUE(std::holds_alternative<accepted>(run(confirm_call{call.key})));
  }
  EXPECT_TRUE(calls_due(s_).empty());
  EXPECT_EQ(refused_with(run(pledge_cmd{uuid::v7(), "late", 1, 0, "4242424242424242"}, end_at + 200)),
            error_code::conflict);
}

TEST_F(PledgeMachineTest, PledgesStillAuthorizingAtTheEndDoNotCountAndAreCancelled) {
  back(uuid::v7(), 1, 9'000);
  ASSERT_TRUE(std::holds_alternative<accepted>(run(pledge_cmd{uuid::v7(), "slow", 1, 5'000, "4000000000003220"})));
  auto slow = s_.head;
  ASSERT_TRUE(std::holds_alternative<accepted>(run(timer_fired{}, end_at)));
  EXPECT_EQ(s_.status, campaign_status::failed) << "9,000 authorized of 10,000";
  EXPECT_EQ(s_.pledges.at(slow).status, pledge_status::expired);
  EXPECT_TRUE(std::holds_alternative<ignored>(run(authorization_result{s_.pledges.at(slow).intent, true})))
    << "a late authorization changes nothing; its cancel is owed";
  EXPECT_TRUE(s_.cancels.count(cancel_key(s_.pledges.at(slow).intent)));
}

TEST_F(PledgeMachineTest, ABackerCancelsBeforeTheEndAndThePlaceIsFreeAgain) {
  auto who = uuid::v7();
  auto id = back(who, 0);
  EXPECT_EQ(s_.taken[0], 1);
  ASSERT_TRUE(std::holds_alternative<accepted>(run(withdraw{who, "w1"})));
  EXPECT_EQ(s_.pledges.at(id).status, pledge_status::withdrawn);
  EXPECT_EQ(s_.taken[0], 0);
  EXPECT_EQ(s_.authorized, 0);
  EXPECT_TRUE(ledger_.open.empty()) << "the authorization's pending transfer is voided";
  ASSERT_EQ(calls_due(s_).size(), 1u);
  EXPECT_EQ(calls_due(s_)[0].what, provider_call::kind::cancel);
  auto again = run(withdraw{who, "w1"});
  EXPECT_TRUE(std::holds_alternative<duplicate>(again)) << "a retry answers the first result";
  EXPECT_EQ(refused_with(run(withdraw{who, "w2"})), error_code::not_found) << "nothing left to cancel";
  EXPECT_EQ(refused_with(run(withdraw{who, "w3"}, end_at)), error_code::not_found);
  back(uuid::v7(), 0);
  auto late = uuid::v7();
  back(late, 1);
  EXPECT_EQ(refused_with(run(withdraw{late, "w4"}, end_at)), error_code::conflict) << "too late to cancel";
}

TEST_F(PledgeMachineTest, ALimitedTierSellsOutAndDeclinedPledgesGiveTheirPlaceBack) {
  back(uuid::v7(), 0);
  ASSERT_TRUE(std::holds_alternative<accepted>(run(pledge_cmd{uuid::v7(), "k", 0, 0, "4000000000000002"})));
  auto declined = s_.head;
  EXPECT_EQ(refused_with(run(pledge_cmd{uuid::v7(), "k", 0, 0, "4242424242424242"})), error_code::sold_out)
    << "an authorizing pledge holds its place";
  ASSERT_TRUE(std::holds_alternative<accepted>(
    run(authorization_result{s_.pledges.at(declined).intent, false, "card_declined"})));
  EXPECT_EQ(s_.taken[0], 1);
  back(uuid::v7(), 0);
  EXPECT_EQ(refused_with(run(pledge_cmd{uuid::v7(), "k", 0, 0, "4242424242424242"})), error_code::sold_out);
  back(uuid::v7(), 1) ; // unlimited
  EXPECT_EQ(s_.taken[1], 1);
}

TEST_F(PledgeMachineTest, SameKeySameParametersAnswersTheFirstResultOtherParametersAreRefused) {
  auto who = uuid::v7();
  ASSERT_TRUE(std::holds_alternative<accepted>(run(pledge_cmd{who, "k1", 1, 0, "4242424242424242"})));
  auto seq = s_.head;
  auto again = run(pledge_cmd{who, "k1", 1, 3'000, "4242424242424242"});
  ASSERT_TRUE(std::holds_alternative<duplicate>(again)) << "amount 0 means the price: the same pledge";
  EXPECT_EQ(std::get<duplicate>(again).seq, seq);
  EXPECT_EQ(refused_with(run(pledge_cmd{who, "k1", 1, 4'000, "4242424242424242"})), error_code::idempotency_mismatch);
  EXPECT_EQ(refused_with(run(pledge_cmd{who, "k2", 1, 0, "4242424242424242"})), error_code::conflict)
    << "one live pledge per backer";
  EXPECT_EQ(s_.pledges.size(), 1u);
  EXPECT_TRUE(std::holds_alternative<duplicate>(run(launch{creator_, "l1"})));
  EXPECT_EQ(refused_with(run(launch{creator_, "l2"})), error_code::conflict);
}

TEST_F(PledgeMachineTest, RefusesBadPledges) {
  EXPECT_EQ(refused_with(run(pledge_cmd{creator_, "own", 1, 0, "4242424242424242"})), error_code::forbidden);
  EXPECT_EQ(refused_with(run(pledge_cmd{uuid::v7(), "t", 7, 0, "4242424242424242"})), error_code::bad_request);
  EXPECT_EQ(refused_with(run(pledge_cmd{uuid::v7(), "t", 1, 2'999, "4242424242424242"})), error_code::bad_request);
  EXPECT_EQ(refused_with(run(pledge_cmd{uuid::v7(), "t", 1, 0, ""})), error_code::bad_request);
  EXPECT_EQ(refused_with(run(pledge_cmd{uuid::v7(), "", 1, 0, "4242424242424242"})), error_code::bad_request);
  state draft;
  draft.id = uuid::v7();
  auto d = decide(draft, pledge_cmd{uuid::v7(), "x", 0, 0, "4242424242424242"}, t0, rules_);
  EXPECT_EQ(refused_with(d), error_code::not_found) << "no campaign: not_found";
}

TEST_F(PledgeMachineTest, RefusesBadCampaigns) {
  state fresh;
  fresh.id = uuid::v7();
  auto c = create{creator_, "c", "T", "", 100, "EUR", t0 + 1'000, {{"A", 10, 0, 0}}};
  EXPECT_TRUE(std::holds_alternative<accepted>(decide(fresh, c, t0, rules_)));
  auto bad = c;
  bad.end_at = t0;
  EXPECT_EQ(refused_with(decide(fresh, bad, t0, rules_)), error_code::bad_request);
  bad = c;
  bad.tiers.clear();
  EXPECT_EQ(refused_with(decide(fresh, bad, t0, rules_)), error_code::bad_request);
  bad = c;
  bad.currency = "eur";
  EXPECT_EQ(refused_with(decide(fresh, bad, t0, rules_)), error_code::bad_request);
  bad = c;
  bad.tiers[0].price = 0;
  EXPECT_EQ(refused_with(decide(fresh, bad, t0, rules_)), error_code::bad_request);
  EXPECT_EQ(refused_with(decide(s_, launch{uuid::v7(), "x"}, t0, rules_)), error_code::not_found)
    << "only the creator launches; others learn nothing";
}

TEST_F(PledgeMachineTest, AFailedCaptureVoidsThatPledgeAndTheRestIsReleased) {
  auto a = back(uuid::v7(), 1, 8'000);
  auto b = back(uuid::v7(), 1, 4'000);
  ASSERT_TRUE(std::holds_alternative<accepted>(run(timer_fired{}, end_at)));
  ASSERT_TRUE(std::holds_alternative<accepted>(run(capture_result{capture_key(s_.pledges.at(a).intent), true})));
  EXPECT_FALSE(s_.release_due());
  ASSERT_TRUE(std::holds_alternative<accepted>(run(authorization_lapsed{s_.pledges.at(b).intent})));
  EXPECT_EQ(s_.pledges.at(b).status, pledge_status::capture_failed);
  ASSERT_TRUE(std::holds_alternative<accepted>(run(release{true})));
  EXPECT_EQ(ledger_.posted[escrow()], 0);
  EXPECT_TRUE(ledger_.open.empty());
  EXPECT_EQ(s_.released_to_creator, 8'000 - 800);
}

TEST_F(PledgeMachineTest, ReplayingTheJournalGivesTheSameState) {
  std::vector<protocol::pledge_event> journal;
  state fresh;
  fresh.id = uuid::v7();
  auto record = [&](decision d) {
    for (auto& ev : std::get<accepted>(d).events) {
      journal.push_back(ev);
      apply(fresh, fresh.head + 1, ev);
    }
  };
  auto who = uuid::v7();
  record(decide(fresh, create{creator_, "c", "T", "", 100, "EUR", t0 + 1'000, {{"A", 10, 1, 0}}}, t0, rules_));
  record(decide(fresh, launch{creator_, "l"}, t0, rules_));
  record(decide(fresh, pledge_cmd{who, "p", 0, 0, "4242424242424242"}, t0, rules_));
  record(decide(fresh, authorization_result{fresh.pledges.begin()->second.intent, true}, t0, rules_));
  state replayed;
  replayed.id = fresh.id;
  for (auto& ev : journal) {
    auto bytes = protocol::encode_pledge_event(ev);
    auto back = protocol::decode_pledge_event(protocol::pledge_event_type(ev), 1, bytes);
    ASSERT_TRUE(back) << back.error();
    EXPECT_EQ(back.value(), ev);
    apply(replayed, replayed.head + 1, back.value());
  }
  EXPECT_EQ(replayed, fresh);
}
