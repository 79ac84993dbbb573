// pactum::fifo (common/include/pactum/common/fifo.hpp): the per-connection queue that allocates
// nothing while idle. Order and indexing as a std::deque; storage bounded however the pushes and
// pops interleave; elements released as soon as they are popped.

#include <deque>
#include <memory>
#include <random>

#include <gtest/gtest.h>

#include "pactum/common/fifo.hpp"

namespace pactum {
namespace {

TEST(Fifo, AnEmptyQueueHoldsNoStorage) {
  fifo<std::string> q;
  EXPECT_TRUE(q.empty());
  EXPECT_EQ(q.capacity(), 0u) << "a std::deque would hold about 570 bytes here";
  q.push_back("a");
  q.pop_front();
  EXPECT_TRUE(q.empty());
  q.release();
  EXPECT_EQ(q.capacity(), 0u);
}

TEST(Fifo, BehavesAsADequeUnderRandomPushesAndPops) {
  fifo<int> q;
  std::deque<int> ref;
  std::mt19937 rng{42};
  int next = 0;
  size_t most = 0;
  for (int step = 0; step < 200'000; ++step) {
    // A producer slightly faster than the consumer for a while, then slower: the queue never
    // drains in the first half.
    const bool push = step < 100'000 ? rng() % 100 < 52 : rng() % 100 < 45;
    if (push || ref.empty()) {
      q.push_back(next);
      ref.push_back(next++);
    } else {
      ASSERT_EQ(q.front(), ref.front());
      q.pop_front();
      ref.pop_front();
    }
    ASSERT_EQ(q.size(), ref.size());
    if (!ref.empty()) {
      ASSERT_EQ(q[ref.size() - 1], ref.back());
      ASSERT_EQ(q[ref.size() / 2], ref[ref.size() / 2]);
    }
    most = std::max(most, ref.size());
    // The consumed prefix is compacted: storage stays within a small factor of the live size.
    ASSERT_LE(q.capacity(), 4 * std::max<size_t>(most, 32) + 64);
  }
}

TEST(Fifo, APoppedElementIsReleasedAtOnce) {
  fifo<std::shared_ptr<int>> q;
  auto shared = std::make_shared<int>(7);
  q.push_back(shared);
  q.push_back(std::make_shared<int>(8));
  EXPECT_EQ(shared.use_count(), 2);
  q.pop_front();
  EXPECT_EQ(shared.use_count(), 1) << "the queue no longer holds the frame it sent";
  EXPECT_EQ(*q.front(), 8);
}

} // namespace
} // namespace pactum
