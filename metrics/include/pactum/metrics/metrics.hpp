#pragma once

// Process-wide server metrics, exposed by `GET /metrics` in the Prometheus text format.
//
// The facade every layer calls: plain counters, gauges and histograms over relaxed atomics (one
// `fetch_add` per event, no lock, no allocation), registered once under a name and a fixed set of
// label values, and callback gauges read only when scraped (queue depths). No prometheus-cpp type
// appears here: `render()` (metrics.cpp) builds prometheus-cpp's metric families from these and
// lets its text serializer write them.
//
// Lifecycle: the registry is a process-wide singleton created on first use and never destroyed
// (metrics are registered once and live as long as the process, as Prometheus clients expect);
// references returned by `counter_of`, `gauge_of` and `histogram_of` stay valid for the process'
// lifetime. Callback gauges are removed when their `callback_handle` is destroyed.
// Threading: everything here may be called from any thread.

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace pactum::metrics {

using label_set = std::vector<std::pair<std::string, std::string>>;

/// Only goes up. `inc` is one relaxed atomic add.
class counter {
public:
  void inc(uint64_t n = 1) noexcept { v_.fetch_add(n, std::memory_order_relaxed); }
  uint64_t value() const noexcept { return v_.load(std::memory_order_relaxed); }

private:
  std::atomic<uint64_t> v_{0};
};

/// Goes up and down (things open, things alive).
class gauge {
public:
  void add(int64_t n) noexcept { v_.fetch_add(n, std::memory_order_relaxed); }
  void inc() noexcept { add(1); }
  void dec() noexcept { add(-1); }
  void set(int64_t n) noexcept { v_.store(n, std::memory_order_relaxed); }
  int64_t value() const noexcept { return v_.load(std::memory_order_relaxed); }

private:
  std::atomic<int64_t> v_{0};
};

/// Counts observations into fixed buckets. Observations are integers in the histogram's own unit
/// (microseconds, rows); `scale` converts the unit for exposition (1e-6: microseconds are shown
/// as seconds, as Prometheus names them). `observe` is a search over at most a few dozen bounds
/// and three relaxed atomic adds; a scrape may see a bucket a moment ahead of the count, which
/// Prometheus tolerates.
class histogram {
public:
  /// `bounds` ascending: the inclusive upper bounds of the buckets; +Inf is implied.
  histogram(std::vector<uint64_t> bounds, double scale);

  void observe(uint64_t v) noexcept;

  const std::vector<uint64_t>& bounds() const noexcept { return bounds_; }
  double scale() const noexcept { return scale_; }
  /// The non-cumulative count of bucket `i` (`bounds().size()` is +Inf).
  uint64_t bucket(size_t i) const noexcept { return buckets_[i].load(std::memory_order_relaxed); }
  uint64_t count() const noexcept { return count_.load(std::memory_order_relaxed); }
  uint64_t sum() const noexcept { return sum_.load(std::memory_order_relaxed); }

private:
  std::vector<uint64_t> bounds_;
  double scale_;
  std::unique_ptr<std::atomic<uint64_t>[]> buckets_;
  std::atomic<uint64_t> count_{0};
  std::atomic<uint64_t> sum_{0};
};

/// Latency buckets in microseconds: 50 µs .. 10 s.
std::vector<uint64_t> latency_bounds_us();

/// Registers (or finds, when the same name and labels were registered before) a metric. `name`
/// follows Prometheus' rules (counters end in `_total`); one name always has one type and help
/// text (the first registration's; a type mismatch is a bug and throws std::logic_error).
counter& counter_of(const std::string& name, const std::string& help, const label_set& labels = {});
gauge& gauge_of(const std::string& name, const std::string& help, const label_set& labels = {});
histogram& histogram_of(const std::string& name, const std::string& help, const label_set& labels,
                        std::vector<uint64_t> bounds, double scale);

/// Removes its callback gauge when destroyed. Movable, not copyable.
class callback_handle {
public:
  callback_handle() = default;
  explicit callback_handle(uint64_t id) : id_(id) {}
  callback_handle(callback_handle&& o) noexcept : id_(std::exchange(o.id_, 0)) {}
  callback_handle& operator=(callback_handle&& o) noexcept;
  callback_handle(const callback_handle&) = delete;
  callback_handle& operator=(const callback_handle&) = delete;
  ~callback_handle();

private:
  uint64_t id_ = 0;
};

/// A gauge whose value `fn` computes when `/metrics` is scraped (a queue's length). Several
/// callbacks with the same name and labels (e.g. two databases in one test process) are summed.
/// `fn` runs on the scraping thread while the registry is locked: it must be quick, must not
/// block, and must not register metrics.
[[nodiscard]] callback_handle gauge_callback(const std::string& name, const std::string& help,
                                             const label_set& labels, std::function<double()> fn);

/// Every registered metric plus the process' CPU time, resident memory, open files and start
/// time (from /proc/self), in the Prometheus text exposition format 0.0.4.
std::string render();

/// The content type of `render()`'s text.
inline constexpr const char* content_type = "text/plain; version=0.0.4; charset=utf-8";

/// CPU seconds (user + system) and resident bytes of process `pid` (0: this process), read from
/// /proc; false when the process does not exist or /proc cannot be read.
struct process_sample {
  double cpu_seconds = 0;
  uint64_t rss_bytes = 0;
};
bool sample_process(int pid, process_sample& out);

} // namespace pactum::metrics
