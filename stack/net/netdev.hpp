// NetDev: the packet source and sink of one stack thread.
//
// Today a DPDK port queue pair (dpdk/port.hpp); tomorrow a ring pair from ltran.
// The stack only sees bursts of rte_mbufs, so both look the same to it.
// Thread: every call from the owning stack thread only.
#pragma once

#include <array>
#include <cstdint>
#include <span>

struct rte_mbuf;
struct rte_mempool;

namespace gz::stack {

// Bytes of private area after each rte_mbuf of a NetDev's pools: lwIP's
// pbuf_custom lives there, so an mbuf becomes a pbuf without allocation or copy.
inline constexpr std::uint16_t kMbufPrivBytes = 64;

// Checksums the device computes, so lwIP can skip them (per netif).
struct Offloads {
  bool rx_ip_cksum = false;   // mbuf ol_flags carry the IPv4 header verdict
  bool rx_l4_cksum = false;   // ... and the TCP/UDP verdict
  bool tx_ip_cksum = false;   // the device fills the IPv4 header checksum
  bool tx_l4_cksum = false;   // the device fills TCP/UDP checksums (pseudo-header by us)
};

// The device's own drop counters (rte_eth_stats): packets lost before the stack saw them.
struct DeviceCounters {
  std::uint64_t rx_missed = 0;  // the rx ring was full
  std::uint64_t rx_nombuf = 0;  // no mbuf to receive into
  std::uint64_t rx_errors = 0;
  std::uint64_t tx_errors = 0;
};

class NetDev {
 public:
  virtual ~NetDev() = default;
  // Fills out with up to out.size() received packets; returns how many.
  virtual std::uint16_t rx_burst(std::span<rte_mbuf*> out) noexcept = 0;
  // Queues pkts for sending; returns how many the device took. The caller
  // still owns (and must free or retry) the rest.
  virtual std::uint16_t tx_burst(std::span<rte_mbuf*> pkts) noexcept = 0;
  // Pool to allocate transmit mbufs from (NUMA-local to the queue).
  virtual rte_mempool* tx_pool() noexcept = 0;
  virtual const std::array<std::uint8_t, 6>& mac() const noexcept = 0;
  virtual std::uint16_t mtu() const noexcept = 0;
  virtual Offloads offloads() const noexcept = 0;
  // Any thread (reads the driver's counters; not for the hot path).
  virtual DeviceCounters device_counters() const noexcept = 0;
  // An fd that polls readable (POLLIN) while frames wait to be received, for
  // an idle stack to sleep on; -1 when the device has none (the stack then
  // sleeps for a time). The device owns it.
  virtual int rx_wait_fd() noexcept { return -1; }
};

// Ports a process must claim before the wire reaches them: with ltran, a
// listening TCP port or a bound UDP port is dispatched to this process only
// once ltran agreed (processes of other uids may hold it). Without ltran
// there is nothing to claim.
// Thread: any (implementations serialize); a blocking round trip to ltran,
// made once per listen()/bind(), never per packet.
class PortClaims {
 public:
  virtual ~PortClaims() = default;
  // 0, or the errno for the program: EADDRINUSE (another uid holds it),
  // EACCES, ENETDOWN (ltran is gone). proto: 6 TCP, 17 UDP; port host order.
  virtual int claim(std::uint8_t proto, std::uint16_t port) noexcept = 0;
  virtual void release(std::uint8_t proto, std::uint16_t port) noexcept = 0;
  // A wire::TcpHandoff and its data to ltran; 0 once ltran has it, else the errno.
  virtual int hand_off(const void* handoff, std::uint32_t len) noexcept = 0;
};

}  // namespace gz::stack
