// Last-seen times written in one batch (persistence/src/presence_store.cpp), and the access
// token's expiry that the token cache bounds its entries by, against a real PostgreSQL.

#include <memory>

#include <gtest/gtest.h>

#include "pactum/persistence/database.hpp"
#include "pactum/persistence/presence_store.hpp"
#include "started_database.hpp"
#include "test_database.hpp"

#include "await.hpp"

namespace pactum::persistence {
namespace {

using test_support::await;

class PresenceStoreTest : public test_support::database_test {
protected:
  void SetUp() override {
    database_test::SetUp();
    if (HasFatalFailure())
      return;
    db_ = test_support::start_database(url(), 2);
  }

  void TearDown() override {
    db_.reset();
    database_test::TearDown();
  }

  user_row make_user(const std::string& name) {
    user_row u{uuid::v7(), name + "@example.com", "$argon2id$v=19$m=65536,t=2,p=1$c2FsdA$aGFzaA",
               name, "creator", now_millis()};
    EXPECT_TRUE(await<unit>([&](auto cb) { db_->create_user(u, cb); }).has_value());
    return u;
  }

  millis seen(const uuid& user) {
    auto r = await<millis>([&](auto cb) { db_->last_seen(user, cb); });
    EXPECT_TRUE(r.has_value());
    return r ? *r : -1;
  }

  std::unique_ptr<database> db_;
};

TEST_F(PresenceStoreTest, ABatchStoresEveryUsersTimeAndTimesOnlyMoveForward) {
  auto ana = make_user("ana"), bo = make_user("bo");
  const millis t = 1'800'000'000'000;
  auto n = await<size_t>([&](auto cb) {
    touch_last_seen_many(*db_, {{ana.id, t}, {bo.id, t + 5}, {uuid::v7(), t}}, cb);
  });
  ASSERT_TRUE(n.has_value()) << n.error().message;
  EXPECT_EQ(*n, 2u) << "an unknown user is skipped";
  EXPECT_EQ(seen(ana.id), t);
  EXPECT_EQ(seen(bo.id), t + 5);

  n = await<size_t>([&](auto cb) { touch_last_seen_many(*db_, {{ana.id, t - 1'000}, {bo.id, t + 9}}, cb); });
  ASSERT_TRUE(n.has_value());
  EXPECT_EQ(seen(ana.id), t) << "an older time never replaces a newer one";
  EXPECT_EQ(seen(bo.id), t + 9);
  EXPECT_TRUE(await<size_t>([&](auto cb) { touch_last_seen_many(*db_, {}, cb); }).has_value())
    << "an empty batch is harmless";
}

TEST_F(PresenceStoreTest, AnAccessTokenLookupTellsTheTokensExpiry) {
  auto ana = make_user("ana");
  login_row login{uuid::v7(), ana.id, 0, 0, "test-agent", now_millis() + 3'600'000};
  auto expires = now_millis() + 60'000;
  std::vector<token_grant> grants{{"a-1", "access", expires}, {"r-1", "refresh", now_millis() + 3'600'000}};
  ASSERT_TRUE(await<unit>([&](auto cb) { db_->create_login(login, grants, cb); }).has_value());
  auto owner = await<token_owner>([&](auto cb) { db_->find_access_token("a-1", cb); });
  ASSERT_TRUE(owner.has_value()) << owner.error().message;
  EXPECT_EQ(owner->user.id, ana.id);
  EXPECT_EQ(owner->expires_at, expires) << "the token cache never keeps a token past this";
}

} // namespace
} // namespace pactum::persistence
