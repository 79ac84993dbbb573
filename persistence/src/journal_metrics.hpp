#pragma once

// The journal writer's metrics (docs/operations.md, "Metrics"), registered once per process and
// shared by every lane: relaxed atomics, so a lane's thread pays a few atomic adds per batch.

#include <chrono>

#include "pactum/metrics/metrics.hpp"

namespace pactum::persistence::detail {

struct journal_metrics {
  metrics::histogram& batch_size;      ///< appends per batch
  metrics::histogram& commit_seconds;  ///< the COMMIT (WAL flush) of one batch
  metrics::histogram& batch_seconds;   ///< one batch from its first statement to its answers
  metrics::counter& appends;           ///< appends answered (committed or refused)

  static journal_metrics& get();
};

/// Microseconds since `start`, for the histograms.
inline uint64_t micros_since(std::chrono::steady_clock::time_point start) {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(
                                 std::chrono::steady_clock::now() - start)
                                 .count());
}

} // namespace pactum::persistence::detail
