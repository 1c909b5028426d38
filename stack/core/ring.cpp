#include "ring.hpp"

#include <algorithm>
#include <cstring>

namespace gz::stack {

std::size_t ByteRing::write(const void* src, std::size_t n) noexcept {
  const std::size_t head = head_.load(std::memory_order_relaxed);
  n = std::min(n, free_space());
  if (n == 0) return 0;  // also: memcpy must not see a null source
  const std::size_t at = head & mask_;
  const std::size_t first = std::min(n, capacity() - at);
  std::memcpy(buf_.get() + at, src, first);
  std::memcpy(buf_.get(), static_cast<const std::byte*>(src) + first, n - first);
  head_.store(head + n, std::memory_order_release);
  return n;
}

std::pair<const std::byte*, std::size_t> ByteRing::peek() const noexcept {
  const std::size_t tail = tail_.load(std::memory_order_relaxed);
  const std::size_t avail = head_.load(std::memory_order_acquire) - tail;
  const std::size_t at = tail & mask_;
  return {buf_.get() + at, std::min(avail, capacity() - at)};
}

}  // namespace gz::stack
