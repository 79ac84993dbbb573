// The access-token cache (actors/src/auth_cache.hpp): what it serves from memory, and that no
// revocation is undone by it.

#include "auth_cache.hpp"

#include <chrono>
#include <thread>

#include <gtest/gtest.h>

using pactum::uuid;
using pactum::actors::auth_cache;
using pactum::actors::principal;
using namespace std::chrono_literals;

namespace {

constexpr int64_t now_ms = 1'800'000'000'000;
constexpr int64_t in_an_hour = now_ms + 3'600'000;

principal someone(const uuid& user, std::string login, std::string role = "creator") {
  return principal{user, std::move(role), "Cleo", std::move(login)};
}

} // namespace

TEST(AuthCache, ServesAVerifiedTokenUntilItsExpiry) {
  auth_cache c{30s, 10};
  auto user = uuid::v7();
  EXPECT_FALSE(c.find("h1", now_ms)) << "nothing before the database said so";
  c.put("h1", someone(user, "L1"), in_an_hour, c.generation());
  auto hit = c.find("h1", now_ms);
  ASSERT_TRUE(hit);
  EXPECT_EQ(hit->user, user);
  EXPECT_EQ(hit->session_id, "L1");
  EXPECT_EQ(hit->role, "creator");
  EXPECT_FALSE(c.find("h1", in_an_hour)) << "an expired token is refused, cached or not";
  EXPECT_EQ(c.size(), 0u) << "and forgotten";
  EXPECT_FALSE(c.find("h2", now_ms)) << "another token is not this one";
}

TEST(AuthCache, AnEntryLivesAtMostTheTtl) {
  auth_cache c{50ms, 10};
  c.put("h1", someone(uuid::v7(), "L1"), in_an_hour, c.generation());
  ASSERT_TRUE(c.find("h1", now_ms));
  std::this_thread::sleep_for(80ms);
  EXPECT_FALSE(c.find("h1", now_ms)) << "past the ttl the database is asked again";
}

TEST(AuthCache, DroppingALoginDropsOnlyItsTokens) {
  auth_cache c{30s, 10};
  auto user = uuid::v7(), other = uuid::v7();
  c.put("phone", someone(user, "L1"), in_an_hour, c.generation());
  c.put("laptop", someone(user, "L2"), in_an_hour, c.generation());
  c.put("theirs", someone(other, "L3"), in_an_hour, c.generation());
  c.drop_login(user, "L1");
  EXPECT_FALSE(c.find("phone", now_ms)) << "the revoked login";
  EXPECT_TRUE(c.find("laptop", now_ms)) << "the user's other login stays";
  EXPECT_TRUE(c.find("theirs", now_ms));
  c.drop_user(user);
  EXPECT_FALSE(c.find("laptop", now_ms)) << "a role change or erasure drops every login";
  EXPECT_TRUE(c.find("theirs", now_ms)) << "other users keep theirs";
}

TEST(AuthCache, AnAnswerReadBeforeARevocationIsNotCached) {
  auth_cache c{30s, 10};
  auto user = uuid::v7();
  auto gen = c.generation(); // the database read starts
  c.drop_login(user, "L1");  // the login is revoked meanwhile
  c.put("h1", someone(user, "L1"), in_an_hour, gen); // the (now stale) answer arrives
  EXPECT_FALSE(c.find("h1", now_ms)) << "a late answer must not resurrect a revoked token";
  c.put("h1", someone(user, "L1"), in_an_hour, c.generation());
  EXPECT_TRUE(c.find("h1", now_ms)) << "a read that started after the revocation is cached";
}

TEST(AuthCache, IsBoundedAndCanBeTurnedOff) {
  auth_cache c{30s, 2};
  c.put("a", someone(uuid::v7(), "L1"), in_an_hour, c.generation());
  c.put("b", someone(uuid::v7(), "L2"), in_an_hour, c.generation());
  c.put("c", someone(uuid::v7(), "L3"), in_an_hour, c.generation());
  EXPECT_EQ(c.size(), 2u);
  EXPECT_FALSE(c.find("c", now_ms)) << "full of live entries: the database answers the rest";
  auth_cache off{0ms, 10};
  EXPECT_FALSE(off.enabled());
  off.put("a", someone(uuid::v7(), "L1"), in_an_hour, off.generation());
  EXPECT_FALSE(off.find("a", now_ms));
}
