#include "flow_directory.hpp"

#include <random>

#include "ring.hpp"

namespace gz::stack {

FlowDirectory::FlowDirectory(std::size_t capacity, std::uint16_t first_port, std::uint16_t last_port)
    : mask_(round_up_pow2(capacity < 64 ? 64 : capacity) - 1),
      first_port_(first_port),
      port_count_(last_port >= first_port ? last_port - first_port + 1u : 1u),
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
  return static_cast<std::uint16_t>(first_port_ + next_port_.fetch_add(1, std::memory_order_relaxed) % port_count_);
}

std::size_t FlowDirectory::slot(std::uint64_t key) const noexcept {
  key ^= key >> 33;
  key *= 0xff51afd7ed558ccdULL;
  key ^= key >> 33;
  return static_cast<std::size_t>(key) & mask_;
}

FlowDirectory::Insert FlowDirectory::insert(std::uint64_t key, int owner) noexcept {
  std::lock_guard lock(write_mu_);
  std::size_t reuse = mask_ + 1;  // the first tombstone on the way: taken once the key is known absent
  for (std::size_t i = slot(key), n = 0; n <= mask_; i = (i + 1) & mask_, ++n) {
    const std::uint64_t cur = keys_[i].load(std::memory_order_relaxed);
    if (cur == key) {
      const int held = owners_[i].load(std::memory_order_relaxed);
      return held == owner ? Insert::kAlreadyMine : Insert::kTaken;
    }
    if (cur == kErased && reuse > mask_) reuse = i;
    if (cur == kEmpty) {
      if (reuse > mask_) reuse = i;
      break;
    }
  }
  if (reuse > mask_) return Insert::kFull;
  // Owner first, then the key: a reader that finds the key finds its owner.
  owners_[reuse].store(owner, std::memory_order_relaxed);
  keys_[reuse].store(key, std::memory_order_release);
  return Insert::kNew;
}

void FlowDirectory::erase(std::uint64_t key, int owner) noexcept {
  std::lock_guard lock(write_mu_);
  for (std::size_t i = slot(key), n = 0; n <= mask_; i = (i + 1) & mask_, ++n) {
    const std::uint64_t cur = keys_[i].load(std::memory_order_relaxed);
    if (cur == kEmpty) return;
    if (cur == key) {
      if (owners_[i].load(std::memory_order_relaxed) != owner) return;
      keys_[i].store(kErased, std::memory_order_release);
      owners_[i].store(-1, std::memory_order_relaxed);
      return;
    }
  }
}

int FlowDirectory::owner(std::uint64_t key) const noexcept {
  for (std::size_t i = slot(key), n = 0; n <= mask_; i = (i + 1) & mask_, ++n) {
    const std::uint64_t cur = keys_[i].load(std::memory_order_acquire);
    if (cur == kEmpty) return -1;
    if (cur == key) {
      const int o = owners_[i].load(std::memory_order_acquire);
      // The slot may have been reused meanwhile: the owner read is the key's only if the key is still there.
      return keys_[i].load(std::memory_order_acquire) == key ? o : -1;
    }
  }
  return -1;
}

}  // namespace gz::stack
