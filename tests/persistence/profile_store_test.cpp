// The profile store against a real PostgreSQL: profiles round-trip with their arrays and JSONB,
// versions guard against lost updates, a login code is used at most once even when two correct
// guesses race, wrong guesses use it up, and a new code replaces the old one.

#include <future>
#include <memory>
#include <thread>

#include <gtest/gtest.h>
#include <pqxx/pqxx>

#include "pactum/persistence/database.hpp"
#include "pactum/persistence/profile_store.hpp"
#include "started_database.hpp"
#include "test_database.hpp"

#include "await.hpp"

namespace pactum::persistence {
namespace {

using test_support::await;

errc code_of(const auto& r) {
  return r.has_value() ? errc{} : r.error().code;
}

class ProfileStoreTest : public test_support::database_test {
protected:
  void SetUp() override {
    database_test::SetUp();
    if (HasFatalFailure())
      return;
    db_ = test_support::start_database(url(), 3);
    creator_ = {uuid::v7(), "cleo@example.com", "x", "Cleo", "creator", 0};
    ASSERT_EQ(code_of(await<unit>([&](auto cb) { db_->create_user(creator_, cb); })), errc{});
  }

  void TearDown() override {
    db_.reset();
    database_test::TearDown();
  }

  creator_profile_row sample() const {
    creator_profile_row p;
    p.user = creator_.id;
    p.bio = "bio with \"quotes\", {braces} and commas";
    p.niches = {"travel", "sports"};
    p.social_accounts = R"([{"platform":"tiktok","handle":"@c","followers":10}])";
    p.follower_total = 10;
    p.audience = R"({"gender":{"female":60}})";
    p.country = "DE";
    p.city = "Berlin";
    p.lat = 52.520008;
    p.lon = -13.404954;
    p.languages = {"de", "en"};
    p.rates = "[]";
    return p;
  }

  std::string issue(const std::string& hash) {
    auto r = await<std::optional<int64_t>>([&](auto cb) {
      issue_login_code(*db_, creator_.email, hash, now_millis() + 60'000,
                       outbox_mail{creator_.email, "s", "b"}, cb);
    });
    EXPECT_TRUE(r && *r) << "a known email gets a code and a mail";
    return hash;
  }

  code_outcome use(const std::string& hash, int max_attempts = 3) {
    auto r = await<code_check>([&](auto cb) { use_login_code(*db_, creator_.email, hash, max_attempts, cb); });
    EXPECT_TRUE(r.has_value());
    return r ? r->outcome : code_outcome::invalid;
  }

  std::unique_ptr<database> db_;
  user_row creator_;
};

} // namespace

TEST_F(ProfileStoreTest, ACreatorProfileRoundTripsAndVersionsGuardAgainstLostUpdates) {
  auto saved = await<creator_profile_row>([&](auto cb) { save_creator_profile(*db_, sample(), 0, cb); });
  ASSERT_TRUE(saved) << saved.error().message;
  EXPECT_EQ(saved->version, 1);
  EXPECT_EQ(saved->display_name, "Cleo");
  auto loaded = await<creator_profile_row>([&](auto cb) { load_creator_profile(*db_, creator_.id, cb); });
  ASSERT_TRUE(loaded);
  EXPECT_EQ(loaded->bio, sample().bio);
  EXPECT_EQ(loaded->niches, sample().niches);
  EXPECT_EQ(loaded->languages, sample().languages);
  EXPECT_DOUBLE_EQ(*loaded->lat, 52.520008);
  EXPECT_DOUBLE_EQ(*loaded->lon, -13.404954);
  EXPECT_NE(loaded->audience.find("female"), std::string::npos);

  auto second = await<creator_profile_row>([&](auto cb) { save_creator_profile(*db_, sample(), 1, cb); });
  ASSERT_TRUE(second);
  EXPECT_EQ(second->version, 2);
  auto stale = await<creator_profile_row>([&](auto cb) { save_creator_profile(*db_, sample(), 1, cb); });
  EXPECT_EQ(code_of(stale), errc::conflict);

  // A brand profile of a creator does not exist for readers: the role decides.
  EXPECT_EQ(code_of(await<brand_profile_row>([&](auto cb) { load_brand_profile(*db_, creator_.id, cb); })),
            errc::not_found);
  auto changed = await<user_row>([&](auto cb) { set_role_by_id(*db_, creator_.id, "brand", cb); });
  ASSERT_TRUE(changed);
  EXPECT_EQ(changed->role, "brand");
  EXPECT_EQ(code_of(await<creator_profile_row>([&](auto cb) { load_creator_profile(*db_, creator_.id, cb); })),
            errc::not_found);
}

TEST_F(ProfileStoreTest, AnUnknownEmailGetsNoCodeAndNoMail) {
  auto r = await<std::optional<int64_t>>([&](auto cb) {
    issue_login_code(*db_, "nobody@example.com", "h", now_millis() + 60'000,
                     outbox_mail{"nobody@example.com", "s", "b"}, cb);
  });
  ASSERT_TRUE(r);
  EXPECT_FALSE(*r);
  pqxx::connection conn{url()};
  pqxx::nontransaction tx{conn};
  EXPECT_EQ(tx.exec1("select count(*) from mail_outbox")[0].as<int>(), 0);
}

TEST_F(ProfileStoreTest, TwoRacingCorrectGuessesLogInOnce) {
  for (int round = 0; round < 20; ++round) {
    auto hash = issue("h" + std::to_string(round));
    std::promise<void> go;
    auto start = go.get_future().share();
    auto guess = [&] {
      start.wait();
      return use(hash);
    };
    auto a = std::async(std::launch::async, guess);
    auto b = std::async(std::launch::async, guess);
    go.set_value();
    auto ra = a.get();
    auto rb = b.get();
    EXPECT_EQ((ra == code_outcome::accepted) + (rb == code_outcome::accepted), 1) << "round " << round;
  }
}

TEST_F(ProfileStoreTest, WrongGuessesUseUpACodeAndANewCodeReplacesTheOld) {
  auto first = issue("first");
  EXPECT_EQ(use("wrong"), code_outcome::wrong);
  EXPECT_EQ(use("wrong"), code_outcome::wrong);
  EXPECT_EQ(use("wrong"), code_outcome::wrong);
  EXPECT_EQ(use(first), code_outcome::invalid) << "three wrong guesses killed it";

  auto second = issue("second");
  auto third = issue("third");
  EXPECT_EQ(use(second), code_outcome::wrong) << "replaced by the third: a wrong guess against it";
  EXPECT_EQ(use(third), code_outcome::accepted);
  EXPECT_EQ(use(third), code_outcome::invalid) << "used";
}

TEST_F(ProfileStoreTest, AnExpiredCodeIsInvalid) {
  auto r = await<std::optional<int64_t>>([&](auto cb) {
    issue_login_code(*db_, creator_.email, "old", now_millis() - 1, outbox_mail{creator_.email, "s", "b"}, cb);
  });
  ASSERT_TRUE(r && *r);
  EXPECT_EQ(use("old"), code_outcome::invalid);
}

} // namespace pactum::persistence
