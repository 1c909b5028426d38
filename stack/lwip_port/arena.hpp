// Per-thread memory for one lwIP instance.
//
// lwIP is built with MEM_LIBC_MALLOC and MEMP_MEM_MALLOC, so every PCB, segment,
// timeout and RAM pbuf comes from mem_clib_malloc(), which lands here. Each
// stack thread installs its own arena: allocation is a free-list pop with no
// lock and no syscall; memory is reserved in chunks up to a hard limit, so
// exhaustion shows up as ERR_MEM in lwIP and ENOBUFS at the socket layer.
// Dropping the arena returns every chunk at once (instance teardown).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

namespace gz::stack {

class LwipArena {
 public:
  // Where chunks come from: the heap in unit tests, NUMA-local or hugepage
  // memory in a running stack. alloc returns nullptr on failure.
  struct ChunkSource {
    void* (*alloc)(std::size_t bytes, void* ctx) noexcept;
    void (*release)(void* chunk, std::size_t bytes, void* ctx) noexcept;
    void* ctx;
  };
  struct Usage {
    std::size_t reserved_bytes;  // chunks taken from the source
    std::size_t in_use_bytes;    // blocks handed out (rounded to their class)
    std::uint64_t failures;      // requests refused (limit or too large)
  };

  static constexpr std::size_t kChunkBytes = 256 * 1024;
  static constexpr std::size_t kMaxRequest = 64 * 1024 - 16;

  static ChunkSource heap_source() noexcept;

  // limit_bytes: the most memory this arena reserves from the source.
  explicit LwipArena(std::size_t limit_bytes, ChunkSource source = heap_source()) noexcept;
  ~LwipArena();
  LwipArena(const LwipArena&) = delete;
  LwipArena& operator=(const LwipArena&) = delete;

  // Thread: the owning thread only. Returns nullptr when the request is larger
  // than kMaxRequest or the limit is reached. 16-byte aligned.
  void* alloc(std::size_t bytes) noexcept;
  // p must come from alloc() of this arena (or be nullptr).
  void release(void* p) noexcept;
  Usage usage() const noexcept { return {reserved_, in_use_, failures_}; }

 private:
  static constexpr int kClasses = 11;  // 64 B .. 64 KiB
  struct FreeBlock;
  struct ChunkHeader { ChunkHeader* next; std::size_t bytes; };

  static int class_of(std::size_t total) noexcept;
  bool grow() noexcept;
  std::byte* take(int cls) noexcept;
  void push_free(std::byte* raw, int cls, std::uint32_t offset) noexcept;
  void unlink(FreeBlock* block) noexcept;

  std::array<FreeBlock*, kClasses> free_{};
  ChunkSource source_;
  ChunkHeader* chunks_ = nullptr;
  std::size_t limit_;
  std::size_t reserved_ = 0;
  std::size_t in_use_ = 0;
  std::uint64_t failures_ = 0;
};

// The arena that gz_lwip_malloc() uses on the calling thread (nullptr: none,
// every lwIP allocation fails). Thread: affects the calling thread only.
void set_thread_arena(LwipArena* arena) noexcept;
LwipArena* thread_arena() noexcept;

}  // namespace gz::stack
