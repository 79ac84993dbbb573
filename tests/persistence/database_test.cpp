#include "pactum/persistence/database.hpp"

#include <atomic>
#include <barrier>
#include <chrono>
#include <condition_variable>
#include <future>
#include <memory>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <pqxx/pqxx>
#include <sys/socket.h>
#include <unistd.h>

#include "test_database.hpp"

#include "await.hpp"

namespace pactum::persistence {
namespace {

using namespace std::chrono_literals;

using test_support::answer_timeout;
using test_support::await;

errc code_of(const auto& r) {
  return r.has_value() ? errc{} : r.error().code;
}

std::string binary_payload() {
  std::string p;
  for (int i = 0; i < 256; ++i)
    p.push_back(static_cast<char>(i));
  p += std::string("\0\0\xff\xfe", 4);
  return p;
}

append_request make_append(uuid entity, int64_t expected_seq, std::vector<std::string> payloads,
                           std::function<void(result<int64_t>)> done = {}) {
  append_request req;
  req.entity = entity;
  req.entity_type = "conversation";
  req.expected_seq = expected_seq;
  for (size_t i = 0; i < payloads.size(); ++i) {
    event_record ev;
    ev.seq = expected_seq + 1 + static_cast<int64_t>(i);
    ev.type = "message.posted";
    ev.version = 2;
    ev.payload = std::move(payloads[i]);
    req.events.push_back(std::move(ev));
  }
  req.done = std::move(done);
  return req;
}

user_row make_user(std::string email, std::string role = "brand") {
  user_row u;
  u.id = uuid::v7();
  u.email = std::move(email);
  u.password_hash = "$argon2id$v=19$m=65536,t=2,p=1$c2FsdA$aGFzaA";
  u.display_name = "Someone";
  u.role = std::move(role);
  return u;
}

/// A TCP proxy in front of PostgreSQL that, once armed, cuts the client off at its next COMMIT:
/// the client sees its connection break while committing, so the commit outcome is unknown to
/// it. `forward` lets the COMMIT reach the server (the transaction commits), `drop` swallows it
/// (the server session is left idle in its transaction, as after a lost packet).
/// Lifecycle: listens from construction to destruction; the destructor closes every socket and
/// joins its threads. Threading: `arm` and `fired` from any thread.
class commit_cutting_proxy {
public:
  enum class mode { forward, drop };

  commit_cutting_proxy(std::string upstream_host, int upstream_port)
    : upstream_host_(std::move(upstream_host)), upstream_port_(upstream_port) {
    listener_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    if (::bind(listener_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0
        || ::listen(listener_, 16) != 0)
      throw std::runtime_error("proxy: cannot listen");
    socklen_t len = sizeof(addr);
    ::getsockname(listener_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    acceptor_ = std::thread([this] { accept_loop(); });
  }

  ~commit_cutting_proxy() {
    stopping_ = true;
    ::shutdown(listener_, SHUT_RDWR);
    acceptor_.join();
    {
      std::lock_guard<std::mutex> guard{mtx_};
      for (int fd : fds_)
        ::shutdown(fd, SHUT_RDWR);
    }
    for (auto& t : threads_)
      t.join();
    for (int fd : fds_)
      ::close(fd);
    ::close(listener_);
  }

  int port() const noexcept { return port_; }

  void arm(mode m) {
    mode_ = m;
    armed_ = true;
  }

  bool fired() const noexcept { return fired_; }

private:
  static bool write_all(int fd, const char* data, size_t n) {
    while (n > 0) {
      auto w = ::send(fd, data, n, MSG_NOSIGNAL);
      if (w <= 0)
        return false;
      data += w;
      n -= static_cast<size_t>(w);
    }
    return true;
  }

  void accept_loop() {
    for (;;) {
      int client = ::accept(listener_, nullptr, nullptr);
      if (client < 0 || stopping_) {
        if (client >= 0)
          ::close(client);
        return;
      }
      int server = ::socket(AF_INET, SOCK_STREAM, 0);
      sockaddr_in addr{};
      addr.sin_family = AF_INET;
      addr.sin_port = htons(static_cast<uint16_t>(upstream_port_));
      ::inet_pton(AF_INET, upstream_host_.c_str(), &addr.sin_addr);
      if (::connect(server, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
        ::close(server);
        ::close(client);
        continue;
      }
      auto cut = std::make_shared<std::atomic<bool>>(false);
      std::lock_guard<std::mutex> guard{mtx_};
      fds_.push_back(client);
      fds_.push_back(server);
      threads_.emplace_back([this, client, server, cut] { client_to_server(client, server, *cut); });
      threads_.emplace_back([client, server, cut] {
        char buf[16384];
        for (;;) {
          auto n = ::recv(server, buf, sizeof(buf), 0);
          if (n <= 0 || *cut || !write_all(client, buf, static_cast<size_t>(n)))
            return;
        }
      });
    }
  }

  void client_to_server(int client, int server, std::atomic<bool>& cut) {
    char buf[16384];
    for (;;) {
      auto n = ::recv(client, buf, sizeof(buf), 0);
      if (n <= 0)
        return;
      std::string_view chunk{buf, static_cast<size_t>(n)};
      if (chunk.find("COMMIT") != std::string_view::npos && armed_.exchange(false)) {
        cut = true; // set first: no reply to this COMMIT may reach the client
        if (mode_ == mode::forward)
          write_all(server, buf, static_cast<size_t>(n));
        ::shutdown(client, SHUT_RDWR); // the server side stays open, as after a network fault
        fired_ = true;
        return;
      }
      if (!write_all(server, buf, static_cast<size_t>(n)))
        return;
    }
  }

  std::string upstream_host_;
  int upstream_port_;
  int listener_ = -1;
  int port_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<bool> armed_{false};
  std::atomic<bool> fired_{false};
  std::atomic<mode> mode_{mode::forward};
  std::mutex mtx_;
  std::vector<int> fds_;
  std::vector<std::thread> threads_;
  std::thread acceptor_;
};

/// Returns `url` (URL or key=value form) aimed at 127.0.0.1:`port` without TLS.
std::string via_proxy(const std::string& url, int port) {
  auto scheme = url.find("://");
  if (scheme == std::string::npos)
    return url + " host=127.0.0.1 port=" + std::to_string(port) + " sslmode=disable";
  auto authority = scheme + 3;
  auto end = url.find_first_of("/?", authority);
  if (end == std::string::npos)
    end = url.size();
  auto at = url.rfind('@', end);
  auto host_start = at != std::string::npos && at >= authority ? at + 1 : authority;
  auto out = url.substr(0, host_start) + "127.0.0.1:" + std::to_string(port) + url.substr(end);
  return out + (out.find('?') == std::string::npos ? "?" : "&") + "sslmode=disable";
}

class DatabaseTest : public test_support::database_test {
protected:
  config make_config() const {
    config c;
    c.url = url();
    c.pool_threads = 2;
    c.reconnect_backoff_max = 200ms;
    return c;
  }

  std::unique_ptr<database> open(const config& c) const {
    auto db = std::make_unique<database>(c);
    db->migrate();
    db->start();
    return db;
  }

  std::unique_ptr<database> open() const { return open(make_config()); }

  result<int64_t> append(database& db, append_request req) const {
    return await<int64_t>([&](auto cb) {
      req.done = cb;
      db.append(std::move(req));
    });
  }

  /// Runs one query on a fresh connection to the test database.
  pqxx::result query(const std::string& sql) const {
    pqxx::connection conn{url()};
    pqxx::nontransaction tx{conn};
    return tx.exec(sql);
  }

  /// Waits until `n` sessions named `application_name` wait for a lock.
  bool wait_for_lock_waiters(const std::string& application_name, int n) const {
    pqxx::connection conn{url()};
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
};

// -- migrations -----------------------------------------------------------------------------------

TEST_F(DatabaseTest, MigrationsAreIdempotent) {
  database db{make_config()};
  ASSERT_NO_THROW(db.migrate());
  ASSERT_NO_THROW(db.migrate());
  auto rows = query("select version, name from schema_migrations order by version");
  ASSERT_GE(rows.size(), 1u);
  EXPECT_EQ(rows[0][0].as<int>(), 1);
  EXPECT_EQ(rows[0][1].as<std::string>(), "init");
  auto tables = query("select count(*) from information_schema.tables where table_name in"
                      " ('users', 'auth_tokens', 'journal', 'conversations')");
  EXPECT_EQ(tables[0][0].as<int>(), 4);
}

TEST_F(DatabaseTest, MigrationsSerialiseWhenStartedConcurrently) {
  constexpr int starters = 4;
  std::barrier sync{starters};
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < starters; ++i)
    threads.emplace_back([&] {
      database db{make_config()};
      sync.arrive_and_wait();
      try {
        db.migrate();
      } catch (const std::exception& e) {
        ADD_FAILURE() << e.what();
        ++failures;
      }
    });
  for (auto& t : threads)
    t.join();
  EXPECT_EQ(failures.load(), 0);
  auto rows = query("select count(*), count(distinct version) from schema_migrations");
  EXPECT_EQ(rows[0][0].as<int>(), rows[0][1].as<int>());
  EXPECT_GE(rows[0][0].as<int>(), 1);
}

// -- journal --------------------------------------------------------------------------------------

TEST_F(DatabaseTest, AppendThenReadBackKeepsBinaryPayloads) {
  auto db = open();
  auto entity = uuid::v7();
  auto payload = binary_payload();
  auto before = now_millis();
  auto head = append(*db, make_append(entity, 0, {payload, "", std::string(1, '\0')}));
  ASSERT_TRUE(head.has_value()) << head.error().message;
  EXPECT_EQ(*head, 3);
  auto events = await<std::vector<event_record>>(
    [&](auto cb) { db->read_events(entity, 0, 0, 100, false, cb); });
  ASSERT_TRUE(events.has_value()) << events.error().message;
  ASSERT_EQ(events->size(), 3u);
  EXPECT_EQ((*events)[0].seq, 1);
  EXPECT_EQ((*events)[0].type, "message.posted");
  EXPECT_EQ((*events)[0].version, 2);
  EXPECT_EQ((*events)[0].payload, payload);
  EXPECT_EQ((*events)[1].payload, "");
  EXPECT_EQ((*events)[2].payload, std::string(1, '\0'));
  EXPECT_EQ((*events)[2].seq, 3);
  EXPECT_GE((*events)[0].recorded_at, before - 1000);
  EXPECT_LE((*events)[0].recorded_at, now_millis() + 1000);
}

TEST_F(DatabaseTest, AppendKeepsTypesWithArraySyntaxAndPayloadsBeyondOneStatement) {
  auto db = open();
  auto entity = uuid::v7();
  // Characters that mean something inside PostgreSQL array literals, and non-ASCII text.
  auto req = make_append(entity, 0, {"a", "b"});
  req.entity_type = "con\"ver,sa{tion}";
  req.events[0].type = "message.\\posted \"x\", NULL";
  req.events[1].type = "Nachricht \u00e4\u00f6\u00fc";
  ASSERT_EQ(*append(*db, std::move(req)), 2);
  auto rows = query("select entity_type, event_type from journal where entity_id = '"
                    + entity.str() + "' order by seq");
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0][0].as<std::string>(), "con\"ver,sa{tion}");
  EXPECT_EQ(rows[0][1].as<std::string>(), "message.\\posted \"x\", NULL");
  EXPECT_EQ(rows[1][1].as<std::string>(), "Nachricht \u00e4\u00f6\u00fc");
  // Payloads larger together than one insert statement carries (64 MiB) are split across
  // statements of the same transaction.
  std::vector<std::string> big;
  for (char c : {'x', 'y', 'z'})
    big.push_back(std::string(24u << 20, c) + std::string("\0end", 4));
  ASSERT_EQ(*append(*db, make_append(entity, 2, big)), 5);
  auto where = " from journal where entity_id = '" + entity.str() + "' and seq > 2";
  auto sizes = query("select length(payload), get_byte(payload, 0),"
                     " get_byte(payload, length(payload) - 4)"
                     + where + " order by seq");
  ASSERT_EQ(sizes.size(), 3u);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(sizes[i][0].as<int64_t>(), (24 << 20) + 4);
    EXPECT_EQ(sizes[i][1].as<int>(), "xyz"[i]);
    EXPECT_EQ(sizes[i][2].as<int>(), 0);
  }
  EXPECT_EQ(query("select count(distinct recorded_at)" + where)[0][0].as<int>(), 1)
    << "one transaction";
}

TEST_F(DatabaseTest, StaleExpectedSeqConflictsAndStoresNothing) {
  auto db = open();
  auto entity = uuid::v7();
  ASSERT_EQ(*append(*db, make_append(entity, 0, {"first"})), 1);
  EXPECT_EQ(code_of(append(*db, make_append(entity, 0, {"stale"}))), errc::conflict);
  EXPECT_EQ(code_of(append(*db, make_append(entity, 5, {"ahead"}))), errc::conflict);
  auto rows = query("select seq, convert_from(payload, 'UTF8') from journal where entity_id = '"
                    + entity.str() + "'");
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0][1].as<std::string>(), "first");
  EXPECT_EQ(*append(*db, make_append(entity, 1, {"second"})), 2);
}

TEST_F(DatabaseTest, MalformedAppendIsRefusedSynchronously) {
  auto db = open();
  auto req = make_append(uuid::v7(), 0, {"x"});
  req.events[0].seq = 7;
  std::optional<errc> got;
  req.done = [&](result<int64_t> r) { got = code_of(r); };
  db->append(std::move(req));
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(*got, errc::internal);
}

TEST_F(DatabaseTest, GroupCommitKeepsEverySequenceGapFree) {
  constexpr int entities = 200;
  constexpr int appends_per_entity = 50;
  constexpr int drivers = 4;
  auto db = open();
  std::vector<uuid> ids(entities);
  for (auto& id : ids)
    id = uuid::v7();
  std::mutex mtx;
  std::condition_variable cv;
  int finished = 0;
  std::atomic<int> failures{0};
  // Each entity behaves like an actor: its next append goes out only after the previous ack.
  std::function<void(int, int64_t)> next = [&](int e, int64_t expected) {
    auto payload = ids[static_cast<size_t>(e)].str() + ":" + std::to_string(expected + 1);
    db->append(make_append(ids[static_cast<size_t>(e)], expected, {payload},
                           [&, e, expected](result<int64_t> r) {
                             if (!r.has_value() || *r != expected + 1) {
                               ++failures;
                               ADD_FAILURE() << "append failed: "
                                             << (r ? "wrong head" : r.error().message);
                             } else if (*r < appends_per_entity) {
                               next(e, *r);
                               return;
                             }
                             std::lock_guard<std::mutex> guard{mtx};
                             ++finished;
                             cv.notify_all();
                           }));
  };
  std::vector<std::thread> threads;
  for (int d = 0; d < drivers; ++d)
    threads.emplace_back([&, d] {
      for (int e = d; e < entities; e += drivers)
        next(e, 0);
    });
  for (auto& t : threads)
    t.join();
  {
    std::unique_lock<std::mutex> guard{mtx};
    ASSERT_TRUE(cv.wait_for(guard, 120s, [&] { return finished == entities; }));
  }
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(db->pending_appends(), 0u);
  auto per_entity = query("select entity_id, count(*), min(seq), max(seq) from journal"
                          " group by entity_id");
  ASSERT_EQ(per_entity.size(), static_cast<size_t>(entities));
  for (const auto& row : per_entity) {
    EXPECT_EQ(row[1].as<int>(), appends_per_entity);
    EXPECT_EQ(row[2].as<int>(), 1);
    EXPECT_EQ(row[3].as<int>(), appends_per_entity);
  }
  auto wrong = query("select count(*) from journal"
                     " where convert_from(payload, 'UTF8') <> entity_id::text || ':' || seq");
  EXPECT_EQ(wrong[0][0].as<int>(), 0);
  // Rows of one transaction share recorded_at (now() is the transaction start): far fewer
  // transactions than appends shows the batching happened.
  auto transactions = query("select count(distinct recorded_at) from journal")[0][0].as<int>();
  EXPECT_LT(transactions, entities * appends_per_entity / 2);
}

TEST_F(DatabaseTest, BatchWithOneConflictCommitsTheOthers) {
  auto db = open();
  auto blocker = uuid::v7(), e1 = uuid::v7(), e2 = uuid::v7(), e3 = uuid::v7();
  pqxx::connection lock_conn{url()};
  pqxx::work lock_tx{lock_conn};
  lock_tx.exec0("lock table journal in access exclusive mode");
  std::vector<std::future<result<int64_t>>> answers;
  auto post = [&](append_request req) {
    auto promise = std::make_shared<std::promise<result<int64_t>>>();
    answers.push_back(promise->get_future());
    req.done = [promise](result<int64_t> r) { promise->set_value(std::move(r)); };
    db->append(std::move(req));
  };
  post(make_append(blocker, 0, {"blocker"}));
  // Once the writer is stuck on the lock, everything posted next is queued into one batch.
  ASSERT_TRUE(wait_for_lock_waiters("pactum-journal", 1));
  post(make_append(e2, 0, {"b"}));
  post(make_append(e2, 0, {"c"})); // same expected seq as the one before it: loses in the batch
  post(make_append(e3, 0, {"d1", "d2"}));
  post(make_append(e1, 7, {"e"})); // stale against the database itself
  post(make_append(e2, 1, {"f"})); // builds on the accepted request earlier in this batch
  EXPECT_EQ(db->pending_appends(), 6u);
  lock_tx.commit();
  std::vector<result<int64_t>> r;
  for (auto& a : answers) {
    ASSERT_EQ(a.wait_for(answer_timeout), std::future_status::ready);
    r.push_back(a.get());
  }
  EXPECT_EQ(*r[0], 1);
  EXPECT_EQ(*r[1], 1);
  EXPECT_EQ(code_of(r[2]), errc::conflict);
  EXPECT_EQ(*r[3], 2);
  EXPECT_EQ(code_of(r[4]), errc::conflict);
  EXPECT_EQ(*r[5], 2);
  auto e2_rows = query("select seq, convert_from(payload, 'UTF8') from journal where entity_id = '"
                       + e2.str() + "' order by seq");
  ASSERT_EQ(e2_rows.size(), 2u);
  EXPECT_EQ(e2_rows[0][1].as<std::string>(), "b");
  EXPECT_EQ(e2_rows[1][1].as<std::string>(), "f");
  EXPECT_EQ(query("select count(*) from journal where entity_id = '" + e1.str() + "'")[0][0]
              .as<int>(),
            0);
  // The accepted requests of the batch committed in one transaction.
  auto txs = query("select count(distinct recorded_at) from journal where entity_id in ('"
                   + e2.str() + "', '" + e3.str() + "')");
  EXPECT_EQ(txs[0][0].as<int>(), 1);
  EXPECT_EQ(db->pending_appends(), 0u);
}

TEST_F(DatabaseTest, ConcurrentWriterInAnotherProcessOnlyFailsTheRealLosers) {
  // Two database objects stand for two processes. Both writers read the heads while a lock holds
  // them, so both believe the shared entity is empty; one then hits the unique key.
  auto c = make_config();
  c.journal_batch_wait = 300ms; // let all three appends of each process into one batch
  auto db1 = open(c);
  auto db2 = open(c);
  auto shared = uuid::v7();
  auto a1 = uuid::v7(), a2 = uuid::v7(), b1 = uuid::v7(), b2 = uuid::v7();
  pqxx::connection lock_conn{url()};
  pqxx::work lock_tx{lock_conn};
  lock_tx.exec0("lock table journal in access exclusive mode");
  std::vector<std::future<result<int64_t>>> answers;
  auto post = [&](database& db, append_request req) {
    auto promise = std::make_shared<std::promise<result<int64_t>>>();
    answers.push_back(promise->get_future());
    req.done = [promise](result<int64_t> r) { promise->set_value(std::move(r)); };
    db.append(std::move(req));
  };
  post(*db1, make_append(a1, 0, {"a1"}));
  post(*db1, make_append(shared, 0, {"from 1"}));
  post(*db1, make_append(a2, 0, {"a2"}));
  post(*db2, make_append(b1, 0, {"b1"}));
  post(*db2, make_append(shared, 0, {"from 2"}));
  post(*db2, make_append(b2, 0, {"b2"}));
  ASSERT_TRUE(wait_for_lock_waiters("pactum-journal", 2));
  lock_tx.commit();
  std::vector<result<int64_t>> r;
  for (auto& a : answers) {
    ASSERT_EQ(a.wait_for(answer_timeout), std::future_status::ready);
    r.push_back(a.get());
  }
  for (size_t i : {0u, 2u, 3u, 5u}) {
    ASSERT_TRUE(r[i].has_value()) << i << ": " << r[i].error().message;
    EXPECT_EQ(*r[i], 1);
  }
  EXPECT_EQ(r[1].has_value() + r[4].has_value(), 1);
  auto loser = r[1].has_value() ? 4 : 1;
  EXPECT_EQ(code_of(r[static_cast<size_t>(loser)]), errc::conflict);
  EXPECT_EQ(query("select count(*) from journal")[0][0].as<int>(), 5);
}

// The writer remembers the heads it committed so it need not probe the journal for them. Another
// process (here a second database object) can leave that memory behind; the journal's primary key
// catches it, and the answer is the same as without the cache.
TEST_F(DatabaseTest, HeadCachedBeforeAnotherProcessAppendedIsNeverTrusted) {
  auto db1 = open();
  auto db2 = open();
  auto entity = uuid::v7();
  ASSERT_EQ(*append(*db1, make_append(entity, 0, {"1 by db1"})), 1); // db1 remembers head 1
  ASSERT_EQ(*append(*db2, make_append(entity, 1, {"2 by db2"})), 2); // db2 remembers head 2
  // db1's stale expected seq agrees with its cache: the insert at seq 2 hits the primary key,
  // and db1 re-reads the head before answering.
  EXPECT_EQ(code_of(append(*db1, make_append(entity, 1, {"stale"}))), errc::conflict);
  ASSERT_EQ(*append(*db1, make_append(entity, 2, {"3 by db1"})), 3);
  // db2's cache says 2: a request for the real head disagrees with it and is probed, not refused.
  ASSERT_EQ(*append(*db2, make_append(entity, 3, {"4 by db2"})), 4);
  EXPECT_EQ(code_of(append(*db2, make_append(entity, 2, {"stale again"}))), errc::conflict);
  EXPECT_EQ(code_of(append(*db1, make_append(entity, 3, {"stale in db1"}))), errc::conflict);
  ASSERT_EQ(*append(*db1, make_append(entity, 4, {"5 by db1", "6 by db1"})), 6);
  auto rows = query("select seq, convert_from(payload, 'UTF8') from journal where entity_id = '"
                    + entity.str() + "' order by seq");
  std::vector<std::string> want{"1 by db1", "2 by db2", "3 by db1", "4 by db2", "5 by db1",
                                "6 by db1"};
  ASSERT_EQ(rows.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ(rows[static_cast<pqxx::result::size_type>(i)][0].as<int64_t>(),
              static_cast<int64_t>(i + 1));
    EXPECT_EQ(rows[static_cast<pqxx::result::size_type>(i)][1].as<std::string>(), want[i]);
  }
}

TEST_F(DatabaseTest, BatchWithAStaleCachedHeadStillCommitsTheOthers) {
  auto db1 = open();
  auto db2 = open();
  auto shared = uuid::v7(), cached = uuid::v7(), fresh = uuid::v7(), blocker = uuid::v7();
  ASSERT_EQ(*append(*db1, make_append(shared, 0, {"shared 1"})), 1);
  ASSERT_EQ(*append(*db1, make_append(cached, 0, {"cached 1"})), 1);
  ASSERT_EQ(*append(*db2, make_append(shared, 1, {"shared 2 by db2"})), 2); // db1 is behind
  pqxx::connection lock_conn{url()};
  pqxx::work lock_tx{lock_conn};
  lock_tx.exec0("lock table journal in access exclusive mode");
  std::vector<std::future<result<int64_t>>> answers;
  auto post = [&](append_request req) {
    auto promise = std::make_shared<std::promise<result<int64_t>>>();
    answers.push_back(promise->get_future());
    req.done = [promise](result<int64_t> r) { promise->set_value(std::move(r)); };
    db1->append(std::move(req));
  };
  post(make_append(blocker, 0, {"blocker"}));
  // Once db1's writer is stuck on the lock, the next three are queued into one batch.
  ASSERT_TRUE(wait_for_lock_waiters("pactum-journal", 1));
  post(make_append(cached, 1, {"cached 2"}));   // agrees with the cache, which is right
  post(make_append(shared, 1, {"shared lost"})); // agrees with the cache, which is behind
  post(make_append(fresh, 0, {"fresh 1"}));      // not cached: probed
  EXPECT_EQ(db1->pending_appends(), 4u);
  lock_tx.commit();
  std::vector<result<int64_t>> r;
  for (auto& a : answers) {
    ASSERT_EQ(a.wait_for(answer_timeout), std::future_status::ready);
    r.push_back(a.get());
  }
  EXPECT_EQ(*r[0], 1);
  ASSERT_TRUE(r[1].has_value()) << r[1].error().message;
  EXPECT_EQ(*r[1], 2);
  EXPECT_EQ(code_of(r[2]), errc::conflict);
  ASSERT_TRUE(r[3].has_value()) << r[3].error().message;
  EXPECT_EQ(*r[3], 1);
  auto shared_rows = query("select seq, convert_from(payload, 'UTF8') from journal"
                           " where entity_id = '" + shared.str() + "' order by seq");
  ASSERT_EQ(shared_rows.size(), 2u);
  EXPECT_EQ(shared_rows[1][1].as<std::string>(), "shared 2 by db2");
  // The two winners still committed together, in the redone batch.
  auto txs = query("select count(distinct recorded_at) from journal where (entity_id = '"
                   + cached.str() + "' and seq = 2) or entity_id = '" + fresh.str() + "'");
  EXPECT_EQ(txs[0][0].as<int>(), 1);
  EXPECT_EQ(db1->pending_appends(), 0u);
}

TEST_F(DatabaseTest, TinyOrNoHeadCacheKeepsEverySequenceGapFree) {
  for (size_t capacity : {size_t{0}, size_t{2}}) {
    auto c = make_config();
    c.journal_head_cache = capacity;
    auto db = open(c);
    std::vector<uuid> ids(5);
    for (auto& id : ids)
      id = uuid::v7();
    for (int64_t round = 0; round < 4; ++round)
      for (const auto& id : ids) {
        auto payload = id.str() + ":" + std::to_string(round + 1);
        ASSERT_EQ(*append(*db, make_append(id, round, {payload})), round + 1)
          << "capacity " << capacity;
      }
    for (const auto& id : ids)
      EXPECT_EQ(code_of(append(*db, make_append(id, 2, {"stale"}))), errc::conflict);
  }
  auto per_entity = query("select count(*), min(seq), max(seq), count(distinct seq) from journal"
                          " group by entity_id");
  ASSERT_EQ(per_entity.size(), 10u);
  for (const auto& row : per_entity) {
    EXPECT_EQ(row[0].as<int>(), 4);
    EXPECT_EQ(row[1].as<int>(), 1);
    EXPECT_EQ(row[2].as<int>(), 4);
    EXPECT_EQ(row[3].as<int>(), 4);
  }
}

TEST_F(DatabaseTest, SeveralWriterLanesKeepEverySequenceGapFree) {
  constexpr int entities = 60;
  constexpr int appends_per_entity = 20;
  auto c = make_config();
  c.journal_writers = 3;
  auto db = open(c);
  std::vector<uuid> ids(entities);
  for (auto& id : ids)
    id = uuid::v7();
  std::mutex mtx;
  std::condition_variable cv;
  int finished = 0;
  std::atomic<int> failures{0};
  std::function<void(int, int64_t)> next = [&](int e, int64_t expected) {
    auto payload = ids[static_cast<size_t>(e)].str() + ":" + std::to_string(expected + 1);
    db->append(make_append(ids[static_cast<size_t>(e)], expected, {payload},
                           [&, e, expected](result<int64_t> r) {
                             if (!r.has_value() || *r != expected + 1) {
                               ++failures;
                             } else if (*r < appends_per_entity) {
                               next(e, *r);
                               return;
                             }
                             std::lock_guard<std::mutex> guard{mtx};
                             ++finished;
                             cv.notify_all();
                           }));
  };
  for (int e = 0; e < entities; ++e)
    next(e, 0);
  {
    std::unique_lock<std::mutex> guard{mtx};
    ASSERT_TRUE(cv.wait_for(guard, 120s, [&] { return finished == entities; }));
  }
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(query("select count(*) from pg_stat_activity where application_name = 'pactum-journal'"
                  " and datname = current_database()")[0][0]
              .as<int>(),
            3);
  db->stop();
  EXPECT_EQ(db->pending_appends(), 0u);
  auto wrong = query("select count(*) from journal"
                     " where convert_from(payload, 'UTF8') <> entity_id::text || ':' || seq");
  EXPECT_EQ(wrong[0][0].as<int>(), 0);
  auto per_entity = query("select count(*), max(seq) from journal group by entity_id");
  ASSERT_EQ(per_entity.size(), static_cast<size_t>(entities));
  for (const auto& row : per_entity) {
    EXPECT_EQ(row[0].as<int>(), appends_per_entity);
    EXPECT_EQ(row[1].as<int>(), appends_per_entity);
  }
}

TEST_F(DatabaseTest, JournalQueueFullAnswersOverloadedSynchronously) {
  auto c = make_config();
  c.journal_queue_limit = 2;
  auto db = open(c);
  pqxx::connection lock_conn{url()};
  pqxx::work lock_tx{lock_conn};
  lock_tx.exec0("lock table journal in access exclusive mode");
  std::atomic<int> succeeded{0};
  std::atomic<int> answered{0};
  auto counting = [&](result<int64_t> r) {
    if (r.has_value())
      ++succeeded;
    ++answered;
  };
  db->append(make_append(uuid::v7(), 0, {"in flight"}, counting));
  ASSERT_TRUE(wait_for_lock_waiters("pactum-journal", 1));
  int overloaded = 0;
  for (int i = 0; i < 10; ++i) {
    std::optional<errc> sync_code;
    auto caller = std::this_thread::get_id();
    db->append(make_append(uuid::v7(), 0, {"more"}, [&, caller](result<int64_t> r) {
      if (std::this_thread::get_id() == caller)
        sync_code = code_of(r);
      counting(std::move(r));
    }));
    if (sync_code == errc::overloaded)
      ++overloaded;
  }
  EXPECT_EQ(overloaded, 8);
  EXPECT_EQ(db->pending_appends(), 3u);
  lock_tx.commit();
  for (auto deadline = std::chrono::steady_clock::now() + answer_timeout;
       answered < 11 && std::chrono::steady_clock::now() < deadline;)
    std::this_thread::sleep_for(5ms);
  EXPECT_EQ(answered.load(), 11);
  EXPECT_EQ(succeeded.load(), 3);
}

TEST_F(DatabaseTest, PoolQueueFullAnswersOverloadedSynchronously) {
  auto c = make_config();
  c.pool_threads = 1;
  c.pool_queue_limit = 1;
  auto db = open(c);
  ASSERT_EQ(code_of(await<unit>([&](auto cb) { db->ping(cb); })), errc{});
  pqxx::connection lock_conn{url()};
  pqxx::work lock_tx{lock_conn};
  lock_tx.exec0("lock table users in access exclusive mode");
  std::atomic<int> answered{0};
  db->find_user(uuid::v7(), [&](result<user_row>) { ++answered; }); // runs, blocks on the lock
  ASSERT_TRUE(wait_for_lock_waiters("pactum-pool", 1));
  db->find_user(uuid::v7(), [&](result<user_row>) { ++answered; }); // queued
  std::optional<errc> sync_code;
  db->find_user(uuid::v7(), [&](result<user_row> r) { sync_code = code_of(r); });
  EXPECT_EQ(sync_code, errc::overloaded);
  lock_tx.commit();
  for (auto deadline = std::chrono::steady_clock::now() + answer_timeout;
       answered < 2 && std::chrono::steady_clock::now() < deadline;)
    std::this_thread::sleep_for(5ms);
  EXPECT_EQ(answered.load(), 2);
}

TEST_F(DatabaseTest, ReadEventsHonoursRangeLimitAndDirection) {
  auto db = open();
  auto entity = uuid::v7();
  std::vector<std::string> payloads;
  for (int i = 1; i <= 10; ++i)
    payloads.push_back("p" + std::to_string(i));
  ASSERT_EQ(*append(*db, make_append(entity, 0, payloads)), 10);
  auto seqs = [&](int64_t after, int64_t before, size_t limit, bool newest_first) {
    auto r = await<std::vector<event_record>>(
      [&](auto cb) { db->read_events(entity, after, before, limit, newest_first, cb); });
    std::vector<int64_t> out;
    if (!r.has_value()) {
      ADD_FAILURE() << r.error().message;
      return out;
    }
    for (const auto& ev : *r) {
      EXPECT_EQ(ev.payload, "p" + std::to_string(ev.seq));
      out.push_back(ev.seq);
    }
    return out;
  };
  using v = std::vector<int64_t>;
  EXPECT_EQ(seqs(0, 0, 100, false), (v{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}));
  EXPECT_EQ(seqs(3, 8, 100, false), (v{4, 5, 6, 7}));
  EXPECT_EQ(seqs(3, 8, 2, false), (v{4, 5}));
  EXPECT_EQ(seqs(3, 8, 2, true), (v{7, 6}));
  EXPECT_EQ(seqs(0, 0, 3, true), (v{10, 9, 8}));
  EXPECT_EQ(seqs(8, 0, 100, false), (v{9, 10}));
  EXPECT_EQ(seqs(10, 0, 100, false), v{});
  EXPECT_EQ(seqs(0, 0, 0, false), v{});
  auto other = await<std::vector<event_record>>(
    [&](auto cb) { db->read_events(uuid::v7(), 0, 0, 10, false, cb); });
  ASSERT_TRUE(other.has_value());
  EXPECT_TRUE(other->empty());
}

TEST_F(DatabaseTest, StopDrainsQueuedAppends) {
  auto db = open();
  std::atomic<int> succeeded{0};
  for (int i = 0; i < 200; ++i)
    db->append(make_append(uuid::v7(), 0, {"x"}, [&](result<int64_t> r) {
      if (r.has_value())
        ++succeeded;
    }));
  db->stop();
  EXPECT_EQ(succeeded.load(), 200);
  EXPECT_EQ(db->pending_appends(), 0u);
  std::optional<errc> after_stop;
  db->append(make_append(uuid::v7(), 0, {"late"}, [&](result<int64_t> r) {
    after_stop = code_of(r);
  }));
  EXPECT_EQ(after_stop, errc::unavailable);
  EXPECT_EQ(query("select count(*) from journal")[0][0].as<int>(), 200);
}

// -- accounts -------------------------------------------------------------------------------------

TEST_F(DatabaseTest, CreateUserRejectsDuplicateEmail) {
  auto db = open();
  auto alice = make_user("alice@example.com");
  alice.created_at = 1'700'000'000'123;
  ASSERT_EQ(code_of(await<unit>([&](auto cb) { db->create_user(alice, cb); })), errc{});
  auto again = make_user(" Alice@Example.COM ");
  EXPECT_EQ(code_of(await<unit>([&](auto cb) { db->create_user(again, cb); })), errc::duplicate);
  auto by_email =
    await<user_row>([&](auto cb) { db->find_user_by_email("ALICE@example.com", cb); });
  ASSERT_TRUE(by_email.has_value()) << by_email.error().message;
  EXPECT_EQ(by_email->id, alice.id);
  EXPECT_EQ(by_email->email, "alice@example.com");
  EXPECT_EQ(by_email->password_hash, alice.password_hash);
  EXPECT_EQ(by_email->display_name, alice.display_name);
  EXPECT_EQ(by_email->role, "brand");
  EXPECT_EQ(by_email->created_at, alice.created_at);
  auto by_id = await<user_row>([&](auto cb) { db->find_user(alice.id, cb); });
  ASSERT_TRUE(by_id.has_value());
  EXPECT_EQ(by_id->email, "alice@example.com");
  EXPECT_EQ(code_of(await<user_row>([&](auto cb) { db->find_user(uuid::v7(), cb); })),
            errc::not_found);
  EXPECT_EQ(code_of(await<user_row>([&](auto cb) { db->find_user_by_email("bob@x.org", cb); })),
            errc::not_found);
  auto bad_role = make_user("carol@example.com", "emperor");
  EXPECT_EQ(code_of(await<unit>([&](auto cb) { db->create_user(bad_role, cb); })),
            errc::internal);
}

TEST_F(DatabaseTest, TokenLookupHonoursExpiry) {
  auto db = open();
  auto user = make_user("creator@example.com", "creator");
  ASSERT_EQ(code_of(await<unit>([&](auto cb) { db->create_user(user, cb); })), errc{});
  std::string live = std::string("\0\x01\xff\x80" "live", 8);
  std::string dead = std::string("\0\x01\xff\x80" "dead", 8);
  ASSERT_EQ(code_of(await<unit>(
              [&](auto cb) { db->insert_token(live, user.id, now_millis() + 3'600'000, cb); })),
            errc{});
  ASSERT_EQ(code_of(await<unit>(
              [&](auto cb) { db->insert_token(dead, user.id, now_millis() - 1'000, cb); })),
            errc{});
  auto found = await<user_row>([&](auto cb) { db->find_user_by_token(live, cb); });
  ASSERT_TRUE(found.has_value()) << found.error().message;
  EXPECT_EQ(found->id, user.id);
  EXPECT_EQ(code_of(await<user_row>([&](auto cb) { db->find_user_by_token(dead, cb); })),
            errc::not_found);
  EXPECT_EQ(code_of(await<user_row>(
              [&](auto cb) { db->find_user_by_token(std::string("\0\x01\xff\x80", 4), cb); })),
            errc::not_found);
  EXPECT_EQ(code_of(await<unit>(
              [&](auto cb) { db->insert_token("orphan", uuid::v7(), now_millis() + 1000, cb); })),
            errc::not_found);
  auto stored = query("select octet_length(token_hash) from auth_tokens order by 1");
  ASSERT_EQ(stored.size(), 2u);
  EXPECT_EQ(stored[0][0].as<int>(), 8);
}

// -- conversations --------------------------------------------------------------------------------

TEST_F(DatabaseTest, OpenConversationIsIdempotentUnderRace) {
  auto db = open();
  auto brand = make_user("brand@example.com", "brand");
  auto creator = make_user("creator@example.com", "creator");
  ASSERT_EQ(code_of(await<unit>([&](auto cb) { db->create_user(brand, cb); })), errc{});
  ASSERT_EQ(code_of(await<unit>([&](auto cb) { db->create_user(creator, cb); })), errc{});
  constexpr int racers = 8;
  std::barrier sync{racers};
  std::vector<std::optional<result<std::pair<conversation_row, bool>>>> got(racers);
  std::vector<std::thread> threads;
  for (int i = 0; i < racers; ++i)
    threads.emplace_back([&, i] {
      event_record first;
      first.seq = 1;
      first.type = "conversation.opened";
      first.payload = std::string("\0opened", 7);
      sync.arrive_and_wait();
      got[static_cast<size_t>(i)] = await<std::pair<conversation_row, bool>>([&](auto cb) {
        db->open_conversation(brand.id, creator.id, uuid::v7(), first, cb);
      });
    });
  for (auto& t : threads)
    t.join();
  int created = 0;
  std::set<std::string> ids;
  for (auto& g : got) {
    ASSERT_TRUE(g && g->has_value()) << (g ? g->error().message : "no answer");
    const auto& [row, was_created] = g->value();
    created += was_created;
    ids.insert(row.id.str());
    EXPECT_EQ(row.brand_id, brand.id);
    EXPECT_EQ(row.creator_id, creator.id);
    EXPECT_EQ(row.head_seq, 1);
    EXPECT_GT(row.created_at, 0);
  }
  EXPECT_EQ(created, 1);
  ASSERT_EQ(ids.size(), 1u);
  EXPECT_EQ(query("select count(*) from conversations")[0][0].as<int>(), 1);
  auto journal = query("select seq, entity_type, event_type, payload from journal where"
                       " entity_id = '" + *ids.begin() + "'");
  ASSERT_EQ(journal.size(), 1u);
  EXPECT_EQ(journal[0][0].as<int>(), 1);
  EXPECT_EQ(journal[0][1].as<std::string>(), "conversation");
  EXPECT_EQ(pqxx::binarystring{journal[0][3]}.str(), std::string("\0opened", 7));

  for (const auto& member : {brand.id, creator.id}) {
    auto list = await<std::vector<conversation_row>>(
      [&](auto cb) { db->list_conversations(member, 10, cb); });
    ASSERT_TRUE(list.has_value()) << list.error().message;
    ASSERT_EQ(list->size(), 1u);
    EXPECT_EQ((*list)[0].id.str(), *ids.begin());
    EXPECT_EQ((*list)[0].head_seq, 1);
  }
  auto none = await<std::vector<conversation_row>>(
    [&](auto cb) { db->list_conversations(uuid::v7(), 10, cb); });
  ASSERT_TRUE(none.has_value());
  EXPECT_TRUE(none->empty());
}

TEST_F(DatabaseTest, OpenConversationWithUnknownUserIsNotFound) {
  auto db = open();
  event_record first;
  first.seq = 1;
  first.type = "conversation.opened";
  auto r = await<std::pair<conversation_row, bool>>([&](auto cb) {
    db->open_conversation(uuid::v7(), uuid::v7(), uuid::v7(), first, cb);
  });
  EXPECT_EQ(code_of(r), errc::not_found);
}

TEST_F(DatabaseTest, ListConversationsNewestFirstWithLimit) {
  auto db = open();
  auto brand = make_user("b@example.com", "brand");
  ASSERT_EQ(code_of(await<unit>([&](auto cb) { db->create_user(brand, cb); })), errc{});
  std::vector<uuid> opened;
  for (int i = 0; i < 3; ++i) {
    auto creator = make_user("c" + std::to_string(i) + "@example.com", "creator");
    ASSERT_EQ(code_of(await<unit>([&](auto cb) { db->create_user(creator, cb); })), errc{});
    event_record first;
    first.seq = 1;
    first.type = "conversation.opened";
    auto r = await<std::pair<conversation_row, bool>>([&](auto cb) {
      db->open_conversation(brand.id, creator.id, uuid::v7(), first, cb);
    });
    ASSERT_TRUE(r.has_value());
    opened.push_back(r->first.id);
    std::this_thread::sleep_for(5ms); // distinct created_at
  }
  auto list = await<std::vector<conversation_row>>(
    [&](auto cb) { db->list_conversations(brand.id, 2, cb); });
  ASSERT_TRUE(list.has_value());
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].id, opened[2]);
  EXPECT_EQ((*list)[1].id, opened[1]);
}

// -- health and failures --------------------------------------------------------------------------

TEST_F(DatabaseTest, PingSucceeds) {
  auto db = open();
  auto r = await<unit>([&](auto cb) { db->ping(cb); });
  EXPECT_TRUE(r.has_value()) << r.error().message;
}

TEST_F(DatabaseTest, UnreachableDatabaseAnswersUnavailableQuickly) {
  config c;
  c.url = "postgresql://postgres@127.0.0.1:1/postgres"; // nothing listens on port 1
  c.pool_threads = 1;
  database db{c};
  EXPECT_THROW(db.migrate(), std::runtime_error);
  db.start();
  auto started = std::chrono::steady_clock::now();
  EXPECT_EQ(code_of(await<unit>([&](auto cb) { db.ping(cb); })), errc::unavailable);
  // The second attempt falls in the backoff window and is refused without trying.
  EXPECT_EQ(code_of(await<unit>([&](auto cb) { db.ping(cb); })), errc::unavailable);
  EXPECT_EQ(code_of(await<int64_t>([&](auto cb) {
              db.append(make_append(uuid::v7(), 0, {"x"}, cb));
            })),
            errc::unavailable);
  EXPECT_LT(std::chrono::steady_clock::now() - started, 5s);
}

TEST_F(DatabaseTest, ReconnectsAfterSessionsAreKilled) {
  auto db = open();
  auto entity = uuid::v7();
  ASSERT_EQ(*append(*db, make_append(entity, 0, {"before"})), 1);
  ASSERT_TRUE(await<unit>([&](auto cb) { db->ping(cb); }).has_value());
  query("select pg_terminate_backend(pid) from pg_stat_activity"
        " where datname = current_database()"
        " and application_name in ('pactum-journal', 'pactum-pool')");
  // The first use of a dead connection answers unavailable and drops it; a later one reconnects.
  auto retry_until_ok = [&](auto attempt) {
    for (auto deadline = std::chrono::steady_clock::now() + 10s;
         std::chrono::steady_clock::now() < deadline; std::this_thread::sleep_for(20ms)) {
      auto r = attempt();
      if (r.has_value())
        return true;
      EXPECT_EQ(r.error().code, errc::unavailable) << r.error().message;
    }
    return false;
  };
  EXPECT_TRUE(retry_until_ok([&] { return append(*db, make_append(entity, 1, {"after"})); }));
  EXPECT_TRUE(retry_until_ok([&] { return await<unit>([&](auto cb) { db->ping(cb); }); }));
  EXPECT_EQ(query("select count(*) from journal")[0][0].as<int>(), 2);
}

// -- commits whose outcome is unknown -------------------------------------------------------------

class InDoubtCommitTest : public DatabaseTest {
protected:
  void SetUp() override {
    DatabaseTest::SetUp();
    if (HasFatalFailure())
      return;
    auto where = query("select host(inet_server_addr()), inet_server_port()");
    if (where[0][0].is_null())
      GTEST_SKIP() << "the test server is reached over a Unix socket; the proxy needs TCP";
    database{make_config()}.migrate();
    proxy_.emplace(where[0][0].as<std::string>(), where[0][1].as<int>());
  }

  void TearDown() override {
    proxy_.reset();
    DatabaseTest::TearDown();
  }

  /// A database whose journal writer goes through the proxy.
  std::unique_ptr<database> open_via_proxy() {
    auto c = make_config();
    c.url = via_proxy(url(), proxy_->port());
    auto db = std::make_unique<database>(c);
    db->start();
    return db;
  }

  std::optional<commit_cutting_proxy> proxy_;
};

TEST_F(InDoubtCommitTest, CommitThatLandedIsReportedAsSuccess) {
  auto db = open_via_proxy();
  auto entity = uuid::v7();
  ASSERT_EQ(*append(*db, make_append(entity, 0, {"one"})), 1); // connects the writer
  proxy_->arm(commit_cutting_proxy::mode::forward);
  auto r = append(*db, make_append(entity, 1, {"two", std::string("\0\xff", 2)}));
  EXPECT_TRUE(proxy_->fired());
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(*r, 3);
  EXPECT_EQ(query("select count(*) from journal")[0][0].as<int>(), 3);
  EXPECT_EQ(*append(*db, make_append(entity, 3, {"four"})), 4); // the writer carries on
}

TEST_F(InDoubtCommitTest, CommitThatNeverArrivedIsReportedAsUnavailable) {
  auto db = open_via_proxy();
  auto entity = uuid::v7();
  ASSERT_EQ(*append(*db, make_append(entity, 0, {"one"})), 1);
  proxy_->arm(commit_cutting_proxy::mode::drop);
  // The old session still holds its uncommitted rows; resolving must end it before deciding.
  auto r = append(*db, make_append(entity, 1, {"two"}));
  EXPECT_TRUE(proxy_->fired());
  EXPECT_EQ(code_of(r), errc::unavailable);
  EXPECT_EQ(query("select count(*) from journal")[0][0].as<int>(), 1);
  EXPECT_EQ(*append(*db, make_append(entity, 1, {"two again"})), 2);
}

} // namespace
} // namespace pactum::persistence

// -- durable timers -------------------------------------------------------------------------------

namespace pactum::persistence {
namespace {

append_request with_timers(append_request req, std::vector<timer_change> timers) {
  req.timers = std::move(timers);
  return req;
}

TEST_F(DatabaseTest, TimersAreWrittenAndClearedAtomicallyWithTheirEvents) {
  auto db = open();
  auto entity = uuid::v7();
  auto due = now_millis() - 1000; // already due
  ASSERT_EQ(*append(*db, with_timers(make_append(entity, 0, {"funded"}),
                                     {{"delivery_deadline", due, false}, {"reminder", due + 5, false}})),
            1);
  auto found = await<std::vector<due_timer>>([&](auto cb) { db->due_timers(now_millis(), 10, 0, cb); });
  ASSERT_TRUE(found) << found.error().message;
  ASSERT_EQ(found->size(), 2u);
  EXPECT_EQ((*found)[0].entity, entity);
  EXPECT_EQ((*found)[0].kind, "delivery_deadline") << "oldest first";
  EXPECT_EQ((*found)[0].due_at, due);
  EXPECT_EQ((*found)[0].entity_type, "conversation");

  // A refused append changes no timer: the timer and the state never disagree.
  EXPECT_EQ(code_of(append(*db, with_timers(make_append(entity, 0, {"stale"}),
                                            {{"delivery_deadline", 0, true}}))),
            errc::conflict);
  EXPECT_EQ(query("select count(*) from due_timers")[0][0].as<int>(), 2);

  // The event that fires the deadline clears it in the same transaction.
  ASSERT_EQ(*append(*db, with_timers(make_append(entity, 1, {"refunded"}),
                                     {{"delivery_deadline", 0, true}})),
            2);
  auto left = await<std::vector<due_timer>>([&](auto cb) { db->due_timers(now_millis(), 10, 0, cb); });
  ASSERT_EQ(left->size(), 1u);
  EXPECT_EQ((*left)[0].kind, "reminder");
}

TEST_F(DatabaseTest, TimersInOneBatchFollowQueueOrderAndOnlyDueOnesAreListed) {
  auto db = open();
  auto a = uuid::v7(), b = uuid::v7();
  auto later = now_millis() + 3'600'000;
  // Queue several appends at once so they share a batch: for `a` a set then a clear (net: none),
  // for `b` a far-future set then a move to the past.
  std::vector<std::future<result<int64_t>>> acks;
  auto submit = [&](append_request req) {
    auto p = std::make_shared<std::promise<result<int64_t>>>();
    acks.push_back(p->get_future());
    req.done = [p](result<int64_t> r) { p->set_value(std::move(r)); };
    db->append(std::move(req));
  };
  submit(with_timers(make_append(a, 0, {"x"}), {{"t", later, false}}));
  submit(with_timers(make_append(b, 0, {"x"}), {{"t", later, false}}));
  submit(with_timers(make_append(a, 1, {"y"}), {{"t", 0, true}}));
  submit(with_timers(make_append(b, 1, {"y"}), {{"t", now_millis() - 10, false}}));
  for (auto& f : acks)
    ASSERT_TRUE(f.get());
  auto due = await<std::vector<due_timer>>([&](auto cb) { db->due_timers(now_millis(), 10, 0, cb); });
  ASSERT_TRUE(due);
  ASSERT_EQ(due->size(), 1u);
  EXPECT_EQ((*due)[0].entity, b);
  EXPECT_EQ(query("select count(*) from due_timers where entity_id = '" + a.str() + "'")[0][0].as<int>(), 0);
  auto none = await<std::vector<due_timer>>([&](auto cb) { db->due_timers(now_millis() - 60'000, 10, 0, cb); });
  EXPECT_TRUE(none->empty()) << "nothing is due a minute ago";
}

TEST_F(DatabaseTest, ATimerHandedOutIsOfferedAgainOnlyAfterTheRetryAndBehindNewerOnes) {
  // A sweeper hands out a due timer whose entity never acts on it (it cannot be activated, or it
  // waits for something else): the row must come back, but not at every sweep, and not ahead of
  // timers that fell due meanwhile, which it would otherwise starve.
  auto db = open();
  auto stuck = uuid::v7(), fresh = uuid::v7();
  const millis now = now_millis();
  ASSERT_EQ(*append(*db, with_timers(make_append(stuck, 0, {"x"}), {{"provider_calls", now - 5'000, false}})), 1);
  auto sweep = [&](millis at) {
    auto r = await<std::vector<due_timer>>([&](auto cb) { db->due_timers(at, 1, 10'000, cb); });
    EXPECT_TRUE(r) << r.error().message;
    return r ? *r : std::vector<due_timer>{};
  };
  auto first = sweep(now);
  ASSERT_EQ(first.size(), 1u);
  EXPECT_EQ(first[0].entity, stuck);
  EXPECT_EQ(first[0].due_at, now - 5'000) << "the answer carries the due time as it was";
  EXPECT_TRUE(sweep(now + 1'000).empty()) << "not offered again at the next sweep";
  // Another entity's timer falls due; a batch of one takes it first when both are due.
  ASSERT_EQ(*append(*db, with_timers(make_append(fresh, 0, {"x"}), {{"deadline", now + 2'000, false}})), 1);
  auto later = sweep(now + 20'000);
  ASSERT_EQ(later.size(), 1u);
  EXPECT_EQ(later[0].entity, fresh);
  auto again = sweep(now + 20'000);
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0].entity, stuck) << "offered again after the retry";
  EXPECT_EQ(again[0].due_at, now + 10'000);
  // An entity's own append still moves or clears its row as before.
  ASSERT_EQ(*append(*db, with_timers(make_append(stuck, 1, {"y"}), {{"provider_calls", 0, true}})), 2);
  EXPECT_EQ(query("select count(*) from due_timers where entity_id = '" + stuck.str() + "'")[0][0].as<int>(), 0);
}

TEST_F(DatabaseTest, SnapshotsKeepOnlyTheNewest) {
  auto db = open();
  auto entity = uuid::v7();
  auto save = [&](int64_t seq, std::string payload) {
    return await<unit>([&](auto cb) {
      db->save_snapshot(entity, "conversation", snapshot_record{seq, 1, std::move(payload)}, cb);
    });
  };
  auto none = await<std::optional<snapshot_record>>([&](auto cb) { db->load_snapshot(entity, cb); });
  ASSERT_TRUE(none);
  EXPECT_FALSE(none->has_value());
  ASSERT_TRUE(save(10, std::string("ten\0bytes", 9)));
  ASSERT_TRUE(save(5, "older, arriving late"));
  auto got = await<std::optional<snapshot_record>>([&](auto cb) { db->load_snapshot(entity, cb); });
  ASSERT_TRUE(got && got->has_value());
  EXPECT_EQ((*got)->seq, 10) << "a late, older snapshot never replaces a newer one";
  EXPECT_EQ((*got)->payload, std::string("ten\0bytes", 9));
  ASSERT_TRUE(save(20, "twenty"));
  got = await<std::optional<snapshot_record>>([&](auto cb) { db->load_snapshot(entity, cb); });
  EXPECT_EQ((*got)->seq, 20);
}

} // namespace
} // namespace pactum::persistence
