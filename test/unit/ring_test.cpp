// The lock-free queues between application threads and stack threads.
#include "ring.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <thread>
#include <vector>

namespace gz::stack {
namespace {

TEST(SpscRing, FifoAndFull) {
  SpscRing<int> r(3);  // rounded up to 4
  EXPECT_EQ(r.capacity(), 4u);
  for (int i = 0; i < 4; ++i) EXPECT_TRUE(r.push(i));
  EXPECT_FALSE(r.push(99));
  int v = -1;
  ASSERT_NE(r.front(), nullptr);
  EXPECT_EQ(*r.front(), 0);
  for (int i = 0; i < 4; ++i) {
    ASSERT_TRUE(r.pop(v));
    EXPECT_EQ(v, i);
  }
  EXPECT_FALSE(r.pop(v));
  EXPECT_TRUE(r.empty());
}

TEST(SpscRing, TwoThreadsMoveAMillionInOrder) {
  SpscRing<std::uint32_t> r(256);
  constexpr std::uint32_t kN = 1'000'000;
  std::thread producer([&] {
    for (std::uint32_t i = 0; i < kN;) i += r.push(i) ? 1 : 0;
  });
  std::uint32_t expect = 0, v;
  bool in_order = true;
  while (expect < kN) {
    if (r.pop(v)) in_order &= v == expect++;
  }
  producer.join();
  EXPECT_TRUE(in_order);
}

TEST(GrowingSpscQueue, GrowsByDoublingUpToItsBoundInOrder) {
  GrowingSpscQueue<int> q(2, 8);  // segments of 2, 4, 8 slots: 14 in all
  int pushed = 0;
  while (q.push(pushed)) ++pushed;
  EXPECT_EQ(pushed, 14);
  int v = -1;
  for (int i = 0; i < pushed; ++i) {
    ASSERT_TRUE(q.pop(v));
    EXPECT_EQ(v, i);
  }
  EXPECT_FALSE(q.pop(v));
  // Drained, it keeps its last (largest) segment only: 8 fit again.
  for (int i = 0; i < 8; ++i) EXPECT_TRUE(q.push(i));
  EXPECT_FALSE(q.push(8));
}

// Under the thread sanitizer too (suite 'isolation'): the segment hand-over.
TEST(GrowingSpscQueueThreads, TwoThreadsMoveAMillionInOrder) {
  constexpr std::uint32_t kN = 1'000'000;
  for (int round = 0; round < 4; ++round) {  // a fresh queue grows while both run
    GrowingSpscQueue<std::uint32_t> q(2, 512);
    std::thread producer([&] {
      for (std::uint32_t i = 0; i < kN / 4;) i += q.push(i) ? 1 : 0;
    });
    std::uint32_t expect = 0, v;
    bool in_order = true;
    while (expect < kN / 4) {
      if (q.pop(v)) in_order &= v == expect++;
    }
    producer.join();
    EXPECT_TRUE(in_order);
  }
}

TEST(ByteRing, WrapsAroundAndKeepsBytes) {
  ByteRing r(16);
  std::vector<std::uint8_t> out;
  std::uint8_t next = 0;
  for (int round = 0; round < 50; ++round) {
    std::uint8_t chunk[7];
    for (auto& b : chunk) b = next++;
    ASSERT_EQ(r.write(chunk, sizeof chunk), sizeof chunk);
    while (r.readable() > 3) {  // consume in odd pieces across the wrap
      auto [ptr, n] = r.peek();
      const std::size_t take = std::min<std::size_t>(n, 5);
      out.insert(out.end(), reinterpret_cast<const std::uint8_t*>(ptr), reinterpret_cast<const std::uint8_t*>(ptr) + take);
      r.consume(take);
    }
  }
  for (std::size_t i = 0; i < out.size(); ++i) ASSERT_EQ(out[i], static_cast<std::uint8_t>(i)) << i;
  EXPECT_EQ(r.write(nullptr, 0), 0u);
}

TEST(ByteRing, WriteStopsWhenFull) {
  ByteRing r(8);
  const char data[20] = "0123456789abcdefghi";
  EXPECT_EQ(r.write(data, 20), 8u);
  EXPECT_EQ(r.free_space(), 0u);
  EXPECT_EQ(r.write(data, 1), 0u);
}

struct Node {
  std::atomic<Node*> next_link{nullptr};
  int producer = 0;
  int seq = 0;
};

TEST(MpscQueue, ManyProducersOneConsumerLoseNothing) {
  MpscQueue<Node> q;
  constexpr int kProducers = 4, kEach = 50'000;
  std::vector<std::unique_ptr<Node[]>> nodes;
  for (int p = 0; p < kProducers; ++p) nodes.emplace_back(new Node[kEach]);
  std::vector<std::thread> threads;
  for (int p = 0; p < kProducers; ++p) {
    threads.emplace_back([&, p] {
      for (int i = 0; i < kEach; ++i) {
        nodes[p][i].producer = p;
        nodes[p][i].seq = i;
        q.push(&nodes[p][i]);
      }
    });
  }
  std::vector<int> last(kProducers, -1);
  int got = 0;
  bool per_producer_order = true;
  while (got < kProducers * kEach) {
    if (Node* n = q.pop()) {
      per_producer_order &= n->seq == last[n->producer] + 1;
      last[n->producer] = n->seq;
      ++got;
    }
  }
  for (auto& t : threads) t.join();
  EXPECT_TRUE(per_producer_order);
  EXPECT_EQ(q.pop(), nullptr);
}

}  // namespace
}  // namespace gz::stack
