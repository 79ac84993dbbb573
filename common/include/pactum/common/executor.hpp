#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "pactum/metrics/metrics.hpp"

namespace pactum {

/// A fixed set of threads draining one bounded FIFO of jobs. Used for everything that blocks or
/// burns CPU (database calls, password hashing) so that neither CAF scheduler threads nor Asio I/O
/// threads ever block.
///
/// Lifecycle: threads start in the constructor; `stop()` (or the destructor) lets the queue drain,
/// then joins. Thread-safe: `post` may be called from any thread.
class executor {
public:
  using job = std::function<void()>;

  executor(std::string name, size_t threads, size_t queue_limit);
  ~executor();

  executor(const executor&) = delete;
  executor& operator=(const executor&) = delete;

  /// Enqueues `fn`. Returns false, without running it, when the queue holds `queue_limit` jobs
  /// already or the executor is stopping: the caller answers `overloaded`.
  bool post(job fn);

  /// Stops taking new jobs, runs those queued, joins the threads. Idempotent.
  void stop();

  size_t queued() const;
  size_t threads() const noexcept { return threads_.size(); }

private:
  void run();

  std::string name_;
  size_t limit_;
  mutable std::mutex mtx_;
  std::condition_variable cv_;
  std::deque<job> queue_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
  /// `pactum_executor_queue_depth{executor=name}`; destroyed first, before what it reads.
  metrics::callback_handle depth_metric_;
};

} // namespace pactum
