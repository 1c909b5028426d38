// Dispatcher: moves frames between the wire port and the registered lstack
// processes, and keeps who owns what.
//
// From the wire: ARP requests for a registered address are answered here
// (and a copy goes to its owners, whose ARP tables learn the asker); ARP
// replies go to every owner of the target address; TCP goes by 4-tuple
// (FlowTable), a SYN of no known flow to one of the processes listening on
// (address, port), spread by the 4-tuple's hash as SO_REUSEPORT does; UDP by
// (address, port) claimed or learned from what the process sent; later IPv4
// fragments where their first one went; ICMP (and fragments whose first one
// has not come) to the address's first owner. Anything else is unclaimed:
// handed to the host's kernel (kni_switch = 1), or counted and dropped; what
// the kernel sends goes out as it is.
// From a process: only frames from its own address (ARP or IPv4) go out,
// under its rate limit; an outgoing SYN enters the flow table.
// Thread: everything from the one dispatch thread (the control requests are
// served by the same loop), so nothing here locks.
#pragma once

#include <sys/socket.h>

#include <array>
#include <deque>
#include <cstdint>
#include <string>
#include <vector>

#include "flow_table.hpp"
#include "gz/result.hpp"
#include "gz/wire.hpp"
#include "instance.hpp"
#include "wire_port.hpp"

struct rte_ipv4_hdr;
struct rte_tcp_hdr;

namespace gz::ltran {

class Dispatcher {
 public:
  struct Options {
    std::uint16_t wire_port = 0;  // the bond (or single port) ltran owns
    const WirePort* wire = nullptr;  // its members, for gazellectl
    std::uint16_t kni_port = kNoPort;  // kni_switch = 1: the kernel's tap port
    std::uint32_t bond_mode = 1;
    rte_mempool* pool = nullptr;
    std::array<std::uint8_t, 6> mac{};
    std::uint16_t mtu = 1500;
    std::uint32_t subnet = 0, subnet_mask = 0;  // network order: the addresses processes may claim
    std::size_t max_clients = 30;
    std::uint64_t scan_interval_s = 600;
    std::uint64_t tx_pps = 0, tx_bps = 0;
    std::string run_dir, prefix;
  };
  explicit Dispatcher(Options opts);
  ~Dispatcher();
  Dispatcher(const Dispatcher&) = delete;
  Dispatcher& operator=(const Dispatcher&) = delete;

  // One round: a burst from the wire to the processes and one from each
  // process to the wire; ages flows now and then. Returns the frames moved.
  std::size_t poll() noexcept;

  // Registers the process on connection fd. Errors: EACCES (address outside
  // the subnet, MAC not the bond's), EUSERS (dispatch_max_clients reached),
  // EINVAL (queues), the memif port's errno.
  Result<wire::LtranRegistered> add(int fd, const ucred& who, const wire::LtranRegister& req);
  // The process on fd hung up: its claims and port go, its TCP flows become
  // orphans (orphan_flows), the rest of its flows go. Never fails.
  void remove(int fd) noexcept;
  bool registered(int fd) const noexcept { return find_fd(fd) != nullptr; }
  // 0, or -EADDRINUSE (another uid holds it), -EACCES (not its address), -ENOSPC.
  int claim(int fd, const wire::LtranClaim& c, std::string& why);
  // A registered process hands over a connection (wire::kLtranHandoff): 0, or
  // -EINVAL (malformed, not its flow), -ENOMEM. handoff.cpp.
  int handoff_request(int fd, const char* body, std::uint32_t len) noexcept;
  // The last TCP listener of a port gone: its SYNs are held a moment (handoff.cpp).
  void release(int fd, const wire::LtranClaim& c) noexcept;
  wire::LtranTotals totals() const noexcept;
  std::vector<wire::LtranInstanceInfo> infos() const;
  // Every registered connection's fd (to close them at the end).
  std::vector<int> fds() const;

 private:
  struct Claim {
    std::uint8_t proto;
    std::uint32_t addr;  // network order: the process's address
    std::uint16_t port;
    std::uint16_t slot;
    std::uint32_t uid;
    std::uint32_t refs;  // each stack thread claims once
  };

  std::size_t from_wire() noexcept;
  std::size_t from_instances() noexcept;
  std::size_t from_kernel() noexcept;
  void flush_kernel() noexcept;
  void dispatch(rte_mbuf* m) noexcept;
  void dispatch_arp(rte_mbuf* m) noexcept;
  void dispatch_ipv4(rte_mbuf* m) noexcept;
  // Where a frame goes: a process and its queue (inst nullptr: no flow, no claim).
  struct Target {
    Instance* inst = nullptr;
    std::uint16_t queue = 0;
    bool hold = false;  // inst nullptr: drop unanswered (the port waits for its next listener)
    bool reset = false;  // inst nullptr: a gone process's connection: answer with a reset
  };
  // handoff.cpp. A process hands a connection its closed listener had queued
  // (the frame m: Ethernet, wire::TcpHandoff, data) to another listener of
  // the port, or to the next one within kReloadGraceSeconds (parked): frees m
  // or passes it on; false: refused (m freed).
  bool handoff(Instance& from, rte_mbuf* m) noexcept;
  void park(rte_mbuf* m, const FlowKey& key, std::uint32_t hash, std::uint32_t uid) noexcept;
  bool try_deliver(Instance& to, const FlowKey& key, std::uint32_t hash, std::uint32_t uid, rte_mbuf* m) noexcept;
  // The receiver (kAnySlot: whoever) sent a segment of the flow: it has the connection.
  void confirm(std::uint16_t slot, const FlowKey& key) noexcept;
  // The receiver went before it sent anything of those: parked again.
  void repark(std::uint16_t slot) noexcept;
  // The last listener of a TCP port left: SYNs to it are held for a moment.
  void note_released(std::uint32_t addr, std::uint16_t port) noexcept;
  bool held(std::uint32_t addr, std::uint16_t port) const noexcept;
  void tend_held(std::uint64_t now) noexcept;
  // peer_mac: the frame's source, kept with a flow its SYN makes.
  Target route_tcp(std::uint32_t src, std::uint32_t dst, const std::uint8_t* l4, std::uint32_t l4_len,
                   const std::uint8_t* peer_mac) noexcept;
  Target route_udp(std::uint32_t src, std::uint32_t dst, const std::uint8_t* l4, std::uint32_t l4_len) noexcept;
  // IPv4 fragments follow the first one (which has the ports).
  struct Fragments {
    std::uint32_t src = 0, dst = 0;
    std::uint16_t id = 0;
    std::uint8_t proto = 0;
    std::uint16_t slot = 0, queue = 0;
    std::uint64_t expires = 0;  // TSC
  };
  std::size_t fragment_slot(const rte_ipv4_hdr& ip) const noexcept;
  void remember_fragments(const rte_ipv4_hdr& ip, Target t) noexcept;
  Target fragments_of(const rte_ipv4_hdr& ip) noexcept;
  void outgoing(Instance& inst, std::uint16_t q, rte_mbuf* m) noexcept;
  void deliver(Instance& inst, std::uint16_t q, rte_mbuf* m) noexcept;
  void flush_pending() noexcept;
  void to_wire(rte_mbuf* m) noexcept;
  void flush_wire() noexcept;
  void unclaimed(rte_mbuf* m) noexcept;
  void age_flows(std::uint64_t now) noexcept;
  std::uint64_t ns_since(std::uint64_t tsc) const noexcept;
  Instance* owner_of(std::uint32_t addr) noexcept;
  Instance* find_fd(int fd) const noexcept;
  // The process listening on (proto, addr, port), chosen by hash among them; nullptr if none.
  // except_slot: a process to leave out (the one handing a connection over).
  Instance* listener(std::uint8_t proto, std::uint32_t addr, std::uint16_t port, std::uint32_t hash,
                     std::uint32_t except_slot = ~0u) noexcept;

  // A nginx reload starts the new workers' lstack while the old ones close
  // their listeners: a port may have no listener for a moment.
  static constexpr std::uint64_t kReloadGraceSeconds = 3;
  static constexpr std::size_t kMaxParked = 4096;
  static constexpr std::uint64_t kUnconfirmedSeconds = 30;  // a copy kept until the receiver answers or goes
  static constexpr std::uint16_t kParkedSlot = 0xffff;  // Flow::instance of a parked connection
  static constexpr std::uint16_t kAnySlot = 0xffff;     // confirm(): any receiver
  static constexpr std::uint16_t kOrphanSlot = 0xfffe;  // Flow::instance of a gone process's connection

  // orphans.cpp. A process gone without closing its connections (SIGKILL, a
  // crash) cannot tell its peers, which would wait for minutes (a kernel
  // closes a dead process's sockets). Its TCP flows stay, as kOrphanSlot's,
  // for kOrphanSeconds: a segment of one is answered with a reset as a closed
  // port answers (RFC 9293 3.10.7.1), and each peer gets a probe out of its
  // window, whose ACK (3.10.7.4) draws that reset.
  void orphan_flows(std::uint16_t slot) noexcept;
  // A FIN or reset the process sends: over once both sides' FINs (or a reset)
  // passed, its connection is no orphan when the process goes.
  void own_end(const Instance& inst, const rte_ipv4_hdr& ip, const rte_tcp_hdr& tcp) noexcept;
  void probe_orphans() noexcept;
  void expire_orphans(std::uint64_t now) noexcept;
  void reset_orphan(rte_mbuf* m) noexcept;
  static constexpr std::uint64_t kOrphanSeconds = 60;  // a peer with data to send retries within it
  static constexpr std::uint64_t kHalfClosedSeconds = 7200;  // see age_flows
  static constexpr std::size_t kExpiriesPerPoll = 256;
  static constexpr std::size_t kMaxOrphans = 65536;    // more at once (all processes): erased as before
  static constexpr std::size_t kProbesPerPoll = 16;    // flows (two frames each) per dispatch pass
  struct Orphan {
    FlowKey key;
    std::uint64_t until;  // TSC
  };
  std::deque<Orphan> orphans_;   // oldest first
  std::vector<FlowKey> to_probe_;
  struct Released {
    std::uint32_t addr;
    std::uint16_t port;
    std::uint64_t until;  // TSC
  };
  struct Parked {
    rte_mbuf* m;  // the handoff frame
    FlowKey key;
    std::uint32_t hash, uid;
    std::uint64_t until;
  };
  std::vector<Released> released_;
  std::vector<Parked> parked_;
  // Delivered, not yet confirmed: a copy of the frame, and who got it (an old
  // nginx worker may take one and exit before it reads its queue).
  struct Unconfirmed {
    Parked copy;
    std::uint16_t slot;
  };
  std::vector<Unconfirmed> unconfirmed_;
  std::size_t connecting_ = 0;  // live processes whose memif is not up yet
  void check_links() noexcept;

  Options opts_;
  std::vector<Instance> slots_;
  std::vector<MemifPort> memifs_;  // by slot: made once, kept
  std::vector<Claim> claims_;
  FlowTable flows_;
  std::array<Fragments, 1024> frags_{};
  wire::LtranTotals totals_{};
  std::array<rte_mbuf*, kBurst * 2> wire_out_{};
  std::array<std::uint32_t, kBurst * 2> wire_bytes_{};
  std::array<rte_mbuf*, kBurst> kni_out_{};
  std::uint16_t kni_out_count_ = 0;
  std::uint16_t wire_out_count_ = 0;
  std::uint64_t hz_ = 0, started_ = 0, last_scan_ = 0, last_lacp_tx_ = 0;
  std::uint64_t scan_tsc_ = 0;  // tcp_conn_scan_interval in TSC cycles
};

}  // namespace gz::ltran
