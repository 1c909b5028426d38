// The glue between DPDK mbufs and lwIP pbufs.
// rx: an mbuf (chain) becomes a pbuf (chain) in place: the pbuf_custom lives in
//     the mbuf's private area, the payload is the mbuf's data. No copy, no alloc.
// tx: a pbuf chain is copied into one mbuf from the queue's pool.
// Thread: the stack thread that owns the pbufs.
#pragma once

#include <cstdint>

#include "netdev.hpp"

struct pbuf;
struct rte_mbuf;
struct rte_mempool;

namespace gz::stack {

// Never fails; freeing the pbuf (pbuf_free) returns the mbuf to its pool.
pbuf* pbuf_from_mbuf(rte_mbuf* m) noexcept;

// A received frame's arrival (rte_rdtsc), kept in its mbuf's private area
// beside the pbuf (gazellectl's -l). rx_stamp: that of the mbuf a pbuf
// lives in, or 0 for a pbuf of lwIP's own (a copy). Stamps are written only
// while latency is recorded: older ones are stale (LatencyStats ignores them).
// Thread: set_rx_stamp on the stack thread before lwIP sees the frame;
// rx_stamp by whoever holds the pbuf (the application thread reading it).
void set_rx_stamp(rte_mbuf* m, std::uint64_t tsc) noexcept;
std::uint64_t rx_stamp(const pbuf* p) noexcept;

// tx without a copy: an mbuf (chain) the application filled (its data starts
// at least kTxHeadroom into the first buffer) becomes a pbuf (chain) lwIP
// sends as it is (tcp_write_pbufs, udp_sendto); lwIP writes the headers into
// the headroom. Freeing a pbuf frees its mbuf (a transmission still in the
// driver holds a reference) and counts it in this_thread_state().tx_mbufs_freed.
// Never fails.
inline constexpr std::uint16_t kTxHeadroom = 128;  // Ethernet + IPv4 + TCP with 40 bytes of options fit
pbuf* pbuf_from_tx_mbuf(rte_mbuf* m) noexcept;
// The mbuf to transmit for p: p's own (one more reference, its data set to
// p's frame) when p is such a pbuf alone; nullptr for any other pbuf (copy it).
rte_mbuf* tx_mbuf_of(pbuf* p, const Offloads& off) noexcept;

// nullptr when the pool is empty or the frame does not fit one mbuf.
// With off.tx_ip_cksum / tx_l4_cksum the device fills the IPv4 header and TCP
// checksums (lwIP left them out): the mbuf gets the offload flags, lengths and
// the pseudo-header sum. UDP keeps its software checksum: a fragmented
// datagram's sum covers data no single fragment carries.
rte_mbuf* mbuf_from_pbuf(rte_mempool* pool, const pbuf* p, const Offloads& off) noexcept;

// Receive side of checksum offload: false when the device (or, where it could
// not tell, our own check) finds a bad IPv4 header or TCP/UDP checksum.
bool rx_checksums_ok(rte_mbuf* m) noexcept;

bool is_arp(const rte_mbuf* m) noexcept;

// The flow an unfragmented IPv4 TCP segment or UDP datagram belongs to, as
// the receiver sees it (ports in host order, remote address as on the wire).
struct FlowTuple {
  bool valid = false;
  bool udp = false;
  std::uint16_t local_port = 0;
  std::uint32_t remote_ip = 0;
  std::uint16_t remote_port = 0;
};
FlowTuple flow_tuple(rte_mbuf* m) noexcept;

}  // namespace gz::stack
