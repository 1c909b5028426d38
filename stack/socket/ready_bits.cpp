#include "gz/ready_bits.hpp"

#include <cstdlib>

namespace gz::stack {

ReadyBits::ReadyBits(std::size_t capacity) noexcept {
  const std::size_t summaries = (capacity + 64 * 64 - 1) / (64 * 64);
  // calloc: large blocks come from mmap as zero pages, touched only when an
  // fd in them is marked. std::atomic<uint64_t> of all zero bits is 0.
  auto* bits = static_cast<std::atomic<std::uint64_t>*>(std::calloc(summaries * 64, sizeof(std::uint64_t)));
  auto* summary = static_cast<std::atomic<std::uint64_t>*>(std::calloc(summaries, sizeof(std::uint64_t)));
  if (bits == nullptr || summary == nullptr) {
    std::free(bits);
    std::free(summary);
    return;
  }
  bits_ = bits;
  summary_ = summary;
  words_ = summaries * 64;
}

ReadyBits::~ReadyBits() {
  std::free(bits_);
  std::free(summary_);
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
