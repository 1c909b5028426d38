// Handlers for socket life and control calls.
#include <fcntl.h>
#include <sys/ioctl.h>

#include <atomic>
#include <cerrno>
#include <cstdio>

#include "fd_table.hpp"
#include "gz/kernel.hpp"
#include "handlers.hpp"
#include "result.hpp"

namespace gz::preload {

int on_socket(int domain, int type, int protocol) {
  const int fd = kernel().socket(domain, type, protocol);
  if (fd < 0 || domain != AF_INET || stack::thread_uses_kernel()) return fd;
  auto sock = stack::open_socket(domain, type, protocol);
  if (!sock) {
    if (sock.error().code == EPROTONOSUPPORT) return fd;  // e.g. UDP for now: the kernel serves it
    report_once(sock.error());
    kernel().close(fd);
    errno = sock.error().code;
    return -1;
  }
  if (!FdTable::get().set_socket(fd, sock.value())) {
    sock.value()->close();
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
  if (auto* s = FdTable::get().take_socket(fd)) {
    stack::EpollSet::move_to_kernel(fd, s);
    s->close();
  }
}

}  // namespace

int on_bind(int fd, const sockaddr* addr, socklen_t len) {
  auto* s = FdTable::get().socket(fd);
  if (s == nullptr) return kernel().bind(fd, addr, len);
  if (stack::serves_bind_address(addr, len)) return result(s->bind(addr, len));
  give_to_kernel(fd);
  return kernel().bind(fd, addr, len);
}

int on_listen(int fd, int backlog) {
  if (auto* s = FdTable::get().socket(fd)) return result(s->listen(backlog));
  return kernel().listen(fd, backlog);
}

int on_accept4(int fd, sockaddr* addr, socklen_t* len, int flags) {
  auto* s = FdTable::get().socket(fd);
  if (s == nullptr) return kernel().accept4(fd, addr, len, flags);
  if (flags & ~(SOCK_NONBLOCK | SOCK_CLOEXEC)) return result(-EINVAL);
  stack::SocketBase* child = nullptr;
  if (int rc = s->accept(&child, addr, len); rc < 0) return result(rc);
  const int cfd = kernel().socket(AF_INET, SOCK_STREAM | (flags & SOCK_CLOEXEC), 0);
  if (cfd < 0 || !FdTable::get().set_socket(cfd, child)) {
    const int err = cfd < 0 ? errno : EMFILE;
    if (cfd >= 0) kernel().close(cfd);
    child->close();
    return result(-err);
  }
  child->set_nonblocking(flags & SOCK_NONBLOCK);
  if (flags & SOCK_NONBLOCK) kernel().fcntl(cfd, F_SETFL, O_NONBLOCK);
  return cfd;
}

int on_accept(int fd, sockaddr* addr, socklen_t* len) { return on_accept4(fd, addr, len, 0); }

int on_connect(int fd, const sockaddr* addr, socklen_t len) {
  auto* s = FdTable::get().socket(fd);
  if (s == nullptr) return kernel().connect(fd, addr, len);
  if (stack::serves_destination(addr, len)) return result(s->connect(addr, len));
  give_to_kernel(fd);
  return kernel().connect(fd, addr, len);
}

int on_close(int fd) {
  FdTable& t = FdTable::get();
  if (auto* s = t.take_socket(fd)) {
    stack::EpollSet::forget_everywhere(fd, s);
    s->close();
  } else if (auto* e = t.take_epoll(fd)) {
    delete e;
  }
  return kernel().close(fd);
}

int on_shutdown(int fd, int how) {
  if (auto* s = FdTable::get().socket(fd)) return result(s->shutdown(how));
  return kernel().shutdown(fd, how);
}

int on_getsockname(int fd, sockaddr* addr, socklen_t* len) {
  if (auto* s = FdTable::get().socket(fd)) return result(s->getsockname(addr, len));
  return kernel().getsockname(fd, addr, len);
}

int on_getpeername(int fd, sockaddr* addr, socklen_t* len) {
  if (auto* s = FdTable::get().socket(fd)) return result(s->getpeername(addr, len));
  return kernel().getpeername(fd, addr, len);
}

int on_getsockopt(int fd, int level, int name, void* val, socklen_t* len) {
  if (auto* s = FdTable::get().socket(fd)) return result(s->getsockopt(level, name, val, len));
  return kernel().getsockopt(fd, level, name, val, len);
}

int on_setsockopt(int fd, int level, int name, const void* val, socklen_t len) {
  auto* s = FdTable::get().socket(fd);
  if (s == nullptr) return kernel().setsockopt(fd, level, name, val, len);
  const int rc = result(s->setsockopt(level, name, val, len));
  if (rc == 0) {  // mirrored, so the kernel fd is ready should the socket become the kernel's
    const int saved = errno;
    kernel().setsockopt(fd, level, name, val, len);
    errno = saved;
  }
  return rc;
}

int on_fcntl(int fd, int cmd, unsigned long arg) {
  auto* s = FdTable::get().socket(fd);
  // The kernel fd mirrors the flags, so F_GETFL and FD_CLOEXEC keep working.
  const int rc = kernel().fcntl(fd, cmd, arg);
  if (s != nullptr && rc >= 0 && cmd == F_SETFL) s->set_nonblocking(arg & O_NONBLOCK);
  return rc;
}

int on_ioctl(int fd, unsigned long req, unsigned long arg) {
  auto* s = FdTable::get().socket(fd);
  if (s != nullptr && req == FIONREAD) {
    if (arg == 0) return result(-EFAULT);
    *reinterpret_cast<int*>(arg) = s->readable_bytes();
    return 0;
  }
  const int rc = kernel().ioctl(fd, req, arg);
  if (s != nullptr && rc == 0 && req == FIONBIO && arg != 0) s->set_nonblocking(*reinterpret_cast<int*>(arg) != 0);
  return rc;
}

}  // namespace gz::preload
