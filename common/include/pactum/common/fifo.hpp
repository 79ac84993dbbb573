#pragma once

// A first-in-first-out queue for per-connection state that must cost nothing while idle
// (docs/benchmarks.md, "Idle sessions"). libstdc++'s std::deque allocates a 512-byte block and its
// map as soon as it is constructed, empty or not: about 570 bytes for each of the two queues every
// WebSocket session holds (the gateway's outbound frames, the session actor's request
// deadlines). This one is a vector with a moving head: nothing is allocated until the first push,
// the storage is reused once drained, and the consumed prefix is compacted away once it is more
// than half of the storage, so a queue that never drains does not grow without bound. Amortised
// O(1) push and pop; indexing from the front as std::deque does.

#include <cstddef>
#include <utility>
#include <vector>

namespace pactum {

template <class T>
class fifo {
public:
  bool empty() const noexcept { return head_ == items_.size(); }
  std::size_t size() const noexcept { return items_.size() - head_; }
  /// Elements the storage holds without allocating (consumed ones included until compacted).
  std::size_t capacity() const noexcept { return items_.capacity(); }

  T& front() { return items_[head_]; }
  const T& front() const { return items_[head_]; }
  T& operator[](std::size_t i) { return items_[head_ + i]; }
  const T& operator[](std::size_t i) const { return items_[head_ + i]; }

  auto begin() noexcept { return items_.begin() + static_cast<std::ptrdiff_t>(head_); }
  auto end() noexcept { return items_.end(); }
  auto begin() const noexcept { return items_.begin() + static_cast<std::ptrdiff_t>(head_); }
  auto end() const noexcept { return items_.end(); }

  void push_back(T value) { items_.push_back(std::move(value)); }
  template <class... Args>
  T& emplace_back(Args&&... args) {
    return items_.emplace_back(std::forward<Args>(args)...);
  }

  void pop_front() {
    items_[head_] = T{}; // release what the element holds now, not at the next compaction
    if (++head_ == items_.size()) {
      clear();
    } else if (head_ >= compact_from && head_ * 2 >= items_.size()) {
      items_.erase(items_.begin(), items_.begin() + static_cast<std::ptrdiff_t>(head_));
      head_ = 0;
    }
  }

  /// Empties the queue; keeps the storage for the next burst.
  void clear() noexcept {
    items_.clear();
    head_ = 0;
  }

  /// Empties the queue and gives its storage back (an idle connection's queue).
  void release() noexcept {
    std::vector<T>{}.swap(items_);
    head_ = 0;
  }

private:
  static constexpr std::size_t compact_from = 32;
  std::vector<T> items_;
  std::size_t head_ = 0;
};

} // namespace pactum
