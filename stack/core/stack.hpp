// Stack: one protocol stack thread's state: its lwIP instance, its netif bound
// to one NetDev, transmit batching and counters.
//
// Thread: created, polled and destroyed on its own thread; reached there
// through Stack::current() (one thread-local pointer). counters() may be read
// from other threads (plain 64-bit loads, see gz/wire.hpp).
#pragma once

#include <netinet/in.h>

#include <array>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <span>
#include <utility>
#include <vector>

#include "gz/result.hpp"
#include "gz/wire.hpp"
#include "lwip/netif.h"
#include "lwip/tcp.h"
#include "lwip/udp.h"
#include "lwip_instance.hpp"
#include "capture_tap.hpp"
#include "latency.hpp"
#include "flow_directory.hpp"
#include "netdev.hpp"

struct rte_ring;
struct tcp_pcb;

namespace gz::stack {

struct StackOptions {
  in_addr host{};
  in_addr mask{};
  in_addr gateway{};           // 0.0.0.0: none
  std::size_t arena_bytes = 64u << 20;
  int numa_node = -1;          // >= 0: lwIP's memory from this node (numa_bind)
  std::uint32_t max_tcp = 1500; // tcp_conn_count: TCP sockets this stack serves at once
  // Several stacks on one port: frames handed over by the others (ARP, and
  // TCP segments of connections this stack holds), the others' inboxes by
  // stack index (own slot nullptr), and the directory of who holds what.
  rte_ring* inbox = nullptr;
  std::vector<rte_ring*> peer_inboxes;
  FlowDirectory* flows = nullptr;
  PortClaims* claims = nullptr; // ltran: listening and bound ports are claimed there first
  std::uint16_t rx_burst = 32; // nic_read_num
};

class Stack {
 public:
  static constexpr std::uint16_t kMaxBurst = 128;

  // Brings up lwIP and the netif on the calling thread and announces the
  // address (gratuitous ARP). Errors: those of LwipInstance::create; EINVAL
  // for a burst size above kMaxBurst.
  static Result<std::unique_ptr<Stack>> create(int index, std::unique_ptr<NetDev> dev, const StackOptions& opts);
  ~Stack();
  Stack(const Stack&) = delete;
  Stack& operator=(const Stack&) = delete;

  // One round: receive a burst into lwIP, run due timers, send what lwIP
  // queued. Returns the number of packets received (0: idle round).
  unsigned poll_once() noexcept;
  // Sends the frames batched so far (also done by poll_once).
  void flush_tx() noexcept;

  int index() const noexcept { return index_; }
  netif* nif() noexcept { return &netif_; }
  const wire::StackCounters& counters() const noexcept { return counters_; }
  // Copies lwIP's per-thread protocol counters into counters(); stack thread only.
  void sync_lwip_counters() noexcept;
  void count_idle_sleep() noexcept { ++counters_.idle_sleeps; }
  void count_rx_copy() noexcept { ++counters_.rx_copied; }
  void count_tx_retry() noexcept { ++counters_.tx_retried; }
  void count_handoff_reset() noexcept { ++counters_.tcp_handoff_reset; }
  void count_syn_evicted() noexcept { ++counters_.syn_evicted; }
  void count_tw_recycled() noexcept { ++counters_.tw_recycled; }
  // Whether the mbuf pool was low at the last check (every 1,024 polls): then
  // received data is copied out of the mbufs of connections whose readers lag.
  bool rx_pressure() const noexcept { return rx_pressure_; }
  // tcp_conn_count: a slot per TCP socket (listeners included). False when all
  // are taken (the caller answers ENOBUFS, or resets an incoming connection).
  bool take_tcp_slot() noexcept {
    if (tcp_sockets_ >= opts_.max_tcp) {
      ++counters_.tcp_refused;
      return false;
    }
    ++tcp_sockets_;
    return true;
  }
  void release_tcp_slot() noexcept { --tcp_sockets_; }
  // Whether a TCP connection still has data or its FIN unacknowledged by the
  // peer (also ones the application closed). Stack thread only.
  bool sends_in_flight() const noexcept;
  // One line per TCP connection and the pool's free mbufs (debugging). Stack thread only.
  // Appends every TCP and UDP pcb of this stack to out (stack thread; out of
  // memory truncates the list).
  void list_connections(std::vector<wire::CtlConn>& out) noexcept;
  // How many connections wait for a listener's accept(), for the listing's
  // Recv-Q (as `ss -lt`): lwIP's accepts_pending counts only the half-open
  // ones; the accept queue is the socket layer's, which registers this at its
  // listen(). arg: the listening pcb's callback_arg (may be null). Stack thread only.
  using AcceptQueueProbe = std::uint32_t (*)(void* arg) noexcept;
  void set_accept_queue_probe(AcceptQueueProbe probe) noexcept { accept_queue_probe_ = probe; }
  void dump_connections(std::FILE* out) noexcept;
  // Everything gazellectl shows about this stack. Stack thread only.
  void fill_stats(wire::CtlStackStats& out) noexcept;

  // The capture tap of this stack (gazellectl lstack capture). Any thread
  // may hold the pointer while the stack lives; see CaptureTap for who calls what.
  CaptureTap* tap() noexcept { return tap_.get(); }
  // Latency recording (gazellectl lstack show -l). Any thread, as the tap.
  LatencyStats* latency() noexcept { return &latency_; }
  // The pool application threads fill transmit mbufs from (TcpSocket::send).
  // Any thread: fixed for the stack's life.
  rte_mempool* tx_pool() noexcept { return dev_->tx_pool(); }
  // The device's fd to sleep on for the next frame (NetDev::rx_wait_fd), or -1.
  int rx_wait_fd() noexcept { return dev_->rx_wait_fd(); }
  // Stack thread: the stacks (bit i: stack i, the first 64) this one handed
  // frames to since the last call, which may be asleep.
  std::uint64_t take_handed() noexcept { return std::exchange(handed_to_, 0); }
  // Whether no frame handed over by another stack waits. Stack thread, before it sleeps.
  bool inbox_empty() const noexcept;
  // Stack thread: lwIP took the last of a TCP write made at tsc; its send
  // latency ends with the next device burst (dropped beyond kMaxBurst per round).
  void note_tx_write(std::uint64_t tsc) noexcept {
    if (tx_stamps_count_ < kMaxBurst) tx_stamps_[tx_stamps_count_++] = tsc;
  }

  // The Stack of the calling thread, or nullptr.
  static Stack* current() noexcept;

  // Several stacks (stack thread only). hold_flow: the TCP connection of pcb
  // is held here until lwIP frees the pcb (after TIME-WAIT); segments of it
  // that arrive at another stack are handed over. Another stack's entry is
  // never taken over (counted in flow_conflicts).
  void hold_flow(tcp_pcb* pcb) noexcept;
  // A listening pcb: each half-open connection it makes (a SYN) holds its
  // flow from then on, so that the handshake's ACK finds this stack whatever
  // queue it lands on.
  void hold_flows_of(tcp_pcb* listener) noexcept;
  void drop_flow(std::uint64_t key) noexcept;
  // Before connect: an unbound pcb gets a local port that no stack uses
  // towards that peer. ERR_USE when none was found.
  err_t bind_for_connect(tcp_pcb* pcb, const ip_addr_t& remote, std::uint16_t remote_port) noexcept;
  // UDP: an unbound pcb gets a port no other stack holds (before connect or
  // the first send); a bound port is entered so that datagrams to it reach
  // this stack from any queue. hold_udp_port is false when another stack
  // holds the port.
  err_t bind_udp(udp_pcb* pcb) noexcept;
  // kNew: entered now (undo with drop_udp_port if the bind fails); kShared:
  // this stack already holds it (another socket with SO_REUSEADDR); kTaken:
  // another stack holds it; kUnsteered: one stack, or no room.
  enum class PortHold { kNew, kShared, kTaken, kUnsteered };
  PortHold hold_udp_port(std::uint16_t port) noexcept;
  void drop_udp_port(std::uint16_t port) noexcept;
  // Stack thread: the device is gone for good (ltran stopped). The netif goes
  // down (connect and sendto fail with ENETUNREACH) and every connection is
  // aborted (its calls fail instead of waiting on a wire that never answers).
  void go_down() noexcept;
  bool gone() const noexcept { return gone_; }  // go_down() ran
  // With ltran: claims a listening TCP (6) or bound UDP (17) port for this
  // process (a round trip to ltran); 0 or the errno for the program. Without: 0.
  int claim_port(std::uint8_t proto, std::uint16_t port) noexcept { return claims_ != nullptr ? claims_->claim(proto, port) : 0; }
  void release_port(std::uint8_t proto, std::uint16_t port) noexcept {
    if (claims_ == nullptr) return;
    claims_->release(proto, port);
    if (proto == wire::kProtoTcp) remember_released(port);
  }
  bool behind_ltran() const noexcept { return claims_ != nullptr; }
  // ltran (tcp_handoff.cpp): a connection a closing listener had queued, with
  // the data it received that nobody read (and its FIN), goes to another
  // process listening on the port (ltran keeps it a moment when none does
  // yet); pcb is freed without a reset. False (pcb
  // untouched): it cannot be described (data of ours in flight, more unread
  // data than wire::kHandoffMaxData) or ltran refused it; the caller resets it.
  bool hand_off(tcp_pcb* pcb, std::span<pbuf* const> unread, bool fin) noexcept;
  // The same for every half-open connection (SYN-RECEIVED) of listener.
  void hand_off_half_open(tcp_pcb_listen* listener) noexcept;

 private:
  Stack(int index, std::unique_ptr<NetDev> dev, const StackOptions& opts);
  static err_t netif_init(netif* nif);
  static err_t link_output(netif* nif, pbuf* p);
  void queue_tx(rte_mbuf* m) noexcept;
  // A capture runs: the frames go to the tap (or are counted as its drops).
  void capture(rte_mbuf* const* pkts, std::uint16_t n, CaptureDir dir) noexcept;
  void relieve_pressure() noexcept;
  bool steer(rte_mbuf* m) noexcept;  // true: handed to another stack (or dropped)
  void input(rte_mbuf* m) noexcept;
  // ltran's frames that are not for lwIP: a connection handed to us, or a
  // segment of one we handed off. True: taken.
  bool ltran_frame(rte_mbuf* m) noexcept;
  void adopt(rte_mbuf* m) noexcept;
  tcp_pcb* rebuild(const wire::TcpHandoff& h, tcp_pcb_listen* listener) noexcept;
  void deliver_adopted(tcp_pcb* pcb, tcp_pcb_listen* listener, const wire::TcpHandoff& h, const char* data) noexcept;
  void remember_moved(const wire::TcpHandoff& h) noexcept;
  void remember_released(std::uint16_t port) noexcept;
  bool moved_segment(rte_mbuf* m) noexcept;

  int index_;
  std::unique_ptr<NetDev> dev_;
  std::unique_ptr<CaptureTap> tap_;  // after dev_: its frames go back before the device closes
  StackOptions opts_;
  std::unique_ptr<LwipInstance> lwip_;
  netif netif_{};
  std::array<rte_mbuf*, kMaxBurst> tx_{};
  std::uint16_t tx_count_ = 0;
  std::uint32_t tcp_sockets_ = 0;
  AcceptQueueProbe accept_queue_probe_ = nullptr;
  // Each stack has its own ARP table, so every ARP frame is copied to all
  // (RFC 826 replies must reach the stack that asked); each inbox is a
  // multi-producer, single-consumer rte_ring.
  std::vector<rte_ring*> peer_inboxes_;
  rte_ring* inbox_ = nullptr;
  std::uint64_t handed_to_ = 0;  // see take_handed()
  bool hand_over(std::size_t peer, rte_mbuf* m) noexcept;
  FlowDirectory* flows_ = nullptr;
  PortClaims* claims_ = nullptr;
  bool gone_ = false;
  Offloads offloads_;              // what the device computes for us
  bool rx_cksum_offload_ = false;  // lwIP's checks off: rx_checksums_ok() instead
  wire::StackCounters counters_{};
  bool rx_pressure_ = false;
  std::uint32_t rx_since_check_ = 0;      // frames received since relieve_pressure() looked
  std::uint32_t pressure_check_rx_ = 256; // a sixteenth of the pool (set at create)
  static constexpr std::uint64_t kTimersEveryUs = 250;
  std::uint64_t timers_every_ = 0;        // kTimersEveryUs in TSC cycles (set at create)
  std::uint64_t timers_due_ = 0;          // TSC of the next look at lwIP's timers
  alignas(64) LatencyStats latency_;  // its on_ is read by every application read and write
  std::array<std::uint64_t, kMaxBurst> tx_stamps_{};  // writes waiting for their tx burst (latency on)
  std::uint16_t tx_stamps_count_ = 0;
  struct Moved {  // a connection handed off lately (ltran): its late segments are dropped, not reset
    std::uint16_t local_port = 0;
    std::uint32_t remote_ip = 0;
    std::uint16_t remote_port = 0;
  };
  std::array<Moved, 256> moved_{};  // a listener may hand off many at once
  std::array<std::uint16_t, 8> released_ports_{};  // TCP ports given back to ltran lately: their SYNs get no reset
  std::size_t released_next_ = 0;
  std::size_t moved_next_ = 0;
  std::uint64_t moved_until_ = 0;  // TSC; 0: none lately
};

}  // namespace gz::stack
