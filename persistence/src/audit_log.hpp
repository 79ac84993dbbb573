#pragma once

// The audit writer: inserts audit records (table audit_log, migration 0015) off the hot path.
//
// Lifecycle: started by database::start() (one thread, one connection opened lazily and reopened
// after a loss, throttled by a backoff gate); stop() writes what is queued (one attempt), then
// joins. Threading: record() and query() from any thread; they only touch the queue under a
// mutex and never block on I/O. Everything else runs on the writer's thread.
//
// Batching: each round takes every queued query and up to `audit_batch_max` records and inserts
// those records with ONE multi-row INSERT in one transaction. A failed insert keeps the batch
// queued and retries after the reconnect backoff; meanwhile new records queue up to
// `audit_queue_limit`, beyond which they are dropped and counted (never blocking an actor or an
// I/O thread).

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>

#include "connection.hpp"
#include "pactum/persistence/database.hpp"

namespace pactum::persistence::detail {

class audit_writer {
public:
  explicit audit_writer(const config& cfg);
  ~audit_writer();

  audit_writer(const audit_writer&) = delete;
  audit_writer& operator=(const audit_writer&) = delete;

  /// Queues a record; false (and counted as dropped) when the queue is full or stopped.
  bool record(audit_record r);

  /// Queues a query; `done` runs on the writer's thread (or at once when stopped).
  void query(audit_filter f, std::function<void(result<std::vector<audit_row>>)> done);

  /// Writes what is queued (one attempt), then joins the thread. Idempotent.
  void stop();

  uint64_t dropped() const noexcept { return dropped_.load(std::memory_order_relaxed); }

private:
  struct query_job {
    audit_filter filter;
    std::function<void(result<std::vector<audit_row>>)> done;
  };

  void run();
  bool connect();
  bool write(const std::vector<audit_record>& batch);
  result<std::vector<audit_row>> read(const audit_filter& f);

  std::string url_;
  size_t queue_limit_;
  size_t batch_max_;
  reconnect_gate gate_;
  std::unique_ptr<pqxx::connection> conn_; ///< writer thread only

  std::mutex mtx_;
  std::condition_variable cv_;
  std::deque<audit_record> pending_;
  std::deque<query_job> queries_;
  bool stopping_ = false;
  std::atomic<uint64_t> dropped_{0};
  std::thread thread_;
};

} // namespace pactum::persistence::detail
