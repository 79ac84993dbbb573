#include "pactum/actors/campaign_machine.hpp"

#include <set>

#include <gtest/gtest.h>

using namespace pactum;
using namespace pactum::actors::campaign;
using protocol::error_code;

namespace {

constexpr millis day = 24 * 3600 * 1000LL;
constexpr millis t0 = 1'700'000'000'000;

protocol::campaign_details sample_details(int64_t budget = 1'000'000) {
  auto parsed = protocol::campaign_details_from_json(R"({
    "title": "Summer launch",
    "description": "Our new sunscreen",
    "goals": ["awareness"],
    "budget": 0,
    "currency": "EUR",
    "starts_at": 1700000000000,
    "ends_at": 1702592000000,
    "deliverables": [{"type": "tiktok_duet", "count": 1}, {"type": "instagram_reel"}],
    "audience": {"niches": ["beauty"], "countries": ["DE", "FR"], "age_bands": ["18-24"],
                 "gender": "female", "min_followers": 10000, "min_engagement_bps": 200},
    "collaboration_types": ["tiktok_duet", "instagram_reel"],
    "pricing": {"model": "flat", "rate": 0},
    "brief": "Show the product at the beach",
    "brand_safety": {"banned_words": ["cheap", "free gift"], "banned_categories": ["gambling"],
                     "require_disclosure": true, "link_policy": "none", "max_caption_chars": 200}
  })");
  EXPECT_TRUE(parsed.has_value());
  auto d = parsed ? *parsed : protocol::campaign_details{};
  d.budget = budget;
  return d;
}

class CampaignMachineTest : public ::testing::Test {
protected:
  void SetUp() override {
    s_.id = uuid::v7();
    ok(create{brand_, "c1", sample_details()});
  }

  template <class Cmd>
  decision run(const Cmd& cmd, millis now = t0 + day) {
    auto d = decide(s_, cmd, now, rules_);
    if (auto* a = std::get_if<accepted>(&d)) {
      // Every event survives the journal's encoding unchanged, and replays to the same state.
      auto bytes = protocol::encode_campaign_event(a->event);
      auto back = protocol::decode_campaign_event(protocol::campaign_event_type(a->event),
                                                  protocol::campaign_event_version, bytes);
      EXPECT_TRUE(back.has_value()) << (back ? "" : back.error());
      if (back) {
        EXPECT_EQ(*back, a->event);
      }
      journal_.push_back(a->event);
      apply_event(s_, s_.head + 1, a->event);
    }
    return d;
  }

  template <class Cmd>
  protocol::campaign_event ok(const Cmd& cmd, millis now = t0 + day) {
    auto d = run(cmd, now);
    if (auto* r = std::get_if<refusal>(&d))
      ADD_FAILURE() << "refused: " << r->message;
    EXPECT_TRUE(std::holds_alternative<accepted>(d));
    return std::get_if<accepted>(&d) ? std::get<accepted>(d).event : protocol::campaign_event{};
  }

  template <class Cmd>
  error_code refused(const Cmd& cmd, millis now = t0 + day) {
    auto d = run(cmd, now);
    EXPECT_TRUE(std::holds_alternative<refusal>(d));
    return std::holds_alternative<refusal>(d) ? std::get<refusal>(d).code : error_code::internal;
  }

  void publish() { ok(change_status{brand_, "p1", "publish"}); }

  /// Publishes, approves the creator's application and commits a funded contract for `amount`.
  uuid funded_contract(int64_t amount, int64_t revision_rounds = 1) {
    if (s_.st == status::draft)
      publish();
    auto c = uuid::v7();
    ok(commit_budget{c, creator_, amount, revision_rounds, {"tiktok", "instagram"}});
    return c;
  }

  state replayed() const {
    state r;
    r.id = s_.id;
    for (auto& ev : journal_)
      apply_event(r, r.head + 1, ev);
    return r;
  }

  rules rules_;
  state s_;
  uuid brand_ = uuid::v7();
  uuid creator_ = uuid::v7();
  uuid other_creator_ = uuid::v7();
  std::vector<protocol::campaign_event> journal_;
};

protocol::content_item good_content(std::string platform = "tiktok") {
  return {{{"https://cdn.example/v.mp4", "video/mp4", 1000, 1080, 1920}},
          "Beach day with @sunbrand #ad",
          std::move(platform),
          {"beauty"},
          false};
}

} // namespace

TEST(CampaignDetailsTest, ReportsEveryBadFieldAtOnce) {
  auto r = protocol::campaign_details_from_json(R"({
    "title": "",
    "currency": "eur",
    "budget": -5,
    "ends_at": 100, "starts_at": 200,
    "audience": {"countries": ["DE", "Germany"], "age_bands": ["18-24", "kids"], "gender": "x"},
    "pricing": {"model": "barter"},
    "collaboration_types": ["tiktok_duet", "fax"],
    "brand_safety": {"link_policy": "sometimes"}
  })");
  ASSERT_FALSE(r.has_value());
  std::set<std::string> fields;
  for (auto& e : r.error())
    fields.insert(e.field);
  for (auto f : {"title", "currency", "budget", "ends_at", "audience.countries[1]",
                 "audience.age_bands[1]", "audience.gender", "pricing.model",
                 "collaboration_types[1]", "brand_safety.link_policy"})
    EXPECT_TRUE(fields.count(f)) << "no error for " << f;
}

TEST(CampaignDetailsTest, RoundTripsThroughJson) {
  auto d = sample_details(5'000);
  auto again = protocol::campaign_details_from_json(protocol::campaign_details_to_json(d));
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(*again, d);
}

TEST(ContentScreeningTest, FindsEachRuleBroken) {
  auto rules = sample_details().safety;
  auto clean = protocol::screen_content(good_content(), rules, "tiktok");
  EXPECT_TRUE(clean.passed);

  protocol::content_item bad{{}, "So CHEAP!!! free gift at https://shop.example", "instagram",
                             {"gambling"}, false};
  auto rep = protocol::screen_content(bad, rules, "tiktok");
  EXPECT_FALSE(rep.passed);
  std::set<std::string> found;
  for (auto& f : rep.findings)
    found.insert(f.rule);
  EXPECT_EQ(found, (std::set<std::string>{"banned_word", "banned_category", "disclosure",
                                          "link_policy", "platform"}));

  // "cheapest" is not the banned word "cheap"; the paid-partnership label discloses.
  protocol::content_item fine{{}, "the cheapest way to the beach", "tiktok", {}, true};
  EXPECT_TRUE(protocol::screen_content(fine, rules, "tiktok").passed);

  protocol::content_item long_caption{{}, std::string(201, 'a') + " #ad", "tiktok", {}, false};
  auto lr = protocol::screen_content(long_caption, rules, "tiktok");
  ASSERT_EQ(lr.findings.size(), 1u);
  EXPECT_EQ(lr.findings[0].rule, "caption_length");

  rules.link_policy = "required";
  EXPECT_EQ(protocol::screen_content(good_content(), rules, "tiktok").findings.at(0).rule,
            "link_policy");
}

TEST_F(CampaignMachineTest, PublishNeedsABudgetAndDeliverables) {
  ok(update{brand_, "u0", sample_details(0)});
  EXPECT_EQ(refused(change_status{brand_, "p0", "publish"}), error_code::bad_request);
  EXPECT_EQ(s_.st, status::draft);
  ok(update{brand_, "u1", sample_details(10'000)});
  publish();
  EXPECT_EQ(s_.st, status::published);
  // Publishing again is no transition; the same key is a duplicate.
  EXPECT_TRUE(std::holds_alternative<duplicate>(run(change_status{brand_, "p1", "publish"})));
  EXPECT_EQ(refused(change_status{brand_, "p2", "publish"}), error_code::conflict);
}

TEST_F(CampaignMachineTest, PublishRefusedAfterTheEndDate) {
  EXPECT_EQ(refused(change_status{brand_, "p", "publish"}, sample_details().ends_at + 1),
            error_code::bad_request);
}

TEST_F(CampaignMachineTest, OnlyTheBrandChangesItsCampaign) {
  EXPECT_EQ(refused(update{creator_, "u", sample_details()}), error_code::forbidden);
  EXPECT_EQ(refused(change_status{creator_, "x", "publish"}), error_code::forbidden);
  EXPECT_EQ(refused(invite{creator_, "i", other_creator_, "hi"}), error_code::forbidden);
}

TEST_F(CampaignMachineTest, PauseResumeAndTheirRules) {
  EXPECT_EQ(refused(change_status{brand_, "pz", "pause"}), error_code::conflict); // a draft
  publish();
  ok(change_status{brand_, "pz", "pause"});
  EXPECT_EQ(s_.st, status::paused);
  EXPECT_EQ(refused(apply{creator_, "a", "let me", 0}), error_code::conflict);
  ok(change_status{brand_, "resume", "publish"});
  EXPECT_EQ(s_.st, status::published);
  ok(apply{creator_, "a", "let me", 0});
}

TEST_F(CampaignMachineTest, CurrencyAndPricingModelAreFixedOncePublished) {
  publish();
  auto d = sample_details();
  d.currency = "USD";
  EXPECT_EQ(refused(update{brand_, "u", d}), error_code::conflict);
  d = sample_details();
  d.pricing = {"cpc", 20};
  EXPECT_EQ(refused(update{brand_, "u2", d}), error_code::conflict);
  d = sample_details(2'000'000);
  d.title = "Bigger summer launch";
  ok(update{brand_, "u3", d});
  EXPECT_EQ(s_.details.title, "Bigger summer launch");
}

TEST_F(CampaignMachineTest, BudgetNeverDropsBelowWhatContractsHold) {
  auto c = funded_contract(600'000);
  EXPECT_EQ(s_.committed, 600'000);
  EXPECT_EQ(s_.remaining(), 400'000);
  EXPECT_EQ(refused(update{brand_, "u", sample_details(599'999)}), error_code::conflict);
  ok(update{brand_, "u2", sample_details(600'000)});
  EXPECT_EQ(s_.remaining(), 0);
  // No more room for another contract.
  EXPECT_EQ(refused(commit_budget{uuid::v7(), other_creator_, 1, 0, {"tiktok"}}),
            error_code::limit_reached);
  // A refund frees the budget again; a release spends it.
  ok(settle_budget{c, 0, 600'000});
  EXPECT_EQ(s_.committed, 0);
  EXPECT_EQ(s_.remaining(), 600'000);
  auto c2 = funded_contract(500'000);
  ok(settle_budget{c2, 500'000, 0});
  EXPECT_EQ(s_.spent, 500'000);
  EXPECT_EQ(s_.remaining(), 100'000);
  EXPECT_EQ(refused(update{brand_, "u3", sample_details(499'999)}), error_code::conflict);
}

TEST_F(CampaignMachineTest, BudgetEventsAreIdempotentPerContract) {
  auto c = funded_contract(100);
  EXPECT_TRUE(std::holds_alternative<duplicate>(
    run(commit_budget{c, creator_, 100, 1, {"tiktok", "instagram"}})));
  EXPECT_EQ(refused(commit_budget{c, creator_, 200, 1, {"tiktok"}}),
            error_code::idempotency_mismatch);
  EXPECT_EQ(s_.committed, 100);
  EXPECT_EQ(refused(settle_budget{c, 50, 40}), error_code::bad_request); // must add up
  ok(settle_budget{c, 60, 40});
  EXPECT_TRUE(std::holds_alternative<duplicate>(run(settle_budget{c, 60, 40})));
  EXPECT_EQ(s_.spent, 60);
  EXPECT_EQ(refused(settle_budget{uuid::v7(), 1, 0}), error_code::not_found);
}

TEST_F(CampaignMachineTest, CancelGivesBackWhatIsNotCommitted) {
  funded_contract(300'000);
  auto ev = ok(change_status{brand_, "x", "cancel"});
  auto& changed = std::get<protocol::campaign_status_changed>(ev);
  EXPECT_EQ(changed.released, 700'000);
  EXPECT_EQ(s_.st, status::cancelled);
  EXPECT_EQ(s_.remaining(), 0);
  EXPECT_EQ(s_.details.budget, 300'000);
  // The funded contract runs to its end; nothing new starts.
  EXPECT_EQ(refused(commit_budget{uuid::v7(), other_creator_, 1, 0, {"tiktok"}}),
            error_code::conflict);
  EXPECT_EQ(refused(apply{other_creator_, "a", "hi", 0}), error_code::conflict);
  EXPECT_EQ(refused(change_status{brand_, "y", "publish"}), error_code::conflict);
}

TEST_F(CampaignMachineTest, CompleteWaitsForOpenContracts) {
  auto c = funded_contract(300'000);
  EXPECT_EQ(refused(change_status{brand_, "done", "complete"}), error_code::conflict);
  ok(settle_budget{c, 300'000, 0});
  auto ev = ok(change_status{brand_, "done2", "complete"});
  EXPECT_EQ(std::get<protocol::campaign_status_changed>(ev).released, 700'000);
  EXPECT_EQ(s_.st, status::completed);
  EXPECT_EQ(s_.details.budget, 300'000);
}

TEST_F(CampaignMachineTest, ApplicationLifecycle) {
  EXPECT_EQ(refused(apply{creator_, "a1", "pick me", 0}), error_code::conflict); // draft
  publish();
  EXPECT_EQ(refused(apply{brand_, "a0", "me?", 0}), error_code::forbidden);
  ok(apply{creator_, "a1", "pick me", 50'000});
  auto app = s_.head;
  // The same key again is the same application; a second one is refused.
  EXPECT_TRUE(std::holds_alternative<duplicate>(run(apply{creator_, "a1", "pick me", 50'000})));
  EXPECT_EQ(refused(apply{creator_, "a1", "changed my mind", 0}), error_code::idempotency_mismatch);
  EXPECT_EQ(refused(apply{creator_, "a2", "again", 0}), error_code::conflict);
  // Strangers cannot see it; only the brand decides; the applicant withdraws.
  EXPECT_EQ(refused(decide_application{other_creator_, "d", app, "withdrawn", "", {}}),
            error_code::not_found);
  EXPECT_EQ(refused(decide_application{creator_, "d", app, "approved", "", uuid::v7()}),
            error_code::forbidden);
  EXPECT_EQ(refused(decide_application{brand_, "d", app, "maybe", "", {}}), error_code::bad_request);
  auto conversation = uuid::v7();
  auto ev = ok(decide_application{brand_, "d", app, "approved", "", conversation});
  EXPECT_EQ(std::get<protocol::application_decided>(ev).conversation, conversation);
  EXPECT_TRUE(s_.has_collaboration(creator_));
  EXPECT_EQ(refused(decide_application{brand_, "d2", app, "rejected", "", {}}), error_code::conflict);
  EXPECT_EQ(refused(decide_application{creator_, "w", app, "withdrawn", "", {}}),
            error_code::conflict);
  // Another creator applies, withdraws, and may apply again.
  ok(apply{other_creator_, "b1", "me too", 0});
  auto app2 = s_.head;
  ok(decide_application{other_creator_, "w", app2, "withdrawn", "", {}});
  ok(apply{other_creator_, "b2", "me again", 0});
  ok(decide_application{brand_, "r", s_.head, "rejected", "not our audience", {}});
  EXPECT_FALSE(s_.has_collaboration(other_creator_));
}

TEST_F(CampaignMachineTest, ApplicationsCloseAtTheEndDate) {
  publish();
  EXPECT_EQ(refused(apply{creator_, "a", "late", 0}, sample_details().ends_at), error_code::conflict);
}

TEST_F(CampaignMachineTest, ApplicationLimitIsEnforced) {
  rules_.max_applications = 2;
  publish();
  ok(apply{uuid::v7(), "a", "1", 0});
  ok(apply{uuid::v7(), "a", "2", 0});
  EXPECT_EQ(refused(apply{uuid::v7(), "a", "3", 0}), error_code::limit_reached);
}

TEST_F(CampaignMachineTest, InvitationLifecycle) {
  EXPECT_EQ(refused(invite{brand_, "i1", creator_, "join us"}), error_code::conflict); // draft
  publish();
  ok(invite{brand_, "i1", creator_, "join us"});
  auto inv = s_.head;
  EXPECT_EQ(refused(invite{brand_, "i2", creator_, "join us!"}), error_code::conflict);
  EXPECT_EQ(refused(apply{creator_, "a", "hi", 0}), error_code::conflict);
  EXPECT_EQ(refused(answer_invitation{other_creator_, "x", inv, "accepted", "", uuid::v7()}),
            error_code::not_found);
  EXPECT_EQ(refused(answer_invitation{brand_, "x", inv, "accepted", "", uuid::v7()}),
            error_code::forbidden);
  auto conversation = uuid::v7();
  ok(answer_invitation{creator_, "yes", inv, "accepted", "", conversation});
  EXPECT_TRUE(s_.has_collaboration(creator_));
  EXPECT_EQ(refused(answer_invitation{creator_, "no", inv, "denied", "", {}}), error_code::conflict);
  // Denied and withdrawn invitations.
  ok(invite{brand_, "i3", other_creator_, "join us"});
  ok(answer_invitation{other_creator_, "no", s_.head, "denied", "busy", {}});
  auto third = uuid::v7();
  ok(invite{brand_, "i4", third, "join us"});
  ok(answer_invitation{brand_, "w", s_.head, "withdrawn", "", {}});
  EXPECT_FALSE(s_.has_collaboration(other_creator_));
  EXPECT_FALSE(s_.has_collaboration(third));
}

TEST_F(CampaignMachineTest, ContentIsScreenedThenReviewed) {
  auto c = funded_contract(100'000, 1);
  // Only the contract's creator submits, for a deliverable that exists.
  EXPECT_EQ(refused(submit_content{other_creator_, "s", c, 0, good_content()}), error_code::forbidden);
  EXPECT_EQ(refused(submit_content{creator_, "s", c, 2, good_content()}), error_code::bad_request);
  auto ev = ok(submit_content{creator_, "s1", c, 0, good_content()});
  EXPECT_TRUE(std::get<protocol::content_submitted>(ev).report.passed);
  auto first = s_.head;
  EXPECT_EQ(refused(submit_content{creator_, "s2", c, 0, good_content()}), error_code::conflict);

  // A flawed submission is stored with its report; the brand asks for a revision.
  protocol::content_item flawed{{}, "cheap stuff", "instagram", {}, false};
  auto ev2 = ok(submit_content{creator_, "s3", c, 1, flawed});
  auto& report = std::get<protocol::content_submitted>(ev2).report;
  EXPECT_FALSE(report.passed);
  EXPECT_EQ(report.findings.size(), 2u); // banned word, no disclosure
  auto second = s_.head;

  EXPECT_EQ(refused(review_content{{creator_, false}, "r", second, "approved", ""}),
            error_code::forbidden);
  ok(review_content{{brand_, false}, "r1", second, "revision_requested", "disclose it"});
  // The one revision round is used up.
  ok(submit_content{creator_, "s4", c, 1, flawed});
  EXPECT_EQ(refused(review_content{{brand_, false}, "r2", s_.head, "revision_requested", "again"}),
            error_code::limit_reached);
  auto third = s_.head;

  // Approving the first deliverable does not release; approving the last one does, once.
  auto a1 = ok(review_content{{brand_, false}, "r3", first, "approved", ""});
  EXPECT_FALSE(std::get<protocol::content_reviewed>(a1).release);
  auto a2 = ok(review_content{{uuid::v7(), true}, "r4", third, "approved", "ok by moderation"});
  EXPECT_TRUE(std::get<protocol::content_reviewed>(a2).release);
  EXPECT_TRUE(s_.contracts.at(c).release_requested);
  EXPECT_EQ(refused(review_content{{brand_, false}, "r5", third, "rejected", ""}),
            error_code::conflict);
}

TEST_F(CampaignMachineTest, RejectedDeliverableTakesNoMoreSubmissions) {
  auto c = funded_contract(1'000, 3);
  ok(submit_content{creator_, "s1", c, 0, good_content()});
  ok(review_content{{brand_, false}, "r1", s_.head, "rejected", "off brief"});
  EXPECT_EQ(refused(submit_content{creator_, "s2", c, 0, good_content()}), error_code::conflict);
  ok(settle_budget{c, 0, 1'000});
  EXPECT_EQ(refused(submit_content{creator_, "s3", c, 1, good_content("instagram")}),
            error_code::conflict);
}

TEST_F(CampaignMachineTest, ReplayRebuildsTheSameStateAndKeys) {
  auto c = funded_contract(100'000);
  ok(apply{other_creator_, "a", "hi", 10});
  ok(submit_content{creator_, "s1", c, 0, good_content()});
  ok(review_content{{brand_, false}, "r", s_.head, "revision_requested", "x"});
  auto r = replayed();
  EXPECT_EQ(r.head, s_.head);
  EXPECT_EQ(r.st, s_.st);
  EXPECT_EQ(r.committed, s_.committed);
  EXPECT_EQ(r.keys, s_.keys);
  EXPECT_EQ(r.contracts.at(c).revisions_used, 1);
  // A retry after a restart is still recognised, with its parameters.
  EXPECT_TRUE(std::holds_alternative<duplicate>(
    decide(r, apply{other_creator_, "a", "hi", 10}, t0 + day, rules_)));
  auto mismatch = decide(r, apply{other_creator_, "a", "hello", 10}, t0 + day, rules_);
  ASSERT_TRUE(std::holds_alternative<refusal>(mismatch));
  EXPECT_EQ(std::get<refusal>(mismatch).code, error_code::idempotency_mismatch);
}
