// FlowDirectory: which stack holds each TCP connection.
#include "flow_directory.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

namespace gz::stack {
namespace {

TEST(FlowDirectory, InsertFindErase) {
  FlowDirectory d(128);
  const auto a = FlowDirectory::key(7, 0x0200a8c0, 40000);
  const auto b = FlowDirectory::key(7, 0x0200a8c0, 40001);
  EXPECT_EQ(d.owner(a), -1);
  EXPECT_EQ(d.insert(a, 1), FlowDirectory::Insert::kNew);
  EXPECT_EQ(d.insert(b, 0), FlowDirectory::Insert::kNew);
  EXPECT_EQ(d.owner(a), 1);
  EXPECT_EQ(d.owner(b), 0);
  d.erase(a, 1);
  EXPECT_EQ(d.owner(a), -1);
  EXPECT_EQ(d.owner(b), 0) << "erasing one flow keeps the others reachable past its tombstone";
  EXPECT_EQ(d.insert(a, 2), FlowDirectory::Insert::kNew);
  EXPECT_EQ(d.owner(a), 2);
}

TEST(FlowDirectory, NeverTakesAnotherStacksFlow) {
  FlowDirectory d(128);
  const auto k = FlowDirectory::key(50000, 0x0200a8c0, 80);
  EXPECT_EQ(d.insert(k, 0), FlowDirectory::Insert::kNew);
  EXPECT_EQ(d.insert(k, 1), FlowDirectory::Insert::kTaken) << "stack 1 must not take the 4-tuple stack 0 holds";
  EXPECT_EQ(d.owner(k), 0);
  EXPECT_EQ(d.insert(k, 0), FlowDirectory::Insert::kAlreadyMine);
  d.erase(k, 1);
  EXPECT_EQ(d.owner(k), 0) << "only the owner's erase removes it";
  d.erase(k, 0);
  EXPECT_EQ(d.insert(k, 1), FlowDirectory::Insert::kNew) << "free once its owner dropped it";
  EXPECT_EQ(d.owner(k), 1);
}

TEST(FlowDirectory, UdpPortsAndEphemeralPorts) {
  FlowDirectory d(256);
  EXPECT_EQ(d.insert(FlowDirectory::udp_key(5000), 1), FlowDirectory::Insert::kNew);
  EXPECT_EQ(d.insert(FlowDirectory::udp_key(5000), 0), FlowDirectory::Insert::kTaken);
  EXPECT_EQ(d.owner(FlowDirectory::udp_key(5000)), 1);
  // One sequence for all stacks: consecutive choices differ and stay in 49152..65535.
  std::uint16_t prev = d.next_ephemeral();
  for (int i = 0; i < 40000; ++i) {
    const std::uint16_t p = d.next_ephemeral();
    ASSERT_GE(p, 49152);
    ASSERT_NE(p, prev);
    prev = p;
  }
}

TEST(FlowDirectory, ConcurrentInsertsOfOneKeyHaveOneWinner) {
  for (int round = 0; round < 200; ++round) {
    FlowDirectory d(64);
    const auto k = FlowDirectory::key(49999, 7, 7);
    std::atomic<int> winners{0};
    std::vector<std::thread> stacks;
    for (int s = 0; s < 4; ++s) {
      stacks.emplace_back([&, s] { winners += d.insert(k, s) == FlowDirectory::Insert::kNew; });
    }
    for (auto& t : stacks) t.join();
    ASSERT_EQ(winners.load(), 1) << "round " << round;
  }
}

TEST(FlowDirectory, AKeyBehindATombstoneIsNotEnteredTwice) {
  FlowDirectory d(64);
  // Three keys in one probe chain would need a collision; instead fill, erase
  // an early one and insert a later one again: it must be found, not duplicated.
  std::uint64_t keys[40];
  for (int i = 0; i < 40; ++i) {
    keys[i] = FlowDirectory::key(static_cast<std::uint16_t>(1000 + i), 5, 5);
    ASSERT_EQ(d.insert(keys[i], 0), FlowDirectory::Insert::kNew);
  }
  for (int i = 0; i < 40; i += 2) d.erase(keys[i], 0);
  for (int i = 1; i < 40; i += 2) EXPECT_EQ(d.insert(keys[i], 1), FlowDirectory::Insert::kTaken) << i;
  for (int i = 1; i < 40; i += 2) d.erase(keys[i], 0);
  for (int i = 0; i < 40; ++i) EXPECT_EQ(d.owner(keys[i]), -1) << i;
}

TEST(FlowDirectory, FullTableRefusesInsteadOfLooping) {
  FlowDirectory d(64);
  int inserted = 0;
  for (std::uint16_t port = 1; port <= 100; ++port) {
    inserted += d.insert(FlowDirectory::key(port, 1, 2), 0) == FlowDirectory::Insert::kNew;
  }
  EXPECT_EQ(inserted, 64);
  EXPECT_EQ(d.owner(FlowDirectory::key(200, 1, 2)), -1);
}

TEST(FlowDirectory, ConcurrentStacksKeepTheirOwnFlows) {
  FlowDirectory d(1 << 14);
  std::atomic<int> wrong{0};
  std::vector<std::thread> stacks;
  for (int s = 0; s < 4; ++s) {
    stacks.emplace_back([&, s] {
      for (int round = 0; round < 20; ++round) {
        for (std::uint16_t p = 1; p <= 1000; ++p) d.insert(FlowDirectory::key(p, static_cast<std::uint32_t>(s + 1), 9), s);
        for (std::uint16_t p = 1; p <= 1000; ++p) wrong += d.owner(FlowDirectory::key(p, static_cast<std::uint32_t>(s + 1), 9)) != s;
        for (std::uint16_t p = 1; p <= 1000; ++p) d.erase(FlowDirectory::key(p, static_cast<std::uint32_t>(s + 1), 9), s);
      }
    });
  }
  for (auto& t : stacks) t.join();
  EXPECT_EQ(wrong.load(), 0);
}

}  // namespace
}  // namespace gz::stack
