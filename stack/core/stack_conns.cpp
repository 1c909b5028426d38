// Stack::list_connections: the socket table gazellectl shows with -c, in the
// terms of `ss -tuan`, read from lwIP's pcb lists on the stack thread.
#include <new>

#include "lwip/priv/tcp_priv.h"
#include "lwip/udp.h"
#include "stack.hpp"

namespace gz::stack {
namespace {

wire::CtlConn entry(const ip_addr_t& local, u16_t lport, const ip_addr_t& remote, u16_t rport, int index) noexcept {
  wire::CtlConn c{};
  c.local_ip = ip_2_ip4(&local)->addr;
  c.remote_ip = ip_2_ip4(&remote)->addr;
  c.local_port = lport;
  c.remote_port = rport;
  c.stack = static_cast<std::uint16_t>(index);
  return c;
}

wire::CtlConn tcp_entry(const tcp_pcb* p, int index) noexcept {
  wire::CtlConn c = entry(p->local_ip, p->local_port, p->remote_ip, p->remote_port, index);
  c.proto = IP_PROTO_TCP;
  c.state = static_cast<std::uint8_t>(p->state % wire::kTcpStates);
  // The window shrinks by what arrived and reopens as the program reads (tcp_recved).
  c.recv_q = p->rcv_wnd < TCP_WND ? TCP_WND - p->rcv_wnd : 0;
  c.send_q = p->snd_lbb - p->lastack;  // written to lwIP, not yet acknowledged
  return c;
}

}  // namespace

void Stack::list_connections(std::vector<wire::CtlConn>& out) noexcept {
  try {
    for (tcp_pcb_listen* p = tcp_listen_pcbs.listen_pcbs; p != nullptr; p = p->next) {
      wire::CtlConn c = entry(p->local_ip, p->local_port, *IP4_ADDR_ANY, 0, index_);
      c.proto = IP_PROTO_TCP;
      c.state = LISTEN;
      c.recv_q = accept_queue_probe_ != nullptr ? accept_queue_probe_(p->callback_arg) : 0;
      c.send_q = p->backlog;
      out.push_back(c);
    }
    for (tcp_pcb* p = tcp_active_pcbs; p != nullptr; p = p->next) out.push_back(tcp_entry(p, index_));
    for (tcp_pcb* p = tcp_tw_pcbs; p != nullptr; p = p->next) out.push_back(tcp_entry(p, index_));
    for (udp_pcb* p = udp_pcbs; p != nullptr; p = p->next) {
      wire::CtlConn c = entry(p->local_ip, p->local_port, p->remote_ip, p->remote_port, index_);
      c.proto = IP_PROTO_UDP;
      out.push_back(c);
    }
  } catch (const std::bad_alloc&) {  // a control request: a shorter list, never an abort
  }
}

}  // namespace gz::stack
