// TcpSocket control calls, run on the stack thread (bind, listen, connect,
// options, TCP_INFO). Each returns 0 or -errno as Linux would.
#include "tcp_socket.hpp"  // first: it orders <netinet/tcp.h> before lwIP

#include <algorithm>
#include <cerrno>
#include <new>

#include "lwip/priv/tcp_priv.h"
#include "stack.hpp"
#include "tcp_socket_task.hpp"

namespace gz::stack {
namespace {

int errno_of(err_t err) {
  switch (err) {
    case ERR_OK: return 0;
    case ERR_MEM:
    case ERR_BUF: return ENOBUFS;
    case ERR_RTE: return ENETUNREACH;
    case ERR_USE: return EADDRINUSE;
    case ERR_ALREADY: return EALREADY;
    case ERR_ISCONN: return EISCONN;
    case ERR_CONN: return ENOTCONN;
    case ERR_RST: return ECONNRESET;
    case ERR_ABRT: return ECONNABORTED;
    default: return EINVAL;
  }
}

std::uint8_t linux_state(tcp_state s) {
  static constexpr std::uint8_t map[] = {TCP_CLOSE, TCP_LISTEN, TCP_SYN_SENT, TCP_SYN_RECV, TCP_ESTABLISHED,
                                         TCP_FIN_WAIT1, TCP_FIN_WAIT2, TCP_CLOSE_WAIT, TCP_CLOSING,
                                         TCP_LAST_ACK, TCP_TIME_WAIT};
  return static_cast<unsigned>(s) < sizeof map ? map[s] : static_cast<std::uint8_t>(TCP_CLOSE);
}

}  // namespace

int TcpSocket::exec(Task& t) noexcept {
  using Op = Task::Op;
  if (pcb_ == nullptr && t.op != Op::SetOpt) return t.op == Op::Info ? 0 : -EINVAL;
  ip_addr_t addr;
  ip_addr_set_ip4_u32(&addr, t.addr.sin_addr.s_addr);
  const u16_t port = lwip_ntohs(t.addr.sin_port);
  switch (t.op) {
    case Op::Bind: {
      const ip4_addr_t* own = netif_ip4_addr(Stack::current()->nif());
      if (!ip_addr_isany(&addr) && ip_2_ip4(&addr)->addr != own->addr) return -EADDRNOTAVAIL;
      if (const int e = errno_of(tcp_bind(pcb_, &addr, port)); e != 0) return -e;
      state_.store(State::Bound);
      cache_addresses();
      return 0;
    }
    case Op::Listen: {
      if (state_.load() == State::Listening) return 0;  // two threads' listen(): the second changes nothing
      if (pcb_->local_port == 0 && tcp_bind(pcb_, IP4_ADDR_ANY, 0) != ERR_OK) return -EADDRINUSE;
      err_t err = ERR_OK;
      // The backlog bounds the half-open connections (lwIP's) and those waiting
      // for accept() (our ring), as Linux's somaxconn-clamped backlog, but
      // never below kMinBacklog: Linux answers a full SYN queue with syncookies
      // and drops the ACK of a full accept queue; lwIP's only answers are an
      // eviction or a reset, which a burst of clients on listen(fd, 5) must not meet.
      const auto backlog = static_cast<u16_t>(std::clamp(t.value, kMinBacklog, kMaxBacklog));
      std::unique_ptr<SpscRing<TcpSocket*>> ring;
      try {
        ring = std::make_unique<SpscRing<TcpSocket*>>(backlog);
      } catch (const std::bad_alloc&) {
        return -ENOMEM;
      }
      // With ltran the port is this process's only once ltran agrees.
      if (const int e = Stack::current()->claim_port(wire::kProtoTcp, pcb_->local_port); e != 0) return -e;
      tcp_pcb* lpcb = tcp_listen_with_backlog_and_err(pcb_, backlog, &err);
      if (lpcb == nullptr) {
        Stack::current()->release_port(wire::kProtoTcp, pcb_->local_port);
        return -errno_of(err);
      }
      claimed_port_ = lpcb->local_port;
      accepted_ = std::move(ring);  // before the accept callback can run
      pcb_ = lpcb;
      Stack::current()->hold_flows_of(lpcb);  // several stacks: a SYN's flow is ours from the start
      tcp_arg(lpcb, this);
      tcp_accept(lpcb, on_accept);
      Stack::current()->set_accept_queue_probe(accept_queue_of);
      state_.store(State::Listening);
      cache_addresses();
      return 0;
    }
    case Op::Connect: {
      // Several stacks: a local port no other stack uses towards this peer.
      if (Stack::current()->bind_for_connect(pcb_, addr, port) != ERR_OK) return -EADDRNOTAVAIL;
      state_.store(State::Connecting);
      if (const int e = errno_of(tcp_connect(pcb_, &addr, port, on_connected)); e != 0) {
        state_.store(State::Fresh);
        return -e;
      }
      cache_addresses();
      Stack::current()->hold_flow(pcb_);  // replies may arrive at another stack
      return 0;
    }
    case Op::SetOpt:
      return exec_setopt(t.level, t.name, t.value);
    case Op::Shutdown:
      push_tx();
      return 0;
    case Op::Unlisten:  // queued connections stay until close() resets them
      if (state_.load() != State::Listening) return 0;
      unlisten();
      state_.store(State::Closed);
      return 0;
    case Op::Info: {
      tcp_info& i = *t.info;
      i.tcpi_state = linux_state(pcb_->state);
      i.tcpi_rto = static_cast<std::uint32_t>(pcb_->rto) * TCP_SLOW_INTERVAL * 1000U;
      i.tcpi_snd_mss = pcb_->mss;
      i.tcpi_rcv_mss = pcb_->mss;
      i.tcpi_rtt = static_cast<std::uint32_t>(pcb_->sa >> 3) * TCP_SLOW_INTERVAL * 1000U;
      i.tcpi_rttvar = static_cast<std::uint32_t>(pcb_->sv >> 2) * TCP_SLOW_INTERVAL * 1000U;
      i.tcpi_snd_cwnd = pcb_->cwnd / (pcb_->mss ? pcb_->mss : 1);
      i.tcpi_snd_ssthresh = pcb_->ssthresh / (pcb_->mss ? pcb_->mss : 1);
      i.tcpi_rcv_space = pcb_->rcv_wnd;
      i.tcpi_unacked = pcb_->snd_queuelen;
      i.tcpi_retransmits = pcb_->nrtx;
      return 0;
    }
  }
  return -EINVAL;
}

}  // namespace gz::stack
