// The social store against a real PostgreSQL (migration 0020): a refresh replaces the accounts
// and marks them verified only for the version it read; flags stay one open per account (a later
// refresh updates it), reviews close them once; the verified marker survives a PUT that keeps the
// accounts and is cleared by one that changes them.

#include <memory>

#include <gtest/gtest.h>
#include <pqxx/pqxx>

#include "pactum/persistence/database.hpp"
#include "pactum/persistence/profile_store.hpp"
#include "pactum/persistence/social_store.hpp"
#include "started_database.hpp"
#include "test_database.hpp"

#include "await.hpp"

namespace pactum::persistence {
namespace {

using test_support::await;

errc code_of(const auto& r) {
  return r.has_value() ? errc{} : r.error().code;
}

class SocialStoreTest : public test_support::database_test {
protected:
  void SetUp() override {
    database_test::SetUp();
    if (HasFatalFailure())
      return;
    db_ = test_support::start_database(url(), 2);
    creator_ = {uuid::v7(), "rose@example.com", "x", "Rose", "creator", 0};
    moderator_ = {uuid::v7(), "mod@example.com", "x", "Mod", "moderator", 0};
    ASSERT_EQ(code_of(await<unit>([&](auto cb) { db_->create_user(creator_, cb); })), errc{});
    ASSERT_EQ(code_of(await<unit>([&](auto cb) { db_->create_user(moderator_, cb); })), errc{});
    creator_profile_row p;
    p.user = creator_.id;
    p.niches = {"sports"};
    p.social_accounts = R"([{"platform":"tiktok","handle":"fake_bought_rose","followers":10}])";
    p.follower_total = 10;
    p.audience = "{}";
    p.country = "DE";
    p.languages = {"de"};
    p.rates = "[]";
    auto saved = await<creator_profile_row>([&](auto cb) { save_creator_profile(*db_, p, 0, cb); });
    ASSERT_TRUE(saved);
    profile_ = *saved;
  }

  void TearDown() override {
    db_.reset();
    database_test::TearDown();
  }

  result<social_refresh_saved> refresh(int64_t version, int64_t followers, const std::string& signals) {
    auto accounts = R"([{"platform":"tiktok","handle":"fake_bought_rose","followers":)"
                    + std::to_string(followers) + "}]";
    social_account_refresh a{"tiktok", "fake_bought_rose",
                             R"({"followers":)" + std::to_string(followers) + "}", signals, now_millis()};
    return await<social_refresh_saved>([&](auto cb) {
      save_social_refresh(*db_, creator_.id, version, accounts, followers, {a}, cb);
    });
  }

  std::vector<social_flag_row> flags(const std::string& status = "") {
    auto r = await<std::vector<social_flag_row>>([&](auto cb) {
      list_social_flags(*db_, social_flag_filter{status, 0, 50}, cb);
    });
    EXPECT_TRUE(r);
    return r ? *r : std::vector<social_flag_row>{};
  }

  std::unique_ptr<database> db_;
  user_row creator_, moderator_;
  creator_profile_row profile_;
};

} // namespace

TEST_F(SocialStoreTest, ARefreshReplacesTheAccountsAndRaisesOneOpenFlagPerAccount) {
  const std::string signals = R"([{"code":"engagement_too_low","message":"m","figures":{}}])";
  auto first = refresh(profile_.version, 400'000, signals);
  ASSERT_TRUE(first) << first.error().message;
  EXPECT_EQ(first->version, profile_.version + 1);
  ASSERT_EQ(first->flags.size(), 1u);
  ASSERT_TRUE(first->flags[0].has_value());
  auto loaded = await<creator_profile_row>([&](auto cb) { load_creator_profile(*db_, creator_.id, cb); });
  ASSERT_TRUE(loaded);
  EXPECT_EQ(loaded->follower_total, 400'000);
  ASSERT_TRUE(loaded->stats_verified_at.has_value());
  EXPECT_EQ(*loaded->stats_verified_at, first->verified_at);

  // A stale version is refused and changes nothing.
  EXPECT_EQ(code_of(refresh(profile_.version, 1, signals)), errc::conflict);

  // A second refresh with signals updates the open flag instead of adding one.
  auto second = refresh(first->version, 410'000, signals);
  ASSERT_TRUE(second);
  EXPECT_EQ(second->flags[0], first->flags[0]);
  auto open = flags("open");
  ASSERT_EQ(open.size(), 1u);
  EXPECT_NE(open[0].snapshot.find("410000"), std::string::npos);
  EXPECT_EQ(open[0].display_name, "Rose");

  // Reviewed once; then a new refresh with signals opens a new flag.
  auto reviewed = await<social_flag_row>([&](auto cb) {
    review_social_flag(*db_, open[0].id, moderator_.id, "confirmed", cb);
  });
  ASSERT_TRUE(reviewed);
  EXPECT_EQ(reviewed->status, "confirmed");
  EXPECT_EQ(reviewed->reviewer, moderator_.id);
  EXPECT_TRUE(reviewed->reviewed_at.has_value());
  EXPECT_EQ(code_of(await<social_flag_row>([&](auto cb) {
              review_social_flag(*db_, open[0].id, moderator_.id, "cleared", cb);
            })),
            errc::conflict);
  EXPECT_EQ(code_of(await<social_flag_row>([&](auto cb) {
              review_social_flag(*db_, 987654, moderator_.id, "cleared", cb);
            })),
            errc::not_found);
  auto third = refresh(second->version, 420'000, signals);
  ASSERT_TRUE(third);
  EXPECT_NE(third->flags[0], first->flags[0]);
  EXPECT_EQ(flags().size(), 2u);
  EXPECT_EQ(flags("confirmed").size(), 1u);

  // No signals: no flag.
  auto clean = refresh(third->version, 430'000, "[]");
  ASSERT_TRUE(clean);
  EXPECT_FALSE(clean->flags[0].has_value());
}

TEST_F(SocialStoreTest, TheVerifiedMarkerFollowsTheAccountsNotThePuts) {
  auto first = refresh(profile_.version, 400'000, "[]");
  ASSERT_TRUE(first);
  auto loaded = await<creator_profile_row>([&](auto cb) { load_creator_profile(*db_, creator_.id, cb); });
  ASSERT_TRUE(loaded && loaded->stats_verified_at);
  // The same accounts, another bio: still verified.
  auto same = *loaded;
  same.bio = "new bio";
  auto kept = await<creator_profile_row>([&](auto cb) { save_creator_profile(*db_, same, 0, cb); });
  ASSERT_TRUE(kept);
  EXPECT_EQ(kept->stats_verified_at, loaded->stats_verified_at);
  // Other figures: self-declared again.
  auto other = *kept;
  other.social_accounts = R"([{"platform":"tiktok","handle":"fake_bought_rose","followers":999}])";
  auto cleared = await<creator_profile_row>([&](auto cb) { save_creator_profile(*db_, other, 0, cb); });
  ASSERT_TRUE(cleared);
  EXPECT_FALSE(cleared->stats_verified_at.has_value());
}

TEST_F(SocialStoreTest, SnapshotsPerAccountAreBounded) {
  auto version = profile_.version;
  for (int64_t i = 0; i < max_snapshots_per_account + 5; ++i) {
    auto r = refresh(version, 1'000 + i, "[]");
    ASSERT_TRUE(r) << r.error().message;
    version = r->version;
  }
  pqxx::connection conn{url()};
  pqxx::nontransaction tx{conn};
  auto rows = tx.exec1("select count(*), min(stats->>'followers')::bigint from social_snapshots");
  EXPECT_EQ(rows[0].as<int64_t>(), max_snapshots_per_account);
  EXPECT_EQ(rows[1].as<int64_t>(), 1'005) << "the oldest went first";
}

TEST_F(SocialStoreTest, ARefreshWithoutAProfileIsNotFound) {
  user_row brand{uuid::v7(), "b@example.com", "x", "B", "brand", 0};
  ASSERT_EQ(code_of(await<unit>([&](auto cb) { db_->create_user(brand, cb); })), errc{});
  auto r = await<social_refresh_saved>([&](auto cb) { save_social_refresh(*db_, brand.id, 1, "[]", 0, {}, cb); });
  EXPECT_EQ(code_of(r), errc::not_found);
}

} // namespace pactum::persistence
