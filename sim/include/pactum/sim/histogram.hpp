#pragma once

// A small HDR-style histogram for latencies: log-linear buckets (each power of two split into 128
// linear sub-buckets), so any recorded value is reported within 0.8 % of itself, in constant memory
// (about 60 KiB) whatever the number of samples. Not thread-safe: each thread records into its
// own and they are merged afterwards.

#include <cstdint>
#include <vector>

#include <nlohmann/json.hpp>

namespace pactum::sim {

class log_histogram {
public:
  log_histogram();

  /// Records one value (negative values count as 0).
  void record(int64_t value);
  /// Adds all of `other`'s samples.
  void merge(const log_histogram& other);

  int64_t count() const noexcept { return count_; }
  int64_t min() const noexcept { return count_ ? min_ : 0; }
  int64_t max() const noexcept { return max_; }
  double mean() const noexcept;
  /// The value at percentile `p` (0..100): the highest value of the bucket holding the sample of
  /// that rank (never above the exact maximum); 0 when empty.
  int64_t percentile(double p) const;

  /// `{"count", "p50_ms", "p90_ms", "p99_ms", "p99_9_ms", "max_ms", "mean_ms"}`, values recorded
  /// in nanoseconds reported in milliseconds.
  nlohmann::json summary_ms() const;

  static constexpr int sub_bits = 8;

private:
  static size_t index_of(uint64_t v) noexcept;
  static uint64_t highest_of(size_t index) noexcept;

  std::vector<int64_t> counts_;
  int64_t count_ = 0;
  int64_t min_ = 0;
  int64_t max_ = 0;
  long double sum_ = 0;
};

} // namespace pactum::sim
