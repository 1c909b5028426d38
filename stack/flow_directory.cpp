#include "flow_directory.hpp"

#include <random>

#include "ring.hpp"

namespace gz::stack {

FlowDirectory::FlowDirectory(std::size_t capacity)
    : mask_(round_up_pow2(capacity < 64 ? 64 : capacity) - 1),
      keys_(new std::atomic<std::uint64_t>[mask_ + 1]),
      owners_(new std::atomic<std::int32_t>[mask_ + 1]) {
  std::random_device rd;
  next_port_.store(rd(), std::memory_order_relaxed);
  for (std::size_t i = 0; i <= mask_; ++i) {
    keys_[i].store(kEmpty, std::memory_order_relaxed);
    owners_[i].store(-1, std::memory_order_relaxed);
  }
}

std::uint16_t FlowDirectory::next_ephemeral() noexcept {
  constexpr std::uint32_t kFirst = 49152, kCount = 65536 - kFirst;
  return static_cast<std::uint16_t>(kFirst + next_port_.fetch_add(1, std::memory_order_relaxed) % kCount);
}

std::size_t FlowDirectory::slot(std::uint64_t key) const noexcept {
  key ^= key >> 33;
  key *= 0xff51afd7ed558ccdULL;
  key ^= key >> 33;
  return static_cast<std::size_t>(key) & mask_;
}

bool FlowDirectory::insert(std::uint64_t key, int owner) noexcept {
  for (std::size_t i = slot(key), n = 0; n <= mask_; i = (i + 1) & mask_, ++n) {
    std::uint64_t cur = keys_[i].load(std::memory_order_acquire);
    if (cur == key) {
      int held = -1;
      if (owners_[i].compare_exchange_strong(held, owner, std::memory_order_acq_rel)) return true;
      return held == owner;
    }
    if (cur != kEmpty && cur != kErased) continue;
    // Claim the slot, then name the owner: a reader in between sees -1 and
    // handles the packet itself, which is what happens without a directory.
    if (keys_[i].compare_exchange_strong(cur, key, std::memory_order_acq_rel)) {
      int held = -1;  // a racing insert of the same key may have named its owner first
      return owners_[i].compare_exchange_strong(held, owner, std::memory_order_acq_rel) || held == owner;
    }
  }
  return false;
}

void FlowDirectory::erase(std::uint64_t key) noexcept {
  for (std::size_t i = slot(key), n = 0; n <= mask_; i = (i + 1) & mask_, ++n) {
    const std::uint64_t cur = keys_[i].load(std::memory_order_acquire);
    if (cur == kEmpty) return;
    if (cur == key) {
      owners_[i].store(-1, std::memory_order_release);
      keys_[i].store(kErased, std::memory_order_release);
      return;
    }
  }
}

int FlowDirectory::owner(std::uint64_t key) const noexcept {
  for (std::size_t i = slot(key), n = 0; n <= mask_; i = (i + 1) & mask_, ++n) {
    const std::uint64_t cur = keys_[i].load(std::memory_order_acquire);
    if (cur == kEmpty) return -1;
    if (cur == key) return owners_[i].load(std::memory_order_acquire);
  }
  return -1;
}

}  // namespace gz::stack
