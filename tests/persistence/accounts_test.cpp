// Logins and their token families against a real PostgreSQL: rotation, reuse detection (also
// when two refreshes race), revocation, single-use tickets.

#include <algorithm>
#include <future>
#include <memory>
#include <set>
#include <thread>

#include <gtest/gtest.h>
#include <pqxx/pqxx>

#include "pactum/persistence/database.hpp"
#include "started_database.hpp"
#include "test_database.hpp"

#include "await.hpp"

namespace pactum::persistence {
namespace {

using namespace std::chrono_literals;

using test_support::await;

errc code_of(const auto& r) {
  return r.has_value() ? errc{} : r.error().code;
}

class AccountsTest : public test_support::database_test {
protected:
  void SetUp() override {
    database_test::SetUp();
    if (HasFatalFailure())
      return;
    db_ = test_support::start_database(url(), 3);
    user_.id = uuid::v7();
    user_.email = "ana@example.com";
    user_.password_hash = "$argon2id$v=19$m=65536,t=2,p=1$c2FsdA$aGFzaA";
    user_.display_name = "Ana";
    user_.role = "brand";
    ASSERT_EQ(code_of(await<unit>([&](auto cb) { db_->create_user(user_, cb); })), errc{});
  }

  void TearDown() override {
    db_.reset();
    database_test::TearDown();
  }

  /// A new login with an access token `"a-" + tag` and a refresh token `"r-" + tag`.
  uuid new_login(const std::string& tag) {
    login_row login{uuid::v7(), user_.id, 0, 0, "test-agent", now_millis() + 3'600'000};
    auto id = login.id;
    std::vector<token_grant> grants{{"a-" + tag, "access", now_millis() + 60'000},
                                    {"r-" + tag, "refresh", now_millis() + 3'600'000}};
    EXPECT_EQ(code_of(await<unit>([&](auto cb) { db_->create_login(login, grants, cb); })),
              errc{});
    return id;
  }

  result<refresh_result> rotate(const std::string& from, const std::string& to) {
    std::vector<token_grant> grants{{"a-" + to, "access", now_millis() + 60'000},
                                    {"r-" + to, "refresh", now_millis() + 3'600'000}};
    return await<refresh_result>([&](auto cb) {
      db_->rotate_refresh("r-" + from, grants, now_millis() + 3'600'000, cb);
    });
  }

  bool access_ok(const std::string& tag) {
    return await<token_owner>([&](auto cb) { db_->find_access_token("a-" + tag, cb); })
      .has_value();
  }

  std::unique_ptr<database> db_;
  user_row user_;
};

TEST_F(AccountsTest, RotationIssuesNewTokensAndAReplayRevokesTheFamily) {
  auto login = new_login("1");
  auto owner = await<token_owner>([&](auto cb) { db_->find_access_token("a-1", cb); });
  ASSERT_TRUE(owner.has_value());
  EXPECT_EQ(owner->user.id, user_.id);
  EXPECT_EQ(owner->login, login);
  EXPECT_FALSE(await<token_owner>([&](auto cb) { db_->find_access_token("r-1", cb); }).has_value())
    << "a refresh token is no access token";

  auto r = rotate("1", "2");
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(r->outcome, refresh_outcome::rotated);
  EXPECT_EQ(r->owner->login, login);
  EXPECT_TRUE(access_ok("2"));

  auto replay = rotate("1", "3");
  ASSERT_TRUE(replay.has_value());
  EXPECT_EQ(replay->outcome, refresh_outcome::reused);
  EXPECT_EQ(replay->owner->login, login);
  EXPECT_FALSE(access_ok("1"));
  EXPECT_FALSE(access_ok("2"));
  EXPECT_FALSE(access_ok("3"));
  EXPECT_EQ(rotate("2", "4")->outcome, refresh_outcome::invalid);
  EXPECT_EQ(rotate("unknown", "5")->outcome, refresh_outcome::invalid);
  auto logins = await<std::vector<login_row>>([&](auto cb) { db_->list_logins(user_.id, cb); });
  ASSERT_TRUE(logins.has_value());
  EXPECT_TRUE(logins->empty());
}

TEST_F(AccountsTest, TwoRefreshesRacingWithOneTokenRevokeTheFamily) {
  new_login("x");
  auto a = std::async(std::launch::async, [&] { return rotate("x", "a"); });
  auto b = std::async(std::launch::async, [&] { return rotate("x", "b"); });
  auto ra = a.get();
  auto rb = b.get();
  ASSERT_TRUE(ra.has_value() && rb.has_value());
  std::multiset<refresh_outcome> outcomes{ra->outcome, rb->outcome};
  EXPECT_EQ(outcomes, (std::multiset<refresh_outcome>{refresh_outcome::rotated,
                                                      refresh_outcome::reused}));
  EXPECT_FALSE(access_ok("a"));
  EXPECT_FALSE(access_ok("b"));
}

TEST_F(AccountsTest, RevokingOneLoginLeavesTheOthersAndTicketsAreSingleUse) {
  auto one = new_login("1");
  auto two = new_login("2");
  auto ticket = token_grant{"t-1", "ticket", now_millis() + 30'000};
  ASSERT_EQ(code_of(await<unit>([&](auto cb) { db_->add_login_token(user_.id, one, ticket, cb); })),
            errc{});
  auto used = await<token_owner>([&](auto cb) { db_->consume_ticket("t-1", cb); });
  ASSERT_TRUE(used.has_value());
  EXPECT_EQ(used->login, one);
  EXPECT_EQ(code_of(await<token_owner>([&](auto cb) { db_->consume_ticket("t-1", cb); })),
            errc::not_found);
  auto expired = token_grant{"t-old", "ticket", now_millis() - 1};
  ASSERT_EQ(code_of(await<unit>([&](auto cb) { db_->add_login_token(user_.id, one, expired, cb); })),
            errc{});
  EXPECT_EQ(code_of(await<token_owner>([&](auto cb) { db_->consume_ticket("t-old", cb); })),
            errc::not_found);

  EXPECT_EQ(await<bool>([&](auto cb) { db_->revoke_login(uuid::v7(), one, cb); }).value(), false)
    << "only the owner can revoke";
  EXPECT_EQ(await<bool>([&](auto cb) { db_->revoke_login(user_.id, one, cb); }).value(), true);
  EXPECT_EQ(await<bool>([&](auto cb) { db_->revoke_login(user_.id, one, cb); }).value(), false);
  EXPECT_FALSE(access_ok("1"));
  EXPECT_TRUE(access_ok("2"));
  EXPECT_EQ(rotate("1", "1b")->outcome, refresh_outcome::invalid);
  EXPECT_EQ(code_of(await<unit>([&](auto cb) {
              db_->add_login_token(user_.id, one, token_grant{"t-2", "ticket", now_millis() + 30'000}, cb);
            })),
            errc::not_found)
    << "no ticket for a revoked login";
  auto logins = await<std::vector<login_row>>([&](auto cb) { db_->list_logins(user_.id, cb); });
  ASSERT_TRUE(logins.has_value());
  ASSERT_EQ(logins->size(), 1u);
  EXPECT_EQ(logins->front().id, two);
  EXPECT_EQ(logins->front().user_agent, "test-agent");
  EXPECT_GT(logins->front().created_at, 0);
}

TEST_F(AccountsTest, APasswordChangeKeepsOnlyTheCurrentLoginAndLogoutEverywhereKeepsNone) {
  using swap = database::password_swap;
  auto one = new_login("1");
  auto two = new_login("2");
  auto three = new_login("3");
  auto stale = await<std::vector<uuid>>([&](auto cb) {
    db_->revoke_logins(user_.id, one, swap{"$argon2id$not-the-stored-one", "$argon2id$new"}, cb);
  });
  EXPECT_EQ(code_of(stale), errc::conflict) << "a hash changed since it was checked is not overwritten";
  EXPECT_TRUE(access_ok("2")) << "and nothing is revoked";

  auto revoked = await<std::vector<uuid>>([&](auto cb) {
    db_->revoke_logins(user_.id, one, swap{user_.password_hash, "$argon2id$new"}, cb);
  });
  ASSERT_TRUE(revoked.has_value());
  EXPECT_EQ(std::set<uuid>(revoked->begin(), revoked->end()), (std::set<uuid>{two, three}));
  EXPECT_TRUE(access_ok("1")) << "the login that changed the password stays";
  EXPECT_FALSE(access_ok("2"));
  EXPECT_FALSE(access_ok("3"));
  EXPECT_EQ(rotate("2", "2b")->outcome, refresh_outcome::invalid) << "a revoked login's refresh is dead";
  auto stored = await<user_row>([&](auto cb) { db_->find_user(user_.id, cb); });
  ASSERT_TRUE(stored.has_value());
  EXPECT_EQ(stored->password_hash, "$argon2id$new");

  // A change from a login revoked meanwhile (say by a reset) changes nothing.
  EXPECT_EQ(code_of(await<std::vector<uuid>>([&](auto cb) {
              db_->revoke_logins(user_.id, two, swap{"$argon2id$new", "$argon2id$attacker"}, cb);
            })),
            errc::conflict);
  EXPECT_EQ(await<user_row>([&](auto cb) { db_->find_user(user_.id, cb); })->password_hash, "$argon2id$new");
  EXPECT_TRUE(access_ok("1"));

  // A login that verified the old password and is stored after the change is refused.
  login_row late{uuid::v7(), user_.id, 0, 0, "late", now_millis() + 3'600'000};
  std::vector<token_grant> grants{{"a-late", "access", now_millis() + 60'000}};
  EXPECT_EQ(code_of(await<unit>([&](auto cb) { db_->create_login(late, grants, cb, user_.password_hash); })),
            errc::conflict);
  EXPECT_FALSE(access_ok("late"));
  login_row current{uuid::v7(), user_.id, 0, 0, "now", now_millis() + 3'600'000};
  std::vector<token_grant> now_grants{{"a-now", "access", now_millis() + 60'000}};
  EXPECT_EQ(code_of(await<unit>([&](auto cb) { db_->create_login(current, now_grants, cb, std::string{"$argon2id$new"}); })),
            errc{});
  EXPECT_TRUE(access_ok("now"));
  // A token from before logins existed (no login id).
  ASSERT_EQ(code_of(await<unit>([&](auto cb) { db_->insert_token("a-old", user_.id, now_millis() + 60'000, cb); })),
            errc{});
  EXPECT_TRUE(access_ok("old"));

  // Log out everywhere: no login is kept, the password is unchanged.
  auto all = await<std::vector<uuid>>([&](auto cb) { db_->revoke_logins(user_.id, std::nullopt, std::nullopt, cb); });
  ASSERT_TRUE(all.has_value());
  EXPECT_EQ(std::set<uuid>(all->begin(), all->end()), (std::set<uuid>{one, current.id}));
  EXPECT_FALSE(access_ok("1"));
  EXPECT_FALSE(access_ok("now"));
  EXPECT_FALSE(access_ok("old")) << "tokens without a login go too";
  EXPECT_EQ(await<user_row>([&](auto cb) { db_->find_user(user_.id, cb); })->password_hash, "$argon2id$new");
  auto none = await<std::vector<uuid>>([&](auto cb) { db_->revoke_logins(user_.id, std::nullopt, std::nullopt, cb); });
  ASSERT_TRUE(none.has_value());
  EXPECT_TRUE(none->empty());
  EXPECT_EQ(code_of(await<std::vector<uuid>>([&](auto cb) { db_->revoke_logins(uuid::v7(), std::nullopt, std::nullopt, cb); })),
            errc::not_found);
}

// The race itself: a password login whose check overlaps a password change that has not
// committed yet waits for it, then is refused; and a revocation waits for a login that is being
// stored, then revokes it too.
TEST_F(AccountsTest, ALoginRacingAPasswordChangeNeverOutlivesIt) {
  auto hold = [&](const std::string& statement) {
    auto c = std::make_unique<pqxx::connection>(url());
    auto tx = std::make_unique<pqxx::work>(*c);
    tx->exec(statement);
    return std::make_pair(std::move(c), std::move(tx));
  };
  // 1. The change's update is in flight (uncommitted) when the login checks the old hash.
  {
    auto [c, tx] = hold("update users set password_hash = '$argon2id$changed' where id = '" + user_.id.str() + "'");
    login_row racing{uuid::v7(), user_.id, 0, 0, "racing", now_millis() + 3'600'000};
    std::vector<token_grant> grants{{"a-racing", "access", now_millis() + 60'000}};
    auto login = std::async(std::launch::async, [&] {
      return await<unit>([&](auto cb) { db_->create_login(racing, grants, cb, user_.password_hash); });
    });
    EXPECT_EQ(login.wait_for(300ms), std::future_status::timeout) << "the login waits for the change";
    tx->commit();
    EXPECT_EQ(code_of(login.get()), errc::conflict);
    EXPECT_FALSE(access_ok("racing"));
  }
  // 2. A login holds its share lock (as create_login does, uncommitted) when everything is revoked.
  {
    auto [c, tx] = hold("select 1 from users where id = '" + user_.id.str() + "' for share");
    auto pending = uuid::v7();
    tx->exec0("insert into auth_sessions (id, user_id, user_agent, refresh_expires_at) values ('" + pending.str()
              + "', '" + user_.id.str() + "', 'pending', now() + interval '1 hour')");
    auto revoke = std::async(std::launch::async, [&] {
      return await<std::vector<uuid>>([&](auto cb) { db_->revoke_logins(user_.id, std::nullopt, std::nullopt, cb); });
    });
    EXPECT_EQ(revoke.wait_for(300ms), std::future_status::timeout) << "the revocation waits for the login";
    tx->commit();
    auto revoked = revoke.get();
    ASSERT_TRUE(revoked.has_value());
    EXPECT_EQ(std::count(revoked->begin(), revoked->end(), pending), 1) << "and then revokes it";
  }
  // 3. A change checked the stored hash, and a reset commits another one before the change writes.
  using swap = database::password_swap;
  auto keep = new_login("k");
  {
    auto [c, tx] = hold("update users set password_hash = '$argon2id$reset' where id = '" + user_.id.str() + "'");
    auto change = std::async(std::launch::async, [&] {
      return await<std::vector<uuid>>([&](auto cb) {
        db_->revoke_logins(user_.id, keep, swap{"$argon2id$changed", "$argon2id$attacker"}, cb);
      });
    });
    EXPECT_EQ(change.wait_for(300ms), std::future_status::timeout) << "the change waits for the reset";
    tx->commit();
    EXPECT_EQ(code_of(change.get()), errc::conflict);
    EXPECT_EQ(await<user_row>([&](auto cb) { db_->find_user(user_.id, cb); })->password_hash, "$argon2id$reset");
    EXPECT_TRUE(access_ok("k")) << "nothing revoked";
  }
  // 4. The login that asks for the change is revoked (uncommitted) while the change runs.
  {
    auto [c, tx] = hold("update auth_sessions set revoked_at = now() where id = '" + keep.str() + "'");
    auto change = std::async(std::launch::async, [&] {
      return await<std::vector<uuid>>([&](auto cb) {
        db_->revoke_logins(user_.id, keep, swap{"$argon2id$reset", "$argon2id$attacker"}, cb);
      });
    });
    EXPECT_EQ(change.wait_for(300ms), std::future_status::timeout) << "the change waits for the revocation";
    tx->commit();
    EXPECT_EQ(code_of(change.get()), errc::conflict) << "a revoked login cannot change the password";
    EXPECT_EQ(await<user_row>([&](auto cb) { db_->find_user(user_.id, cb); })->password_hash, "$argon2id$reset");
  }
}

} // namespace
} // namespace pactum::persistence
