#include "dispatcher.hpp"

#include <rte_arp.h>
#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_tcp.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

namespace gz::ltran {
namespace {

constexpr std::uint16_t kEphemeralFirst = 49152;  // RFC 6335 section 6: 49152..65535, split among the slots

std::uint16_t be16(const std::uint8_t* p) noexcept { return static_cast<std::uint16_t>(p[0] << 8 | p[1]); }

int length_bucket(std::uint32_t len) noexcept {
  int i = 0;
  while (len > wire::kLtranLengths[i]) ++i;  // the last bound is UINT32_MAX
  return i;
}

}  // namespace

Dispatcher::Dispatcher(Options opts) : opts_(std::move(opts)), flows_(1u << 20) {
  slots_.resize(opts_.max_clients);
  memifs_.resize(opts_.max_clients);
  for (std::size_t i = 0; i < slots_.size(); ++i) slots_[i].slot = static_cast<std::uint16_t>(i);
  hz_ = rte_get_tsc_hz();
  scan_tsc_ = opts_.scan_interval_s * hz_;  // 0: tcp_conn_scan_interval = 0, never
  started_ = last_scan_ = rte_rdtsc();
  totals_.pid = static_cast<std::uint32_t>(getpid());
}

Dispatcher::~Dispatcher() {
  for (const Parked& p : parked_) rte_pktmbuf_free(p.m);
  for (const Unconfirmed& u : unconfirmed_) rte_pktmbuf_free(u.copy.m);
  for (Instance& inst : slots_) {
    if (inst.live) detach_memif(memifs_[inst.slot], inst);
  }
  for (MemifPort& m : memifs_) forget_memif(m);
  if (wire_out_count_ != 0) rte_pktmbuf_free_bulk(wire_out_.data(), wire_out_count_);
}

std::size_t Dispatcher::poll() noexcept {
  const std::size_t n = from_wire() + from_instances() + from_kernel();
  const std::uint64_t now = rte_rdtsc();
  if (scan_tsc_ != 0 && now - last_scan_ >= scan_tsc_) age_flows(now);
  if (!parked_.empty() || !released_.empty() || !unconfirmed_.empty()) tend_held(now);
  if (!to_probe_.empty()) probe_orphans();
  if (!orphans_.empty() && now >= orphans_.front().until) expire_orphans(now);
  if (connecting_ != 0) check_links();
  // 802.3ad without dedicated queues: LACPDUs leave only inside a tx burst of
  // the bond's, which must come at least every 100 ms even with nothing to send.
  if (opts_.bond_mode == 4 && now - last_lacp_tx_ >= hz_ / 50) {
    rte_eth_tx_burst(opts_.wire_port, 0, nullptr, 0);
    last_lacp_tx_ = now;
  }
  return n;
}

std::size_t Dispatcher::from_wire() noexcept {
  rte_mbuf* burst[kBurst];
  const std::uint16_t n = rte_eth_rx_burst(opts_.wire_port, 0, burst, kBurst);
  if (n == 0) return 0;
  const std::uint64_t t0 = rte_rdtsc();
  ++totals_.rx_bursts[n];
  for (std::uint16_t i = 0; i < n; ++i) {
    ++totals_.rx_packets;
    totals_.rx_bytes += burst[i]->pkt_len;
    ++totals_.rx_lengths[length_bucket(burst[i]->pkt_len)];
    dispatch(burst[i]);
  }
  flush_pending();
  totals_.latency_in[wire::latency_bucket(ns_since(t0))] += n;
  flush_kernel();
  flush_wire();  // ARP replies
  return n;
}

std::size_t Dispatcher::from_kernel() noexcept {
  if (opts_.kni_port == kNoPort) return 0;
  rte_mbuf* burst[kBurst];
  const std::uint16_t n = rte_eth_rx_burst(opts_.kni_port, 0, burst, kBurst);
  for (std::uint16_t i = 0; i < n; ++i) to_wire(burst[i]);
  flush_wire();
  return n;
}

void Dispatcher::flush_kernel() noexcept {
  if (kni_out_count_ == 0) return;
  const std::uint16_t sent = rte_eth_tx_burst(opts_.kni_port, 0, kni_out_.data(), kni_out_count_);
  totals_.rx_to_kernel += sent;
  if (sent < kni_out_count_) {  // the kernel's queue is full: dropped as a NIC would
    totals_.rx_unclaimed += kni_out_count_ - sent;
    rte_pktmbuf_free_bulk(kni_out_.data() + sent, kni_out_count_ - sent);
  }
  kni_out_count_ = 0;
}

std::size_t Dispatcher::from_instances() noexcept {
  std::size_t moved = 0;
  rte_mbuf* burst[kBurst];
  const std::uint64_t t0 = rte_rdtsc();
  for (Instance& inst : slots_) {
    if (!inst.live) continue;
    for (std::uint16_t q = 0; q < inst.queues; ++q) {
      const std::uint16_t n = rte_eth_rx_burst(inst.port, q, burst, kBurst);
      for (std::uint16_t i = 0; i < n; ++i) outgoing(inst, q, burst[i]);
      moved += n;
    }
  }
  flush_wire();
  if (moved != 0) totals_.latency_out[wire::latency_bucket(ns_since(t0))] += moved;
  return moved;
}

std::uint64_t Dispatcher::ns_since(std::uint64_t t0) const noexcept {
  return (rte_rdtsc() - t0) * 1000000000ull / hz_;
}

void Dispatcher::dispatch(rte_mbuf* m) noexcept {
  if (m->data_len < sizeof(rte_ether_hdr)) {
    ++totals_.rx_malformed;
    rte_pktmbuf_free(m);
    return;
  }
  const auto* eth = rte_pktmbuf_mtod(m, const rte_ether_hdr*);
  switch (rte_be_to_cpu_16(eth->ether_type)) {
    case RTE_ETHER_TYPE_ARP: return dispatch_arp(m);
    case RTE_ETHER_TYPE_IPV4: return dispatch_ipv4(m);
    default: return unclaimed(m);
  }
}

// RFC 826: a request for an address some process holds is answered here with
// the bond's MAC; its owners get a copy (they learn the asker, as the kernel
// does). Replies go to every owner of the address they are for.
void Dispatcher::dispatch_arp(rte_mbuf* m) noexcept {
  if (m->data_len < sizeof(rte_ether_hdr) + sizeof(rte_arp_hdr)) {
    ++totals_.rx_malformed;
    rte_pktmbuf_free(m);
    return;
  }
  auto* eth = rte_pktmbuf_mtod(m, rte_ether_hdr*);
  auto* arp = reinterpret_cast<rte_arp_hdr*>(eth + 1);
  const std::uint32_t tip = arp->arp_data.arp_tip;
  bool any = false;
  for (Instance& inst : slots_) {
    if (!inst.live || inst.addr != tip) continue;
    rte_mbuf* copy = rte_pktmbuf_copy(m, opts_.pool, 0, UINT32_MAX);
    if (copy != nullptr) deliver(inst, 0, copy);
    any = true;
  }
  if (!any) return unclaimed(m);  // the kernel's own addresses (kni_switch = 1), or nobody's
  if (arp->arp_opcode != rte_cpu_to_be_16(RTE_ARP_OP_REQUEST)) {
    rte_pktmbuf_free(m);
    return;
  }
  arp->arp_opcode = rte_cpu_to_be_16(RTE_ARP_OP_REPLY);
  arp->arp_data.arp_tha = arp->arp_data.arp_sha;
  arp->arp_data.arp_tip = arp->arp_data.arp_sip;
  std::memcpy(arp->arp_data.arp_sha.addr_bytes, opts_.mac.data(), 6);
  arp->arp_data.arp_sip = tip;
  eth->dst_addr = eth->src_addr;
  std::memcpy(eth->src_addr.addr_bytes, opts_.mac.data(), 6);
  ++totals_.arp_replies;
  to_wire(m);
}

void Dispatcher::dispatch_ipv4(rte_mbuf* m) noexcept {
  const std::uint32_t l2 = sizeof(rte_ether_hdr);
  if (m->data_len < l2 + sizeof(rte_ipv4_hdr)) {
    ++totals_.rx_malformed;
    rte_pktmbuf_free(m);
    return;
  }
  const auto* ip = rte_pktmbuf_mtod_offset(m, const rte_ipv4_hdr*, l2);
  const std::uint32_t ihl = rte_ipv4_hdr_len(ip);
  if ((ip->version_ihl >> 4) != 4 || ihl < sizeof(rte_ipv4_hdr) || m->data_len < l2 + ihl) {
    ++totals_.rx_malformed;
    rte_pktmbuf_free(m);
    return;
  }
  const std::uint16_t frag = rte_be_to_cpu_16(ip->fragment_offset);
  const auto* l4 = rte_pktmbuf_mtod_offset(m, const std::uint8_t*, l2 + ihl);
  const std::uint32_t l4_len = m->data_len - l2 - ihl;
  Target t;
  if ((frag & RTE_IPV4_HDR_OFFSET_MASK) == 0) {  // whole, or the fragment with the ports
    if (ip->next_proto_id == IPPROTO_TCP) {
      t = route_tcp(ip->src_addr, ip->dst_addr, l4, l4_len, rte_pktmbuf_mtod(m, const rte_ether_hdr*)->src_addr.addr_bytes);
    }
    if (ip->next_proto_id == IPPROTO_UDP) t = route_udp(ip->src_addr, ip->dst_addr, l4, l4_len);
    if ((frag & RTE_IPV4_HDR_MF_FLAG) != 0 && t.inst != nullptr) remember_fragments(*ip, t);
  } else {
    t = fragments_of(*ip);  // the process its first fragment went to
  }
  // ICMP, TCP/UDP of no flow and no claim (the owner answers with a reset or
  // port unreachable, as a host would), and fragments whose first one has not
  // come (yet): the address's first owner.
  if (t.reset) return reset_orphan(m);
  if (t.hold) {  // no reset while the port waits for its next listener: the peer sends again
    ++totals_.tcp_syn_held;
    rte_pktmbuf_free(m);
    return;
  }
  if (t.inst == nullptr) t.inst = owner_of(ip->dst_addr);
  if (t.inst != nullptr) return deliver(*t.inst, t.queue, m);
  unclaimed(m);
}

// RFC 791 section 3.2: the fragments of one datagram share (source,
// destination, protocol, identification); only the first carries the ports.
// A direct-mapped table, overwritten by newer datagrams, entries good for 15 s
// (lwIP's IP_REASS_MAXAGE): reassembly gives up on older ones anyway.
std::size_t Dispatcher::fragment_slot(const rte_ipv4_hdr& ip) const noexcept {
  return mix3(ip.src_addr, ip.dst_addr, static_cast<std::uint32_t>(ip.packet_id) << 8 | ip.next_proto_id) % frags_.size();
}

void Dispatcher::remember_fragments(const rte_ipv4_hdr& ip, Target t) noexcept {
  frags_[fragment_slot(ip)] = Fragments{ip.src_addr, ip.dst_addr, ip.packet_id, ip.next_proto_id, t.inst->slot, t.queue,
                                        rte_rdtsc() + 15 * hz_};
}

Dispatcher::Target Dispatcher::fragments_of(const rte_ipv4_hdr& ip) noexcept {
  const Fragments& f = frags_[fragment_slot(ip)];
  const bool same = f.src == ip.src_addr && f.dst == ip.dst_addr && f.id == ip.packet_id && f.proto == ip.next_proto_id;
  if (!same || rte_rdtsc() > f.expires || !slots_[f.slot].live) return {};
  return {&slots_[f.slot], f.queue};
}

Dispatcher::Target Dispatcher::route_tcp(std::uint32_t src, std::uint32_t dst, const std::uint8_t* l4,
                                         std::uint32_t l4_len, const std::uint8_t* peer_mac) noexcept {
  if (l4_len < sizeof(rte_tcp_hdr)) return {};
  const auto* tcp = reinterpret_cast<const rte_tcp_hdr*>(l4);
  const FlowKey key{dst, src, rte_be_to_cpu_16(tcp->dst_port), rte_be_to_cpu_16(tcp->src_port)};
  Flow* f = flows_.find(key);
  const bool syn = (tcp->tcp_flags & (RTE_TCP_SYN_FLAG | RTE_TCP_ACK_FLAG)) == RTE_TCP_SYN_FLAG;
  if (f != nullptr && f->instance == kOrphanSlot) {
    if (!syn) return {nullptr, 0, false, (tcp->tcp_flags & RTE_TCP_RST_FLAG) == 0};  // RFC 9293 3.10.7.1: never answer a reset
    flows_.erase(key);  // a new connection on the 4-tuple: as any SYN
    f = nullptr;
  }
  if (f == nullptr && syn) {
    const std::uint32_t h = mix3(src, dst, static_cast<std::uint32_t>(key.local_port) << 16 | key.remote_port);
    Instance* inst = listener(IPPROTO_TCP, dst, key.local_port, h);
    if (inst == nullptr) return {nullptr, 0, held(dst, key.local_port)};
    f = flows_.insert(key, inst->slot, static_cast<std::uint16_t>(h % inst->queues));
    if (f == nullptr) return {};  // table full: the owner answers with a reset
    std::memcpy(f->peer_mac, peer_mac, sizeof f->peer_mac);
  }
  if (f == nullptr) return {};
  f->last_seen = rte_rdtsc();
  if (f->instance == kParkedSlot) return {nullptr, 0, true};  // its connection waits for the port's next listener
  if (tcp->tcp_flags & RTE_TCP_FIN_FLAG) f->closing |= kPeerFin;
  if (tcp->tcp_flags & RTE_TCP_RST_FLAG) f->closing |= kReset;
  if (syn) f->closing = 0;  // a new connection on a TIME-WAIT 4-tuple
  return {&slots_[f->instance], f->queue};
}

Dispatcher::Target Dispatcher::route_udp(std::uint32_t src, std::uint32_t dst, const std::uint8_t* l4,
                                         std::uint32_t l4_len) noexcept {
  if (l4_len < 8) return {};
  const std::uint16_t dport = be16(l4 + 2);
  const std::uint32_t h = mix3(src, dst, static_cast<std::uint32_t>(be16(l4)) << 16 | dport);
  Instance* inst = listener(IPPROTO_UDP, dst, dport, h);
  if (inst == nullptr) {
    // A port the process sent from without binding: learned as a flow with no peer.
    Flow* f = flows_.find(FlowKey{dst, 0, dport, 0});
    if (f == nullptr) return {};
    f->last_seen = rte_rdtsc();
    return {&slots_[f->instance], f->queue};
  }
  return {inst, static_cast<std::uint16_t>(h % inst->queues)};
}

Instance* Dispatcher::listener(std::uint8_t proto, std::uint32_t addr, std::uint16_t port, std::uint32_t hash,
                               std::uint32_t except_slot) noexcept {
  auto fits = [&](const Claim& c) {
    return c.proto == proto && c.addr == addr && c.port == port && c.slot != except_slot && slots_[c.slot].up;
  };
  const auto count = static_cast<std::uint32_t>(std::count_if(claims_.begin(), claims_.end(), fits));
  if (count == 0) return nullptr;
  std::uint32_t pick = hash % count;
  for (const Claim& c : claims_) {
    if (fits(c) && pick-- == 0) return &slots_[c.slot];
  }
  return nullptr;
}

Instance* Dispatcher::owner_of(std::uint32_t addr) noexcept {
  for (Instance& inst : slots_) {
    if (inst.live && inst.addr == addr) return &inst;
  }
  return nullptr;
}

void Dispatcher::deliver(Instance& inst, std::uint16_t q, rte_mbuf* m) noexcept {
  auto& count = inst.pending_count[q];
  if (count == kBurst) {
    ++inst.counters.rx_dropped;
    ++totals_.rx_dropped;
    rte_pktmbuf_free(m);
    return;
  }
  inst.pending[q][count++] = m;
  ++inst.counters.rx_packets;
  inst.counters.rx_bytes += m->pkt_len;
}

void Dispatcher::flush_pending() noexcept {
  for (Instance& inst : slots_) {
    if (!inst.live) continue;
    for (std::uint16_t q = 0; q < inst.queues; ++q) {
      const std::uint16_t n = inst.pending_count[q];
      if (n == 0) continue;
      const std::uint16_t sent = rte_eth_tx_burst(inst.port, q, inst.pending[q].data(), n);
      if (sent < n) {  // its ring is full (or not connected yet): the process did not keep up
        rte_pktmbuf_free_bulk(inst.pending[q].data() + sent, n - sent);
        inst.counters.rx_dropped += n - sent;
        totals_.rx_dropped += n - sent;
      }
      inst.pending_count[q] = 0;
    }
  }
}

// A frame from process inst: only ARP and IPv4 from its own address leave
// (no process can pose as another); an outgoing SYN, or a datagram from an
// unclaimed UDP port, makes the flow the answers come back by.
void Dispatcher::outgoing(Instance& inst, std::uint16_t q, rte_mbuf* m) noexcept {
  const std::uint32_t l2 = sizeof(rte_ether_hdr);
  const auto* eth = rte_pktmbuf_mtod(m, const rte_ether_hdr*);
  const std::uint16_t type = m->data_len >= l2 ? rte_be_to_cpu_16(eth->ether_type) : 0;
  bool ok = false;
  if (type == RTE_ETHER_TYPE_ARP && m->data_len >= l2 + sizeof(rte_arp_hdr)) {
    const auto* arp = reinterpret_cast<const rte_arp_hdr*>(eth + 1);
    // ltran answers requests itself: the process's own replies would be doubles.
    ok = arp->arp_data.arp_sip == inst.addr && arp->arp_opcode == rte_cpu_to_be_16(RTE_ARP_OP_REQUEST);
    if (!ok && arp->arp_data.arp_sip == inst.addr) {
      rte_pktmbuf_free(m);
      return;
    }
  } else if (type == RTE_ETHER_TYPE_IPV4 && m->data_len >= l2 + sizeof(rte_ipv4_hdr)) {
    const auto* ip = reinterpret_cast<const rte_ipv4_hdr*>(eth + 1);
    const std::uint32_t ihl = rte_ipv4_hdr_len(ip);
    ok = ip->src_addr == inst.addr;
    const std::uint8_t* l4 = reinterpret_cast<const std::uint8_t*>(ip) + ihl;
    const bool first = (rte_be_to_cpu_16(ip->fragment_offset) & RTE_IPV4_HDR_OFFSET_MASK) == 0;
    if (ok && first && ip->next_proto_id == IPPROTO_TCP && m->data_len >= l2 + ihl + sizeof(rte_tcp_hdr)) {
      const auto* tcp = reinterpret_cast<const rte_tcp_hdr*>(l4);
      if (!unconfirmed_.empty()) {
        confirm(inst.slot, FlowKey{ip->src_addr, ip->dst_addr, rte_be_to_cpu_16(tcp->src_port), rte_be_to_cpu_16(tcp->dst_port)});
      }
      if ((tcp->tcp_flags & (RTE_TCP_FIN_FLAG | RTE_TCP_RST_FLAG)) != 0) own_end(inst, *ip, *tcp);
      if ((tcp->tcp_flags & (RTE_TCP_SYN_FLAG | RTE_TCP_ACK_FLAG)) == RTE_TCP_SYN_FLAG) {
        const FlowKey key{ip->src_addr, ip->dst_addr, rte_be_to_cpu_16(tcp->src_port), rte_be_to_cpu_16(tcp->dst_port)};
        Flow* f = flows_.insert(key, inst.slot, q);
        // Its own (a SYN sent again), an orphan of the 4-tuple's last process, or
        // a connection over (another's TIME-WAIT); never another's live or parked one.
        if (f != nullptr && (f->instance == inst.slot || f->instance == kOrphanSlot ||
                             (f->instance != kParkedSlot && flow_over(f->closing)))) {
          f->instance = inst.slot;
          f->queue = q;
          f->last_seen = rte_rdtsc();
          f->closing = 0;
          std::memcpy(f->peer_mac, eth->dst_addr.addr_bytes, sizeof f->peer_mac);
        }
      }
    } else if (ok && first && ip->next_proto_id == IPPROTO_UDP && m->data_len >= l2 + ihl + 8) {
      const std::uint16_t sport = be16(l4);
      if (listener(IPPROTO_UDP, ip->src_addr, sport, 0) == nullptr) {
        if (Flow* f = flows_.insert(FlowKey{ip->src_addr, 0, sport, 0}, inst.slot, q)) f->last_seen = rte_rdtsc();
      }
    }
  }
  if (!ok) {
    ++inst.counters.tx_refused;
    rte_pktmbuf_free(m);
    return;
  }
  if (!inst.limit.admit(m->pkt_len, rte_rdtsc(), hz_)) {
    ++inst.counters.tx_limited;
    rte_pktmbuf_free(m);
    return;
  }
  ++inst.counters.tx_packets;
  inst.counters.tx_bytes += m->pkt_len;
  to_wire(m);
}

void Dispatcher::to_wire(rte_mbuf* m) noexcept {
  if (wire_out_count_ == wire_out_.size()) flush_wire();
  wire_bytes_[wire_out_count_] = m->pkt_len;  // read now: the driver frees what it sent
  wire_out_[wire_out_count_++] = m;
}

void Dispatcher::flush_wire() noexcept {
  if (wire_out_count_ == 0) return;
  std::uint16_t sent = 0;
  for (int tries = 0; tries < 4 && sent < wire_out_count_; ++tries) {
    sent += rte_eth_tx_burst(opts_.wire_port, 0, wire_out_.data() + sent, wire_out_count_ - sent);
  }
  totals_.tx_packets += sent;
  ++totals_.tx_bursts[std::min<std::uint16_t>(sent, kBurst)];
  for (std::uint16_t i = 0; i < sent; ++i) totals_.tx_bytes += wire_bytes_[i];
  if (sent < wire_out_count_) {
    totals_.tx_dropped += wire_out_count_ - sent;
    rte_pktmbuf_free_bulk(wire_out_.data() + sent, wire_out_count_ - sent);
  }
  wire_out_count_ = 0;
}

void Dispatcher::unclaimed(rte_mbuf* m) noexcept {
  if (opts_.kni_port != kNoPort) {
    if (kni_out_count_ == kni_out_.size()) flush_kernel();
    kni_out_[kni_out_count_++] = m;
    return;
  }
  ++totals_.rx_unclaimed;
  rte_pktmbuf_free(m);
}

// tcp_conn_scan_interval (flow_aged): flows over (both FINs, or a reset) with
// nothing from the peer for a whole interval are done (the process's
// TIME-WAIT answers nothing new); half-closed ones after kHalfClosedSeconds of
// quiet, so that a peer that shut down its side still reaches its process.
// Orphans keep their own time (expire_orphans).
void Dispatcher::age_flows(std::uint64_t now) noexcept {
  const std::uint64_t half_closed = std::max(scan_tsc_, kHalfClosedSeconds * hz_);
  flows_.erase_if([&](const Flow& f) {
    return f.instance != kOrphanSlot && flow_aged(f, now, scan_tsc_, half_closed);
  });
  last_scan_ = now;
}

}  // namespace gz::ltran
