// Plain wire structs shared by lstack, ltran and gazellectl (control sockets).
// No pointers, no C++ types with layout surprises: fixed-width fields only, so
// any of the three programs can read what another wrote. Bump kWireVersion on change.
#pragma once

#include <cstdint>
#include <string_view>

namespace gz::wire {

inline constexpr std::uint32_t kWireVersion = 12;

// Counters of one stack thread. Written only by that thread (plain stores, no
// atomics on the hot path); readers on other threads may see a slightly stale
// but never torn 64-bit value on x86_64/aarch64.
// Drops the device counted before the stack saw the packets (rte_eth_stats).
struct DeviceDrops {
  std::uint64_t rx_missed;
  std::uint64_t rx_nombuf;
  std::uint64_t rx_errors;
  std::uint64_t tx_errors;
};

struct StackCounters {
  std::uint64_t rx_packets;
  std::uint64_t rx_bytes;
  std::uint64_t tx_packets;
  std::uint64_t tx_bytes;
  std::uint64_t rx_dropped;        // lwIP refused the frame (malformed, not for us, no memory)
  std::uint64_t tx_dropped_nombuf; // no mbuf to send a frame
  std::uint64_t tx_dropped_full;   // the device queue stayed full
  std::uint64_t tx_dropped_oversize;
  std::uint64_t polls;             // loop iterations
  std::uint64_t idle_sleeps;       // low_power_mode back-offs
  std::uint64_t ooseq_dropped;     // out-of-order queues freed under mbuf pressure
  std::uint64_t tcp_refused;       // sockets or connections over tcp_conn_count
  std::uint64_t handed_over;       // TCP segments and UDP datagrams passed to the stack that holds their flow
  std::uint64_t flow_conflicts;    // a flow another stack already held (left unsteered)
  std::uint64_t rx_copied;         // segments copied out of their mbufs while the pool ran low (slow readers)
  std::uint64_t tx_retried;        // sends lwIP refused (ERR_MEM) and the stack retried by itself
  std::uint64_t syn_evicted;       // half-open connections evicted for a new SYN (listener full: SYN flood)
  std::uint64_t accept_fd_limit;   // accept() gave EMFILE/ENFILE; the connection stayed queued
  std::uint64_t rx_cksum_bad;      // dropped: bad checksum found by the device or by us (offload on)
  std::uint64_t tcp_handed_off;    // ltran: queued connections of a closed listener moved to another process
  std::uint64_t tcp_adopted;       // ltran: connections another process's closed listener moved here
  std::uint64_t tcp_handoff_reset; // ltran: queued connections reset at a listener's close (no other listener, too much data)
  std::uint64_t moved_dropped;     // ltran: segments of a moved connection that came before ltran rerouted it (resent by the peer)
  std::uint64_t tw_recycled;       // TIME-WAIT connections ended early: over TCP_TW_MAX per stack (Linux: TCPTimeWaitOverflow)
  // malformed/protocol drops as lwIP counts them (lwip_stats)
  std::uint64_t ip_drop, ip_chkerr, ip_lenerr, ip_proterr, ip_reass_ok;
  std::uint64_t tcp_drop, tcp_chkerr, tcp_lenerr, tcp_proterr;
  std::uint64_t udp_drop, udp_chkerr, udp_lenerr;
  std::uint64_t icmp_recv, icmp_xmit;
  std::uint64_t arp_recv, arp_xmit;
};

// Every counter, with the name scripts (--json, telemetry) and people see.
struct NamedCounter {
  const char* name;
  std::uint64_t StackCounters::*field;
};
inline constexpr NamedCounter kCounters[] = {
    {"rx_packets", &wire::StackCounters::rx_packets},
    {"rx_bytes", &wire::StackCounters::rx_bytes},
    {"tx_packets", &wire::StackCounters::tx_packets},
    {"tx_bytes", &wire::StackCounters::tx_bytes},
    {"rx_dropped", &wire::StackCounters::rx_dropped},
    {"tx_dropped_nombuf", &wire::StackCounters::tx_dropped_nombuf},
    {"tx_dropped_full", &wire::StackCounters::tx_dropped_full},
    {"tx_dropped_oversize", &wire::StackCounters::tx_dropped_oversize},
    {"polls", &wire::StackCounters::polls},
    {"idle_sleeps", &wire::StackCounters::idle_sleeps},
    {"ooseq_dropped", &wire::StackCounters::ooseq_dropped},
    {"tcp_refused", &wire::StackCounters::tcp_refused},
    {"handed_over", &wire::StackCounters::handed_over},
    {"flow_conflicts", &wire::StackCounters::flow_conflicts},
    {"rx_copied", &wire::StackCounters::rx_copied},
    {"tx_retried", &wire::StackCounters::tx_retried},
    {"syn_evicted", &wire::StackCounters::syn_evicted},
    {"accept_fd_limit", &wire::StackCounters::accept_fd_limit},
    {"rx_cksum_bad", &wire::StackCounters::rx_cksum_bad},
    {"tcp_handed_off", &wire::StackCounters::tcp_handed_off},
    {"tcp_adopted", &wire::StackCounters::tcp_adopted},
    {"tcp_handoff_reset", &wire::StackCounters::tcp_handoff_reset},
    {"moved_dropped", &wire::StackCounters::moved_dropped},
    {"tw_recycled", &wire::StackCounters::tw_recycled},
    {"ip_drop", &wire::StackCounters::ip_drop},
    {"ip_chkerr", &wire::StackCounters::ip_chkerr},
    {"ip_lenerr", &wire::StackCounters::ip_lenerr},
    {"ip_proterr", &wire::StackCounters::ip_proterr},
    {"ip_reass_ok", &wire::StackCounters::ip_reass_ok},
    {"tcp_drop", &wire::StackCounters::tcp_drop},
    {"tcp_chkerr", &wire::StackCounters::tcp_chkerr},
    {"tcp_lenerr", &wire::StackCounters::tcp_lenerr},
    {"tcp_proterr", &wire::StackCounters::tcp_proterr},
    {"udp_drop", &wire::StackCounters::udp_drop},
    {"udp_chkerr", &wire::StackCounters::udp_chkerr},
    {"udp_lenerr", &wire::StackCounters::udp_lenerr},
    {"icmp_recv", &wire::StackCounters::icmp_recv},
    {"icmp_xmit", &wire::StackCounters::icmp_xmit},
    {"arp_recv", &wire::StackCounters::arp_recv},
    {"arp_xmit", &wire::StackCounters::arp_xmit},
};
static_assert(sizeof(kCounters) / sizeof(kCounters[0]) == sizeof(StackCounters) / sizeof(std::uint64_t),
              "every counter has a name");
// into += c, counter by counter (totals over stacks: gazellectl, telemetry).
inline void add_counters(StackCounters& into, const StackCounters& c) {
  for (const NamedCounter& n : kCounters) into.*n.field += c.*n.field;
}

// --- control socket (lstack <-> gazellectl) ---------------------------------
// One request per connection on <run_dir>/<unix_prefix>lstack.<pid>.sock: the
// client writes a CtlRequest, lstack answers with a CtlReplyHeader followed by
// stack_count CtlStackStats (command kCtlStats) or by items CtlConn (command
// kCtlConns: every TCP and UDP socket of every stack) and closes.
inline constexpr std::uint32_t kCtlMagic = 0x677a6374;  // "gzct"
inline constexpr std::uint32_t kCtlStats = 1;
inline constexpr std::uint32_t kCtlConns = 2;
// Setters: CtlRequest::value carries the new value; the reply is the header alone.
inline constexpr std::uint32_t kCtlSetLowPower = 3;  // value 0 or 1
inline constexpr std::uint32_t kCtlSetLogLevel = 4;  // value kLogError, kLogInfo or kLogDebug
// The device's extended statistics (DPDK xstats): items CtlXstat after the header.
inline constexpr std::uint32_t kCtlXstats = 5;
inline constexpr std::uint32_t kLogError = 1, kLogInfo = 2, kLogDebug = 3;
// A packet capture: CtlRequest (value: the snap length), carrying the open
// pcap file (its header written) as SCM_RIGHTS, then CtlCaptureFilter and its
// instructions. lstack answers with the header alone (status 0, or -EBUSY
// while another capture runs, -EINVAL for a filter it cannot run), then
// appends the frames that match to the file itself and sends a
// CtlCaptureReport now and then and a last one before it closes the
// connection (max_frames reached, or the client shut its side down). A
// one-byte message carrying another file (SCM_RIGHTS) moves the capture on
// to it (rotation).
inline constexpr std::uint32_t kCtlCapture = 6;
// Latency (show -l): kCtlLatencyStart clears and starts the recording for at
// most CtlRequest::value seconds (reply: the header alone); kCtlLatencyRead
// stops it and answers with stack_count CtlLatency after the header.
inline constexpr std::uint32_t kCtlLatencyStart = 7;
inline constexpr std::uint32_t kCtlLatencyRead = 8;
inline constexpr int kTcpStates = 11;  // CLOSED .. TIME_WAIT, in lwIP's (RFC 9293) order

struct CtlRequest {
  std::uint32_t magic;
  std::uint32_t version;
  std::uint32_t command;
  std::uint32_t value;  // setters' argument
};

struct CtlReplyHeader {
  std::uint32_t magic;
  std::uint32_t version;
  std::int32_t status;        // 0 or -errno
  std::uint32_t stack_count;
  std::uint32_t pid;
  std::uint32_t items;      // kCtlConns: CtlConn entries after the header
  std::uint32_t host_addr;  // lstack's host_addr, network order (gazellectl finds a process by it)
  std::uint32_t reserved;
};

// A classic BPF program as pcap_compile makes it (struct bpf_insn's layout);
// count 0: every frame.
inline constexpr std::uint32_t kCaptureMaxInsns = 4096;  // BPF_MAXINSNS
struct CtlBpfInsn {
  std::uint16_t code;
  std::uint8_t jt;
  std::uint8_t jf;
  std::uint32_t k;
};
struct CtlCaptureFilter {
  std::uint32_t count;       // instructions that follow
  std::uint32_t reserved;
  std::uint64_t max_frames;  // stop after this many frames written; 0: until the client stops it
};
inline constexpr std::uint32_t kCaptureProgress = 0, kCaptureEnd = 1;
struct CtlCaptureReport {
  std::uint64_t frames;    // written to the file so far
  std::uint64_t dropped;   // lost so far (a full ring between a stack and the writer, no mbuf, a failed write)
  std::uint64_t filtered;  // seen and refused by the filter
  std::uint32_t kind;      // kCaptureProgress / kCaptureEnd
  std::int32_t error;      // kCaptureEnd: 0, or the errno that ended it (a write to the file failed)
};

// Latency histograms: bucket i counts the samples of latency_bucket(ns) == i,
// 4 buckets per power of two (a bucket spans at most 25% of its low edge).
inline constexpr int kLatencyBuckets = 256;
constexpr int latency_bucket(std::uint64_t ns) {
  if (ns < 4) return static_cast<int>(ns);
  const int msb = 63 - __builtin_clzll(ns);
  return (msb << 2) | static_cast<int>((ns >> (msb - 2)) & 3);
}
// The lowest latency bucket i holds.
constexpr std::uint64_t latency_bucket_low(int i) {
  return i < 8 ? static_cast<std::uint64_t>(i < 4 ? i : 4) : (4ull + static_cast<unsigned>(i & 3)) << ((i >> 2) - 2);
}
static_assert(latency_bucket(1000) == 39 && latency_bucket_low(39) == 896 && latency_bucket_low(40) == 1024);
struct CtlLatency {
  std::uint64_t rx[kLatencyBuckets];  // receive: the stack's rx burst to the program's read of the frame
  std::uint64_t tx[kLatencyBuckets];  // send: the program's write() to the tx burst carrying it, handed to the driver
  // device: each tx burst's call into the driver (over net_af_xdp its sendto() kick, in
  // which veth runs the peer's receive; a NIC's driver writes a doorbell)
  std::uint64_t dev[kLatencyBuckets];
  std::uint64_t rx_max_ns, tx_max_ns, dev_max_ns;
  std::uint64_t window_ns;  // how long it recorded
  std::uint32_t recording;  // 1 while it still records
  std::uint32_t reserved;
};

// One DPDK extended statistic of the device (rte_eth_xstats_get).
struct CtlXstat {
  char name[64];  // NUL-terminated, as DPDK names it (rx_good_packets, rx_q0_bytes, ...)
  std::uint64_t value;
};

// One socket, in the terms of `ss -tuan`.
struct CtlConn {
  std::uint32_t local_ip;     // network order; 0: any
  std::uint32_t remote_ip;    // network order; 0: none (listener, unconnected UDP)
  std::uint16_t local_port;   // host order
  std::uint16_t remote_port;  // host order
  std::uint8_t proto;         // 6 TCP, 17 UDP
  std::uint8_t state;         // TCP: the kTcpStates index (1 LISTEN ...); UDP: 0
  std::uint16_t stack;        // the stack that serves it
  std::uint32_t recv_q;       // TCP: bytes received the program has not read yet; LISTEN: connections waiting for accept()
  std::uint32_t send_q;       // TCP: bytes sent the peer has not acknowledged yet; LISTEN: the backlog
};

struct CtlStackStats {
  StackCounters counters;
  std::uint32_t tcp_states[kTcpStates];  // active + time-wait PCBs by state
  std::uint32_t tcp_listen;
  std::uint32_t udp_pcbs;
  std::int32_t cpu;
  std::uint64_t mbufs_total;
  std::uint64_t mbufs_free;
  std::uint64_t arena_reserved;
  std::uint64_t arena_in_use;
  std::uint64_t arena_failures;
  DeviceDrops device;
  std::uint32_t offloads;  // kOffload* bits: checksums the device computes
  std::uint32_t reserved;
  std::uint64_t snmp[40];  // MIB-II, kSnmpNames' order (lwIP's 32-bit counters: they wrap as SNMP's do)
  std::uint8_t mac[6];     // the device's
  std::uint16_t mtu;
  std::uint32_t reserved2;
};

// MIB-II counters (RFC 1213) in the order of kSnmpNames: the names nstat
// prints for /proc/net/snmp's (group prefix + field).
inline constexpr const char* kSnmpNames[] = {
    "IpInReceives",     "IpInHdrErrors",     "IpInAddrErrors",     "IpForwDatagrams",  "IpInUnknownProtos",
    "IpInDiscards",     "IpInDelivers",      "IpOutRequests",      "IpOutDiscards",    "IpOutNoRoutes",
    "IpReasmReqds",     "IpReasmOKs",        "IpReasmFails",       "IpFragOKs",        "IpFragFails",
    "IpFragCreates",    "IcmpInMsgs",        "IcmpInErrors",       "IcmpInDestUnreachs", "IcmpInEchos",
    "IcmpInEchoReps",   "IcmpOutMsgs",       "IcmpOutErrors",      "IcmpOutDestUnreachs", "IcmpOutEchos",
    "IcmpOutEchoReps",  "TcpActiveOpens",    "TcpPassiveOpens",    "TcpAttemptFails",  "TcpEstabResets",
    "TcpCurrEstab",     "TcpInSegs",         "TcpOutSegs",         "TcpRetransSegs",   "TcpInErrs",
    "TcpOutRsts",       "UdpInDatagrams",    "UdpNoPorts",         "UdpInErrors",      "UdpOutDatagrams",
};
inline constexpr int kSnmpCount = sizeof(kSnmpNames) / sizeof(kSnmpNames[0]);
// Not an lwIP counter: lstack counts it from the pcbs (RFC 1213: ESTABLISHED + CLOSE-WAIT).
inline constexpr int kSnmpTcpCurrEstab = 30;
static_assert(std::string_view(kSnmpNames[kSnmpTcpCurrEstab]) == "TcpCurrEstab");

// --- ltran (lstack and gazellectl <-> ltran) --------------------------------
// One unix stream socket, <run_dir>/<unix_prefix>ltran.sock. Each request is
// an LtranRequest followed by `length` bytes of body; each answer an
// LtranReply followed by `length` bytes. ltran knows who asks by SO_PEERCRED,
// never by what the client claims.
//  - kLtranRegister (body LtranRegister; answer LtranRegistered): an lstack
//    process joins. The connection stays open for the process's life: its
//    hang-up is ltran's notice that the process is gone (exit, SIGKILL).
//  - kLtranClaim / kLtranRelease (body LtranClaim; answer: the reply alone), on
//    a registered connection: a listening TCP port or a bound UDP port is
//    dispatched to this process from now on / no more. -EADDRINUSE when a
//    process of another uid holds it, -EACCES for an address not its own.
//    A released TCP port with no other listener stays held for a moment
//    (ltran's kReloadGraceSeconds): its SYNs are dropped, not reset, and
//    connections handed off are kept, until a process of the same uid
//    listens again (nginx's new workers at a reload).
//  - kLtranHandoff (body TcpHandoff and its data; answer: the reply alone), on
//    a registered connection: a connection its closed listener had queued.
//    Over this socket, not the memif ring: the answer means ltran has it,
//    even if the process exits at once (nginx's old workers do).
//  - kLtranShow (answer LtranTotals, then `items` LtranInstanceInfo) and
//    kLtranQuit (answer: the reply alone; root or ltran's own uid only): for
//    gazellectl, one request per connection.
inline constexpr std::uint32_t kLtranMagic = 0x677a6c74;  // "gzlt"
inline constexpr std::uint32_t kLtranRegister = 1, kLtranClaim = 2, kLtranRelease = 3, kLtranShow = 4,
                               kLtranQuit = 5, kLtranHandoff = 6;
inline constexpr std::uint8_t kProtoTcp = 6, kProtoUdp = 17;

struct LtranRequest {
  std::uint32_t magic;
  std::uint32_t version;
  std::uint32_t type;
  std::uint32_t length;  // body bytes that follow
};

struct LtranReply {
  std::uint32_t magic;
  std::uint32_t version;
  std::int32_t status;   // 0 or -errno
  std::uint32_t length;  // body bytes that follow
  std::uint32_t items;   // kLtranShow: LtranInstanceInfo entries in the body
  std::uint32_t reserved;
  char message[256];     // status != 0: why, for the program's log (NUL-terminated)
};

struct LtranRegister {
  std::uint32_t queues;  // stack threads: one memif queue pair each
  std::uint32_t addr;    // host_addr, network order
  std::uint8_t mac[6];   // lstack.conf's devices: must be ltran's bond MAC
  std::uint16_t reserved;
  char name[16];         // the program's name (comm), for gazellectl
};

struct LtranRegistered {
  std::uint32_t instance;                  // ltran's id for this process
  std::uint16_t mtu;
  std::uint16_t port_lo, port_hi;          // local ports for connect() and unbound UDP: this process's own range
  std::uint8_t mac[6];                     // the bond's MAC: the stacks' source MAC
  std::uint16_t reserved;
  char memif_socket[108];                  // the net_memif server socket made for this process (owned by its uid)
  char memif_secret[24];                   // memif's secret= for it (NUL-terminated)
};

struct LtranClaim {
  std::uint32_t addr;   // network order; 0: any of the process's addresses
  std::uint16_t port;   // host order
  std::uint8_t proto;   // kProtoTcp (a listener) or kProtoUdp (a bound port)
  std::uint8_t reserved;
};

// Counters of one registered process, as ltran counts them.
struct LtranInstanceInfo {
  std::uint32_t instance, pid, uid, gid;
  std::uint32_t addr;           // network order
  std::uint32_t queues;
  std::uint64_t rx_packets, rx_bytes;  // ltran -> the process
  std::uint64_t tx_packets, tx_bytes;  // the process -> the wire
  std::uint64_t rx_dropped;     // its queue was full (the process did not keep up)
  std::uint64_t tx_limited;     // over its rate limit (ltran.conf's instance_tx_*)
  std::uint64_t tx_refused;     // not from its own address (spoofed), or not IPv4/ARP: dropped
  std::uint32_t flows;          // TCP connections and UDP ports dispatched to it
  std::uint32_t claims;         // listening TCP and bound UDP ports (all: ports[] lists the first 16)
  std::uint16_t ports[16];      // the first 16 of those ports (host order)
  std::uint8_t protos[16];      // kProtoTcp / kProtoUdp for each
  char name[16];
};

static_assert(sizeof(LtranRequest) == 16 && sizeof(LtranReply) == 280 && sizeof(LtranRegister) == 32);
static_assert(sizeof(LtranRegistered) == 152 && sizeof(LtranClaim) == 8 && sizeof(LtranInstanceInfo) == 152);

struct LtranTotals {
  std::uint64_t rx_packets, rx_bytes;  // from the wire
  std::uint64_t tx_packets, tx_bytes;  // to the wire
  std::uint64_t rx_unclaimed;          // no process claims it (dropped, or to the kernel with kni_switch)
  std::uint64_t rx_to_kernel;          // handed to the kernel (kni_switch = 1)
  std::uint64_t rx_malformed;          // too short or bad headers: dropped
  std::uint64_t rx_dropped;            // a process's queue was full
  std::uint64_t tx_dropped;            // the port's tx queue stayed full
  std::uint64_t arp_replies;           // ARP requests ltran answered itself
  std::uint64_t flows;                 // TCP flows in the dispatch table
  std::uint64_t tcp_handoffs;          // connections moved from a closed listener to another process's
  std::uint64_t tcp_handoffs_dropped;  // handoffs refused (not the sender's flow, malformed) or kept too long
  std::uint64_t tcp_syn_held;          // SYNs dropped (the peer retries) while a released port waits for its next listener
  std::uint64_t tcp_orphan_probes;     // segments sent to the peers of a gone process's connections, to draw their ACK
  std::uint64_t tcp_orphan_resets;     // resets answering a segment of a gone process's connection (RFC 9293 3.10.7.1)
  std::uint32_t instances;
  std::uint32_t pid;
  std::uint64_t uptime_ns;
  std::uint32_t bond_mode;
  std::uint32_t active_port;           // the bond's active member (DPDK port id); ~0u: none
  std::uint32_t ports;                 // members
  std::uint32_t reserved;
  std::uint32_t port_ids[8];
  std::uint32_t link_up[8];            // 1 when the member's (kernel) link is up
  // gazellectl ltran show -b: bursts by size (index = frames in the burst, 1..32; 32 counts
  // larger tx flushes too, 0 a tx flush the port took nothing of),
  // from the wire's rx queue and to the wire's tx queue; frames from the wire by
  // length (kLtranLengths' upper bounds, the last one unbounded).
  std::uint64_t rx_bursts[33];
  std::uint64_t tx_bursts[33];
  std::uint64_t rx_lengths[8];
  // gazellectl ltran show -l: frames by the time they spent inside ltran
  // (latency_bucket(ns)): from the wire's rx burst to the process's memif
  // queue, and from the process's memif burst to the wire's tx queue.
  std::uint64_t latency_in[kLatencyBuckets];
  std::uint64_t latency_out[kLatencyBuckets];
};
inline constexpr std::uint32_t kLtranLengths[8] = {64, 128, 256, 512, 1024, 1518, 9018, 0xffffffff};
static_assert(sizeof(LtranTotals) == 208 + 76 * 8 + 2 * kLatencyBuckets * 8);

// A connection a process's closed listener had queued (or half open), moved
// to another process listening on the same port (as Linux's tcp_migrate_req
// moves them between SO_REUSEPORT listeners): a kLtranHandoff request from
// the process to ltran, which checks that the flow is the sender's, points it
// at another listener and passes it on as an Ethernet frame of
// kHandoffEtherType (IEEE 802 local experimental) on that process's queue;
// that process rebuilds the connection from it (or hands it back the same
// way when its listener closed too). Followed by data_len bytes the
// connection received and nobody has read (at most kHandoffMaxData).
inline constexpr std::uint16_t kHandoffEtherType = 0x88b5;
inline constexpr std::uint32_t kHandoffMagic = 0x677a686f;  // "gzho"
inline constexpr std::uint16_t kHandoffMaxData = 1900;       // one mbuf: 14 + 56 + 1900 fits 2048
inline constexpr std::uint8_t kHandoffSynRcvd = 0, kHandoffEstablished = 1, kHandoffCloseWait = 2;
inline constexpr std::uint8_t kHandoffWndScale = 1, kHandoffSack = 2, kHandoffNoDelay = 4;
struct TcpHandoff {
  std::uint32_t magic;
  std::uint8_t version;               // kWireVersion's low byte
  std::uint8_t hops;                  // ltran's passes: bounded, a closing receiver may pass it on
  std::uint8_t state;                 // kHandoff{SynRcvd,Established,CloseWait}
  std::uint8_t flags;                 // kHandoff{WndScale,Sack,NoDelay}
  std::uint32_t local_ip, remote_ip;  // network order
  std::uint16_t local_port, remote_port;
  std::uint32_t iss, snd_nxt;         // RFC 9293 3.3.1's send variables (ISS, SND.NXT = SND.UNA: nothing of ours in flight)
  std::uint32_t snd_wnd, snd_wl1, snd_wl2;
  std::uint32_t rcv_nxt, rcv_wnd;     // rcv_wnd already less the unread data
  std::uint16_t mss;
  std::uint8_t snd_scale, rcv_scale;
  std::uint16_t data_len;
  std::uint16_t reserved;
};
static_assert(sizeof(TcpHandoff) == 56);

inline constexpr std::uint32_t kOffloadRxIp = 1, kOffloadRxL4 = 2, kOffloadTxIp = 4, kOffloadTxL4 = 8;
static_assert(kSnmpCount == sizeof(CtlStackStats::snmp) / sizeof(std::uint64_t), "one counter per name");
}  // namespace gz::wire
