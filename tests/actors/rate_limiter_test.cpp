#include "pactum/actors/rate_limiter.hpp"

#include <gtest/gtest.h>

using pactum::uuid;
using pactum::actors::rate_limiter;

TEST(RateLimiter, AllowsTheBurstThenTheRate) {
  rate_limiter rl{{2.0, 5.0, 100}};
  auto user = uuid::v7();
  for (int i = 0; i < 5; ++i)
    EXPECT_EQ(rl.take(user, 1000), 0) << "burst message " << i;
  auto wait = rl.take(user, 1000);
  EXPECT_EQ(wait, 500) << "at 2/s the next token comes in 500 ms";
  EXPECT_GT(rl.take(user, 1499), 0) << "not yet";
  EXPECT_EQ(rl.take(user, 1500), 0);
  EXPECT_GT(rl.take(user, 1500), 0) << "a refused take takes nothing, and there was one token";
}

TEST(RateLimiter, UsersHaveSeparateBuckets) {
  rate_limiter rl{{1.0, 1.0, 100}};
  auto a = uuid::v7();
  auto b = uuid::v7();
  EXPECT_EQ(rl.take(a, 0), 0);
  EXPECT_GT(rl.take(a, 0), 0);
  EXPECT_EQ(rl.take(b, 0), 0) << "one user's flood does not limit another";
}

TEST(RateLimiter, MemoryStaysBoundedAndIdleBucketsAreDropped) {
  rate_limiter rl{{1.0, 2.0, 3}};
  std::vector<uuid> users;
  for (int i = 0; i < 3; ++i) {
    users.push_back(uuid::v7());
    rl.take(users.back(), 0);
  }
  EXPECT_EQ(rl.size(), 3u);
  // All three still owe tokens at t=0: a fourth user passes without a bucket (fail open).
  auto d = uuid::v7();
  EXPECT_EQ(rl.take(d, 0), 0);
  EXPECT_EQ(rl.size(), 3u);
  // Ten seconds later they have refilled: they are dropped to make room.
  EXPECT_EQ(rl.take(d, 10'000), 0);
  EXPECT_EQ(rl.size(), 1u);
}

TEST(RateLimiter, ZeroRateDisablesIt) {
  rate_limiter rl{{0.0, 1.0, 10}};
  auto u = uuid::v7();
  for (int i = 0; i < 1000; ++i)
    ASSERT_EQ(rl.take(u, 0), 0);
  EXPECT_EQ(rl.size(), 0u);
}
