#pragma once

// The group-commit journal writer: folds appends queued by many entity actors into one
// transaction, so the cost of a COMMIT (a WAL flush) is shared by a whole batch.

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include <pqxx/pqxx>

#include "connection.hpp"
#include "journal_metrics.hpp"
#include "pactum/persistence/database.hpp"

namespace pactum::persistence::detail {

/// The last sequence number the journal held for recently written entities, as the writer last
/// saw it committed (its own commits, and heads it read inside a transaction that committed), so
/// a batch need not probe the journal's index for them. It is never ahead of the journal
/// (journal rows are never deleted); another process appending can leave it behind, and then the
/// primary key (entity_id, seq) rejects the insert, so correctness never rests on it. Holds at
/// most `capacity` entities (0: none); the least recently written is evicted first.
/// Threading: not synchronised; one journal lane's thread alone uses it.
class head_cache {
public:
  explicit head_cache(size_t capacity) : capacity_(capacity) {}

  /// Returns the cached head of `entity`, if any.
  std::optional<int64_t> find(const uuid& entity) const;

  /// Records `head` for `entity` and makes it the most recently written.
  void put(const uuid& entity, int64_t head);

  void erase(const uuid& entity);

private:
  struct entry {
    int64_t head = 0;
    std::list<uuid>::iterator pos{}; ///< in order_
  };

  size_t capacity_;
  std::list<uuid> order_; ///< most recently written first
  std::unordered_map<uuid, entry> map_;
};

class journal_lane;

/// The group-commit writer: `config::journal_writers` lanes, each a thread with its own
/// connection and FIFO queue; an entity's appends always go to the same lane (by the hash of its
/// id), so they commit in queue order, while lanes commit independently (with two, PostgreSQL
/// inserts one lane's batch while the other's COMMIT waits for its WAL flush).
/// Lifecycle: the constructor starts the lanes; `stop()` (or the destructor) stops taking
/// appends, commits everything already queued, then joins.
/// Threading: `submit` and `pending` may be called from any thread; each connection and all its
/// database work belong to its lane's thread alone. Callbacks run on a lane's thread, outside any
/// lock, except refusals (queue full, stopped, malformed request), which run synchronously on the
/// caller's thread.
class journal_writer {
public:
  explicit journal_writer(const config& cfg);
  ~journal_writer();

  journal_writer(const journal_writer&) = delete;
  journal_writer& operator=(const journal_writer&) = delete;

  void submit(append_request req);

  void stop();

  /// Returns the appends queued plus those in the batches being written.
  size_t pending() const;

private:
  std::atomic<size_t> queued_{0}; ///< appends queued in all lanes, against journal_queue_limit
  std::vector<std::unique_ptr<journal_lane>> lanes_;
  metrics::callback_handle depth_metric_; ///< destroyed first, before `queued_`
};

/// One lane of the journal writer: a thread, its connection, its FIFO queue and its head cache.
/// Lifecycle: the constructor starts the thread; `stop()` (or the destructor) stops taking
/// appends, commits everything already queued, then joins.
/// Threading: `submit` and `pending` may be called from any thread; the connection and all
/// database work belong to the lane's thread alone.
/// Ordering: one FIFO queue and one thread, so appends to one entity commit in queue order.
class journal_lane {
public:
  /// `queued` counts the appends queued in every lane, so that together they hold at most
  /// `config::journal_queue_limit`.
  journal_lane(const config& cfg, size_t head_cache_capacity, std::atomic<size_t>& queued);
  ~journal_lane();

  journal_lane(const journal_lane&) = delete;
  journal_lane& operator=(const journal_lane&) = delete;

  /// Queues a well-formed request, or refuses it synchronously (stopped, queue full).
  void submit(append_request req);

  /// Stops taking appends (they are refused from now on); the queued ones are still written.
  void refuse_new();

  /// `refuse_new()`, then waits until everything queued is written and joins.
  void stop();

  /// Returns the appends queued plus those in the batch being written.
  size_t pending() const;

private:
  using outcome = std::optional<result<int64_t>>;

  void run();

  /// Writes `batch` and answers every request in it.
  void process(std::vector<append_request>& batch);

  /// Commits the requests `batch[idx...]` in one transaction and records their outcomes. With
  /// `use_cache`, an entity whose first request agrees with its cached head is not probed; a
  /// unique violation then means the cache was behind (another process appended), and the batch
  /// is redone with every head probed. With `may_split`, a unique violation among probed heads
  /// (another process appended concurrently) retries each request in a transaction of its own
  /// so only the real losers get `conflict`.
  void commit_group(std::vector<append_request>& batch, const std::vector<size_t>& idx,
                    std::vector<outcome>& out, bool may_split, bool use_cache);

  /// Inserts every event of the accepted requests (in one statement unless their payloads are
  /// very large).
  void insert_events(pqxx::work& tx, const std::vector<append_request>& batch,
                     const std::vector<size_t>& accepted);

  /// Applies the timer changes of the accepted requests inside the batch transaction.
  void write_timers(pqxx::work& tx, const std::vector<append_request>& batch,
                    const std::vector<size_t>& accepted);

  /// Applies the ledger transfers of the accepted requests inside the batch transaction: creates
  /// missing accounts, locks every account involved (in id order, so lanes never deadlock),
  /// inserts new transfers, resolves pending ones exactly once and moves the balances. Throws
  /// `ledger_refused` when a rule is broken; the floor itself is a CHECK constraint.
  void write_ledger(pqxx::work& tx, const std::vector<append_request>& batch,
                    const std::vector<size_t>& accepted);

  /// COMMIT's outcome is unknown (the connection broke during it): reconnects within a bounded
  /// time, makes sure the old session is gone, then answers each request by re-reading what the
  /// journal holds. Never guesses: anything unresolved answers `unavailable`.
  void resolve_in_doubt(std::vector<append_request>& batch, const std::vector<size_t>& accepted,
                        const std::vector<size_t>& rejected, std::vector<outcome>& out);

  /// Returns true with `conn_` open and passing `connection_looks_alive`, or false while the
  /// reconnect gate is closed or the attempt failed.
  bool ensure_connected();
  void adopt_connection(std::unique_ptr<pqxx::connection> conn);
  void drop_connection();

  const std::string url_;
  const size_t queue_limit_;
  const size_t batch_max_;
  const std::chrono::microseconds batch_wait_;
  reconnect_gate gate_;

  std::atomic<size_t>& queued_;

  mutable std::mutex mtx_;
  std::condition_variable cv_;
  std::deque<append_request> queue_;
  size_t in_flight_ = 0;
  bool stopping_ = false;

  // The lane's thread only.
  head_cache heads_;
  std::unique_ptr<pqxx::connection> conn_;
  int backend_pid_ = 0;
  std::string backend_start_; ///< with the pid, identifies our server session unambiguously

  std::thread thread_; // last: starts after everything above is initialised
};

} // namespace pactum::persistence::detail
