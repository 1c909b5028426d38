#include "stack.hpp"

#include <numa.h>

#include <rte_cycles.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "lwip/etharp.h"
#include "lwip/udp.h"
#include "lwip/priv/tcp_priv.h"
#include "lwip/stats.h"
#include "netif/ethernet.h"
#include "pbuf_mbuf.hpp"
#include "tsc.hpp"
#include "gz/handover.hpp"
#include "gz/thread_state.hpp"

namespace gz::stack {
namespace {

// numa_bind: the arena's chunks come from the stack CPU's node (libnuma).
void* numa_chunk(std::size_t bytes, void* ctx) noexcept {
  return numa_alloc_onnode(bytes, static_cast<int>(reinterpret_cast<std::intptr_t>(ctx)));
}
void numa_release(void* chunk, std::size_t bytes, void*) noexcept { numa_free(chunk, bytes); }
LwipArena::ChunkSource numa_source(int node) {
  return {numa_chunk, numa_release, reinterpret_cast<void*>(static_cast<std::intptr_t>(node))};
}
constexpr int kTxRetries = 4;  // a full device queue usually drains within a few tries
// Frames a capture may hold between the stack and its writer: a few bursts'
// worth at line rate, small beside the pool (mbufs it holds are not free).
constexpr unsigned kCaptureSlots = 1024;
}

Stack* Stack::current() noexcept { return this_thread_state().stack; }

Stack::Stack(int index, std::unique_ptr<NetDev> dev, const StackOptions& opts)
    : index_(index), dev_(std::move(dev)), opts_(opts) {}

Result<std::unique_ptr<Stack>> Stack::create(int index, std::unique_ptr<NetDev> dev, const StackOptions& opts) {
  if (opts.rx_burst == 0 || opts.rx_burst > kMaxBurst) {
    return make_error(EINVAL, "nic_read_num must be 1.." + std::to_string(kMaxBurst));
  }
  std::unique_ptr<Stack> s(new Stack(index, std::move(dev), opts));
  if (rte_mempool* pool = s->dev_->tx_pool(); pool != nullptr) s->pressure_check_rx_ = std::max(32u, pool->size / 16);
  s->timers_every_ = tsc_cycles_us(kTimersEveryUs);
  s->tap_ = CaptureTap::create(kCaptureSlots);
  if (s->tap_ == nullptr) return make_error(ENOMEM, "no memory for the capture ring");
  auto inst = LwipInstance::create(opts.arena_bytes, opts.numa_node >= 0 ? numa_source(opts.numa_node)
                                                                         : LwipArena::heap_source());
  if (!inst) return inst.error();
  s->lwip_ = std::move(inst.value());
  ip4_addr_t host, mask, gw;
  host.addr = opts.host.s_addr;
  mask.addr = opts.mask.s_addr;
  gw.addr = opts.gateway.s_addr;
  if (netif_add(&s->netif_, &host, &mask, &gw, s.get(), netif_init, ethernet_input) == nullptr) {
    return make_error(ENOMEM, "lwIP refused the netif");
  }
  netif_set_default(&s->netif_);
  netif_set_link_up(&s->netif_);
  netif_set_up(&s->netif_);
  s->peer_inboxes_ = opts.peer_inboxes;
  s->inbox_ = opts.inbox;
  s->flows_ = opts.flows;
  s->claims_ = opts.claims;
  etharp_gratuitous(&s->netif_);  // RFC 5227 section 3: announce our address
  this_thread_state().stack = s.get();
  s->flush_tx();
  return s;
}

Stack::~Stack() {
  flush_tx();
  for (std::uint16_t i = 0; i < tx_count_; ++i) rte_pktmbuf_free(tx_[i]);
  if (this_thread_state().stack == this) this_thread_state().stack = nullptr;
  netif_remove(&netif_);
}

err_t Stack::netif_init(netif* nif) {
  auto* self = static_cast<Stack*>(nif->state);
  nif->name[0] = 'g';
  nif->name[1] = 'z';
  nif->output = etharp_output;
  nif->linkoutput = link_output;
  nif->mtu = self->dev_->mtu();
  nif->hwaddr_len = ETH_HWADDR_LEN;
  std::memcpy(nif->hwaddr, self->dev_->mac().data(), ETH_HWADDR_LEN);
  nif->flags = NETIF_FLAG_BROADCAST | NETIF_FLAG_ETHARP | NETIF_FLAG_ETHERNET;
  // What the device computes, lwIP skips (see mbuf_from_pbuf / rx_checksums_ok).
  // UDP is always summed in software on transmit: a fragmented datagram's
  // checksum covers data no single fragment carries.
  const Offloads off = self->dev_->offloads();
  u16_t ctrl = NETIF_CHECKSUM_ENABLE_ALL;
  if (off.tx_ip_cksum) ctrl &= ~NETIF_CHECKSUM_GEN_IP;
  if (off.tx_l4_cksum) ctrl &= ~NETIF_CHECKSUM_GEN_TCP;
  if (off.rx_ip_cksum && off.rx_l4_cksum) ctrl &= ~(NETIF_CHECKSUM_CHECK_IP | NETIF_CHECKSUM_CHECK_TCP | NETIF_CHECKSUM_CHECK_UDP);
  NETIF_SET_CHECKSUM_CTRL(nif, ctrl);
  self->rx_cksum_offload_ = off.rx_ip_cksum && off.rx_l4_cksum;
  self->offloads_ = off;
  return ERR_OK;
}

err_t Stack::link_output(netif* nif, pbuf* p) {
  auto* self = static_cast<Stack*>(nif->state);
  if (p->tot_len > nif->mtu + SIZEOF_ETH_HDR) {
    ++self->counters_.tx_dropped_oversize;
    return ERR_BUF;
  }
  // A segment the application filled goes out in its own mbuf; anything else is copied into one.
  rte_mbuf* m = tx_mbuf_of(p, self->offloads_);
  if (m == nullptr) m = mbuf_from_pbuf(self->dev_->tx_pool(), p, self->offloads_);
  if (m == nullptr) {
    ++self->counters_.tx_dropped_nombuf;
    return ERR_MEM;
  }
  self->queue_tx(m);
  return ERR_OK;
}

void Stack::queue_tx(rte_mbuf* m) noexcept {
  if (tx_count_ == kMaxBurst) flush_tx();
  if (tx_count_ == kMaxBurst) {  // the device is stuck: drop the oldest frame
    counters_.tx_bytes -= tx_[0]->pkt_len;
    rte_pktmbuf_free(tx_[0]);
    std::memmove(&tx_[0], &tx_[1], (kMaxBurst - 1) * sizeof(rte_mbuf*));
    --tx_count_;
    ++counters_.tx_dropped_full;
  }
  if (tap_->active()) capture(&m, 1, CaptureDir::kTx);
  counters_.tx_bytes += m->pkt_len;  // counted here: after tx_burst the driver owns m
  tx_[tx_count_++] = m;
}

void Stack::capture(rte_mbuf* const* pkts, std::uint16_t n, CaptureDir dir) noexcept {
  // The capture holds mbufs of the stack's pool: under pressure the stack comes first.
  if (rx_pressure_) {
    tap_->count_dropped(n);
  } else {
    tap_->offer(pkts, n, dir);
  }
}

void Stack::flush_tx() noexcept {
  std::uint16_t done = 0;
  const std::uint64_t t0 = tx_count_ != 0 && latency_.on() ? rte_rdtsc() : 0;
  for (int attempt = 0; attempt < kTxRetries && done < tx_count_; ++attempt) {
    done += dev_->tx_burst(std::span<rte_mbuf*>(&tx_[done], tx_count_ - done));
  }
  counters_.tx_packets += done;
  if (t0 != 0 && done != 0) {  // latency on: the driver's time; the writes whose data lwIP took are out
    latency_.record_dev(t0);
    for (std::uint16_t i = 0; i < tx_stamps_count_; ++i) latency_.record_tx(tx_stamps_[i], t0);
    tx_stamps_count_ = 0;
  }
  if (done < tx_count_) std::memmove(&tx_[0], &tx_[done], (tx_count_ - done) * sizeof(rte_mbuf*));
  tx_count_ = static_cast<std::uint16_t>(tx_count_ - done);
}

unsigned Stack::poll_once() noexcept {
  std::array<rte_mbuf*, kMaxBurst> rx;
  const std::uint16_t n = dev_->rx_burst(std::span<rte_mbuf*>(rx.data(), opts_.rx_burst));
  ++counters_.polls;
  if (n != 0 && tap_->active()) capture(rx.data(), n, CaptureDir::kRx);
  if (n != 0 && latency_.on()) {
    const std::uint64_t now = rte_rdtsc();
    for (std::uint16_t i = 0; i < n; ++i) set_rx_stamp(rx[i], now);
  }
  tcp_ack_burst_begin();  // one ACK per connection for the burst (lwIP patch 0012)
  for (std::uint16_t i = 0; i < n; ++i) {
    if (i + 1 < n) rte_prefetch0(rte_pktmbuf_mtod(rx[i + 1], void*));
    counters_.rx_bytes += rx[i]->pkt_len;
    if (rx_cksum_offload_ && !rx_checksums_ok(rx[i])) {  // lwIP no longer checks: we drop
      rte_pktmbuf_free(rx[i]);
      ++counters_.rx_cksum_bad;
      continue;
    }
    if (inbox_ != nullptr && steer(rx[i])) continue;
    input(rx[i]);
  }
  if (inbox_ != nullptr) {  // frames the other stacks handed over
    void* handed[32];
    const unsigned k = rte_ring_sc_dequeue_burst(inbox_, handed, 32, nullptr);
    handover_acquire(inbox_);
    for (unsigned j = 0; j < k; ++j) input(static_cast<rte_mbuf*>(handed[j]));
  }
  tcp_ack_burst_end();
  counters_.rx_packets += n;
  // The pool is looked at every 1,024 polls, and sooner when a sixteenth of it
  // came in since: a burst must not take it from plenty to empty unseen (the
  // pressure flag is what makes slow readers' segments leave their mbufs).
  rx_since_check_ += n;
  if ((counters_.polls & 1023) == 0 || rx_since_check_ >= pressure_check_rx_) {
    rx_since_check_ = 0;
    relieve_pressure();
  }
  // lwIP's clock (sys_now) is milliseconds from clock_gettime(), which cost
  // an idle round more than the rest of it on this project's VM: its timers
  // are looked at every kTimersEveryUs by the TSC, finer than that clock.
  if (const std::uint64_t now = rte_rdtsc(); now >= timers_due_) {
    timers_due_ = now + timers_every_;
    lwip_->run_timers();
  }
  if (tx_count_ != 0) flush_tx();
  return n;
}

void Stack::input(rte_mbuf* m) noexcept {
  if (claims_ != nullptr && ltran_frame(m)) return;
  pbuf* p = pbuf_from_mbuf(m);
  if (netif_.input(p, &netif_) != ERR_OK) {
    pbuf_free(p);
    ++counters_.rx_dropped;
  }
}

bool Stack::steer(rte_mbuf* m) noexcept {
  if (is_arp(m)) {  // every stack keeps its own ARP table
    for (std::size_t j = 0; j < peer_inboxes_.size(); ++j) {
      rte_mbuf* copy = peer_inboxes_[j] != nullptr ? rte_pktmbuf_copy(m, m->pool, 0, UINT32_MAX) : nullptr;
      if (copy != nullptr && !hand_over(j, copy)) rte_pktmbuf_free(copy);
    }
    return false;
  }
  // A SYN of a 4-tuple nobody holds is a new connection: any stack's listener
  // takes it. One whose 4-tuple a stack still holds (TIME-WAIT) goes there.
  const FlowTuple t = flow_tuple(m);
  if (!t.valid) return false;
  const int owner = flows_->owner(FlowDirectory::key(t.local_port, t.remote_ip, t.remote_port));
  if (owner < 0 || owner == index_ || static_cast<std::size_t>(owner) >= peer_inboxes_.size()) return false;
  if (!hand_over(static_cast<std::size_t>(owner), m)) {
    rte_pktmbuf_free(m);
    ++counters_.rx_dropped;
  }
  ++counters_.handed_over;
  return true;
}

bool Stack::hand_over(std::size_t peer, rte_mbuf* m) noexcept {
  handover_release(peer_inboxes_[peer]);
  if (rte_ring_mp_enqueue(peer_inboxes_[peer], m) != 0) return false;
  if (peer < 64) handed_to_ |= std::uint64_t{1} << peer;
  return true;
}

bool Stack::inbox_empty() const noexcept { return inbox_ == nullptr || rte_ring_empty(inbox_) != 0; }

// lwIP's hook (lwipopts.h, patch 0007): a full listener evicted a half-open connection.
extern "C" void gz_lwip_syn_evicted(void) {
  if (Stack* s = Stack::current()) s->count_syn_evicted();
}

extern "C" void gz_lwip_tw_recycled(void) {
  if (Stack* s = Stack::current()) s->count_tw_recycled();
}

namespace {
// lwIP calls it when it frees a pcb (tcp_free): FIN-WAIT, LAST-ACK and
// TIME-WAIT are over, no segment of the flow is due any more.
void drop_flow_of_freed_pcb(u8_t, void* data) {
  if (Stack* s = Stack::current()) s->drop_flow(reinterpret_cast<std::uintptr_t>(data));
}
const tcp_ext_arg_callbacks kFlowCallbacks = {drop_flow_of_freed_pcb, nullptr};
// lwIP calls it when a listener made the SYN-RECEIVED pcb of a new SYN.
err_t hold_flow_of_syn(u8_t, tcp_pcb_listen*, tcp_pcb* half_open) {
  if (Stack* s = Stack::current()) s->hold_flow(half_open);
  return ERR_OK;
}
const tcp_ext_arg_callbacks kListenCallbacks = {nullptr, hold_flow_of_syn};
constexpr u8_t kFlowArg = 0;
constexpr int kPortTries = 64;

// From now on the pcb owns the directory entry key: dropped when lwIP frees it.
void tie_flow_to_pcb(tcp_pcb* pcb, std::uint64_t key) noexcept {
  tcp_ext_arg_set_callbacks(pcb, kFlowArg, &kFlowCallbacks);
  tcp_ext_arg_set(pcb, kFlowArg, reinterpret_cast<void*>(static_cast<std::uintptr_t>(key)));
}
}  // namespace

void Stack::hold_flow(tcp_pcb* pcb) noexcept {
  if (flows_ == nullptr || pcb == nullptr) return;
  const std::uint64_t key = FlowDirectory::key(pcb->local_port, ip_2_ip4(&pcb->remote_ip)->addr, pcb->remote_port);
  const FlowDirectory::Insert r = flows_->insert(key, index_);
  if (r == FlowDirectory::Insert::kTaken || r == FlowDirectory::Insert::kFull) {
    ++counters_.flow_conflicts;  // held by another stack, or the table is full: unsteered
    return;
  }
  tie_flow_to_pcb(pcb, key);
}

void Stack::hold_flows_of(tcp_pcb* listener) noexcept {
  if (flows_ != nullptr && listener != nullptr) tcp_ext_arg_set_callbacks(listener, kFlowArg, &kListenCallbacks);
}

void Stack::drop_flow(std::uint64_t key) noexcept {
  if (flows_ != nullptr && key != 0) flows_->erase(key, index_);
}

err_t Stack::bind_for_connect(tcp_pcb* pcb, const ip_addr_t& remote, std::uint16_t remote_port) noexcept {
  if (flows_ == nullptr || pcb->local_port != 0) return ERR_OK;  // lwIP's own choice is unique on one stack
  for (int i = 0; i < kPortTries; ++i) {
    const std::uint16_t port = flows_->next_ephemeral();
    const std::uint64_t key = FlowDirectory::key(port, ip_2_ip4(&remote)->addr, remote_port);
    if (flows_->insert(key, index_) != FlowDirectory::Insert::kNew) continue;  // someone's flow to that peer
    if (tcp_bind(pcb, &pcb->local_ip, port) == ERR_OK) {
      tie_flow_to_pcb(pcb, key);  // freed with the pcb, even if connect fails
      return ERR_OK;
    }
    flows_->erase(key, index_);  // the port is taken on this stack (a listener, TIME-WAIT): next
  }
  return ERR_USE;
}

err_t Stack::bind_udp(udp_pcb* pcb) noexcept {
  if (flows_ == nullptr || pcb->local_port != 0) return ERR_OK;
  for (int i = 0; i < kPortTries; ++i) {
    const std::uint16_t port = flows_->next_ephemeral();
    if (flows_->insert(FlowDirectory::udp_key(port), index_) != FlowDirectory::Insert::kNew) continue;
    if (udp_bind(pcb, &pcb->local_ip, port) == ERR_OK) return ERR_OK;
    flows_->erase(FlowDirectory::udp_key(port), index_);
  }
  return ERR_USE;
}

Stack::PortHold Stack::hold_udp_port(std::uint16_t port) noexcept {
  if (flows_ == nullptr || port == 0) return PortHold::kUnsteered;
  switch (flows_->insert(FlowDirectory::udp_key(port), index_)) {
    case FlowDirectory::Insert::kNew: return PortHold::kNew;
    case FlowDirectory::Insert::kAlreadyMine: return PortHold::kShared;
    case FlowDirectory::Insert::kTaken: return PortHold::kTaken;
    case FlowDirectory::Insert::kFull: break;
  }
  ++counters_.flow_conflicts;
  return PortHold::kUnsteered;
}

void Stack::drop_udp_port(std::uint16_t port) noexcept {
  if (flows_ != nullptr && port != 0) flows_->erase(FlowDirectory::udp_key(port), index_);
}

// Out-of-order segments pin rx mbufs while they wait for a hole to be filled.
// With many connections they can take the whole pool, and then the very
// retransmission that fills the hole finds no mbuf: a deadlock. Below an eighth
// of the pool we drop them (the peer retransmits), as lwIP does for its own pools.
void Stack::go_down() noexcept {
  if (gone_) return;
  gone_ = true;
  netif_set_link_down(&netif_);
  netif_set_down(&netif_);
  // tcp_abort runs each socket's error callback (ECONNABORTED to its calls)
  // and unlinks the pcb: the list's head moves on.
  for (int guard = 0; tcp_active_pcbs != nullptr && guard < 1 << 20; ++guard) tcp_abort(tcp_active_pcbs);
}

void Stack::relieve_pressure() noexcept {
  rte_mempool* pool = dev_->tx_pool();
  const unsigned avail = rte_mempool_avail_count(pool);
  rx_pressure_ = avail < pool->size / 4;
  if (avail >= pool->size / 8) return;
  for (tcp_pcb* pcb = tcp_active_pcbs; pcb != nullptr; pcb = pcb->next) {
    if (pcb->ooseq != nullptr) {
      tcp_free_ooseq(pcb);
      ++counters_.ooseq_dropped;
    }
  }
}

void Stack::sync_lwip_counters() noexcept {
  auto& c = counters_;
  c.ip_drop = lwip_stats.ip.drop;
  c.ip_chkerr = lwip_stats.ip.chkerr;
  c.ip_lenerr = lwip_stats.ip.lenerr;
  c.ip_proterr = lwip_stats.ip.proterr;
  c.ip_reass_ok = lwip_stats.ip_frag.recv;
  c.tcp_drop = lwip_stats.tcp.drop;
  c.tcp_chkerr = lwip_stats.tcp.chkerr;
  c.tcp_lenerr = lwip_stats.tcp.lenerr;
  c.tcp_proterr = lwip_stats.tcp.proterr;
  c.udp_drop = lwip_stats.udp.drop;
  c.udp_chkerr = lwip_stats.udp.chkerr;
  c.udp_lenerr = lwip_stats.udp.lenerr;
  c.icmp_recv = lwip_stats.icmp.recv;
  c.icmp_xmit = lwip_stats.icmp.xmit;
  c.arp_recv = lwip_stats.etharp.recv;
  c.arp_xmit = lwip_stats.etharp.xmit;
}

}  // namespace gz::stack

namespace gz::stack {

namespace {

// lwIP's MIB-II counters in wire::kSnmpNames' order; TcpCurrEstab (wire::kSnmpTcpCurrEstab)
// is counted from the pcbs by the caller.
void fill_snmp(std::uint64_t* v) noexcept {
  const stats_mib2& m = lwip_stats.mib2;
  const u32_t all[] = {
      m.ipinreceives, m.ipinhdrerrors, m.ipinaddrerrors, m.ipforwdatagrams, m.ipinunknownprotos, m.ipindiscards,
      m.ipindelivers, m.ipoutrequests, m.ipoutdiscards, m.ipoutnoroutes, m.ipreasmreqds, m.ipreasmoks,
      m.ipreasmfails, m.ipfragoks, m.ipfragfails, m.ipfragcreates, m.icmpinmsgs, m.icmpinerrors,
      m.icmpindestunreachs, m.icmpinechos, m.icmpinechoreps, m.icmpoutmsgs, m.icmpouterrors,
      m.icmpoutdestunreachs, m.icmpoutechos, m.icmpoutechoreps, m.tcpactiveopens, m.tcppassiveopens,
      m.tcpattemptfails, m.tcpestabresets, 0, m.tcpinsegs, m.tcpoutsegs, m.tcpretranssegs, m.tcpinerrs,
      m.tcpoutrsts, m.udpindatagrams, m.udpnoports, m.udpinerrors, m.udpoutdatagrams};
  static_assert(sizeof(all) / sizeof(all[0]) == wire::kSnmpCount, "one lwIP counter per MIB-II name");
  for (int i = 0; i < wire::kSnmpCount; ++i) v[i] = all[i];
}

}  // namespace

void Stack::fill_stats(wire::CtlStackStats& out) noexcept {
  sync_lwip_counters();
  fill_snmp(out.snmp);
  out.counters = counters_;
  for (tcp_pcb* p = tcp_active_pcbs; p != nullptr; p = p->next) ++out.tcp_states[p->state % wire::kTcpStates];
  // RFC 1213 tcpCurrEstab: ESTABLISHED or CLOSE-WAIT.
  out.snmp[wire::kSnmpTcpCurrEstab] = out.tcp_states[ESTABLISHED] + out.tcp_states[CLOSE_WAIT];
  for (tcp_pcb* p = tcp_tw_pcbs; p != nullptr; p = p->next) ++out.tcp_states[p->state % wire::kTcpStates];
  for (tcp_pcb_listen* p = tcp_listen_pcbs.listen_pcbs; p != nullptr; p = p->next) ++out.tcp_listen;
  for (udp_pcb* p = udp_pcbs; p != nullptr; p = p->next) ++out.udp_pcbs;
  rte_mempool* pool = dev_->tx_pool();
  out.mbufs_total = pool->size;
  out.mbufs_free = rte_mempool_avail_count(pool);
  const auto use = lwip_->arena().usage();
  out.arena_reserved = use.reserved_bytes;
  out.arena_in_use = use.in_use_bytes;
  out.arena_failures = use.failures;
  const DeviceCounters d = dev_->device_counters();
  out.device = {d.rx_missed, d.rx_nombuf, d.rx_errors, d.tx_errors};
  std::memcpy(out.mac, dev_->mac().data(), sizeof out.mac);
  out.mtu = dev_->mtu();
  out.offloads = (offloads_.rx_ip_cksum ? wire::kOffloadRxIp : 0) | (offloads_.rx_l4_cksum ? wire::kOffloadRxL4 : 0) |
                 (offloads_.tx_ip_cksum ? wire::kOffloadTxIp : 0) | (offloads_.tx_l4_cksum ? wire::kOffloadTxL4 : 0);
}

bool Stack::sends_in_flight() const noexcept {
  for (const tcp_pcb* p = tcp_active_pcbs; p != nullptr; p = p->next) {
    if (p->unsent != nullptr || p->unacked != nullptr) return true;  // the FIN too is a segment there
  }
  return false;
}

void Stack::dump_connections(std::FILE* out) noexcept {
  const DeviceCounters d = dev_->device_counters();
  std::fprintf(out, "lstack stack %d: %u of %u mbufs free; device rx_missed %lu rx_nombuf %lu rx_errors %lu tx_errors %lu\n",
               index_, rte_mempool_avail_count(dev_->tx_pool()), dev_->tx_pool()->size, d.rx_missed, d.rx_nombuf,
               d.rx_errors, d.tx_errors);
  for (tcp_pcb* p = tcp_active_pcbs; p != nullptr; p = p->next) {
    int ooseq = 0;
    for (tcp_seg* s = p->ooseq; s != nullptr; s = s->next) ++ooseq;
    // Where a stalled sender stands: the unsent head's offset from lastack, cwnd and the persist timer.
    const long head = p->unsent != nullptr ? static_cast<long>(lwip_ntohl(p->unsent->tcphdr->seqno) - p->lastack) : -1;
    std::fprintf(out, "  tcp %u->%u state %s rcv_wnd %u snd_wnd %u cwnd %u snd_buf %u queuelen %u unsent %d (head +%ld len %d) "
                 "unacked %d ooseq %d refused %d persist %u nrtx %u\n",
                 p->local_port, p->remote_port, tcp_debug_state_str(p->state), static_cast<unsigned>(p->rcv_wnd),
                 static_cast<unsigned>(p->snd_wnd), static_cast<unsigned>(p->cwnd), static_cast<unsigned>(p->snd_buf),
                 p->snd_queuelen, p->unsent != nullptr, head, p->unsent != nullptr ? p->unsent->len : -1,
                 p->unacked != nullptr, ooseq, p->refused_data != nullptr, p->persist_backoff, p->nrtx);
  }
}

}  // namespace gz::stack
