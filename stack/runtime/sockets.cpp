// open_socket: the entry from the shim into lstack's socket layer.
#include <arpa/inet.h>
#include <ifaddrs.h>
#include <pthread.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>
#include <vector>

#include "deferred_socket.hpp"
#include "gz/socket.hpp"
#include "process.hpp"
#include "runtime.hpp"
#include "tcp_socket.hpp"
#include "udp_socket.hpp"
#include "gz/thread_state.hpp"

namespace gz::stack {
bool thread_uses_kernel() noexcept { return this_thread_state().kernel_only; }

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
  auto cfg = Process::get().config();
  if (in == nullptr || !cfg) return true;  // the socket layer reports the error
  return in->sin_addr.s_addr == htonl(INADDR_ANY) || in->sin_addr.s_addr == cfg.value()->host_addr.s_addr;
}

bool serves_destination(const sockaddr* addr, socklen_t len) noexcept {
  const sockaddr_in* in = inet_of(addr, len);
  if (in == nullptr) return true;
  if ((ntohl(in->sin_addr.s_addr) >> 24) == 127) return false;  // loopback: RFC 1122 3.2.1.3
  return !kernel_owns(in->sin_addr);
}
namespace {

// GAZELLE_BIND_PROCNAME: does it name this process? Decided once per process
// (a forked child decides again: it may have taken another name).
bool process_selected() noexcept {
  static std::atomic<pid_t> decided_for{0};
  static std::atomic<bool> selected{true};
  const pid_t me = getpid();
  if (decided_for.load(std::memory_order_acquire) == me) return selected.load(std::memory_order_relaxed);
  bool yes = true;
  const char* want = std::getenv("GAZELLE_BIND_PROCNAME");
  if (want != nullptr && *want != '\0') {
    char comm[64] = {};
    if (FILE* f = std::fopen("/proc/self/comm", "re")) {
      if (std::fgets(comm, sizeof comm, f) == nullptr) comm[0] = '\0';
      std::fclose(f);
    }
    comm[std::strcspn(comm, "\n")] = '\0';
    // comm holds at most 15 characters: compare that much of the wanted name.
    yes = std::strncmp(comm, want, 15) == 0 && (std::strlen(want) <= 15 || std::strlen(comm) == 15);
    yes = yes || std::strcmp(program_invocation_short_name, want) == 0;
  }
  selected.store(yes, std::memory_order_relaxed);
  decided_for.store(me, std::memory_order_release);
  return yes;
}

// GAZELLE_THREAD_NAME: does it name the calling thread? Asked at socket().
bool thread_selected() noexcept {
  static const char* want = std::getenv("GAZELLE_THREAD_NAME");
  if (want == nullptr || *want == '\0') return true;
  char name[16] = {};
  if (pthread_getname_np(pthread_self(), name, sizeof name) != 0) return false;
  return std::strncmp(name, want, sizeof name - 1) == 0;
}

}  // namespace

Result<void> check_config() {
  auto cfg = Process::get().config();
  if (!cfg) return cfg.error();
  return {};
}

bool running() noexcept { return Process::get().started() && !Process::get().inherited(); }

bool started_in_parent() noexcept { return Process::get().inherited(); }

bool serves_caller() noexcept {
  return !this_thread_state().kernel_only && !Process::get().inherited() && process_selected() && thread_selected();
}

KernelOnlyScope::KernelOnlyScope() noexcept : saved_(this_thread_state().kernel_only) {
  this_thread_state().kernel_only = true;
}
KernelOnlyScope::~KernelOnlyScope() { this_thread_state().kernel_only = saved_; }

Result<SocketBase*> open_socket(int domain, int type, int protocol) {
  if (domain != AF_INET) return make_error(EAFNOSUPPORT, "lstack serves AF_INET only");
  const int base = type & ~(SOCK_NONBLOCK | SOCK_CLOEXEC);
  const bool tcp = base == SOCK_STREAM && (protocol == 0 || protocol == IPPROTO_TCP);
  const bool udp = base == SOCK_DGRAM && (protocol == 0 || protocol == IPPROTO_UDP);
  if (!tcp && !udp) return make_error(EPROTONOSUPPORT, "lstack serves TCP and UDP sockets");
  Process& process = Process::get();
  auto cfg = process.config();
  if (!cfg) return cfg.error();
  if (udp && !cfg.value()->udp_enable) return make_error(EPROTONOSUPPORT, "udp_enable=0");
  if (!process.started()) {
    auto* d = new (std::nothrow) DeferredSocket(process, base, protocol);
    if (d == nullptr) return make_error(ENOMEM, "out of memory for a socket");
    d->set_nonblocking((type & SOCK_NONBLOCK) != 0);
    return d;
  }
  auto rt = process.runtime();
  if (!rt) return rt.error();
  rt.value()->open_rx_once(&DeferredSocket::start_listeners);
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
