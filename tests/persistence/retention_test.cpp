// Retention against a real PostgreSQL: what has ended (tokens, logins, login codes, sent mail) is
// deleted once it is older than its rule allows, in bounded batches; what still works, and what
// has not been kept long enough yet, stays. The job runs at start and then every interval.

#include <chrono>
#include <memory>
#include <thread>

#include <gtest/gtest.h>
#include <pqxx/pqxx>

#include "pactum/persistence/database.hpp"
#include "pactum/persistence/retention.hpp"
#include "started_database.hpp"
#include "test_database.hpp"

#include "await.hpp"

namespace pactum::persistence {
namespace {

using namespace std::chrono_literals;
using test_support::await;

class RetentionTest : public test_support::database_test {
protected:
  void SetUp() override {
    database_test::SetUp();
    if (HasFatalFailure())
      return;
    db_ = test_support::start_database(url());
    user_ = uuid::v7().str();
    sql("insert into users (id, email, password_hash, display_name, role) values ('" + user_
        + "', 'r-" + user_ + "@example.com', 'x', 'R', 'creator')");
  }

  void TearDown() override {
    db_.reset();
    database_test::TearDown();
  }

  /// A login whose refresh expiry is `expires` and revocation `revoked` (SQL expressions), with an
  /// access and a used refresh token that expire with it. Its id.
  std::string login(const std::string& expires, const std::string& revoked = "null") {
    auto id = uuid::v7().str();
    sql("insert into auth_sessions (id, user_id, refresh_expires_at, revoked_at) values ('" + id + "', '" + user_
        + "', " + expires + ", " + revoked + ")");
    for (const char* kind : {"access", "refresh"})
      sql("insert into auth_tokens (token_hash, user_id, expires_at, session_id, kind, used_at) values"
          " (uuid_send(gen_random_uuid()), '" + user_ + "', " + expires + ", '" + id + "', '" + kind + "', "
          + (std::string{kind} == "refresh" ? "now()" : "null") + ")");
    return id;
  }

  void token(const std::string& expires) {
    sql("insert into auth_tokens (token_hash, user_id, expires_at, kind) values (uuid_send(gen_random_uuid()), '" + user_
        + "', " + expires + ", 'ticket')");
  }

  void code(const std::string& expires) {
    sql("insert into login_codes (id, user_id, code_hash, expires_at) values ('" + uuid::v7().str() + "', '" + user_
        + "', '\\x00', " + expires + ")");
  }

  void mail(const std::string& sent) {
    sql("insert into mail_outbox (to_address, subject, body, sent_at) values ('a@example.com', 's', '', " + sent + ")");
  }

  result<purge_counts> purge(retention_rules rules = {}) {
    return await<purge_counts>([&](auto cb) { purge_expired(*db_, rules, now_millis(), cb); });
  }

  std::unique_ptr<database> db_;
  std::string user_;
};

TEST_F(RetentionTest, WhatEndedLongEnoughAgoGoesAndEverythingElseStays) {
  const std::string ahead = "now() + interval '20 days'";
  auto live = login(ahead);                                          // a live login: kept
  // Its refresh tokens of long ago (used at each rotation) stay with it: a replay of one is what
  // reveals theft. Its old access token goes like any other.
  sql("update auth_tokens set expires_at = now() - interval '40 days' where session_id = '" + live + "'");
  auto old_revoked = login(ahead, "now() - interval '31 days'");     // goes with its tokens
  auto recent_revoked = login(ahead, "now() - interval '2 days'");   // kept (30 days)
  auto old_expired = login("now() - interval '40 days'");            // goes
  token("now() - interval '25 hours'");                // a ticket expired over a day ago: goes
  token("now() - interval '1 hour'");                  // expired an hour ago: kept a day
  token("now() + interval '10 minutes'");              // still valid: kept
  code("now() - interval '2 days'");                   // goes
  code("now() - interval '1 minute'");                 // kept
  mail("now() - interval '8 days'");                   // sent 8 days ago: goes
  mail("now() - interval '1 day'");                    // kept
  mail("null");                                        // never sent, queued 90 days ago: goes
  sql("update mail_outbox set created_at = now() - interval '90 days' where sent_at is null");
  mail("null");                                        // queued just now, not sent yet: kept

  auto r = purge();
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->logins, 2);
  EXPECT_EQ(r->tokens, 2) << "the old ticket and the live login's old access token; the purged"
                             " logins' tokens went with them";
  EXPECT_EQ(r->login_codes, 1);
  EXPECT_EQ(r->sent_mail, 2);

  auto sessions = [&](const std::string& id) {
    return scalar("select count(*) from auth_sessions where id = '" + id + "'");
  };
  auto tokens_of = [&](const std::string& id) {
    return scalar("select count(*) from auth_tokens where session_id = '" + id + "'");
  };
  EXPECT_EQ(sessions(live), 1);
  EXPECT_EQ(tokens_of(live), 1);
  EXPECT_EQ(scalar("select count(*) from auth_tokens where session_id = '" + live + "' and kind = 'refresh'"), 1)
    << "a live login keeps its used refresh token, however old: it reveals a replay";
  EXPECT_EQ(sessions(recent_revoked), 1);
  EXPECT_EQ(sessions(old_revoked), 0);
  EXPECT_EQ(tokens_of(old_revoked), 0);
  EXPECT_EQ(sessions(old_expired), 0);
  EXPECT_EQ(scalar("select count(*) from auth_tokens where session_id is null"), 2);
  EXPECT_EQ(scalar("select count(*) from login_codes"), 1);
  EXPECT_EQ(scalar("select count(*) from mail_outbox"), 2);
  EXPECT_EQ(scalar("select count(*) from mail_outbox where sent_at is null"), 1);

  auto again = purge();
  ASSERT_TRUE(again);
  EXPECT_EQ(again->logins + again->tokens + again->login_codes + again->sent_mail, 0) << "nothing left to purge";
}

TEST_F(RetentionTest, ABacklogIsDeletedInBoundedBatchesAndTheRulesAreConfigurable) {
  sql("insert into auth_tokens (token_hash, user_id, expires_at, kind)"
      " select uuid_send(gen_random_uuid()), '" + user_ + "', now() - interval '2 hours', 'ticket' from generate_series(1, 2500)");
  retention_rules rules;
  rules.batch = 1000;
  auto kept = purge(rules);
  ASSERT_TRUE(kept);
  EXPECT_EQ(kept->tokens, 0) << "two hours past expiry is within the default day";
  rules.tokens = 1h;
  auto r = purge(rules);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->tokens, 2500);
  EXPECT_EQ(r->statements, 3 + 3) << "three deletes of 1,000, 1,000 and 500 tokens, one per other table";
  EXPECT_EQ(scalar("select count(*) from auth_tokens"), 0);
}

TEST_F(RetentionTest, AStopBetweenStatementsLeavesTheRestOfABacklogForTheNextRound) {
  sql("insert into auth_tokens (token_hash, user_id, expires_at, kind)"
      " select uuid_send(gen_random_uuid()), '" + user_ + "', now() - interval '2 days', 'access' from generate_series(1, 2500)");
  retention_rules rules;
  rules.batch = 1000;
  int asked = 0;
  auto r = await<purge_counts>([&](auto cb) {
    purge_expired(*db_, rules, now_millis(), cb, [&] { return ++asked < 2; });
  });
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_TRUE(r->stopped);
  EXPECT_EQ(r->tokens, 2000) << "two statements ran, the stop came before the third";
  EXPECT_EQ(scalar("select count(*) from auth_tokens"), 500);
  auto next = purge(rules);
  ASSERT_TRUE(next);
  EXPECT_EQ(next->tokens, 500);
}

TEST_F(RetentionTest, TheJobPurgesAtStartThenEveryIntervalAndStopsPromptly) {
  auto tokens = [&] { return scalar("select count(*) from auth_tokens"); };
  auto deadline = std::chrono::steady_clock::now() + 10s;
  auto until = [&](auto done) {
    while (!done() && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(20ms);
  };
  // An hourly job's first round is its start: the expired token goes then, not an hour later.
  token("now() - interval '3 days'");
  auto hourly = std::make_unique<retention_job>(*db_, retention_rules{}, 1h, [] { return now_millis(); });
  until([&] { return hourly->rounds() >= 1; });
  ASSERT_EQ(hourly->rounds(), 1u);
  EXPECT_EQ(tokens(), 0) << "purged at start";
  // And it stops at once between rounds: it does not wait the hour out.
  auto before = std::chrono::steady_clock::now();
  hourly.reset();
  EXPECT_LT(std::chrono::steady_clock::now() - before, 10s);

  // A job of 200 ms rounds purges what expired meanwhile at a later round.
  auto job = std::make_unique<retention_job>(*db_, retention_rules{}, 200ms, [] { return now_millis(); });
  until([&] { return job->rounds() >= 1; });
  token("now() - interval '3 days'");
  until([&] { return tokens() == 0 && job->rounds() >= 2; });
  EXPECT_EQ(tokens(), 0) << "purged by a later round";
  EXPECT_GE(job->rounds(), 2u);
}

} // namespace
} // namespace pactum::persistence
