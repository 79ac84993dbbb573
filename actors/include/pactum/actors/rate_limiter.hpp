#pragma once

// A per-key token bucket: `per_second` tokens flow in continuously up to `burst`; each action takes
// one. Thread-safe (one mutex; the work under it is a hash lookup and a little arithmetic). Time
// is passed in, so it is deterministic to test.
//
// Memory is bounded: at most `max_keys` buckets. When full, buckets that have refilled completely
// (equivalent to no bucket at all) are dropped; if every bucket is still in use, a new key is
// let through without a bucket (fail open) rather than evicting someone's debt: reaching that
// state takes `max_keys` distinct users all sending at once.

#include <cstddef>
#include <cstdint>
#include <mutex>
#include <unordered_map>

#include "pactum/common/time.hpp"
#include "pactum/common/uuid.hpp"

namespace pactum::actors {

class rate_limiter {
public:
  struct config {
    double per_second = 10; ///< 0 disables the limiter (every take succeeds)
    double burst = 30;
    size_t max_keys = 100'000;
  };

  explicit rate_limiter(config c);

  /// Takes a token for `key` at time `now`. Returns 0 when allowed, otherwise how many
  /// milliseconds until a token will be available (nothing is taken then).
  int64_t take(const uuid& key, millis now);

  size_t size() const;

private:
  struct bucket {
    double tokens = 0;
    millis at = 0; ///< when `tokens` was computed
  };

  double refilled(const bucket& b, millis now) const;

  config cfg_;
  mutable std::mutex mtx_;
  std::unordered_map<uuid, bucket> buckets_;
};

} // namespace pactum::actors
