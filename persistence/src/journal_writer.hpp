#pragma once

// The group-commit journal writer: folds appends queued by many entity actors into one
// transaction, so the cost of a COMMIT (a WAL flush) is shared by a whole batch.

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <pqxx/pqxx>

#include "connection.hpp"
#include "pactum/persistence/database.hpp"

namespace pactum::persistence::detail {

/// Lifecycle: the constructor starts the writer thread; `stop()` (or the destructor) stops taking
/// appends, commits everything already queued, then joins.
/// Threading: `submit` and `pending` may be called from any thread; the connection and all
/// database work belong to the writer thread alone. Callbacks run on the writer thread, outside
/// any lock, except refusals (queue full, stopped, malformed request), which run synchronously on
/// the caller's thread.
/// Ordering: one FIFO queue and one thread, so appends to one entity commit in queue order.
class journal_writer {
public:
  explicit journal_writer(const config& cfg);
  ~journal_writer();

  journal_writer(const journal_writer&) = delete;
  journal_writer& operator=(const journal_writer&) = delete;

  void submit(append_request req);

  void stop();

  /// Returns the appends queued plus those in the batch being written.
  size_t pending() const;

private:
  using outcome = std::optional<result<int64_t>>;

  void run();

  /// Writes `batch` and answers every request in it.
  void process(std::vector<append_request>& batch);

  /// Commits the requests `batch[idx...]` in one transaction and records their outcomes. With
  /// `may_split`, a unique violation (another process appended concurrently) retries each
  /// request in a transaction of its own so only the real losers get `conflict`.
  void commit_group(std::vector<append_request>& batch, const std::vector<size_t>& idx,
                    std::vector<outcome>& out, bool may_split);

  /// Applies the timer changes of the accepted requests inside the batch transaction.
  void write_timers(pqxx::work& tx, const std::vector<append_request>& batch,
                    const std::vector<size_t>& accepted, const std::vector<std::string>& keys);

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

  mutable std::mutex mtx_;
  std::condition_variable cv_;
  std::deque<append_request> queue_;
  size_t in_flight_ = 0;
  bool stopping_ = false;

  // Writer thread only.
  std::unique_ptr<pqxx::connection> conn_;
  int backend_pid_ = 0;
  std::string backend_start_; ///< with the pid, identifies our server session unambiguously

  std::thread thread_; // last: starts after everything above is initialised
};

} // namespace pactum::persistence::detail
