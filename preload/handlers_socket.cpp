// Handlers for socket life and control calls.
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/ioctl.h>

#include <atomic>
#include <cerrno>
#include <cstdio>

#include "fd_table.hpp"
#include "gz/event.hpp"
#include "gz/kernel.hpp"
#include "handlers.hpp"
#include "result.hpp"

namespace gz::preload {

int on_socket(int domain, int type, int protocol) {
  const int fd = AppKernel::socket(domain, type, protocol);
  if (fd < 0 || domain != AF_INET || !stack::serves_caller()) return fd;
  if (auto ok = stack::check_config(); !ok) fatal(ok.error());
  auto sock = stack::open_socket(domain, type, protocol);
  if (!sock) {
    if (sock.error().code == EPROTONOSUPPORT) return fd;  // e.g. raw sockets, UDP off: the kernel serves it
    report_once(sock.error());
    kernel().close(fd);
    errno = sock.error().code;
    return -1;
  }
  if (!FdTable::get().set_socket(fd, stack::SocketRef::adopt(sock.value()))) {
    kernel().close(fd);
    errno = EMFILE;
    return -1;
  }
  return fd;
}

namespace {

// The socket turns out to be the kernel's (loopback, another local address):
// drop lstack's half; the kernel fd has had every option already.
void give_to_kernel(int fd) noexcept {
  if (auto s = FdTable::get().take_socket(fd)) stack::EpollSet::move_to_kernel(fd, s.get());
}

bool is_any_address(const sockaddr* addr, socklen_t len) noexcept {
  if (addr == nullptr || len < static_cast<socklen_t>(sizeof(sockaddr_in)) || addr->sa_family != AF_INET) return false;
  return reinterpret_cast<const sockaddr_in*>(addr)->sin_addr.s_addr == htonl(INADDR_ANY);
}

bool is_stream(stack::SocketBase* s) noexcept {
  int type = 0;
  socklen_t len = sizeof type;
  return s->getsockopt(SOL_SOCKET, SO_TYPE, &type, &len) == 0 && type == SOCK_STREAM;
}

// Wraps an accepted lstack connection in a new fd. Without one (the fd limit:
// EMFILE, ENFILE) the connection goes back to the listener, as Linux keeps it
// queued, rather than being reset.
int install_accepted(stack::SocketBase* listener, stack::SocketBase* child, int flags) noexcept {
  const int cfd = kernel().socket(AF_INET, SOCK_STREAM | (flags & SOCK_CLOEXEC), 0);
  if (cfd < 0 || !FdTable::get().in_range(cfd)) {
    const int err = cfd < 0 ? errno : EMFILE;
    if (cfd >= 0) kernel().close(cfd);
    if (err == EMFILE || err == ENFILE) {
      listener->unaccept(child);
    } else {
      child->close();
    }
    return result(-err);
  }
  child->set_nonblocking(flags & SOCK_NONBLOCK);
  if (flags & SOCK_NONBLOCK) kernel().fcntl(cfd, F_SETFL, O_NONBLOCK);
  FdTable::get().set_socket(cfd, stack::SocketRef::adopt(child));  // in range: cannot fail
  return cfd;
}

bool kernel_has_connection(int fd) noexcept {
  pollfd p{fd, POLLIN, 0};
  return kernel().poll(&p, 1, 0) > 0 && (p.revents & POLLIN);
}

// accept4 on the kernel half without blocking, even on a blocking listener:
// the connection poll saw may have gone to another process sharing it.
int kernel_accept_now(int fd, sockaddr* addr, socklen_t* len, int flags) noexcept {
  const int fl = kernel().fcntl(fd, F_GETFL, 0UL);
  const bool toggle = fl >= 0 && (fl & O_NONBLOCK) == 0;
  if (toggle) kernel().fcntl(fd, F_SETFL, static_cast<unsigned long>(fl | O_NONBLOCK));
  const int k = kernel().accept4(fd, addr, len, flags);
  const int err = errno;
  if (toggle) kernel().fcntl(fd, F_SETFL, static_cast<unsigned long>(fl));
  errno = err;
  return k;
}

// A listener on INADDR_ANY listens twice: lstack's connections first, then
// the kernel's (loopback clients), which are returned as plain kernel fds.
int accept_twin(int fd, stack::SocketBase* s, sockaddr* addr, socklen_t* len, int flags) {
  for (;;) {
    if (s->nonblocking() || (s->events() & EPOLLIN)) {
      stack::SocketBase* child = nullptr;
      const int rc = s->accept(&child, addr, len);
      if (rc == 0) return install_accepted(s, child, flags);
      if (rc != -EAGAIN) return result(rc);
    }
    if (kernel_has_connection(fd)) {
      const int k = kernel_accept_now(fd, addr, len, flags);
      if (k >= 0 || errno != EAGAIN) return k;  // EAGAIN: another process took it first
    }
    if (s->nonblocking()) return result(-EAGAIN);
    pollfd p{fd, POLLIN, 0};
    const int rc = stack::poll_mixed(&p, 1, nullptr, nullptr, live_socket, twin_fd);
    if (rc < 0) return result(rc);
  }
}

// INADDR_ANY (TCP): the kernel fd binds to the same port, so that once both
// listen, local clients reach the listener through the kernel half.
void bind_kernel_half(int fd, stack::SocketBase* s, const sockaddr* addr, socklen_t len) noexcept {
  if (!is_any_address(addr, len) || !is_stream(s)) return;
  sockaddr_in same{};
  socklen_t sl = sizeof same;
  if (s->getsockname(reinterpret_cast<sockaddr*>(&same), &sl) != 0) return;  // port 0: the one lstack chose
  same.sin_addr.s_addr = htonl(INADDR_ANY);
  const int saved = errno;
  if (kernel().bind(fd, reinterpret_cast<sockaddr*>(&same), sizeof same) == 0) {
    FdTable::get().set_twin_state(fd, FdTable::kKernelBound);
  }
  errno = saved;
}

}  // namespace

bool twin_fd(int fd) noexcept { return FdTable::get().twin(fd); }

int on_bind(int fd, const sockaddr* addr, socklen_t len) {
  auto s = any_socket(fd);
  if (!s) return AppKernel::bind(fd, addr, len);
  if (!stack::serves_bind_address(addr, len)) {
    give_to_kernel(fd);
    return AppKernel::bind(fd, addr, len);
  }
  const int rc = s->bind(addr, len);
  if (rc == 0) bind_kernel_half(fd, s.get(), addr, len);
  return result(rc);
}

// Only a listener is a twin: the kernel half of a bound client stays out of
// poll and epoll (an unconnected kernel socket reports POLLHUP).
int on_listen(int fd, int backlog) {
  auto s = any_socket(fd);
  if (!s) return AppKernel::listen(fd, backlog);
  const int rc = s->listen(backlog);
  FdTable& t = FdTable::get();
  if (rc == 0 && t.twin_state(fd) != FdTable::kNone) {
    const int saved = errno;
    t.set_twin_state(fd, AppKernel::listen(fd, backlog) == 0 ? FdTable::kTwin : FdTable::kKernelBound);
    errno = saved;
  }
  return result(rc);
}

int on_accept4(int fd, sockaddr* addr, socklen_t* len, int flags) {
  auto s = live_socket(fd);
  if (!s) return AppKernel::accept4(fd, addr, len, flags);
  if (flags & ~(SOCK_NONBLOCK | SOCK_CLOEXEC)) return result(-EINVAL);
  if (FdTable::get().twin(fd)) return accept_twin(fd, s.get(), addr, len, flags);
  stack::SocketBase* child = nullptr;
  if (int rc = s->accept(&child, addr, len); rc < 0) return result(rc);
  return install_accepted(s.get(), child, flags);
}

int on_accept(int fd, sockaddr* addr, socklen_t* len) { return on_accept4(fd, addr, len, 0); }

int on_connect(int fd, const sockaddr* addr, socklen_t len) {
  auto s = any_socket(fd);
  if (!s) return AppKernel::connect(fd, addr, len);
  if (!stack::serves_destination(addr, len)) {
    give_to_kernel(fd);
    return AppKernel::connect(fd, addr, len);
  }
  s.reset();  // a deferred socket starts now; live_socket returns the real one
  return result(live_socket(fd)->connect(addr, len));
}

int on_shutdown(int fd, int how) {
  if (auto s = any_socket(fd)) return result(s->shutdown(how));
  return AppKernel::shutdown(fd, how);
}

int on_getsockname(int fd, sockaddr* addr, socklen_t* len) {
  if (auto s = any_socket(fd)) return result(s->getsockname(addr, len));
  return AppKernel::getsockname(fd, addr, len);
}

int on_getpeername(int fd, sockaddr* addr, socklen_t* len) {
  if (auto s = any_socket(fd)) return result(s->getpeername(addr, len));
  return AppKernel::getpeername(fd, addr, len);
}

int on_getsockopt(int fd, int level, int name, void* val, socklen_t* len) {
  auto s = any_socket(fd);
  if (!s) return AppKernel::getsockopt(fd, level, name, val, len);
  const int rc = s->getsockopt(level, name, val, len);
  // Not started yet: the kernel fd has every option the program set.
  if (rc == -ENOPROTOOPT && s->deferred()) return AppKernel::getsockopt(fd, level, name, val, len);
  return result(rc);
}

int on_setsockopt(int fd, int level, int name, const void* val, socklen_t len) {
  auto s = any_socket(fd);
  if (!s) return AppKernel::setsockopt(fd, level, name, val, len);
  if (s->deferred()) {  // the kernel validates it now; lstack gets it when it starts
    const int rc = AppKernel::setsockopt(fd, level, name, val, len);
    return rc == 0 ? result(s->setsockopt(level, name, val, len)) : rc;
  }
  const int rc = result(s->setsockopt(level, name, val, len));
  if (rc == 0) {  // mirrored, so the kernel fd is ready should the socket become the kernel's
    const int saved = errno;
    AppKernel::setsockopt(fd, level, name, val, len);
    errno = saved;
  }
  return rc;
}

int on_ioctl(int fd, unsigned long req, unsigned long arg) {
  auto s = any_socket(fd);
  if (s && req == FIONREAD) {
    if (arg == 0) return result(-EFAULT);
    *reinterpret_cast<int*>(arg) = s->readable_bytes();
    return 0;
  }
  const int rc = AppKernel::ioctl(fd, req, arg);
  if (s && rc == 0 && req == FIONBIO && arg != 0) s->set_nonblocking(*reinterpret_cast<int*>(arg) != 0);
  return rc;
}

}  // namespace gz::preload
