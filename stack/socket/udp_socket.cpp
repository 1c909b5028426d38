#include "udp_socket.hpp"

#include <sched.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <new>

#include <rte_mbuf.h>

#include "gz/handover.hpp"
#include "gz/thread_state.hpp"
#include "pbuf_mbuf.hpp"
#include "sock_util.hpp"
#include "stack.hpp"

namespace gz::stack {

struct UdpSocket::Task : StackTask {
  enum class Op { Bind, Connect } op;
  UdpSocket* self = nullptr;
  sockaddr_in addr{};
  int result = 0;
};

UdpSocket::UdpSocket(StackThread& owner) : StackSocket(owner) {}

Result<UdpSocket*> UdpSocket::create(StackThread& owner) {
  auto* s = new (std::nothrow) UdpSocket(owner);
  if (s == nullptr) return make_error(ENOMEM, "no memory for a socket");
  struct NewPcb : StackTask {
    UdpSocket* s;
  } t;
  t.s = s;
  t.fn = [](StackTask* x) {
    auto* n = static_cast<NewPcb*>(x);
    n->s->pcb_ = udp_new_ip_type(IPADDR_TYPE_V4);
    if (n->s->pcb_ != nullptr) udp_recv(n->s->pcb_, on_recv, n->s);
    StackThread::complete(x);
  };
  owner.run_sync(&t);
  if (s->pcb_ == nullptr) {
    delete s;
    return make_error(ENOBUFS, "lwIP is out of memory for a UDP pcb");
  }
  s->events_.store(EPOLLOUT);
  return s;
}

// Stack thread: RFC 768 datagram in; dropped (and counted) when the app lags.
void UdpSocket::on_recv(void* arg, udp_pcb*, pbuf* p, const ip_addr_t* addr, u16_t port) {
  auto* self = static_cast<UdpSocket*>(arg);
  Datagram d{p, {}};
  d.from.sin_family = AF_INET;
  d.from.sin_addr.s_addr = ip_2_ip4(addr)->addr;
  d.from.sin_port = lwip_htons(port);
  if (self->closing_.load(std::memory_order_relaxed) || !self->rx_.push(d)) {
    self->rx_dropped_.fetch_add(1, std::memory_order_relaxed);
    pbuf_free(p);
    return;
  }
  self->raise(EPOLLIN);
}

void UdpSocket::service() noexcept {
  service_started();
  pbuf* done;
  while (rx_done_.pop(done)) pbuf_free(done);
  send_queued();
  if (tx_starved_.load()) note_tx_starved();
  if (!closing_.load()) return;
  if (pcb_ != nullptr) {
    if (holds_port_) Stack::current()->drop_udp_port(pcb_->local_port);
    if (claimed_port_ != 0) Stack::current()->release_port(wire::kProtoUdp, claimed_port_);
    udp_remove(pcb_);
  }
  pcb_ = nullptr;
  Datagram d;
  while (rx_.pop(d)) pbuf_free(d.p);
  while (rx_done_.pop(done)) pbuf_free(done);
  free_queued();
  delete this;
}

// Stack thread: each queued datagram as a pbuf chain over its mbufs (lwIP
// puts the headers in the first one's headroom); freeing the chain counts the
// mbufs back into the tx budget. Without a pcb (out of memory) they are
// dropped, as a full NIC queue would drop them.
void UdpSocket::send_queued() noexcept {
  Outgoing o;
  bool sent = false;
  // What was queued when this began, no more: a sender refilling the queue
  // as fast as it empties must not keep the stack here, holding the mbufs
  // it freed from the budget until the round ends.
  std::size_t owed = tx_queued_.load(std::memory_order_acquire);
  while (owed != 0 && tx_.pop(o)) {
    const std::size_t charge = tx_charge(o.m->pkt_len);
    owed -= std::min(owed, charge);
    tx_queued_.fetch_sub(charge, std::memory_order_relaxed);
    pbuf* p = pbuf_from_tx_mbuf(o.m);
    if (pcb_ != nullptr) {
      (void)bind_ephemeral();  // replies find this stack
      if (o.addr == 0 && o.port == 0) {
        udp_send(pcb_, p);
      } else {
        ip_addr_t to;
        ip_addr_set_ip4_u32(&to, o.addr);
        udp_sendto(pcb_, p, &to, lwip_ntohs(o.port));
      }
    }
    pbuf_free(p);
    sent = true;
  }
  if (!sent) return;
  // Their mbufs' budget back now, not at the end of the round (senders of
  // other sockets may be waiting for it).
  owner_.return_freed_tx();
  if (!tx_starved_.load(std::memory_order_relaxed)) raise(EPOLLOUT);  // a starved one hears it with the budget
}

void UdpSocket::free_queued() noexcept {
  forget_tx_wait();
  Outgoing o;
  while (tx_.pop(o)) {
    this_thread_state().tx_mbufs_freed += o.m->nb_segs;
    handover_release(o.m->pool);
    rte_pktmbuf_free(o.m);
  }
}

// Stack thread. Several stacks: the port is entered in the flow directory
// first, so that no two stacks bind it and datagrams to it reach this one.
err_t UdpSocket::bind_on_stack(const ip_addr_t& a, std::uint16_t port) noexcept {
  Stack* stack = Stack::current();
  if (port == 0) {
    ip_addr_copy(pcb_->local_ip, a);
    const err_t e = bind_ephemeral();
    return e != ERR_OK || pcb_->local_port != 0 ? e : udp_bind(pcb_, &a, 0);
  }
  const Stack::PortHold hold = stack->hold_udp_port(port);
  if (hold == Stack::PortHold::kTaken) return ERR_USE;
  if (stack->claim_port(wire::kProtoUdp, port) != 0) {  // ltran: another uid's port
    if (hold == Stack::PortHold::kNew) stack->drop_udp_port(port);
    return ERR_USE;
  }
  const err_t e = udp_bind(pcb_, &a, port);
  if (e != ERR_OK) stack->release_port(wire::kProtoUdp, port);
  claimed_port_ = e == ERR_OK ? port : 0;
  if (e != ERR_OK && hold == Stack::PortHold::kNew) stack->drop_udp_port(port);
  holds_port_ = e == ERR_OK && hold == Stack::PortHold::kNew;
  return e;
}

// Stack thread: an unbound pcb gets a port no other stack holds (several stacks).
err_t UdpSocket::bind_ephemeral() noexcept {
  if (pcb_->local_port != 0) return ERR_OK;
  const err_t e = Stack::current()->bind_udp(pcb_);
  holds_port_ = e == ERR_OK && pcb_->local_port != 0;
  return e;
}

int UdpSocket::run(Task& t) noexcept {
  t.self = this;
  t.fn = [](StackTask* x) {
    auto* k = static_cast<Task*>(x);
    UdpSocket* s = k->self;
    ip_addr_t a;
    ip_addr_set_ip4_u32(&a, k->addr.sin_addr.s_addr);
    const u16_t port = lwip_ntohs(k->addr.sin_port);
    const ip4_addr_t* own = netif_ip4_addr(Stack::current()->nif());
    err_t err = ERR_OK;
    if (k->op == Task::Op::Bind) {
      err = (!ip_addr_isany(&a) && ip_2_ip4(&a)->addr != own->addr) ? static_cast<err_t>(ERR_VAL) : s->bind_on_stack(a, port);
      k->result = err == ERR_OK ? 0 : (err == ERR_USE ? -EADDRINUSE : -EADDRNOTAVAIL);
    } else {
      err = s->bind_ephemeral();  // several stacks: replies find this one
      if (err == ERR_OK) err = udp_connect(s->pcb_, &a, port);
      k->result = err == ERR_OK ? 0 : (err == ERR_USE ? -EADDRNOTAVAIL : -ENETUNREACH);
    }
    s->local_.sin_family = AF_INET;
    s->local_.sin_addr.s_addr = ip_2_ip4(&s->pcb_->local_ip)->addr;
    s->local_.sin_port = lwip_htons(s->pcb_->local_port);
    StackThread::complete(x);
  };
  owner_.run_sync(&t);
  return t.result;
}

int UdpSocket::bind(const sockaddr* addr, socklen_t len) noexcept {
  Task t;
  t.op = Task::Op::Bind;
  if (int e = sockaddr_in_from(addr, len, t.addr); e != 0) return e;
  return run(t);
}

int UdpSocket::connect(const sockaddr* addr, socklen_t len) {
  Task t;
  t.op = Task::Op::Connect;
  if (int e = sockaddr_in_from(addr, len, t.addr); e != 0) return e;
  if (int rc = run(t); rc != 0) return rc;
  peer_ = t.addr;
  connected_.store(true);
  return 0;
}

ssize_t UdpSocket::recv(const iovec* iov, int iovcnt, int flags, sockaddr* from, socklen_t* fromlen) {
  bool driven = drive_if_stale();  // run to completion: a round, if the last is stale
  std::lock_guard lock(rx_mu_);
  for (;;) {
    const std::uint32_t seen = edge_seq();
    if (Datagram* d = rx_.front()) {
      std::size_t copied = 0;
      for (int i = 0; i < iovcnt && copied < d->p->tot_len; ++i) {
        copied += pbuf_copy_partial(d->p, iov[i].iov_base, static_cast<u16_t>(std::min<std::size_t>(iov[i].iov_len, 0xffff)),
                                    static_cast<u16_t>(copied));
      }
      const std::size_t full = d->p->tot_len;
      sockaddr_in_to(d->from, from, fromlen);
      if (!(flags & MSG_PEEK)) {
        if (LatencyStats* l = owner_.latency(); l->on()) l->record_rx(rx_stamp(d->p));
        Datagram taken{};
        rx_.pop(taken);
        while (!rx_done_.push(taken.p)) {
          schedule_service();
          sched_yield();
        }
        schedule_service();
        if (rx_.empty()) {
          clear(EPOLLIN);
          if (!rx_.empty()) raise(EPOLLIN);  // (raise: epoll's ready list hears of it)
        }
      }
      return static_cast<ssize_t>((flags & MSG_TRUNC) ? full : copied);
    }
    if (drive_once(driven)) continue;  // run to completion: what came in since the last round
    if (nonblocking() || (flags & MSG_DONTWAIT)) return -EAGAIN;
    if (!wait_event(seen, rcvtimeo_ms_, EPOLLIN)) return -EAGAIN;
  }
}

// What a queued datagram counts against SO_SNDBUF: its bytes, and at least
// kTxMinCharge (Linux charges a buffer's overhead too), so that tiny ones
// cannot queue without bound.
std::size_t UdpSocket::tx_charge(std::size_t bytes) noexcept { return std::max(bytes, kTxMinCharge); }

int UdpSocket::destination(const sockaddr* to, socklen_t tolen, Outgoing& o) const noexcept {
  if (to == nullptr) return connected_.load() ? 0 : -EDESTADDRREQ;
  sockaddr_in in;
  if (int e = sockaddr_in_from(to, tolen, in); e != 0) return e;
  o.addr = in.sin_addr.s_addr;
  o.port = in.sin_port;
  return o.addr == 0 && o.port == 0 ? -EINVAL : 0;
}

// Under tx_mu_: the datagram written and queued, or false (no room in
// SO_SNDBUF or the queue, or no mbufs: the stack makes room).
bool UdpSocket::queue_datagram(const iovec* iov, int iovcnt, std::size_t total, Outgoing& o) noexcept {
  const std::size_t queued = tx_queued_.load();  // one datagram always fits
  if (queued != 0 && queued + tx_charge(total) > static_cast<std::size_t>(sndbuf_)) return false;
  if (!fill_tx(iov, iovcnt, total, o)) return false;
  tx_queued_.fetch_add(tx_charge(total));  // before the stack can take it off
  if (tx_.push(o)) return true;
  tx_queued_.fetch_sub(tx_charge(total));  // the queue is at its largest (or no memory)
  handover_release(o.m->pool);
  const std::uint32_t segs = o.m->nb_segs;
  rte_pktmbuf_free(o.m);
  owner_.give_tx_budget(segs);
  return false;
}

ssize_t UdpSocket::send(const iovec* iov, int iovcnt, int flags, const sockaddr* to, socklen_t tolen) {
  Outgoing o{nullptr, 0, 0};
  if (int e = destination(to, tolen, o); e != 0) return e;
  const std::size_t total = iov_total(iov, iovcnt);
  const std::size_t room = rte_pktmbuf_data_room_size(owner_.tx_pool()) - kTxHeadroom;
  if (total > kMaxDatagram || (total + room - 1) / room > kMaxSegs) return -EMSGSIZE;
  bool driven = drive_if_stale();  // run to completion: a round, if the last is stale
  std::lock_guard lock(tx_mu_);
  for (;;) {
    const std::uint32_t seen = edge_seq();
    const bool queued = queue_datagram(iov, iovcnt, total, o);
    schedule_service();
    if (queued) return static_cast<ssize_t>(total);
    if (drive_once(driven)) continue;  // run to completion: the round sends what is queued
    if (nonblocking() || (flags & MSG_DONTWAIT)) {
      clear(EPOLLOUT);  // then look again: the stack may have sent meanwhile
      if (tx_queued_.load() == 0 && !tx_starved_.load()) raise(EPOLLOUT);
      return -EAGAIN;
    }
    if (!wait_event(seen, sndtimeo_ms_, EPOLLOUT)) return -EAGAIN;
  }
}

bool UdpSocket::fill_tx(const iovec* iov, int iovcnt, std::size_t total, Outgoing& out) noexcept {
  rte_mempool* pool = owner_.tx_pool();
  const std::size_t room = rte_pktmbuf_data_room_size(pool) - kTxHeadroom;
  const auto segs = static_cast<std::uint32_t>(std::max<std::size_t>(1, (total + room - 1) / room));
  std::array<rte_mbuf*, kMaxSegs> ms;
  const std::uint32_t got = owner_.take_tx_budget(segs);
  if (got < segs || rte_pktmbuf_alloc_bulk(pool, ms.data(), segs) != 0) {
    if (got != 0) owner_.give_tx_budget(got);
    tx_starved_.store(true);
    schedule_service();
    return false;
  }
  handover_acquire(pool);  // freed by the stack's thread (ThreadSanitizer)
  if (tx_starved_.load(std::memory_order_relaxed)) tx_starved_.store(false);
  int i = 0;
  std::size_t off = 0, left = total;
  for (std::uint32_t k = 0; k < segs; ++k) {
    rte_mbuf* m = ms[k];
    const std::size_t len = std::min(room, left);
    m->data_off = kTxHeadroom;
    gather(rte_pktmbuf_mtod(m, char*), len, iov, iovcnt, i, off);
    m->data_len = static_cast<std::uint16_t>(len);
    left -= len;
    if (k != 0) ms[k - 1]->next = m;
  }
  ms[0]->nb_segs = static_cast<std::uint16_t>(segs);
  ms[0]->pkt_len = static_cast<std::uint32_t>(total);
  out.m = ms[0];
  return true;
}

int UdpSocket::shutdown(int how) noexcept {
  if (how != SHUT_RD && how != SHUT_WR && how != SHUT_RDWR) return -EINVAL;
  return connected_.load() ? 0 : -ENOTCONN;
}

void UdpSocket::close() noexcept {
  request_close();  // the stack deletes this object
}

int UdpSocket::getpeername(sockaddr* addr, socklen_t* len) noexcept {
  if (!connected_.load()) return -ENOTCONN;
  sockaddr_in_to(peer_, addr, len);
  return 0;
}

int UdpSocket::readable_bytes() noexcept {
  std::lock_guard lock(rx_mu_);
  Datagram* d = rx_.front();
  return d != nullptr ? d->p->tot_len : 0;  // Linux: the size of the next datagram
}

int UdpSocket::getsockopt(int level, int name, void* val, socklen_t* len) noexcept {
  int v;
  if (level != SOL_SOCKET) return -ENOPROTOOPT;
  switch (name) {
    case SO_TYPE: v = SOCK_DGRAM; break;
    case SO_ERROR: v = 0; break;
    case SO_RCVBUF: v = rcvbuf_; break;
    case SO_SNDBUF: v = sndbuf_; break;
    case SO_BROADCAST: v = broadcast_; break;
    case SO_REUSEADDR: v = reuseaddr_; break;
    case SO_DOMAIN: v = AF_INET; break;
    case SO_PROTOCOL: v = IPPROTO_UDP; break;
    default: return -ENOPROTOOPT;
  }
  return put_option_int(val, len, v);
}

int UdpSocket::setsockopt(int level, int name, const void* val, socklen_t len) noexcept {
  if (level == SOL_SOCKET && (name == SO_RCVTIMEO || name == SO_SNDTIMEO)) {
    return timeval_to_ms(val, len, name == SO_RCVTIMEO ? rcvtimeo_ms_ : sndtimeo_ms_);
  }
  int v;
  if (int rc = option_int(val, len, v); rc != 0) return rc;
  if (level == SOL_SOCKET) {
    switch (name) {
      case SO_RCVBUF: rcvbuf_ = buffer_option(v); return 0;
      case SO_SNDBUF: sndbuf_ = buffer_option(v); return 0;
      case SO_BROADCAST: broadcast_ = v != 0; return 0;
      case SO_REUSEADDR: reuseaddr_ = v != 0; return 0;
      case SO_REUSEPORT: return 0;
      default: return -ENOPROTOOPT;
    }
  }
  if (level == IPPROTO_IP) return 0;  // IP_TOS, IP_TTL...: accepted, lwIP keeps its defaults
  return -ENOPROTOOPT;
}

}  // namespace gz::stack
