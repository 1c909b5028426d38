// ReadyBits: the fds an epoll set heard of since it last looked, as a
// two-level bitmap (one bit an fd, one summary bit a word of them).
//
// A socket's raise() marks its fd from whatever thread raised it (a stack
// thread, or an application thread in run to completion) with two atomic
// ORs: no lock, no allocation, repeats cost nothing. The set's owner takes
// the marks under its own lock; a take costs the summary words plus what
// was marked, not what is registered. An fd at or above the capacity (the
// fd limit grew, or the bitmap could not be had) marks "overflow": the set
// then relists everything once, which is slower, never wrong.
// Thread: mark() any; take() one at a time (the set's lock).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

namespace gz::stack {

class ReadyBits {
 public:
  // Room for fds [0, capacity) (rounded up to a summary word's worth). The
  // memory is zero pages until marked: what an fd limit of 2^20 reserves
  // costs RSS only where fds are in use. Without memory, every mark overflows.
  explicit ReadyBits(std::size_t capacity) noexcept;
  ~ReadyBits();
  ReadyBits(const ReadyBits&) = delete;
  ReadyBits& operator=(const ReadyBits&) = delete;

  void mark(int fd) noexcept;
  // fn(fd) for every fd marked since the last take, in fd order; returns
  // whether an overflow mark came meanwhile (then the caller relists all).
  // A mark racing with the take is seen by this take or the next one.
  template <class F>
  bool take(F&& fn);
  std::size_t capacity() const noexcept { return words_ * 64; }

 private:
  std::atomic<std::uint64_t>* bits_ = nullptr;     // words_ words: bit fd % 64 of word fd / 64
  std::atomic<std::uint64_t>* summary_ = nullptr;  // bit w % 64 of word w / 64: word w may be non-zero
  std::size_t words_ = 0;
  std::atomic<bool> overflow_{false};
};

template <class F>
bool ReadyBits::take(F&& fn) {
  // Marks made before the owner's wake-up (its eventfd, armed_) are seen.
  std::atomic_thread_fence(std::memory_order_seq_cst);
  const bool overflow = overflow_.load(std::memory_order_relaxed) && overflow_.exchange(false, std::memory_order_acquire);
  for (std::size_t s = 0; s * 64 < words_; ++s) {
    if (summary_[s].load(std::memory_order_relaxed) == 0) continue;
    // Summary first, then the words: a mark that sets a word bit after we
    // cleared it also sets the summary bit after we cleared that.
    std::uint64_t sum = summary_[s].exchange(0, std::memory_order_acquire);
    while (sum != 0) {
      const std::size_t w = s * 64 + static_cast<std::size_t>(__builtin_ctzll(sum));
      sum &= sum - 1;
      std::uint64_t word = bits_[w].exchange(0, std::memory_order_acquire);
      while (word != 0) {
        fn(static_cast<int>(w * 64 + static_cast<std::size_t>(__builtin_ctzll(word))));
        word &= word - 1;
      }
    }
  }
  return overflow;
}

}  // namespace gz::stack
