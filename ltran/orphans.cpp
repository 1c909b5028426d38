// The connections of a process that went without closing them (SIGKILL, a
// crash): ltran tells their peers with a reset, as a kernel closes a dead
// process's sockets. See Dispatcher::orphan_flows in dispatcher.hpp.
#include <rte_cycles.h>
#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_random.h>
#include <rte_tcp.h>

#include <algorithm>
#include <cstring>

#include "dispatcher.hpp"

namespace gz::ltran {
namespace {

constexpr std::uint32_t kHeaders = sizeof(rte_ether_hdr) + sizeof(rte_ipv4_hdr) + sizeof(rte_tcp_hdr);

struct Segment {
  std::uint32_t src_ip, dst_ip;  // network order
  std::uint16_t src_port, dst_port;  // host order
  std::uint32_t seq, ack;
  std::uint8_t flags;
};

// A fresh mbuf becomes one bare TCP segment (no options, no data) from us to
// dst_mac; false: no room (never with the pool's mbufs).
bool write_segment(rte_mbuf* m, const std::uint8_t* src_mac, const std::uint8_t* dst_mac, const Segment& s) noexcept {
  auto* eth = reinterpret_cast<rte_ether_hdr*>(rte_pktmbuf_append(m, kHeaders));
  if (eth == nullptr) return false;
  std::memcpy(eth->src_addr.addr_bytes, src_mac, RTE_ETHER_ADDR_LEN);
  std::memcpy(eth->dst_addr.addr_bytes, dst_mac, RTE_ETHER_ADDR_LEN);
  eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
  auto* ip = reinterpret_cast<rte_ipv4_hdr*>(eth + 1);
  *ip = rte_ipv4_hdr{};
  ip->version_ihl = RTE_IPV4_VHL_DEF;
  ip->total_length = rte_cpu_to_be_16(sizeof(rte_ipv4_hdr) + sizeof(rte_tcp_hdr));
  ip->fragment_offset = rte_cpu_to_be_16(RTE_IPV4_HDR_DF_FLAG);
  ip->time_to_live = 64;
  ip->next_proto_id = IPPROTO_TCP;
  ip->src_addr = s.src_ip;
  ip->dst_addr = s.dst_ip;
  auto* tcp = reinterpret_cast<rte_tcp_hdr*>(ip + 1);
  *tcp = rte_tcp_hdr{};
  tcp->src_port = rte_cpu_to_be_16(s.src_port);
  tcp->dst_port = rte_cpu_to_be_16(s.dst_port);
  tcp->sent_seq = rte_cpu_to_be_32(s.seq);
  tcp->recv_ack = rte_cpu_to_be_32(s.ack);
  tcp->data_off = sizeof(rte_tcp_hdr) / 4 << 4;
  tcp->tcp_flags = s.flags;
  ip->hdr_checksum = rte_ipv4_cksum(ip);
  tcp->cksum = rte_ipv4_udptcp_cksum(ip, tcp);
  return true;
}

}  // namespace

void Dispatcher::own_end(const Instance& inst, const rte_ipv4_hdr& ip, const rte_tcp_hdr& tcp) noexcept {
  Flow* f = flows_.find(FlowKey{ip.src_addr, ip.dst_addr, rte_be_to_cpu_16(tcp.src_port), rte_be_to_cpu_16(tcp.dst_port)});
  if (f == nullptr || f->instance != inst.slot) return;
  if ((tcp.tcp_flags & RTE_TCP_FIN_FLAG) != 0) f->closing |= kOwnFin;
  if ((tcp.tcp_flags & RTE_TCP_RST_FLAG) != 0) f->closing |= kReset;
}

// Connections over (both FINs, or a reset) go as before: nothing to tell
// (a process's graceful exit, an nginx reload's old worker, leaves only those).
void Dispatcher::orphan_flows(std::uint16_t slot) noexcept {
  const std::uint64_t now = rte_rdtsc();
  const std::uint64_t until = now + kOrphanSeconds * hz_;
  static constexpr std::uint8_t kNoMac[6] = {};
  flows_.erase_if([&](Flow& f) {
    if (f.instance != slot) return false;
    if (f.key.remote_ip == 0 || flow_over(f.closing) || orphans_.size() >= kMaxOrphans) return true;
    bool kept = false;
    try {
      orphans_.push_back(Orphan{f.key, until});
      kept = true;
      // Also a peer that sent its FIN: it may wait for ours (shutdown(SHUT_WR));
      // and one we sent ours to: it may still send (and its program wait).
      if (std::memcmp(f.peer_mac, kNoMac, sizeof kNoMac) != 0 && to_probe_.size() < kMaxOrphans) to_probe_.push_back(f.key);
    } catch (...) {  // out of memory: that peer hears it when it sends (or, not kept, never)
    }
    if (!kept) return true;
    f.instance = kOrphanSlot;
    f.last_seen = now;  // when it became one (route_tcp leaves it): see expire_orphans
    return false;
  });
}

// Two ACKs half the sequence space apart: at least one lies outside the
// peer's receive window, which it answers with an ACK of its own (RFC 9293
// 3.10.7.4), <SEQ=SND.NXT><ACK=RCV.NXT>, that reset_orphan turns into an
// acceptable reset. No option: a peer using timestamps takes them (RFC 7323
// 3.2 leaves it to the receiver; Linux does). A few flows a pass, so that
// the wire's tx queue takes them beside the traffic.
void Dispatcher::probe_orphans() noexcept {
  for (std::size_t n = 0; n < kProbesPerPoll && !to_probe_.empty(); ++n) {
    const FlowKey k = to_probe_.back();
    const Flow* f = flows_.find(k);
    if (f == nullptr || f->instance != kOrphanSlot) {  // gone, or a new connection's meanwhile
      to_probe_.pop_back();
      continue;
    }
    rte_mbuf* m[2];
    if (rte_pktmbuf_alloc_bulk(opts_.pool, m, 2) != 0) return;  // the pool is busy with traffic: next pass
    to_probe_.pop_back();
    const auto seq = static_cast<std::uint32_t>(rte_rand());
    const auto ack = static_cast<std::uint32_t>(rte_rand());
    for (int i = 0; i < 2; ++i) {
      const Segment s{k.local_ip, k.remote_ip, k.local_port, k.remote_port, seq + (i == 0 ? 0 : 0x80000000u), ack,
                      RTE_TCP_ACK_FLAG};
      if (!write_segment(m[i], opts_.mac.data(), f->peer_mac, s)) {
        rte_pktmbuf_free(m[i]);
        continue;
      }
      ++totals_.tcp_orphan_probes;
      to_wire(m[i]);
    }
  }
}

// A few a pass: a process killed under tens of thousands of connections must
// not stall the dispatch loop 60 s later. A 4-tuple may be queued twice (its
// next connection's process died too): only an orphan of at least its age goes.
void Dispatcher::expire_orphans(std::uint64_t now) noexcept {
  for (std::size_t n = 0; n < kExpiriesPerPoll && !orphans_.empty() && now >= orphans_.front().until; ++n) {
    const Flow* f = flows_.find(orphans_.front().key);
    if (f != nullptr && f->instance == kOrphanSlot && now - f->last_seen >= kOrphanSeconds * hz_) flows_.erase(f);
    orphans_.pop_front();
  }
}

// RFC 9293 3.10.7.1, a segment to a CLOSED connection: with ACK,
// <SEQ=SEG.ACK><CTL=RST>; without, <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>.
// Back to where the segment came from. A header whose data offset is below
// its own size is dropped unanswered, as Linux drops it.
void Dispatcher::reset_orphan(rte_mbuf* m) noexcept {
  const auto* eth = rte_pktmbuf_mtod(m, const rte_ether_hdr*);
  const auto* ip = reinterpret_cast<const rte_ipv4_hdr*>(eth + 1);
  const std::uint32_t ihl = rte_ipv4_hdr_len(ip);
  const auto* tcp = reinterpret_cast<const rte_tcp_hdr*>(reinterpret_cast<const std::uint8_t*>(ip) + ihl);
  const std::uint32_t ip_len = std::min<std::uint32_t>(rte_be_to_cpu_16(ip->total_length), m->pkt_len - sizeof *eth);
  const std::uint32_t tcp_len = ip_len > ihl ? ip_len - ihl : 0;
  const std::uint32_t hlen = (tcp->data_off >> 4) * 4u;
  const std::uint8_t flags = tcp->tcp_flags;
  rte_mbuf* rst = hlen >= sizeof(rte_tcp_hdr) ? rte_pktmbuf_alloc(opts_.pool) : nullptr;  // (m may be a chain)
  Segment s{ip->dst_addr, ip->src_addr, rte_be_to_cpu_16(tcp->dst_port), rte_be_to_cpu_16(tcp->src_port), 0, 0, 0};
  if ((flags & RTE_TCP_ACK_FLAG) != 0) {
    s.seq = rte_be_to_cpu_32(tcp->recv_ack);
    s.flags = RTE_TCP_RST_FLAG;
  } else {  // (a SYN does not come here: it opens a new connection)
    const std::uint32_t len = (tcp_len > hlen ? tcp_len - hlen : 0) + ((flags & RTE_TCP_FIN_FLAG) != 0 ? 1 : 0);
    s.ack = rte_be_to_cpu_32(tcp->sent_seq) + len;
    s.flags = RTE_TCP_RST_FLAG | RTE_TCP_ACK_FLAG;
  }
  if (rst != nullptr && write_segment(rst, opts_.mac.data(), eth->src_addr.addr_bytes, s)) {
    ++totals_.tcp_orphan_resets;
    to_wire(rst);
  } else if (rst != nullptr) {
    rte_pktmbuf_free(rst);
  }
  rte_pktmbuf_free(m);
}

}  // namespace gz::ltran
