// Connections a closed listener had queued (wire::TcpHandoff), and the
// moment between an nginx reload's old workers closing their listeners and
// the new workers' first listen: behind ltran each worker has a listener of
// its own, where on Linux they share one and nothing is lost.
#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_ether.h>
#include <rte_mbuf.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "dispatcher.hpp"
#include "memif_guard.hpp"

namespace gz::ltran {

// Only the sender's own flow moves, only to a process of the same uid
// listening on the same address and port (the port's users trust each other),
// by the hash a SYN of the flow would go by; hops bound the passes of a frame
// whose receiver closed its listener too. No listener yet: parked.
int Dispatcher::handoff_request(int fd, const char* body, std::uint32_t len) noexcept {
  Instance* from = find_fd(fd);
  if (from == nullptr || len < sizeof(wire::TcpHandoff)) return -EINVAL;
  rte_mbuf* m = rte_pktmbuf_alloc(opts_.pool);
  char* at = m != nullptr && sizeof(rte_ether_hdr) + len <= rte_pktmbuf_tailroom(m)
                 ? rte_pktmbuf_append(m, static_cast<std::uint16_t>(sizeof(rte_ether_hdr) + len))
                 : nullptr;
  if (at == nullptr) {
    if (m != nullptr) rte_pktmbuf_free(m);
    return -ENOMEM;
  }
  auto* eth = reinterpret_cast<rte_ether_hdr*>(at);
  std::memcpy(eth->src_addr.addr_bytes, opts_.mac.data(), RTE_ETHER_ADDR_LEN);
  std::memcpy(eth->dst_addr.addr_bytes, opts_.mac.data(), RTE_ETHER_ADDR_LEN);
  eth->ether_type = rte_cpu_to_be_16(wire::kHandoffEtherType);
  std::memcpy(at + sizeof(rte_ether_hdr), body, len);
  return handoff(*from, m) ? 0 : -EINVAL;
}

bool Dispatcher::handoff(Instance& from, rte_mbuf* m) noexcept {
  constexpr std::uint32_t l2 = sizeof(rte_ether_hdr);
  constexpr std::uint8_t kMaxHops = 4;
  wire::TcpHandoff h{};
  Flow* f = nullptr;
  FlowKey key;
  if (m->data_len >= l2 + sizeof h) {
    std::memcpy(&h, rte_pktmbuf_mtod_offset(m, const void*, l2), sizeof h);
    const bool sane = h.magic == wire::kHandoffMagic && h.version == static_cast<std::uint8_t>(wire::kWireVersion) &&
                      h.hops < kMaxHops && h.local_ip == from.addr && l2 + sizeof h + h.data_len <= m->pkt_len;
    key = FlowKey{h.local_ip, h.remote_ip, h.local_port, h.remote_port};
    if (sane) f = flows_.find(key);
  }
  if (f == nullptr || f->instance != from.slot) {
    ++totals_.tcp_handoffs_dropped;
    rte_pktmbuf_free(m);
    return false;
  }
  rte_pktmbuf_mtod_offset(m, wire::TcpHandoff*, l2)->hops = static_cast<std::uint8_t>(h.hops + 1);
  const std::uint32_t hash = mix3(h.remote_ip, h.local_ip, static_cast<std::uint32_t>(h.local_port) << 16 | h.remote_port);
  Instance* to = listener(IPPROTO_TCP, h.local_ip, h.local_port, hash, from.slot);
  confirm(kAnySlot, key);  // passed on again: whoever had it no longer does
  if (to != nullptr && to->uid == from.uid && try_deliver(*to, key, hash, from.uid, m)) return true;
  f->instance = kParkedSlot;  // its segments are dropped meanwhile (the peer sends them again)
  f->last_seen = rte_rdtsc();
  park(m, key, hash, from.uid);
  return true;
}

// Straight to the process's queue, not through the pending burst: a queue
// that takes nothing now (its ring has no buffers yet: a process just
// started) keeps the connection parked, to be tried again.
bool Dispatcher::try_deliver(Instance& to, const FlowKey& key, std::uint32_t hash, std::uint32_t uid,
                             rte_mbuf* m) noexcept {
  PollPass pass;  // also from a control request, outside the loop's pass (memif_guard.hpp)
  const auto queue = static_cast<std::uint16_t>(hash % to.queues);
  const std::uint32_t bytes = m->pkt_len;
  rte_mbuf* copy = rte_pktmbuf_copy(m, opts_.pool, 0, UINT32_MAX);
  if (copy == nullptr) return false;
  if (rte_eth_tx_burst(to.port, queue, &m, 1) != 1) {
    rte_pktmbuf_free(copy);
    return false;
  }
  unconfirmed_.push_back(Unconfirmed{Parked{copy, key, hash, uid, rte_rdtsc() + kUnconfirmedSeconds * hz_}, to.slot});
  Flow* f = flows_.find(key);
  if (f == nullptr) f = flows_.insert(key, to.slot, queue);  // aged out meanwhile
  if (f != nullptr) {
    f->instance = to.slot;
    f->queue = queue;
    f->last_seen = rte_rdtsc();
  }
  ++totals_.tcp_handoffs;
  ++to.counters.rx_packets;
  to.counters.rx_bytes += bytes;
  return true;
}

void Dispatcher::confirm(std::uint16_t slot, const FlowKey& key) noexcept {
  std::erase_if(unconfirmed_, [&](const Unconfirmed& u) {
    const bool done = (slot == kAnySlot || u.slot == slot) && u.copy.key == key;
    if (done) rte_pktmbuf_free(u.copy.m);
    return done;
  });
}

void Dispatcher::repark(std::uint16_t slot) noexcept {
  std::erase_if(unconfirmed_, [&](Unconfirmed& u) {
    if (u.slot != slot) return false;
    Flow* f = flows_.find(u.copy.key);
    if (f == nullptr) f = flows_.insert(u.copy.key, kParkedSlot, 0);
    if (f != nullptr) f->instance = kParkedSlot;
    park(u.copy.m, u.copy.key, u.copy.hash, u.copy.uid);
    return true;
  });
}

void Dispatcher::park(rte_mbuf* m, const FlowKey& key, std::uint32_t hash, std::uint32_t uid) noexcept {
  if (parked_.size() >= kMaxParked) {
    ++totals_.tcp_handoffs_dropped;
    rte_pktmbuf_free(m);
    return;
  }
  parked_.push_back(Parked{m, key, hash, uid, rte_rdtsc() + kReloadGraceSeconds * hz_});
}

// A process's memif came up: SYNs and parked connections may go to it.
void Dispatcher::check_links() noexcept {
  for (Instance& inst : slots_) {
    if (!inst.live || inst.up) continue;
    rte_eth_link link{};
    if (rte_eth_link_get_nowait(inst.port, &link) != 0 || link.link_status != RTE_ETH_LINK_UP) continue;
    inst.up = true;
    --connecting_;
  }
}

void Dispatcher::note_released(std::uint32_t addr, std::uint16_t port) noexcept {
  const bool listened = std::any_of(claims_.begin(), claims_.end(), [&](const Claim& c) {
    return c.proto == IPPROTO_TCP && c.addr == addr && c.port == port && slots_[c.slot].up;
  });
  if (listened) return;
  std::erase_if(released_, [&](const Released& r) { return r.addr == addr && r.port == port; });
  released_.push_back(Released{addr, port, rte_rdtsc() + kReloadGraceSeconds * hz_});
}

// No process up listens on the port: one that claimed it is still connecting
// its memif (a new nginx worker), or the last one left moments ago.
bool Dispatcher::held(std::uint32_t addr, std::uint16_t port) const noexcept {
  const std::uint64_t now = rte_rdtsc();
  const auto mine = [&](const auto& c) { return c.addr == addr && c.port == port; };
  return std::any_of(claims_.begin(), claims_.end(), [&](const Claim& c) { return mine(c) && c.proto == IPPROTO_TCP; }) ||
         std::any_of(released_.begin(), released_.end(), [&](const Released& r) { return mine(r) && now < r.until; });
}

// Parked connections go to a listener of the port up now (a process of the
// sender's uid); those nobody took in time go as on a closed port (the flow
// goes, and the peer's next segment is answered with a reset).
void Dispatcher::tend_held(std::uint64_t now) noexcept {
  std::erase_if(released_, [&](const Released& r) { return now >= r.until; });
  std::erase_if(unconfirmed_, [&](const Unconfirmed& u) {  // long taken, surely
    if (now >= u.copy.until) rte_pktmbuf_free(u.copy.m);
    return now >= u.copy.until;
  });
  std::erase_if(parked_, [&](const Parked& p) {
    Instance* to = listener(IPPROTO_TCP, p.key.local_ip, p.key.local_port, p.hash);
    if (to != nullptr && to->uid == p.uid && try_deliver(*to, p.key, p.hash, p.uid, p.m)) return true;
    if (now < p.until) return false;
    if (Flow* f = flows_.find(p.key); f != nullptr && f->instance == kParkedSlot) flows_.erase(p.key);
    ++totals_.tcp_handoffs_dropped;
    rte_pktmbuf_free(p.m);
    return true;
  });
}

}  // namespace gz::ltran
