// open_socket: the entry from the shim into lstack's socket layer.
#include <arpa/inet.h>
#include <ifaddrs.h>

#include <algorithm>
#include <cerrno>
#include <vector>
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

namespace {
const sockaddr_in* inet_of(const sockaddr* addr, socklen_t len) noexcept {
  if (addr == nullptr || len < static_cast<socklen_t>(sizeof(sockaddr_in)) || addr->sa_family != AF_INET) return nullptr;
  return reinterpret_cast<const sockaddr_in*>(addr);
}

// The kernel's own IPv4 addresses, read once (getifaddrs): a connection to one
// of them never leaves the host, so it is the kernel's.
bool kernel_owns(in_addr a) noexcept {
  static const std::vector<std::uint32_t> mine = [] {
    std::vector<std::uint32_t> v;
    ifaddrs* list = nullptr;
    if (getifaddrs(&list) != 0) return v;
    for (ifaddrs* i = list; i != nullptr; i = i->ifa_next) {
      if (i->ifa_addr != nullptr && i->ifa_addr->sa_family == AF_INET) {
        v.push_back(reinterpret_cast<const sockaddr_in*>(i->ifa_addr)->sin_addr.s_addr);
      }
    }
    freeifaddrs(list);
    return v;
  }();
  return std::find(mine.begin(), mine.end(), a.s_addr) != mine.end();
}
}  // namespace

bool serves_bind_address(const sockaddr* addr, socklen_t len) noexcept {
  const sockaddr_in* in = inet_of(addr, len);
  auto rt = Runtime::get();
  if (in == nullptr || !rt) return true;  // the socket layer reports the error
  return in->sin_addr.s_addr == htonl(INADDR_ANY) || in->sin_addr.s_addr == rt.value()->config().host_addr.s_addr;
}

bool serves_destination(const sockaddr* addr, socklen_t len) noexcept {
  const sockaddr_in* in = inet_of(addr, len);
  if (in == nullptr) return true;
  if ((ntohl(in->sin_addr.s_addr) >> 24) == 127) return false;  // loopback: RFC 1122 3.2.1.3
  return !kernel_owns(in->sin_addr);
}
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
