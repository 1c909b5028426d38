#include "gz/ready_bits.hpp"

#include <sys/mman.h>

#include <cstdlib>

namespace gz::stack {

namespace {
// One anonymous mapping: zero pages until an fd in them is marked, whatever
// the allocator's mmap threshold has grown to (calloc of a freed size can
// come from the heap, cleared page by page).
void* zero_pages(std::size_t bytes) noexcept {
  void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  return p == MAP_FAILED ? nullptr : p;
}
}  // namespace

ReadyBits::ReadyBits(std::size_t capacity) noexcept {
  const std::size_t summaries = (capacity + 64 * 64 - 1) / (64 * 64);
  // bits_ then summary_ in one mapping; std::atomic<uint64_t> of all zero bits is 0.
  void* m = zero_pages((summaries * 64 + summaries) * sizeof(std::uint64_t));
  if (m == nullptr) return;  // every mark overflows: slower, still right
  bits_ = static_cast<std::atomic<std::uint64_t>*>(m);
  summary_ = bits_ + summaries * 64;
  words_ = summaries * 64;
}

ReadyBits::~ReadyBits() {
  if (bits_ != nullptr) munmap(bits_, (words_ + words_ / 64) * sizeof(std::uint64_t));
}

void ReadyBits::mark(int fd) noexcept {
  const auto f = static_cast<std::size_t>(fd);
  if (fd < 0 || f >= capacity()) {
    overflow_.store(true, std::memory_order_release);
    return;
  }
  const std::size_t w = f / 64;
  const std::uint64_t bit = std::uint64_t{1} << (f % 64);
  // Always a read-modify-write, even when the bit looks set: a plain load
  // might still see a bit the owner just took, and the mark would be lost.
  // Word before summary (release): an owner that sees the summary bit sees
  // the word's, and the raise's readiness bits set before it.
  bits_[w].fetch_or(bit, std::memory_order_release);
  summary_[w / 64].fetch_or(std::uint64_t{1} << (w % 64), std::memory_order_release);
}

}  // namespace gz::stack
