// The simulated provider: deterministic figures, scripted handles and posts, quotas.

#include <gtest/gtest.h>

#include "pactum/social/client.hpp"
#include "pactum/social/simulated.hpp"

using namespace pactum::social;

namespace {

constexpr pactum::millis t0 = 1'790'000'040'000; // 2026-09-21, a whole minute

simulated_config at(pactum::social::manual_clock& c, uint64_t seed = 7) {
  simulated_config cfg;
  cfg.seed = seed;
  cfg.calls_per_window = 0;
  cfg.now = [&c] { return c.now(); };
  return cfg;
}

} // namespace

TEST(SimulatedProviderTest, SameSeedAndTimeGiveTheSameStatistics) {
  manual_clock c{t0};
  simulated_provider a{at(c)}, b{at(c)};
  for (auto handle : {"cleo.rides", "@Cleo.Rides", "max_b", "fake_jump_x"}) {
    auto x = a.fetch_profile("instagram", handle);
    auto y = b.fetch_profile("instagram", handle);
    ASSERT_TRUE(x && y) << handle;
    EXPECT_EQ(*x, *y) << handle;
  }
  // "@Cleo.Rides" is "cleo.rides" on the platform.
  EXPECT_EQ(*a.fetch_profile("instagram", "@Cleo.Rides"), *a.fetch_profile("instagram", "cleo.rides"));
  EXPECT_EQ(a.fetch_profile("instagram", "@Cleo.Rides")->handle, "cleo.rides");
}

TEST(SimulatedProviderTest, SeedPlatformAndHandleChangeTheFigures) {
  manual_clock c{t0};
  simulated_provider a{at(c, 1)}, b{at(c, 2)};
  auto x = a.fetch_profile("tiktok", "cleo");
  EXPECT_NE(x->followers, b.fetch_profile("tiktok", "cleo")->followers);
  EXPECT_NE(x->followers, a.fetch_profile("youtube", "cleo")->followers);
  EXPECT_NE(x->followers, a.fetch_profile("tiktok", "cleo2")->followers);
}

TEST(SimulatedProviderTest, StatisticsArePlausibleAndConsistent) {
  manual_clock c{t0};
  simulated_provider p{at(c)};
  auto s = p.fetch_profile("tiktok", "cleo");
  ASSERT_TRUE(s);
  EXPECT_EQ(s->platform, "tiktok");
  EXPECT_GE(s->followers, 500);
  EXPECT_EQ(s->history.size(), 12u);
  EXPECT_EQ(s->history.back().followers, s->followers);
  EXPECT_EQ(s->history.back().at, t0);
  EXPECT_EQ(s->fetched_at, t0);
  for (size_t i = 1; i < s->history.size(); ++i)
    EXPECT_LT(s->history[i - 1].at, s->history[i].at);
  double expected = static_cast<double>(s->average_likes + s->average_comments) * 100
                    / static_cast<double>(s->followers);
  EXPECT_NEAR(s->engagement_rate, expected, 0.006);
  EXPECT_GT(s->posts, 0);
}

TEST(SimulatedProviderTest, FollowersGrowWithTimeButStayStableWithinADay) {
  manual_clock c{t0};
  simulated_provider p{at(c)};
  auto now = p.fetch_profile("youtube", "steady").value();
  c.advance(60'000);
  auto minute_later = p.fetch_profile("youtube", "steady").value();
  EXPECT_NEAR(static_cast<double>(minute_later.followers), static_cast<double>(now.followers),
              static_cast<double>(now.followers) * 0.001);
  c.advance(60LL * 24 * 3600 * 1000);
  EXPECT_GT(p.fetch_profile("youtube", "steady")->followers, now.followers);
}

TEST(SimulatedProviderTest, ScriptedErrors) {
  manual_clock c{t0};
  simulated_provider p{at(c)};
  EXPECT_EQ(p.fetch_profile("tiktok", "gone_ana").error().code, errc::not_found);
  EXPECT_EQ(p.fetch_profile("tiktok", "has space").error().code, errc::invalid_handle);
  EXPECT_EQ(p.fetch_profile("tiktok", "").error().code, errc::invalid_handle);
  EXPECT_EQ(p.fetch_profile("tiktok", std::string(65, 'a')).error().code, errc::invalid_handle);
  EXPECT_EQ(p.fetch_profile("myspace", "cleo").error().code, errc::invalid_handle);
  // flaky_: two unavailable answers, then the figures.
  EXPECT_EQ(p.fetch_profile("x", "flaky_one").error().code, errc::unavailable);
  EXPECT_EQ(p.fetch_profile("x", "flaky_one").error().code, errc::unavailable);
  EXPECT_TRUE(p.fetch_profile("x", "flaky_one"));
}

TEST(SimulatedProviderTest, PostsByIdPrefix) {
  manual_clock c{t0};
  simulated_provider p{at(c)};
  auto ad = p.verify_post("instagram", "https://instagram.example/p/ad-123?utm=1#top", disclosure::any);
  ASSERT_TRUE(ad);
  EXPECT_EQ(ad->post_id, "ad-123");
  EXPECT_TRUE(ad->exists);
  EXPECT_TRUE(ad->has_ad_tag);
  EXPECT_TRUE(ad->disclosed);
  EXPECT_LT(ad->posted_at, t0);
  EXPECT_GT(ad->posted_at, t0 - 31LL * 24 * 3600 * 1000);

  auto sp = p.verify_post("tiktok", "sponsored-9", disclosure::hashtag_ad);
  ASSERT_TRUE(sp);
  EXPECT_TRUE(sp->has_sponsored_tag);
  EXPECT_FALSE(sp->has_ad_tag);
  EXPECT_FALSE(sp->disclosed) << "#sponsored is not the #ad that was required";

  auto partner = p.verify_post("instagram", "https://instagram.example/p/partner-5/", disclosure::paid_partnership);
  ASSERT_TRUE(partner);
  EXPECT_TRUE(partner->paid_partnership);
  EXPECT_FALSE(partner->has_ad_tag || partner->has_sponsored_tag);
  EXPECT_TRUE(partner->disclosed);

  auto plain = p.verify_post("youtube", "https://youtube.example/watch/plain-1", disclosure::any);
  ASSERT_TRUE(plain);
  EXPECT_TRUE(plain->exists);
  EXPECT_FALSE(plain->disclosed);
  EXPECT_TRUE(p.verify_post("youtube", "plain-1", disclosure::none)->disclosed);

  EXPECT_EQ(p.verify_post("tiktok", "https://tiktok.example/v/missing-1", disclosure::any).error().code,
            errc::not_found);
  EXPECT_EQ(p.verify_post("tiktok", "https://tiktok.example/v/bad%20id", disclosure::any).error().code,
            errc::invalid_handle);
  EXPECT_EQ(*p.verify_post("tiktok", "ad-7", disclosure::any), *p.verify_post("tiktok", "ad-7", disclosure::any));
}

TEST(SimulatedProviderTest, QuotaIsAFixedWindowPerPlatform) {
  manual_clock c{t0}; // t0 is a whole minute
  auto cfg = at(c);
  cfg.calls_per_window = 3;
  cfg.window_ms = 60'000;
  simulated_provider p{cfg};
  c.advance(15'000);
  for (int i = 0; i < 3; ++i)
    ASSERT_TRUE(p.fetch_profile("tiktok", "cleo")) << i;
  auto refused = p.verify_post("tiktok", "ad-1", disclosure::any);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, errc::rate_limited);
  EXPECT_EQ(refused.error().retry_after_ms, 45'000);
  EXPECT_TRUE(p.fetch_profile("youtube", "cleo")) << "each platform has its own quota";
  c.advance(45'000);
  EXPECT_TRUE(p.fetch_profile("tiktok", "cleo")) << "a new window";
  EXPECT_EQ(p.quota_refusals(), 1);
}

TEST(HashtagTest, WholeTagsOnly) {
  EXPECT_TRUE(has_hashtag("new bike #ad", "#ad"));
  EXPECT_TRUE(has_hashtag("#AD, thanks", "#ad"));
  EXPECT_FALSE(has_hashtag("#adidas rocks", "#ad"));
  EXPECT_FALSE(has_hashtag("an ad", "#ad"));
  EXPECT_TRUE(has_hashtag("x #Sponsored", "#sponsored"));
}
