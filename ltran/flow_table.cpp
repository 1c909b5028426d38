#include "flow_table.hpp"

namespace gz::ltran {

FlowTable::FlowTable(std::size_t capacity) {
  std::size_t n = 64;
  while (n < capacity) n <<= 1;
  slots_.resize(n);
  mask_ = n - 1;
}

std::size_t FlowTable::home(const FlowKey& k) const noexcept {
  std::uint64_t h = (static_cast<std::uint64_t>(k.local_ip) << 32 | k.remote_ip) ^
                    (static_cast<std::uint64_t>(k.local_port) << 16 | k.remote_port) * 0x9e3779b97f4a7c15ULL;
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdULL;
  h ^= h >> 33;
  return static_cast<std::size_t>(h) & mask_;
}

Flow* FlowTable::find(const FlowKey& k) noexcept {
  for (std::size_t i = home(k);; i = (i + 1) & mask_) {
    Flow& f = slots_[i];
    if (f.used == 0) return nullptr;
    if (f.key == k) return &f;
  }
}

Flow* FlowTable::insert(const FlowKey& k, std::uint16_t instance, std::uint16_t queue) noexcept {
  std::size_t i = home(k);
  for (;; i = (i + 1) & mask_) {
    Flow& f = slots_[i];
    if (f.used == 0) break;
    if (f.key == k) return &f;
  }
  if (size_ + 1 > slots_.size() / 4 * 3) return nullptr;
  slots_[i] = Flow{k, instance, queue, 0, 1, {}, 0};
  ++size_;
  return &slots_[i];
}

void FlowTable::erase(const FlowKey& k) noexcept {
  for (std::size_t i = home(k);; i = (i + 1) & mask_) {
    if (slots_[i].used == 0) return;
    if (slots_[i].key == k) return erase_at(i);
  }
}

// Backward-shift deletion: later entries of the same probe run move up, so a
// lookup never stops early at the hole (Knuth, TAOCP 6.4, algorithm R).
void FlowTable::erase_at(std::size_t i) noexcept {
  slots_[i].used = 0;
  --size_;
  for (std::size_t j = (i + 1) & mask_; slots_[j].used != 0; j = (j + 1) & mask_) {
    const std::size_t h = home(slots_[j].key);
    // Move j into the hole i unless its home lies cyclically in (i, j].
    const bool stays = i <= j ? (i < h && h <= j) : (i < h || h <= j);
    if (stays) continue;
    slots_[i] = slots_[j];
    slots_[j].used = 0;
    i = j;
  }
}

}  // namespace gz::ltran
