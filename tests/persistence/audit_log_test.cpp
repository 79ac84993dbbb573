// The audit writer (persistence/src/audit_log.cpp): records written in batches on its own
// thread and readable newest first by actor and action with an id cursor; a bounded queue that
// drops (and counts) what does not fit while the database is unreachable; and a table that
// refuses changes.

#include <thread>

#include <gtest/gtest.h>
#include <pqxx/pqxx>

#include "pactum/persistence/database.hpp"
#include "await.hpp"
#include "test_database.hpp"

namespace pactum::persistence {
namespace {

using test_support::await;

class AuditLogTest : public test_support::database_test {
protected:
  std::unique_ptr<database> open(size_t queue_limit = 10'000) {
    config c;
    c.url = url();
    c.pool_threads = 1;
    c.audit_queue_limit = queue_limit;
    auto db = std::make_unique<database>(c);
    db->migrate();
    db->start();
    return db;
  }

  static audit_record rec(std::optional<uuid> actor, std::string action, int i) {
    audit_record r;
    r.at = now_millis();
    r.actor = actor;
    r.actor_role = actor ? "brand" : "anonymous";
    r.address = "127.0.0.1";
    r.action = std::move(action);
    r.target = std::to_string(i);
    r.outcome = i % 2 ? "ok" : "forbidden";
    r.detail = R"({"n":)" + std::to_string(i) + "}";
    return r;
  }

  int64_t count() {
    pqxx::connection conn{url()};
    pqxx::read_transaction tx{conn};
    return tx.exec1("select count(*) from audit_log")[0].as<int64_t>();
  }
};

TEST_F(AuditLogTest, RecordsAreWrittenInBatchesAndReadByActorActionAndCursor) {
  auto db = open();
  auto alice = uuid::v7();
  for (int i = 0; i < 1'200; ++i) // more than two batches of 500
    db->audit(rec(i % 3 == 0 ? std::optional<uuid>{alice} : std::nullopt,
                  i % 2 ? "contract.fund" : "user.login", i));
  for (int i = 0; i < 100 && count() < 1'200; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  ASSERT_EQ(count(), 1'200);
  EXPECT_EQ(db->audit_dropped(), 0u);

  audit_filter f;
  f.actor = alice;
  f.action = "contract.fund";
  f.limit = 1'000;
  auto rows = await<std::vector<audit_row>>([&](auto cb) { db->audit_query(f, cb); });
  ASSERT_TRUE(rows) << rows.error().message;
  EXPECT_EQ(rows->size(), 200u); // i % 3 == 0 and odd: i = 3, 9, 15, ...
  for (size_t i = 1; i < rows->size(); ++i)
    EXPECT_LT((*rows)[i].id, (*rows)[i - 1].id) << "newest first";
  auto& top = rows->front().record;
  EXPECT_EQ(top.actor, alice);
  EXPECT_EQ(top.address, "127.0.0.1");
  EXPECT_EQ(top.outcome, "ok");
  EXPECT_EQ(top.detail, R"({"n": 1197})");

  f.before = (*rows)[9].id; // the page after the first ten
  f.limit = 10;
  auto next = await<std::vector<audit_row>>([&](auto cb) { db->audit_query(f, cb); });
  ASSERT_TRUE(next);
  ASSERT_EQ(next->size(), 10u);
  EXPECT_EQ((*next)[0].id, (*rows)[10].id);
}

TEST_F(AuditLogTest, AFullQueueDropsAndCountsInsteadOfBlocking) {
  config c;
  c.url = "postgresql://nobody@127.0.0.1:1/none"; // unreachable: nothing can be written
  c.pool_threads = 1;
  c.audit_queue_limit = 5;
  c.reconnect_backoff_max = std::chrono::milliseconds(5'000);
  database db{c};
  db.start();
  auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < 100; ++i)
    db.audit(rec(std::nullopt, "user.login", i));
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::milliseconds(500)) << "never blocks";
  // At most the queue (5) plus one batch taken out of it (5) were kept.
  EXPECT_GE(db.audit_dropped(), 90u);
  db.stop(); // one last attempt fails too: those are counted as well
  EXPECT_EQ(db.audit_dropped(), 100u);
}

TEST_F(AuditLogTest, TheTableIsAppendOnly) {
  auto db = open();
  db->audit(rec(std::nullopt, "user.login", 1));
  for (int i = 0; i < 100 && count() < 1; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  ASSERT_EQ(count(), 1);
  pqxx::connection conn{url()};
  for (const char* sql : {"update audit_log set outcome = 'ok'", "delete from audit_log",
                          "truncate audit_log"}) {
    pqxx::work tx{conn};
    try {
      tx.exec0(sql);
      ADD_FAILURE() << sql << " was allowed";
    } catch (const pqxx::sql_error& e) {
      EXPECT_NE(std::string{e.what()}.find("audit_log is append-only"), std::string::npos)
        << sql << ": " << e.what();
    }
  }
  EXPECT_EQ(count(), 1);
}

} // namespace
} // namespace pactum::persistence
