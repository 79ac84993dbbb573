// Outage recovery: after PostgreSQL restarts (crash-like, `pg_ctl restart -m immediate`), pooled
// and journal connections that were idle are dead even though libpq still reports them open. The
// first call after the database is back must find that out before using them, not fail with
// `unavailable`.
//
// Each test runs against its own private cluster (tests/support/private_cluster.hpp), because
// restarting the shared test cluster would break every other test running against it.

#include "pactum/persistence/database.hpp"

#include <chrono>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <pqxx/pqxx>

#include "private_cluster.hpp"

#include "await.hpp"

namespace pactum::persistence {
namespace {

using namespace std::chrono_literals;

using test_support::answer_timeout;
using test_support::await;

template <class T>
std::string describe(const result<T>& r) {
  return r.has_value() ? std::string{"ok"}
                       : std::string{to_string(r.error().code)} + ": " + r.error().message;
}

append_request make_append(uuid entity, int64_t expected_seq) {
  append_request req;
  req.entity = entity;
  req.entity_type = "conversation";
  req.expected_seq = expected_seq;
  event_record ev;
  ev.seq = expected_seq + 1;
  ev.type = "message.posted";
  ev.version = 1;
  ev.payload = "payload " + std::to_string(ev.seq);
  req.events.push_back(std::move(ev));
  return req;
}

/// Lifecycle: the cluster is created per test (initdb: a few seconds) and destroyed after it.
class OutageTest : public ::testing::Test {
protected:
  void SetUp() override {
    try {
      cluster_.emplace();
    } catch (const std::exception& e) {
      GTEST_FAIL() << e.what();
    }
  }

  void TearDown() override { cluster_.reset(); }

  std::unique_ptr<database> open(size_t pool_threads) const {
    config c;
    c.url = cluster_->url();
    c.pool_threads = pool_threads;
    c.reconnect_backoff_max = 200ms;
    auto db = std::make_unique<database>(c);
    db->migrate();
    db->start();
    return db;
  }

  static result<int64_t> append(database& db, append_request req) {
    return await<int64_t>([&](auto cb) {
      req.done = cb;
      db.append(std::move(req));
    });
  }

  /// Waits (bounded) until the restarted cluster accepts a fresh connection and answers.
  bool wait_until_accepting() const {
    for (auto deadline = std::chrono::steady_clock::now() + 30s;
         std::chrono::steady_clock::now() < deadline; std::this_thread::sleep_for(50ms)) {
      try {
        pqxx::connection conn{cluster_->url()};
        pqxx::nontransaction tx{conn};
        tx.exec1("select 1");
        return true;
      } catch (const std::exception&) {
        // still starting up
      }
    }
    return false;
  }

  /// Counts the sessions of this application name (the pool's connections).
  int sessions_named(const std::string& application_name) const {
    pqxx::connection conn{cluster_->admin_url()};
    pqxx::nontransaction tx{conn};
    return tx
      .exec1("select count(*) from pg_stat_activity where application_name = "
             + tx.quote(application_name))[0]
      .as<int>();
  }

  /// Waits until `n` sessions named `application_name` wait for a lock.
  bool wait_for_lock_waiters(const std::string& application_name, int n) const {
    pqxx::connection conn{cluster_->admin_url()};
    for (auto deadline = std::chrono::steady_clock::now() + 10s;
         std::chrono::steady_clock::now() < deadline; std::this_thread::sleep_for(10ms)) {
      pqxx::nontransaction tx{conn};
      auto waiting = tx.exec1("select count(*) from pg_locks l join pg_stat_activity a"
                              " on a.pid = l.pid where not l.granted and a.application_name = "
                              + tx.quote(application_name))[0]
                       .as<int>();
      if (waiting >= n)
        return true;
    }
    return false;
  }

  /// Runs `n` find_user calls that are all in flight at once (they queue behind a lock on the
  /// users table), so each holds its own pool slot: every slot's connection gets used.
  std::vector<result<user_row>> find_user_on_every_slot(database& db, uuid id, size_t n) const {
    pqxx::connection locker{cluster_->url()};
    pqxx::work lock_tx{locker};
    lock_tx.exec0("lock table users in access exclusive mode");
    std::vector<std::future<result<user_row>>> futures;
    for (size_t i = 0; i < n; ++i) {
      auto promise = std::make_shared<std::promise<result<user_row>>>();
      futures.push_back(promise->get_future());
      db.find_user(id, [promise](result<user_row> r) { promise->set_value(std::move(r)); });
    }
    EXPECT_TRUE(wait_for_lock_waiters("pactum-pool", static_cast<int>(n)))
      << "the pool never had " << n << " calls in flight at once";
    lock_tx.commit();
    std::vector<result<user_row>> out;
    for (auto& f : futures) {
      if (f.wait_for(answer_timeout) != std::future_status::ready)
        throw std::runtime_error("find_user: no answer within the timeout");
      out.push_back(f.get());
    }
    return out;
  }

  /// Uses every pool connection and the journal connection, restarts PostgreSQL, then checks
  /// that the very first pool call and the very first append succeed, and then every slot.
  void check_resumes_after_restart(size_t pool_threads) {
    auto db = open(pool_threads);
    user_row user;
    user.id = uuid::v7();
    user.email = "outage@example.com";
    user.password_hash = "$argon2id$v=19$m=65536,t=2,p=1$c2FsdA$aGFzaA";
    user.display_name = "Outage";
    user.role = "brand";
    auto created = await<unit>([&](auto cb) { db->create_user(user, cb); });
    ASSERT_TRUE(created.has_value()) << describe(created);
    for (const auto& r : find_user_on_every_slot(*db, user.id, pool_threads))
      ASSERT_TRUE(r.has_value()) << describe(r);
    ASSERT_EQ(sessions_named("pactum-pool"), static_cast<int>(pool_threads));
    auto entity = uuid::v7();
    auto first = append(*db, make_append(entity, 0));
    ASSERT_TRUE(first.has_value()) << describe(first);

    ASSERT_NO_THROW(cluster_->restart_immediate());
    ASSERT_TRUE(wait_until_accepting()) << cluster_->server_log();

    auto ping = await<unit>([&](auto cb) { db->ping(cb); });
    EXPECT_TRUE(ping.has_value()) << "first pool call after the restart: " << describe(ping);
    auto second = append(*db, make_append(entity, 1));
    EXPECT_TRUE(second.has_value()) << "first append after the restart: " << describe(second);
    if (second.has_value()) {
      EXPECT_EQ(*second, 2);
    }
    // The other slots' connections are just as stale: each must be checked before use too.
    for (const auto& r : find_user_on_every_slot(*db, user.id, pool_threads))
      EXPECT_TRUE(r.has_value()) << "find_user after the restart: " << describe(r);
  }

  std::optional<test_support::private_cluster> cluster_;
};

TEST_F(OutageTest, PoolOfOneResumesWithoutSpuriousFailure) {
  check_resumes_after_restart(1);
}

TEST_F(OutageTest, PoolOfSeveralResumesWithoutSpuriousFailure) {
  check_resumes_after_restart(3);
}

} // namespace
} // namespace pactum::persistence
