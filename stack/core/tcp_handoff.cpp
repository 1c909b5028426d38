// Moving the connections a closed listener had queued to another process
// listening on the same port behind ltran (wire::TcpHandoff). On Linux the
// workers of a server share one listening socket, so a worker that closes its
// copy (nginx's old workers at a reload) loses nothing; behind ltran each
// process has a listener of its own, and what it had queued would be reset.
// Linux's tcp_migrate_req does the same between SO_REUSEPORT listeners.
#include <rte_cycles.h>
#include <rte_ether.h>
#include <rte_mbuf.h>

#include <algorithm>
#include <array>
#include <cstring>

#include "lwip/priv/tcp_priv.h"
#include "pbuf_mbuf.hpp"
#include "stack.hpp"

namespace gz::stack {
namespace {
constexpr std::uint32_t kL2 = sizeof(rte_ether_hdr);

wire::TcpHandoff describe(const tcp_pcb* pcb, std::uint16_t data_len, bool fin) noexcept {
  wire::TcpHandoff h{};
  h.magic = wire::kHandoffMagic;
  h.version = static_cast<std::uint8_t>(wire::kWireVersion);
  h.state = pcb->state == SYN_RCVD ? wire::kHandoffSynRcvd : fin ? wire::kHandoffCloseWait : wire::kHandoffEstablished;
  h.flags = static_cast<std::uint8_t>(((pcb->flags & TF_WND_SCALE) != 0 ? wire::kHandoffWndScale : 0) |
                                      ((pcb->flags & TF_SACK) != 0 ? wire::kHandoffSack : 0) |
                                      ((pcb->flags & TF_NODELAY) != 0 ? wire::kHandoffNoDelay : 0));
  h.local_ip = ip_2_ip4(&pcb->local_ip)->addr;
  h.remote_ip = ip_2_ip4(&pcb->remote_ip)->addr;
  h.local_port = pcb->local_port;
  h.remote_port = pcb->remote_port;
  h.iss = pcb->lastack;  // SYN-RECEIVED: SND.UNA is still the ISS
  h.snd_nxt = pcb->snd_nxt;
  h.snd_wnd = pcb->snd_wnd;
  h.snd_wl1 = pcb->snd_wl1;
  h.snd_wl2 = pcb->snd_wl2;
  h.rcv_nxt = pcb->rcv_nxt;
  h.rcv_wnd = pcb->rcv_wnd;
  h.mss = pcb->mss;
  h.snd_scale = pcb->snd_scale;
  h.rcv_scale = pcb->rcv_scale;
  h.data_len = data_len;
  return h;
}

// ip 0: any listener on the port.
tcp_pcb_listen* listener_for(std::uint32_t ip, std::uint16_t port) noexcept {
  for (tcp_pcb_listen* l = tcp_listen_pcbs.listen_pcbs; l != nullptr; l = l->next) {
    if (l->local_port == port && (ip == 0 || ip_addr_isany(&l->local_ip) || ip_2_ip4(&l->local_ip)->addr == ip)) return l;
  }
  return nullptr;
}

// A SYN without ACK (RFC 9293 3.5): a new connection (flow_tuple checked it is unfragmented IPv4 TCP).
bool is_syn(const rte_mbuf* m) noexcept {
  const auto* ip = rte_pktmbuf_mtod_offset(m, const std::uint8_t*, kL2);
  const std::uint32_t ihl = (ip[0] & 0x0fu) * 4u;
  if (m->data_len < kL2 + ihl + 14) return false;
  return (ip[ihl + 13] & (TCP_SYN | TCP_ACK)) == TCP_SYN;
}
}  // namespace

bool Stack::ltran_frame(rte_mbuf* m) noexcept {
  const auto* eth = rte_pktmbuf_mtod(m, const rte_ether_hdr*);
  if (m->data_len >= kL2 && eth->ether_type == rte_cpu_to_be_16(wire::kHandoffEtherType)) {
    adopt(m);
    return true;
  }
  return moved_until_ != 0 && moved_segment(m);
}

bool Stack::hand_off(tcp_pcb* pcb, std::span<pbuf* const> unread, bool fin) noexcept {
  const bool syn_rcvd = pcb->state == SYN_RCVD;
  if (!syn_rcvd && pcb->state != ESTABLISHED && pcb->state != CLOSE_WAIT) return false;
  if (!syn_rcvd && (pcb->unsent != nullptr || pcb->unacked != nullptr)) return false;  // ours in flight: not described
  std::size_t len = 0;
  for (const pbuf* p : unread) len += p->tot_len;
  if (claims_ == nullptr || len > wire::kHandoffMaxData) return false;
  std::array<char, sizeof(wire::TcpHandoff) + wire::kHandoffMaxData> buf;
  const wire::TcpHandoff h = describe(pcb, static_cast<std::uint16_t>(len), fin || pcb->state == CLOSE_WAIT);
  std::memcpy(buf.data(), &h, sizeof h);
  std::size_t off = sizeof h;
  for (const pbuf* p : unread) off += pbuf_copy_partial(p, buf.data() + off, p->tot_len, 0);
  // A round trip: once ltran answers, the flow is no longer ours, whether
  // this process lives on or exits now (as nginx's old workers do).
  if (claims_->hand_off(buf.data(), static_cast<std::uint32_t>(off)) != 0) return false;
  remember_moved(h);
  tcp_arg(pcb, nullptr);
  tcp_err(pcb, nullptr);
  tcp_recv(pcb, nullptr);
  tcp_sent(pcb, nullptr);
  tcp_abandon(pcb, 0);  // no reset: the connection lives on elsewhere
  ++counters_.tcp_handed_off;
  return true;
}

void Stack::hand_off_half_open(tcp_pcb_listen* listener) noexcept {
  for (tcp_pcb* pcb = tcp_active_pcbs; pcb != nullptr;) {
    tcp_pcb* next = pcb->next;  // hand_off frees pcb
    if (pcb->state == SYN_RCVD && pcb->listener == listener && !hand_off(pcb, {}, false)) ++counters_.tcp_handoff_reset;
    pcb = next;
  }
}

// Segments ltran had queued for us before it read the handoff: dropped
// unanswered (a reset would kill the connection); the peer sends them again.
void Stack::remember_moved(const wire::TcpHandoff& h) noexcept {
  moved_[moved_next_++ % moved_.size()] = Moved{h.local_port, h.remote_ip, h.remote_port};
  moved_until_ = rte_rdtsc() + rte_get_tsc_hz();  // ltran reroutes within microseconds; a second is plenty
}

// A SYN ltran had queued for us before it read our release: dropped, not
// reset; the peer sends it again and ltran gives it to another listener.
void Stack::remember_released(std::uint16_t port) noexcept {
  released_ports_[released_next_++ % released_ports_.size()] = port;
  moved_until_ = rte_rdtsc() + rte_get_tsc_hz();
}

bool Stack::moved_segment(rte_mbuf* m) noexcept {
  if (rte_rdtsc() > moved_until_) {
    moved_until_ = 0;
    moved_ = {};
    released_ports_ = {};
    return false;
  }
  const FlowTuple t = flow_tuple(m);
  if (!t.valid || t.udp) return false;
  bool drop = false;
  for (const Moved& f : moved_) drop |= f.local_port == t.local_port && f.remote_ip == t.remote_ip && f.remote_port == t.remote_port;
  if (!drop && is_syn(m)) {
    for (std::uint16_t p : released_ports_) drop |= p == t.local_port && listener_for(0, p) == nullptr;
  }
  if (drop) {
    rte_pktmbuf_free(m);
    ++counters_.moved_dropped;
  }
  return drop;
}

// RFC 9293 3.3.1: the send and receive variables as the first process had
// them; RFC 7323 2.2 / RFC 2018: window scaling and SACK as negotiated then.
tcp_pcb* Stack::rebuild(const wire::TcpHandoff& h, tcp_pcb_listen* listener) noexcept {
  tcp_pcb* pcb = tcp_alloc(listener->prio);
  if (pcb == nullptr) return nullptr;
  ip_addr_set_ip4_u32_val(pcb->local_ip, h.local_ip);
  ip_addr_set_ip4_u32_val(pcb->remote_ip, h.remote_ip);
  pcb->local_port = h.local_port;
  pcb->remote_port = h.remote_port;
  pcb->so_options = listener->so_options & SOF_INHERITED;
  pcb->netif_idx = listener->netif_idx;
  pcb->callback_arg = listener->callback_arg;
  pcb->listener = listener;
  pcb->mss = h.mss;
  pcb->snd_scale = h.snd_scale;
  pcb->rcv_scale = h.rcv_scale;
  if ((h.flags & wire::kHandoffWndScale) != 0) tcp_set_flags(pcb, TF_WND_SCALE);
  if ((h.flags & wire::kHandoffSack) != 0) tcp_set_flags(pcb, TF_SACK);
  if ((h.flags & wire::kHandoffNoDelay) != 0) tcp_set_flags(pcb, TF_NODELAY);
  pcb->rcv_nxt = h.rcv_nxt;
  pcb->rcv_wnd = pcb->rcv_ann_wnd = static_cast<tcpwnd_size_t>(h.rcv_wnd);
  pcb->rcv_ann_right_edge = h.rcv_nxt + h.rcv_wnd;
  pcb->snd_wnd = pcb->snd_wnd_max = static_cast<tcpwnd_size_t>(h.snd_wnd);
  pcb->snd_wl1 = h.snd_wl1;
  pcb->snd_wl2 = h.snd_wl2;
  // SYN-RECEIVED starts before its SYN-ACK, which goes out again (an
  // established peer answers a repeated one with the ACK we wait for).
  const std::uint32_t una = h.state == wire::kHandoffSynRcvd ? h.iss : h.snd_nxt;
  pcb->snd_nxt = pcb->lastack = pcb->snd_lbb = una;
  pcb->state = h.state == wire::kHandoffSynRcvd ? SYN_RCVD : ESTABLISHED;
  // RFC 5681 3.1's initial window, as lwIP's tcp_in.c sets it at ESTABLISHED.
  if (pcb->state == ESTABLISHED) pcb->cwnd = std::min<tcpwnd_size_t>(4U * pcb->mss, std::max<tcpwnd_size_t>(2U * pcb->mss, 4380U));
  TCP_REG_ACTIVE(pcb);
  return pcb;
}

// A connection another process handed over (ltran checked it was that
// process's flow and points it at us now).
void Stack::adopt(rte_mbuf* m) noexcept {
  wire::TcpHandoff h{};
  if (m->data_len >= kL2 + sizeof h) std::memcpy(&h, rte_pktmbuf_mtod_offset(m, const void*, kL2), sizeof h);
  const bool sane = h.magic == wire::kHandoffMagic && kL2 + sizeof h + h.data_len <= m->data_len &&
                    h.state <= wire::kHandoffCloseWait;
  tcp_pcb_listen* listener = sane ? listener_for(h.local_ip, h.local_port) : nullptr;
  if (listener == nullptr) {
    // Our listener closed too: back to ltran, which tries another (bounded by hops).
    const bool passed = sane && claims_ != nullptr &&
                        claims_->hand_off(rte_pktmbuf_mtod_offset(m, const char*, kL2), sizeof h + h.data_len) == 0;
    ++(passed ? counters_.tcp_handed_off : counters_.tcp_handoff_reset);
    rte_pktmbuf_free(m);
    return;
  }
  tcp_pcb* pcb = rebuild(h, listener);
  if (pcb == nullptr) {
    rte_pktmbuf_free(m);
    ++counters_.tcp_handoff_reset;  // the peer's next segment meets no connection and is reset
    return;
  }
  ++counters_.tcp_adopted;
  if (pcb->state == SYN_RCVD) {
    hold_flow(pcb);
    if (tcp_enqueue_flags(pcb, TCP_SYN | TCP_ACK) == ERR_OK) tcp_output(pcb);
    rte_pktmbuf_free(m);
    return;
  }
  deliver_adopted(pcb, listener, h, rte_pktmbuf_mtod_offset(m, const char*, kL2 + sizeof h));
  rte_pktmbuf_free(m);
}

// As lwIP does when a handshake completes (tcp_process, SYN-RECEIVED), then
// the data the first process had received, and its FIN.
void Stack::deliver_adopted(tcp_pcb* pcb, tcp_pcb_listen* listener, const wire::TcpHandoff& h, const char* data) noexcept {
  const err_t err = listener->accept != nullptr ? listener->accept(listener->callback_arg, pcb, ERR_OK) : err_t{ERR_VAL};
  if (err != ERR_OK) {
    if (err != ERR_ABRT) tcp_abort(pcb);
    return;
  }
  if (h.data_len != 0) {
    pbuf* p = pbuf_alloc(PBUF_RAW, h.data_len, PBUF_RAM);
    if (p == nullptr) {  // lost: the peer's data was acknowledged, so this ends the connection
      tcp_abort(pcb);
      return;
    }
    pbuf_take(p, data, h.data_len);
    if (pcb->recv == nullptr || pcb->recv(pcb->callback_arg, pcb, p, ERR_OK) != ERR_OK) pcb->refused_data = p;
  }
  if (h.state == wire::kHandoffCloseWait) {
    pcb->state = CLOSE_WAIT;
    if (pcb->recv != nullptr) pcb->recv(pcb->callback_arg, pcb, nullptr, ERR_OK);
  }
  tcp_ack_now(pcb);  // any ACK the first process still owed
  tcp_output(pcb);
}

}  // namespace gz::stack
