// open_socket: the entry from the shim into lstack's socket layer.
#include <cerrno>
#include <cstdio>

#include "gz/socket.hpp"
#include "runtime.hpp"
#include "tcp_socket.hpp"
#include "udp_socket.hpp"

namespace gz::stack {
namespace {
thread_local bool t_kernel_only = false;
}

bool thread_uses_kernel() noexcept { return t_kernel_only; }
KernelOnlyScope::KernelOnlyScope() noexcept : saved_(t_kernel_only) { t_kernel_only = true; }
KernelOnlyScope::~KernelOnlyScope() { t_kernel_only = saved_; }

Result<SocketBase*> open_socket(int domain, int type, int protocol) {
  if (domain != AF_INET) return make_error(EAFNOSUPPORT, "lstack serves AF_INET only");
  const int base = type & ~(SOCK_NONBLOCK | SOCK_CLOEXEC);
  const bool tcp = base == SOCK_STREAM && (protocol == 0 || protocol == IPPROTO_TCP);
  const bool udp = base == SOCK_DGRAM && (protocol == 0 || protocol == IPPROTO_UDP);
  if (!tcp && !udp) return make_error(EPROTONOSUPPORT, "lstack serves TCP and UDP sockets");
  auto rt = Runtime::get();
  if (!rt) return rt.error();
  if (udp && !rt.value()->config().udp_enable) return make_error(EPROTONOSUPPORT, "udp_enable=0");
  auto owner = rt.value()->pick_stack();
  if (!owner) return owner.error();
  SocketBase* sock = nullptr;
  if (tcp) {
    auto s = TcpSocket::create(*owner.value());
    if (!s) return s.error();
    sock = s.value();
  } else {
    auto s = UdpSocket::create(*owner.value());
    if (!s) return s.error();
    sock = s.value();
  }
  sock->set_nonblocking((type & SOCK_NONBLOCK) != 0);
  return sock;
}

}  // namespace gz::stack
