#include "pactum/actors/rate_limiter.hpp"

#include <algorithm>
#include <cmath>

namespace pactum::actors {

rate_limiter::rate_limiter(config c) : cfg_(c) {
  cfg_.burst = std::max(cfg_.burst, 1.0);
  cfg_.max_keys = std::max<size_t>(cfg_.max_keys, 1);
}

double rate_limiter::refilled(const bucket& b, millis now) const {
  auto elapsed = static_cast<double>(std::max<millis>(now - b.at, 0)) / 1000.0;
  return std::min(cfg_.burst, b.tokens + elapsed * cfg_.per_second);
}

int64_t rate_limiter::take(const uuid& key, millis now) {
  if (cfg_.per_second <= 0)
    return 0;
  std::lock_guard<std::mutex> guard{mtx_};
  auto i = buckets_.find(key);
  if (i == buckets_.end()) {
    if (buckets_.size() >= cfg_.max_keys) {
      for (auto j = buckets_.begin(); j != buckets_.end();)
        j = refilled(j->second, now) >= cfg_.burst ? buckets_.erase(j) : std::next(j);
      if (buckets_.size() >= cfg_.max_keys)
        return 0; // fail open, see the header
    }
    i = buckets_.emplace(key, bucket{cfg_.burst, now}).first;
  }
  auto& b = i->second;
  b.tokens = refilled(b, now);
  b.at = std::max(b.at, now);
  if (b.tokens >= 1.0) {
    b.tokens -= 1.0;
    return 0;
  }
  auto wait_s = (1.0 - b.tokens) / cfg_.per_second;
  return std::max<int64_t>(1, static_cast<int64_t>(std::ceil(wait_s * 1000.0)));
}

size_t rate_limiter::size() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return buckets_.size();
}

} // namespace pactum::actors
