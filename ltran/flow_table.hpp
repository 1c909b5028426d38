// FlowTable: which registered process (and which of its queues) holds each
// TCP connection ltran dispatches. Keyed by the 4-tuple as seen from the
// process: its address and port, the peer's address and port.
// Thread: the dispatch thread only (no locks). Open addressing with linear
// probing and backward-shift deletion (no tombstones, so a long-lived table
// never degrades); sized once, never allocates afterwards.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace gz::ltran {

struct FlowKey {
  std::uint32_t local_ip = 0, remote_ip = 0;  // network order
  std::uint16_t local_port = 0, remote_port = 0;  // host order
  bool operator==(const FlowKey&) const = default;
};

// Three words to 32 well mixed bits (a 4-tuple: a SYN's listener and queue).
inline std::uint32_t mix3(std::uint32_t a, std::uint32_t b, std::uint32_t c) noexcept {
  std::uint64_t h = (static_cast<std::uint64_t>(a) << 32 | b) ^ (static_cast<std::uint64_t>(c) * 0x9e3779b97f4a7c15ULL);
  h ^= h >> 29;
  h *= 0xbf58476d1ce4e5b9ULL;
  return static_cast<std::uint32_t>(h ^ (h >> 32));
}

// Flow::closing: what ended (or ends) the connection, as ltran saw it pass.
inline constexpr std::uint8_t kPeerFin = 1, kOwnFin = 2, kReset = 4;
inline constexpr bool flow_over(std::uint8_t closing) noexcept {
  return (closing & kReset) != 0 || (closing & (kPeerFin | kOwnFin)) == (kPeerFin | kOwnFin);
}

struct Flow {
  FlowKey key;
  std::uint16_t instance = 0;  // slot of the registered process
  std::uint16_t queue = 0;     // its stack (memif queue pair)
  std::uint8_t closing = 0;    // kPeerFin | kOwnFin | kReset seen (flow_aged, flow_over)
  std::uint8_t used = 0;
  std::uint8_t peer_mac[6] = {};  // from its first SYN: where a probe goes once its process is gone
  std::uint64_t last_seen = 0;  // TSC
};
static_assert(sizeof(Flow) == 32, "a million flows: 32 MiB");

// Whether tcp_conn_scan_interval's scan drops f, quiet since last_seen (TSC):
// a connection over, or a UDP port learned from sends, after over_after; a
// half-closed one after half_closed_after (its peer may wait long for the
// answer); an open one never (its process's going ends it).
inline bool flow_aged(const Flow& f, std::uint64_t now, std::uint64_t over_after, std::uint64_t half_closed_after) noexcept {
  const bool udp = f.key.remote_ip == 0 && f.key.remote_port == 0;
  const std::uint64_t idle = now - f.last_seen;
  if (udp || flow_over(f.closing)) return idle > over_after;
  return f.closing != 0 && idle > half_closed_after;
}

class FlowTable {
 public:
  // capacity: rounded up to a power of two; inserts fail at 3/4 full.
  explicit FlowTable(std::size_t capacity);
  Flow* find(const FlowKey& k) noexcept;
  // The flow of k, made if absent; nullptr when the table is full.
  Flow* insert(const FlowKey& k, std::uint16_t instance, std::uint16_t queue) noexcept;
  void erase(const FlowKey& k) noexcept;
  // f: from find() or insert(), since which nothing was inserted or erased.
  void erase(const Flow* f) noexcept { erase_at(static_cast<std::size_t>(f - slots_.data())); }
  // Erases every flow for which drop(flow) is true; returns how many.
  template <class Pred>
  std::size_t erase_if(Pred drop) noexcept {
    std::size_t n = 0;
    for (std::size_t i = 0; i < slots_.size();) {
      if (slots_[i].used != 0 && drop(slots_[i])) {
        erase_at(i);  // shifts a later entry into i: look at i again
        ++n;
        continue;
      }
      ++i;
    }
    return n;
  }
  template <class Fn>
  void for_each(Fn fn) const {
    for (const Flow& f : slots_) {
      if (f.used != 0) fn(f);
    }
  }
  std::size_t size() const noexcept { return size_; }

 private:
  std::size_t home(const FlowKey& k) const noexcept;
  void erase_at(std::size_t i) noexcept;
  std::vector<Flow> slots_;
  std::size_t mask_ = 0;
  std::size_t size_ = 0;
};

}  // namespace gz::ltran
