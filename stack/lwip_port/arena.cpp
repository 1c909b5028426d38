#include "arena.hpp"

#include <cstdlib>
#include <cstring>
#include <new>

#include "arch/cc.h"
#include "gz/thread_state.hpp"

namespace gz::stack {
namespace {

// Each block starts with this header so release() finds its class without a
// lookup; 16 bytes keep the payload 16-byte aligned.
struct alignas(16) BlockHeader {
  std::uint32_t cls;
  std::uint32_t magic;
};
constexpr std::uint32_t kMagic = 0x6c774152;  // "lwAR"
constexpr std::size_t kHeader = sizeof(BlockHeader);

void* heap_alloc(std::size_t bytes, void*) noexcept { return std::aligned_alloc(64, bytes); }
void heap_release(void* chunk, std::size_t, void*) noexcept { std::free(chunk); }

}  // namespace

LwipArena::ChunkSource LwipArena::heap_source() noexcept { return {heap_alloc, heap_release, nullptr}; }

LwipArena::LwipArena(std::size_t limit_bytes, ChunkSource source) noexcept
    : source_(source), limit_(limit_bytes) {}

LwipArena::~LwipArena() {
  while (chunks_ != nullptr) {
    ChunkHeader* next = chunks_->next;
    source_.release(chunks_, chunks_->bytes, source_.ctx);
    chunks_ = next;
  }
}

int LwipArena::class_of(std::size_t total) noexcept {
  int cls = 0;
  for (std::size_t size = 64; size < total; size <<= 1) ++cls;
  return cls;
}

bool LwipArena::grow(std::size_t need) noexcept {
  std::size_t bytes = kChunkBytes;
  if (reserved_ + bytes > limit_) bytes = limit_ - reserved_;  // last, partial chunk
  if (bytes < need + sizeof(ChunkHeader) + kHeader) return false;
  void* mem = source_.alloc(bytes, source_.ctx);
  if (mem == nullptr) return false;
  auto* chunk = new (mem) ChunkHeader{chunks_, bytes};
  chunks_ = chunk;
  reserved_ += bytes;
  // The tail of the previous chunk is abandoned: at most one block size.
  bump_ = static_cast<std::byte*>(mem) + ((sizeof(ChunkHeader) + 15) & ~std::size_t{15});
  bump_end_ = static_cast<std::byte*>(mem) + bytes;
  return true;
}

void* LwipArena::alloc(std::size_t bytes) noexcept {
  if (bytes > kMaxRequest) {
    ++failures_;
    return nullptr;
  }
  const int cls = class_of(bytes + kHeader);
  const std::size_t block = std::size_t{64} << cls;
  std::byte* raw = reinterpret_cast<std::byte*>(free_[cls]);
  if (raw != nullptr) {
    free_[cls] = free_[cls]->next;
  } else {
    if (bump_ == nullptr || static_cast<std::size_t>(bump_end_ - bump_) < block) {
      if (!grow(block)) {
        ++failures_;
        return nullptr;
      }
    }
    raw = bump_;
    bump_ += block;
  }
  auto* header = new (raw) BlockHeader{static_cast<std::uint32_t>(cls), kMagic};
  in_use_ += block;
  return header + 1;
}

void LwipArena::release(void* p) noexcept {
  if (p == nullptr) return;
  auto* header = static_cast<BlockHeader*>(p) - 1;
  if (header->magic != kMagic || header->cls >= kClasses) {
    gz_lwip_assert("lwip arena: release of a foreign or corrupt block", __FILE__, __LINE__);
    return;
  }
  const int cls = static_cast<int>(header->cls);
  header->magic = 0;
  in_use_ -= std::size_t{64} << cls;
  auto* block = reinterpret_cast<FreeBlock*>(header);
  block->next = free_[cls];
  free_[cls] = block;
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
