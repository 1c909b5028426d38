#include "arena.hpp"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <new>

#include "arch/cc.h"
#include "gz/thread_state.hpp"

namespace gz::stack {
namespace {

// Each block starts with this header: its class and its offset in the chunk,
// so a release finds the block's buddy without a lookup. 16 bytes keep the
// payload 16-byte aligned.
struct alignas(16) BlockHeader {
  std::uint32_t offset;
  std::uint32_t cls;
  std::uint32_t magic;
};
constexpr std::uint32_t kUsed = 0x6c774152;   // "lwAR"
constexpr std::uint32_t kFree = 0x6c774652;   // "lwFR"
constexpr std::uint32_t kFixed = 0x6c774348;  // "lwCH": the chunk's own header
constexpr std::size_t kHeader = sizeof(BlockHeader);
constexpr std::size_t kMinBlock = 64;
// A chunk starts with a fixed 64-byte block: its BlockHeader, then the
// ChunkHeader. Blocks are buddies by offset from the chunk's start.
constexpr std::size_t kChunkMeta = 16;

void* heap_alloc(std::size_t bytes, void*) noexcept { return std::aligned_alloc(64, bytes); }
void heap_release(void* chunk, std::size_t, void*) noexcept { std::free(chunk); }

constexpr std::size_t block_bytes(int cls) noexcept { return kMinBlock << cls; }

}  // namespace

struct LwipArena::FreeBlock {
  BlockHeader header;
  FreeBlock* prev;
  FreeBlock* next;
};

LwipArena::ChunkSource LwipArena::heap_source() noexcept { return {heap_alloc, heap_release, nullptr}; }

LwipArena::LwipArena(std::size_t limit_bytes, ChunkSource source) noexcept
    : source_(source), limit_(limit_bytes) {}

LwipArena::~LwipArena() {
  while (chunks_ != nullptr) {
    ChunkHeader* next = chunks_->next;
    source_.release(reinterpret_cast<std::byte*>(chunks_) - kChunkMeta, chunks_->bytes, source_.ctx);
    chunks_ = next;
  }
}

int LwipArena::class_of(std::size_t total) noexcept {
  int cls = 0;
  for (std::size_t size = kMinBlock; size < total; size <<= 1) ++cls;
  return cls;
}

void LwipArena::push_free(std::byte* raw, int cls, std::uint32_t offset) noexcept {
  static_assert(sizeof(FreeBlock) <= kMinBlock);
  auto* block = new (raw) FreeBlock{{offset, static_cast<std::uint32_t>(cls), kFree}, nullptr, free_[cls]};
  if (free_[cls] != nullptr) free_[cls]->prev = block;
  free_[cls] = block;
}

void LwipArena::unlink(FreeBlock* block) noexcept {
  if (block->prev != nullptr) {
    block->prev->next = block->next;
  } else {
    free_[block->header.cls] = block->next;
  }
  if (block->next != nullptr) block->next->prev = block->prev;
  block->header.magic = 0;
}

// Reserves one more chunk (the last may be partial) and cuts it into the
// largest aligned buddies that fit.
bool LwipArena::grow() noexcept {
  const std::size_t bytes = std::min(kChunkBytes, limit_ - reserved_) & ~(kMinBlock - 1);
  if (bytes < 2 * kMinBlock) return false;
  void* mem = source_.alloc(bytes, source_.ctx);
  if (mem == nullptr) return false;
  auto* base = static_cast<std::byte*>(mem);
  new (base) BlockHeader{0, 0, kFixed};
  chunks_ = new (base + kChunkMeta) ChunkHeader{chunks_, bytes};
  reserved_ += bytes;
  for (std::size_t off = kMinBlock; off + kMinBlock <= bytes;) {
    int cls = 0;
    while (cls + 1 < kClasses && off % block_bytes(cls + 1) == 0 && off + block_bytes(cls + 1) <= bytes) ++cls;
    push_free(base + off, cls, static_cast<std::uint32_t>(off));
    off += block_bytes(cls);
  }
  return true;
}

std::byte* LwipArena::take(int cls) noexcept {
  int from = cls;
  while (from < kClasses && free_[from] == nullptr) ++from;
  if (from == kClasses) return nullptr;
  FreeBlock* block = free_[from];
  unlink(block);
  auto* raw = reinterpret_cast<std::byte*>(block);
  const std::uint32_t off = block->header.offset;
  while (from > cls) {  // keep the lower half, free the upper
    --from;
    const std::size_t half = block_bytes(from);
    push_free(raw + half, from, static_cast<std::uint32_t>(off + half));
  }
  return raw;
}

void* LwipArena::alloc(std::size_t bytes) noexcept {
  if (bytes > kMaxRequest) {
    ++failures_;
    return nullptr;
  }
  const int cls = class_of(bytes + kHeader);
  std::byte* raw = take(cls);
  if (raw == nullptr && grow()) raw = take(cls);  // a partial last chunk may not hold it
  if (raw == nullptr) {
    ++failures_;
    return nullptr;
  }
  const std::uint32_t off = reinterpret_cast<BlockHeader*>(raw)->offset;
  auto* header = new (raw) BlockHeader{off, static_cast<std::uint32_t>(cls), kUsed};
  in_use_ += block_bytes(cls);
  return header + 1;
}

void LwipArena::release(void* p) noexcept {
  if (p == nullptr) return;
  auto* header = static_cast<BlockHeader*>(p) - 1;
  if (header->magic != kUsed || header->cls >= kClasses) {
    gz_lwip_assert("lwip arena: release of a foreign or corrupt block", __FILE__, __LINE__);
    return;
  }
  int cls = static_cast<int>(header->cls);
  in_use_ -= block_bytes(cls);
  // Merged with its buddy while that one is free too, up the classes: the
  // memory of any size is whole again the moment it is free (a buddy's
  // header is one look away, so this costs one check where it is in use).
  std::uint32_t off = header->offset;
  std::byte* base = reinterpret_cast<std::byte*>(header) - off;
  const std::size_t chunk_bytes = reinterpret_cast<ChunkHeader*>(base + kChunkMeta)->bytes;
  for (; cls + 1 < kClasses; ++cls) {
    const std::size_t size = block_bytes(cls);
    const std::size_t buddy_off = off ^ size;
    auto* buddy = reinterpret_cast<FreeBlock*>(base + buddy_off);
    if (buddy_off + size > chunk_bytes || buddy->header.magic != kFree ||
        buddy->header.cls != static_cast<std::uint32_t>(cls)) {
      break;
    }
    unlink(buddy);
    off = static_cast<std::uint32_t>(std::min<std::size_t>(off, buddy_off));
  }
  header->magic = 0;  // stale once merged into a lower buddy
  push_free(base + off, cls, off);
}

void set_thread_arena(LwipArena* arena) noexcept { gz::this_thread_state().arena = arena; }
LwipArena* thread_arena() noexcept { return gz::this_thread_state().arena; }

}  // namespace gz::stack

extern "C" void* gz_lwip_malloc(size_t size) {
  gz::stack::LwipArena* arena = gz::this_thread_state().arena;
  return arena != nullptr ? arena->alloc(size) : nullptr;
}

extern "C" void* gz_lwip_calloc(size_t count, size_t size) {
  if (size != 0 && count > gz::stack::LwipArena::kMaxRequest / size) return nullptr;
  void* p = gz_lwip_malloc(count * size);
  if (p != nullptr) std::memset(p, 0, count * size);
  return p;
}

extern "C" void gz_lwip_free(void* mem) {
  if (gz::stack::LwipArena* arena = gz::this_thread_state().arena) arena->release(mem);
}
