// The matching score, factor by factor: each factor moves the score the way a brand would expect,
// the reasons explain the total exactly, hard requirements exclude, and the rankings order by it.

#include "pactum/actors/matching.hpp"

#include <cmath>
#include <numeric>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

using namespace pactum::actors::matching;
using pactum::protocol::campaign_details;
using pactum::protocol::deliverable;
using pactum::protocol::profiles::creator_profile;
using json = nlohmann::json;

namespace {

campaign_details campaign() {
  campaign_details c;
  c.title = "Spring bikes";
  c.currency = "EUR";
  c.budget = 1'000'000;
  c.audience.niches = {"sports", "outdoors"};
  c.audience.countries = {"DE", "AT"};
  c.audience.age_bands = {"18-24", "25-34"};
  c.audience.gender = "any";
  c.collaboration_types = {"tiktok_duet"};
  c.deliverables = {deliverable{"tiktok", "tiktok_duet", 2, ""}};
  c.pricing = {"per_post", 40'000};
  return c;
}

/// A creator who fits `campaign()` well on every factor.
creator_profile good() {
  creator_profile p;
  p.niches = {"sports", "outdoors"};
  p.social_accounts = json::array({json{{"platform", "tiktok"}, {"handle", "@a"}, {"followers", 50'000},
                                        {"average_views", 10'000}, {"engagement_rate", 4.0}}})
                        .dump();
  p.follower_total = 50'000;
  p.audience = json{{"age_bands", {{"18-24", 45}, {"25-34", 35}, {"35-44", 20}}},
                    {"gender", {{"female", 50}, {"male", 50}}},
                    {"top_countries", json::array({json{{"country", "DE"}, {"percent", 70}},
                                                   json{{"country", "AT"}, {"percent", 10}}})}}
                 .dump();
  p.country = "DE";
  p.languages = {"de"};
  p.rates = json::array({json{{"type", "tiktok_duet"}, {"amount", 30'000}, {"currency", "EUR"}}}).dump();
  return p;
}

const reason& factor(const match& m, std::string_view name) {
  for (auto& r : m.reasons)
    if (r.factor == name)
      return r;
  static reason none;
  ADD_FAILURE() << "no reason for " << name;
  return none;
}

} // namespace

TEST(MatchingTest, WeightsSumToOneAndReasonsExplainTheTotal) {
  double sum = 0;
  for (auto& w : weights)
    sum += w.weight;
  EXPECT_NEAR(sum, 1.0, 1e-12);
  for (auto p : {good(), creator_profile{}}) {
    auto m = score(campaign(), p, history{});
    ASSERT_EQ(m.reasons.size(), std::size(weights));
    double total = 0, weight = 0;
    for (size_t i = 0; i < m.reasons.size(); ++i) {
      auto& r = m.reasons[i];
      EXPECT_EQ(r.factor, weights[i].factor);
      EXPECT_DOUBLE_EQ(r.weight, weights[i].weight);
      EXPECT_GE(r.score, 0.0);
      EXPECT_LE(r.score, 1.0);
      EXPECT_DOUBLE_EQ(r.contribution, r.weight * r.score);
      EXPECT_FALSE(r.text.empty()) << r.factor;
      total += r.contribution;
      weight += r.weight;
    }
    EXPECT_NEAR(total, m.score, 1e-12);
    EXPECT_NEAR(weight, 1.0, 1e-12);
    EXPECT_GE(m.score, 0.0);
    EXPECT_LE(m.score, 1.0);
  }
}

TEST(MatchingTest, NicheFitCountsTargetsCoveredAndFocus) {
  auto all = good();
  auto none = good();
  none.niches = {"finance", "tech"};
  auto one = good();
  one.niches = {"sports", "finance"};
  auto broad = good();
  broad.niches = {"sports", "outdoors", "finance", "tech", "gaming"};
  auto c = campaign();
  auto s_all = score(c, all, {}), s_none = score(c, none, {}), s_one = score(c, one, {}),
       s_broad = score(c, broad, {});
  EXPECT_DOUBLE_EQ(factor(s_all, "niche").score, 1.0);
  EXPECT_EQ(factor(s_all, "niche").text, "2 of 2 target niches");
  EXPECT_DOUBLE_EQ(factor(s_none, "niche").score, 0.0);
  EXPECT_EQ(factor(s_none, "niche").text, "none of the 2 target niches");
  EXPECT_GT(factor(s_one, "niche").score, 0.0);
  EXPECT_LT(factor(s_one, "niche").score, 1.0);
  EXPECT_EQ(factor(s_one, "niche").text, "1 of 2 target niches, 1 other");
  // Both targets among five niches: less focused than both targets alone.
  EXPECT_LT(factor(s_broad, "niche").score, factor(s_all, "niche").score);
  EXPECT_GT(s_all.score, s_none.score);
  c.audience.niches.clear();
  EXPECT_DOUBLE_EQ(factor(score(c, none, {}), "niche").score, 1.0);
}

TEST(MatchingTest, AudienceOverlapWithTargetCountriesAgesAndGender) {
  auto c = campaign();
  auto elsewhere = good();
  elsewhere.audience = json{{"age_bands", {{"45-54", 60}, {"55-64", 40}}},
                            {"gender", {{"female", 20}, {"male", 80}}},
                            {"top_countries", json::array({json{{"country", "US"}, {"percent", 90}}})}}
                         .dump();
  auto unknown = good();
  unknown.audience = "{}";
  auto fit = factor(score(c, good(), {}), "audience");
  auto off = factor(score(c, elsewhere, {}), "audience");
  auto unk = factor(score(c, unknown, {}), "audience");
  EXPECT_DOUBLE_EQ(fit.score, 1.0); // 80% in DE/AT, 80% aged 18-34
  EXPECT_DOUBLE_EQ(off.score, 0.0);
  EXPECT_GT(unk.score, off.score); // unknown is not the worst ...
  EXPECT_LT(unk.score, fit.score); // ... nor a fit
  EXPECT_EQ(fit.text, "80% of the audience in target countries, 80% in target ages");
  // Gender and the campaign's "55+" band (the profile's 55-64 and 65+).
  c.audience.gender = "male";
  c.audience.age_bands = {"55+"};
  c.audience.countries.clear();
  auto older = factor(score(c, elsewhere, {}), "audience");
  EXPECT_DOUBLE_EQ(older.score, (std::min(1.0, 0.4 / 0.6) + 1.0) / 2);
  EXPECT_EQ(older.text, "40% in target ages, 80% male");
}

TEST(MatchingTest, EngagementAgainstTheTierNormPenalisesImplausibleFigures) {
  auto with = [](int64_t followers, double er, int64_t views) {
    auto p = good();
    p.follower_total = followers;
    p.social_accounts = json::array({json{{"platform", "tiktok"}, {"handle", "@a"},
                                          {"followers", followers}, {"average_views", views},
                                          {"engagement_rate", er}}})
                          .dump();
    return factor(score(campaign(), p, {}), "engagement").score;
  };
  EXPECT_DOUBLE_EQ(expected_engagement(5'000), 5.0);
  EXPECT_DOUBLE_EQ(expected_engagement(2'000'000), 1.0);
  double healthy = with(50'000, 4.0, 10'000);
  double weak = with(50'000, 1.0, 10'000);
  double bought = with(50'000, 25.0, 10'000);
  double ghost = with(50'000, 4.0, 100); // views under 1% of followers
  EXPECT_DOUBLE_EQ(healthy, 1.0);
  EXPECT_LT(weak, healthy);
  EXPECT_LT(bought, 0.5);
  EXPECT_LT(ghost, healthy);
  // The same rate means more on a big account.
  EXPECT_GT(with(2'000'000, 2.0, 500'000), with(5'000, 2.0, 1'000));
  auto none = good();
  none.social_accounts = "[]";
  EXPECT_EQ(factor(score(campaign(), none, {}), "engagement").text, "no social accounts listed");
}

TEST(MatchingTest, GeographyIsTheCreatorsCountry) {
  auto p = good();
  EXPECT_DOUBLE_EQ(factor(score(campaign(), p, {}), "geography").score, 1.0);
  p.country = "FR";
  auto g = factor(score(campaign(), p, {}), "geography");
  EXPECT_DOUBLE_EQ(g.score, 0.0);
  EXPECT_EQ(g.text, "lives in FR, outside the target countries");
}

TEST(MatchingTest, PriceFitComparesThePayWithTheCreatorsRates) {
  auto c = campaign(); // 2 duets at 400.00 EUR each
  auto cheap = good(); // 300.00 per duet
  auto dear = good();
  dear.rates = json::array({json{{"type", "tiktok_duet"}, {"amount", 200'000}, {"currency", "EUR"}}}).dump();
  auto usd = good();
  usd.rates = json::array({json{{"type", "tiktok_duet"}, {"amount", 30'000}, {"currency", "USD"}}}).dump();
  auto p_cheap = factor(score(c, cheap, {}), "price");
  auto p_dear = factor(score(c, dear, {}), "price");
  EXPECT_DOUBLE_EQ(p_cheap.score, 1.0);
  EXPECT_EQ(p_cheap.text, "asks 600.00 EUR, the campaign pays 800.00 EUR");
  EXPECT_DOUBLE_EQ(p_dear.score, 0.0); // asks 4,000.00 for 800.00
  EXPECT_EQ(p_dear.text, "asks 4,000.00 EUR, the campaign pays 800.00 EUR");
  EXPECT_EQ(factor(score(c, usd, {}), "price").text, "no rates in EUR");
  // CPV pays per 1,000 views: 10,000 views x 2 posts at 20.00 per mille = 400.00 < 600.00 asked.
  c.pricing = {"cpv", 2'000};
  auto cpv = factor(score(c, cheap, {}), "price");
  EXPECT_GT(cpv.score, 0.0);
  EXPECT_LT(cpv.score, 1.0);
  // Without a rate the budget is the ceiling.
  c.pricing = {"flat", 0};
  c.budget = 50'000;
  EXPECT_EQ(factor(score(c, cheap, {}), "price").text,
            "asks 600.00 EUR, the campaign pays up to 500.00 EUR");
}

TEST(MatchingTest, HistoryRewardsReliabilityAndGivesNewcomersAPrior) {
  auto p = good();
  history reliable{20, 20, 1.0, 20, 1.0, 0.1, 0, std::nullopt};
  history flaky{20, 8, 0.4, 12, 0.5, 2.5, 4, std::nullopt};
  auto s_new = factor(score(campaign(), p, {}), "history");
  auto s_rel = factor(score(campaign(), p, reliable), "history");
  auto s_flk = factor(score(campaign(), p, flaky), "history");
  EXPECT_GT(s_rel.score, s_new.score);
  EXPECT_GT(s_new.score, s_flk.score);
  EXPECT_GT(s_new.score, 0.6); // a newcomer is not buried
  EXPECT_EQ(s_new.text, "no contracts yet (neutral prior)");
  EXPECT_EQ(s_flk.text, "20 contracts: 40% on time, 50% approved, 2.5 revisions each, 4 disputed");
  // One bad contract moves a newcomer less than twenty move a veteran.
  history one_bad{1, 0, 0.0, 1, 0.0, 3, 1, std::nullopt};
  EXPECT_GT(factor(score(campaign(), p, one_bad), "history").score, s_flk.score);
  // Campaign results count when known.
  auto with_results = reliable;
  with_results.results = 0.2;
  EXPECT_LT(factor(score(campaign(), p, with_results), "history").score, s_rel.score);
}

TEST(MatchingTest, HardRequirementsExcludeFromRankings) {
  auto c = campaign();
  c.audience.min_followers = 100'000;
  auto small = good();
  auto big = good();
  big.follower_total = 200'000;
  auto m = score(c, small, {});
  EXPECT_FALSE(m.eligible);
  ASSERT_EQ(m.unmet.size(), 1u);
  EXPECT_EQ(m.unmet[0], "fewer than 100000 followers");
  auto ranked = rank_creators(c, {candidate{small, {}}, candidate{big, {}}}, 10);
  ASSERT_EQ(ranked.size(), 1u);
  EXPECT_EQ(ranked[0].index, 1u);
  c.audience.min_followers = 0;
  c.audience.min_engagement_bps = 500; // 5 %; the creator has 4 %
  EXPECT_FALSE(score(c, small, {}).eligible);
}

TEST(MatchingTest, RankingsOrderByScoreKeepInputOrderOnTiesAndHonourTheLimit) {
  auto c = campaign();
  auto off = good();
  off.niches = {"finance"};
  off.country = "US";
  std::vector<candidate> pool{{off, {}}, {good(), {}}, {good(), {}}, {off, {}}};
  auto r = rank_creators(c, pool, 3);
  ASSERT_EQ(r.size(), 3u);
  EXPECT_EQ(r[0].index, 1u);
  EXPECT_EQ(r[1].index, 2u);
  EXPECT_EQ(r[2].index, 0u);
  EXPECT_GE(r[0].result.score, r[1].result.score);
  EXPECT_GT(r[1].result.score, r[2].result.score);

  auto other = campaign();
  other.audience.niches = {"finance"};
  other.audience.countries = {"US"};
  auto picks = rank_campaigns(good(), {}, {other, campaign()}, 1);
  ASSERT_EQ(picks.size(), 1u);
  EXPECT_EQ(picks[0].index, 1u);
  EXPECT_TRUE(rank_creators(c, {}, 10).empty());
  EXPECT_TRUE(rank_creators(c, pool, 0).empty());
}
