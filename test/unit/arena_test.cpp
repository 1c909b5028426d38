// LwipArena: the per-thread allocator behind lwIP's mem_malloc.
#include "arena.hpp"
#include "arch/cc.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <set>
#include <vector>

namespace gz::stack {
namespace {

TEST(LwipArena, BlocksAreAlignedDistinctAndWritable) {
  LwipArena arena(4 << 20);
  std::set<void*> seen;
  std::vector<void*> blocks;
  for (std::size_t size : {1u, 48u, 64u, 100u, 1500u, 1536u, 4000u, 9000u, 65000u}) {
    void* p = arena.alloc(size);
    ASSERT_NE(p, nullptr) << size;
    EXPECT_EQ(reinterpret_cast<std::uintptr_t>(p) % 16, 0u) << size;
    std::memset(p, 0xab, size);
    EXPECT_TRUE(seen.insert(p).second);
    blocks.push_back(p);
  }
  for (void* p : blocks) arena.release(p);
  EXPECT_EQ(arena.usage().in_use_bytes, 0u);
}

TEST(LwipArena, FreedBlockIsReusedForTheSameClass) {
  LwipArena arena(1 << 20);
  void* a = arena.alloc(200);
  arena.release(a);
  EXPECT_EQ(arena.alloc(180), a);
  EXPECT_EQ(arena.usage().reserved_bytes, LwipArena::kChunkBytes);
}

TEST(LwipArena, RefusesOversizedRequests) {
  LwipArena arena(1 << 20);
  EXPECT_EQ(arena.alloc(LwipArena::kMaxRequest + 1), nullptr);
  EXPECT_NE(arena.alloc(LwipArena::kMaxRequest), nullptr);
  EXPECT_EQ(arena.usage().failures, 1u);
}

TEST(LwipArena, StopsAtItsLimitAndRecoversAfterRelease) {
  const std::size_t limit = 3 * LwipArena::kChunkBytes / 2;
  LwipArena arena(limit);
  std::vector<void*> blocks;
  for (int i = 0; i < 10000; ++i) {  // bounded: the limit is hit long before
    void* p = arena.alloc(1000);
    if (p == nullptr) break;
    blocks.push_back(p);
  }
  EXPECT_GT(blocks.size(), 100u);
  EXPECT_LT(blocks.size(), 10000u);
  EXPECT_LE(arena.usage().reserved_bytes, limit);
  EXPECT_EQ(arena.usage().failures, 1u);
  arena.release(blocks.back());
  EXPECT_NE(arena.alloc(1000), nullptr);
  for (std::size_t i = 0; i + 1 < blocks.size(); ++i) arena.release(blocks[i]);
}

// Fills the arena with blocks of one size, frees them, and counts how many
// blocks of another size it then holds: memory must not stay with the size
// that used it first.
std::size_t fill_then_count(LwipArena& arena, std::size_t first, std::size_t second) {
  std::vector<void*> blocks;
  for (int i = 0; i < 100000; ++i) {  // bounded: the limit is hit long before
    void* p = arena.alloc(first);
    if (p == nullptr) break;
    blocks.push_back(p);
  }
  EXPECT_GT(blocks.size(), 4u);
  for (void* p : blocks) arena.release(p);
  blocks.clear();
  for (int i = 0; i < 100000; ++i) {
    void* p = arena.alloc(second);
    if (p == nullptr) break;
    blocks.push_back(p);
  }
  const std::size_t n = blocks.size();
  for (void* p : blocks) arena.release(p);
  return n;
}

TEST(LwipArena, MemoryFreedByOneSizeServesAnother) {
  const std::size_t limit = 2 * LwipArena::kChunkBytes;
  LwipArena arena(limit);
  // 15 blocks of 16 KiB fit a chunk beside its header (the first 16 KiB holds
  // the header and smaller buddies).
  EXPECT_EQ(fill_then_count(arena, 100, 9000), 30u);
  EXPECT_EQ(fill_then_count(arena, 9000, 100), 2 * (LwipArena::kChunkBytes / 128 - 1));
  EXPECT_EQ(fill_then_count(arena, 40, 60000), 6u);  // 3 of 64 KiB per chunk
  EXPECT_EQ(arena.usage().in_use_bytes, 0u);
  EXPECT_EQ(arena.usage().reserved_bytes, limit);
}

TEST(LwipArena, MixedSizesNeverOverlapAndAllMemoryComesBack) {
  LwipArena arena(3 * LwipArena::kChunkBytes / 2);  // a partial last chunk too
  struct Held { unsigned char* p; std::size_t size; unsigned char tag; };
  std::vector<Held> held;
  std::uint32_t seed = 12345;
  auto next = [&seed] { return seed = seed * 1103515245u + 12345u, seed >> 8; };
  for (int round = 0; round < 20000; ++round) {
    if (!held.empty() && next() % 3 == 0) {
      const std::size_t i = next() % held.size();
      for (std::size_t k = 0; k < held[i].size; ++k) ASSERT_EQ(held[i].p[k], held[i].tag) << round;
      arena.release(held[i].p);
      held[i] = held.back();
      held.pop_back();
      continue;
    }
    const bool large = next() % 4 == 0;  // (two statements: the calls' order is fixed)
    const std::size_t size = 1 + next() % (large ? 20000 : 700);
    auto* p = static_cast<unsigned char*>(arena.alloc(size));
    if (p == nullptr) continue;
    const auto tag = static_cast<unsigned char>(round);
    std::memset(p, tag, size);
    held.push_back({p, size, tag});
  }
  EXPECT_GT(arena.usage().failures, 0u);  // the limit was reached and survived
  for (const Held& h : held) {
    for (std::size_t k = 0; k < h.size; ++k) ASSERT_EQ(h.p[k], h.tag);
    arena.release(h.p);
  }
  EXPECT_EQ(arena.usage().in_use_bytes, 0u);
  EXPECT_EQ(fill_then_count(arena, 50, 60000), 4u);  // 3 in the whole chunk, 1 in the half
}

TEST(LwipArena, ThreadArenaRoutesLwipHooks) {
  LwipArena arena(1 << 20);
  set_thread_arena(nullptr);
  EXPECT_EQ(gz_lwip_malloc(10), nullptr);
  set_thread_arena(&arena);
  void* p = gz_lwip_calloc(10, 10);
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(static_cast<unsigned char*>(p)[99], 0);
  EXPECT_GT(arena.usage().in_use_bytes, 0u);
  gz_lwip_free(p);
  EXPECT_EQ(arena.usage().in_use_bytes, 0u);
  EXPECT_EQ(gz_lwip_calloc(SIZE_MAX / 2, 4), nullptr);  // overflow refused
  set_thread_arena(nullptr);
}

}  // namespace
}  // namespace gz::stack
