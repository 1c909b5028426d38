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
