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

TEST(SimulatedProviderTest, PostViewsGrowOnASaturatingCurveAndNeverFall) {
  manual_clock c{t0};
  simulated_provider a{at(c)}, b{at(c)};
  auto first = a.fetch_post_stats("tiktok", "https://www.tiktok.com/@cleo/video/ad-4711?lang=en");
  ASSERT_TRUE(first) << first.error().message;
  EXPECT_EQ(first->post_id, "ad-4711");
  EXPECT_EQ(first->platform, "tiktok");
  EXPECT_EQ(first->fetched_at, t0);
  EXPECT_GT(first->views, 0);
  EXPECT_LT(first->posted_at, t0);
  EXPECT_GT(first->likes, 0);
  EXPECT_LT(first->likes, first->views);
  EXPECT_LE(first->comments, first->likes);
  // The same seed and clock answer the same; the URL and the bare id name the same post.
  EXPECT_EQ(*b.fetch_post_stats("tiktok", "ad-4711"), *first);
  // Another post, platform or seed is another curve.
  EXPECT_NE(a.fetch_post_stats("tiktok", "ad-4712")->views, first->views);
  EXPECT_NE(a.fetch_post_stats("youtube", "ad-4711")->views, first->views);
  EXPECT_NE(simulated_provider::generate_post_stats("tiktok", "ad-4711", 8, t0).views, first->views);

  // Repeated polls see increases: at least one view per second, every second.
  int64_t last = first->views;
  for (int i = 0; i < 120; ++i) {
    c.advance(1'000);
    auto s = a.fetch_post_stats("tiktok", "ad-4711");
    ASSERT_TRUE(s);
    EXPECT_GE(s->views - last, 1) << "second " << i;
    EXPECT_LE(s->views - last, 100) << "a saturated post gains only its trickle";
    last = s->views;
  }
  // Saturating: right after posting the reach comes in fast, later only the trickle.
  auto posted = first->posted_at;
  auto v = [&](pactum::millis at) { return simulated_provider::generate_post_stats("tiktok", "ad-4711", 7, at).views; };
  EXPECT_EQ(v(posted), 0);
  EXPECT_EQ(v(posted - 1'000), 0);
  constexpr pactum::millis hour = 3'600'000;
  auto early = v(posted + 2 * hour) - v(posted + hour);
  auto late = v(posted + 60 * 24 * hour) - v(posted + 60 * 24 * hour - hour);
  EXPECT_GT(early, late);
  EXPECT_GE(late, 3'600) << "the trickle: at least a view per second";
  // Monotonic over a year of hourly samples.
  for (pactum::millis t = posted; t < posted + 365 * 24 * hour; t += hour)
    ASSERT_LE(v(t), v(t + hour)) << t;
}

TEST(SimulatedProviderTest, PostStatsErrorsAndQuota) {
  manual_clock c{t0};
  auto cfg = at(c);
  cfg.calls_per_window = 3;
  cfg.window_ms = 60'000;
  simulated_provider p{cfg};
  auto gone = p.fetch_post_stats("instagram", "https://www.instagram.com/p/missing-1/");
  ASSERT_FALSE(gone);
  EXPECT_EQ(gone.error().code, errc::not_found);
  auto bad = p.fetch_post_stats("instagram", "https://www.instagram.com/p/no spaces/");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, errc::invalid_handle);
  EXPECT_TRUE(p.fetch_post_stats("instagram", "ok-1"));
  // Three calls (answered or not) used the window: the fourth is refused until it ends.
  auto refused = p.fetch_post_stats("instagram", "ok-1");
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, errc::rate_limited);
  EXPECT_EQ(refused.error().retry_after_ms, 60'000);
  EXPECT_TRUE(p.fetch_post_stats("tiktok", "ok-1")) << "another platform has its own quota";
}

TEST(SimulatedProviderTest, ClientPollsPostsOnlyAboveTheReserve) {
  manual_clock c{t0};
  simulated_provider p{at(c)};
  client_config cc;
  cc.calls_per_window = 60;
  cc.window_ms = 60'000;
  cc.burst = 6;
  cc.concurrency = 1;
  client cl{p, c, cc};
  // Burst 6, reserve 2: four polls go through at once, the fifth is refused without a call.
  for (int i = 0; i < 4; ++i) {
    call_stats st;
    auto r = cl.fetch_post_stats_now("tiktok", "ok-" + std::to_string(i), 2, &st);
    ASSERT_TRUE(r) << i << ": " << r.error().message;
    EXPECT_EQ(st.attempts, 1);
  }
  call_stats st;
  auto refused = cl.fetch_post_stats_now("tiktok", "ok-9", 2, &st);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, errc::rate_limited);
  EXPECT_EQ(st.attempts, 0);
  EXPECT_GT(refused.error().retry_after_ms, 0);
  EXPECT_EQ(c.slept(), 0) << "a poll never waits";
  // The two reserved tokens still serve an interactive request at once.
  call_stats fs;
  EXPECT_TRUE(cl.fetch_profile("tiktok", "cleo", &fs));
  EXPECT_TRUE(cl.fetch_profile("tiktok", "cleo", &fs));
  EXPECT_EQ(c.slept(), 0);
  // Refilled after a while: polls run again.
  c.advance(10'000);
  EXPECT_TRUE(cl.fetch_post_stats_now("tiktok", "ok-9", 2));
  EXPECT_EQ(p.admitted_calls(), 7);
}
