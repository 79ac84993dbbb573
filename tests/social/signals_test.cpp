// Fake-follower signals: ordinary accounts are never flagged; each scripted fraud pattern of the
// simulated provider is, with the figures that show it; each rule on hand-made statistics.

#include <algorithm>

#include <gtest/gtest.h>

#include "pactum/social/signals.hpp"
#include "pactum/social/simulated.hpp"

using namespace pactum::social;

namespace {

constexpr pactum::millis t0 = 1'790'000'040'000;

std::vector<std::string> codes(const std::vector<fraud_signal>& s) {
  std::vector<std::string> out;
  for (auto& x : s)
    out.push_back(x.code);
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

double figure(const fraud_signal& s, const std::string& name) {
  for (auto& [n, v] : s.figures)
    if (n == name)
      return v;
  ADD_FAILURE() << s.code << " has no figure " << name;
  return 0;
}

profile_stats ordinary() {
  profile_stats s;
  s.platform = "instagram";
  s.handle = "hand.made";
  s.followers = 50'000;
  s.following = 400;
  s.posts = 300;
  s.average_views = 12'000;
  s.average_likes = 1'900;
  s.average_comments = 60;
  s.engagement_rate = 3.92;
  for (int i = 0; i < 4; ++i)
    s.history.push_back({t0 - (3 - i) * 604'800'000LL, 48'500 + i * 500});
  return s;
}

} // namespace

TEST(SignalsTest, OrdinarySimulatedAccountsAreNeverFlagged) {
  const char* platforms[] = {"tiktok", "instagram", "youtube", "x", "pinterest"};
  size_t checked = 0;
  for (uint64_t seed : {1u, 99u})
    for (auto* platform : platforms)
      for (int i = 0; i < 600; ++i)
        for (pactum::millis when : {t0, t0 + pactum::millis{90} * 24 * 3600 * 1000}) {
          auto handle = "creator_" + std::to_string(i);
          auto s = simulated_provider::generate(platform, handle, seed, when);
          auto found = assess(s);
          ASSERT_TRUE(found.empty()) << platform << "/" << handle << " seed " << seed << ": "
                                     << found.front().code << " " << found.front().message;
          ++checked;
        }
  EXPECT_EQ(checked, 2u * 5 * 600 * 2);
}

TEST(SignalsTest, EachScriptedFraudPatternIsFlagged) {
  struct pattern {
    const char* prefix;
    std::vector<std::string> must;
  };
  std::vector<pattern> patterns{
    {"fake_bought_", {"engagement_too_low", "views_too_low"}},
    {"fake_pods_", {"engagement_too_high"}},
    {"fake_jump_", {"follower_jump"}},
    {"fake_follow_", {"follow_ratio"}},
  };
  for (auto& p : patterns)
    for (int i = 0; i < 200; ++i)
      for (auto* platform : {"tiktok", "instagram", "youtube"}) {
        auto handle = p.prefix + std::to_string(i);
        auto found = codes(assess(simulated_provider::generate(platform, handle, 5, t0)));
        for (auto& code : p.must)
          EXPECT_TRUE(std::count(found.begin(), found.end(), code)) << handle << " on " << platform
                                                                  << " lacks " << code;
      }
}

TEST(SignalsTest, AHandMadeOrdinaryAccountHasNoSignal) {
  EXPECT_TRUE(assess(ordinary()).empty());
}

TEST(SignalsTest, EngagementOutOfLineWithTheTier) {
  auto s = ordinary();
  s.engagement_rate = 0.2; // micro tier floor 0.5
  auto low = assess(s);
  ASSERT_EQ(codes(low), std::vector<std::string>{"engagement_too_low"});
  EXPECT_DOUBLE_EQ(figure(low[0], "engagement_rate"), 0.2);
  EXPECT_DOUBLE_EQ(figure(low[0], "floor"), 0.5);
  s.engagement_rate = 25; // micro ceiling 18
  EXPECT_EQ(codes(assess(s)), std::vector<std::string>{"engagement_too_high"});
  // The same 25 % is ordinary for a nano account.
  s.followers = 3'000;
  s.history.back().followers = 3'000;
  for (auto& h : s.history)
    h.followers = 3'000;
  s.average_views = 1'000;
  s.following = 300;
  EXPECT_TRUE(codes(assess(s)).empty());
  EXPECT_STREQ(tier_of(3'000).name, "nano");
  EXPECT_STREQ(tier_of(10'000).name, "micro");
  EXPECT_STREQ(tier_of(2'000'000).name, "macro");
}

TEST(SignalsTest, FollowerJumpsAndDrops) {
  auto s = ordinary();
  s.history = {{t0 - 2, 20'000}, {t0 - 1, 20'400}, {t0, 50'000}};
  auto jump = assess(s);
  ASSERT_EQ(codes(jump), std::vector<std::string>{"follower_jump"});
  EXPECT_DOUBLE_EQ(figure(jump[0], "from"), 20'400);
  EXPECT_DOUBLE_EQ(figure(jump[0], "to"), 50'000);
  EXPECT_DOUBLE_EQ(figure(jump[0], "to_at"), static_cast<double>(t0));
  s.history = {{t0 - 1, 70'000}, {t0, 50'000}};
  EXPECT_EQ(codes(assess(s)), std::vector<std::string>{"follower_drop"});
  // Small accounts double without anyone buying anything: at least 1,000 followers must move.
  s.history = {{t0 - 1, 600}, {t0, 1'500}};
  EXPECT_TRUE(assess(s).empty());
}

TEST(SignalsTest, FollowRatioViewsAndComments) {
  auto s = ordinary();
  s.following = 40'000;
  auto f = assess(s);
  ASSERT_EQ(codes(f), std::vector<std::string>{"follow_ratio"});
  EXPECT_DOUBLE_EQ(figure(f[0], "ratio"), 0.8);
  s = ordinary();
  s.average_views = 400;
  EXPECT_EQ(codes(assess(s)), std::vector<std::string>{"views_too_low"});
  s = ordinary();
  s.average_comments = 5;
  EXPECT_EQ(codes(assess(s)), std::vector<std::string>{"few_comments"});
}
