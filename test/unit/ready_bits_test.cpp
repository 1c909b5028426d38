// ReadyBits (an epoll set's lock-free ready marks): every mark is taken,
// once however often repeated, in fd order; fds beyond the capacity
// overflow; marks from several threads racing with takes are never lost.
#include "gz/ready_bits.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <thread>
#include <vector>

namespace gz::stack {
namespace {

std::vector<int> take_all(ReadyBits& r, bool* overflow = nullptr) {
  std::vector<int> got;
  const bool o = r.take([&](int fd) { got.push_back(fd); });
  if (overflow != nullptr) *overflow = o;
  return got;
}

TEST(ReadyBits, MarksComeBackOnceInFdOrder) {
  ReadyBits r(20000);
  EXPECT_GE(r.capacity(), 20000u);
  EXPECT_TRUE(take_all(r).empty());
  for (int fd : {4097, 3, 63, 64, 3, 19999, 0, 4097}) r.mark(fd);
  bool overflow = true;
  EXPECT_EQ(take_all(r, &overflow), (std::vector<int>{0, 3, 63, 64, 4097, 19999}));
  EXPECT_FALSE(overflow);
  EXPECT_TRUE(take_all(r).empty()) << "a take clears what it returned";
}

TEST(ReadyBits, FdsBeyondTheCapacityOverflowOnce) {
  ReadyBits r(100);
  r.mark(static_cast<int>(r.capacity()));
  r.mark(-1);
  r.mark(5);
  bool overflow = false;
  EXPECT_EQ(take_all(r, &overflow), std::vector<int>{5});
  EXPECT_TRUE(overflow);
  take_all(r, &overflow);
  EXPECT_FALSE(overflow);
}

// Each marker owns a range of fds and marks one at a time, waiting (at most
// a second) until the taker has seen it: a lost mark fails the wait.
TEST(ReadyBitsThreads, MarksRacingWithTakesAreNeverLost) {
  constexpr int kMarkers = 3, kRange = 5000, kMarks = 20000;
  ReadyBits r(kMarkers * kRange);
  auto seen = std::make_unique<std::atomic<bool>[]>(kMarkers * kRange);
  std::atomic<bool> stop{false};
  std::atomic<int> lost{0};
  std::thread taker([&] {
    while (!stop.load()) r.take([&](int fd) { seen[fd].store(true); });
  });
  std::vector<std::thread> markers;
  for (int m = 0; m < kMarkers; ++m) {
    markers.emplace_back([&, m] {
      std::uint32_t x = 2463534242u + static_cast<std::uint32_t>(m);
      for (int i = 0; i < kMarks; ++i) {
        x ^= x << 13, x ^= x >> 17, x ^= x << 5;
        const int fd = m * kRange + static_cast<int>(x % kRange);
        seen[fd].store(false);
        r.mark(fd);
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(1);
        while (!seen[fd].load() && std::chrono::steady_clock::now() < deadline) std::this_thread::yield();
        if (!seen[fd].load()) {
          lost.fetch_add(1);
          return;
        }
      }
    });
  }
  for (auto& t : markers) t.join();
  stop.store(true);
  taker.join();
  EXPECT_EQ(lost.load(), 0);
}

}  // namespace
}  // namespace gz::stack
