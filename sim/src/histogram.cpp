#include "pactum/sim/histogram.hpp"

#include <algorithm>
#include <bit>
#include <cmath>

namespace pactum::sim {

namespace {
constexpr uint64_t half = uint64_t{1} << (log_histogram::sub_bits - 1);
// Values up to 2^63: exponent e in 0..(64 - sub_bits), each with `half` buckets above the first 2*half.
constexpr size_t bucket_count = (64 - log_histogram::sub_bits + 2) * half;
} // namespace

log_histogram::log_histogram() : counts_(bucket_count, 0) {}

// Below 2^sub_bits a value is its own bucket. Above, with e = bit_width(v) - sub_bits, the top
// sub_bits bits of v (v >> e, in [half, 2 half)) pick one of `half` buckets of width 2^e.
size_t log_histogram::index_of(uint64_t v) noexcept {
  auto width = static_cast<int>(std::bit_width(v));
  if (width <= sub_bits)
    return static_cast<size_t>(v);
  auto e = static_cast<unsigned>(width - sub_bits);
  return static_cast<size_t>(e * half + (v >> e));
}

uint64_t log_histogram::highest_of(size_t index) noexcept {
  if (index < 2 * half)
    return index;
  auto e = index / half - 1;          // index in [(e + 1) half, (e + 2) half)
  auto top = index - e * half;        // v >> e
  return ((top + 1) << e) - 1;
}

void log_histogram::record(int64_t value) {
  auto v = static_cast<uint64_t>(std::max<int64_t>(value, 0));
  ++counts_[index_of(v)];
  auto sv = static_cast<int64_t>(v);
  if (count_ == 0 || sv < min_)
    min_ = sv;
  max_ = std::max(max_, sv);
  sum_ += static_cast<long double>(v);
  ++count_;
}

void log_histogram::merge(const log_histogram& other) {
  if (other.count_ == 0)
    return;
  for (size_t i = 0; i < counts_.size(); ++i)
    counts_[i] += other.counts_[i];
  min_ = count_ == 0 ? other.min_ : std::min(min_, other.min_);
  max_ = std::max(max_, other.max_);
  sum_ += other.sum_;
  count_ += other.count_;
}

double log_histogram::mean() const noexcept {
  return count_ ? static_cast<double>(sum_ / static_cast<long double>(count_)) : 0.0;
}

int64_t log_histogram::percentile(double p) const {
  if (count_ == 0)
    return 0;
  auto rank = static_cast<int64_t>(std::ceil(std::clamp(p, 0.0, 100.0) / 100.0 * static_cast<double>(count_)));
  rank = std::clamp<int64_t>(rank, 1, count_);
  int64_t seen = 0;
  for (size_t i = 0; i < counts_.size(); ++i) {
    seen += counts_[i];
    if (seen >= rank)
      return std::min(static_cast<int64_t>(highest_of(i)), max_);
  }
  return max_;
}

nlohmann::json log_histogram::summary_ms() const {
  auto ms = [](int64_t ns) { return static_cast<double>(ns) / 1e6; };
  return nlohmann::json{{"count", count_},
                        {"p50_ms", ms(percentile(50))},
                        {"p90_ms", ms(percentile(90))},
                        {"p99_ms", ms(percentile(99))},
                        {"p99_9_ms", ms(percentile(99.9))},
                        {"max_ms", ms(max())},
                        {"mean_ms", mean() / 1e6}};
}

} // namespace pactum::sim
