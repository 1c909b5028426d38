// Handlers for the data calls: every receive goes through SocketBase::recv,
// every send through SocketBase::send.
#include <atomic>
#include <cstdio>

#include "fd_table.hpp"
#include "gz/kernel.hpp"
#include "handlers.hpp"
#include "result.hpp"

namespace gz::preload {

void report_once(const Error& e) noexcept {
  static std::atomic<bool> said{false};
  if (!said.exchange(true)) std::fprintf(stderr, "lstack: %s\n", e.message.c_str());
}

ssize_t on_read(int fd, void* buf, size_t n) {
  auto* s = FdTable::get().socket(fd);
  if (s == nullptr) return kernel().read(fd, buf, n);
  iovec iov{buf, n};
  return result(s->recv(&iov, 1, 0, nullptr, nullptr));
}

ssize_t on_write(int fd, const void* buf, size_t n) {
  auto* s = FdTable::get().socket(fd);
  if (s == nullptr) return kernel().write(fd, buf, n);
  iovec iov{const_cast<void*>(buf), n};
  return result(s->send(&iov, 1, 0, nullptr, 0));
}

ssize_t on_readv(int fd, const iovec* iov, int cnt) {
  auto* s = FdTable::get().socket(fd);
  if (s == nullptr) return kernel().readv(fd, iov, cnt);
  if (cnt < 0 || cnt > IOV_MAX) return result<ssize_t>(-EINVAL);
  return result(s->recv(iov, cnt, 0, nullptr, nullptr));
}

ssize_t on_writev(int fd, const iovec* iov, int cnt) {
  auto* s = FdTable::get().socket(fd);
  if (s == nullptr) return kernel().writev(fd, iov, cnt);
  if (cnt < 0 || cnt > IOV_MAX) return result<ssize_t>(-EINVAL);
  return result(s->send(iov, cnt, 0, nullptr, 0));
}

ssize_t on_recv(int fd, void* buf, size_t n, int flags) {
  auto* s = FdTable::get().socket(fd);
  if (s == nullptr) return kernel().recv(fd, buf, n, flags);
  iovec iov{buf, n};
  return result(s->recv(&iov, 1, flags, nullptr, nullptr));
}

ssize_t on_send(int fd, const void* buf, size_t n, int flags) {
  auto* s = FdTable::get().socket(fd);
  if (s == nullptr) return kernel().send(fd, buf, n, flags);
  iovec iov{const_cast<void*>(buf), n};
  return result(s->send(&iov, 1, flags, nullptr, 0));
}

ssize_t on_recvfrom(int fd, void* buf, size_t n, int flags, sockaddr* from, socklen_t* len) {
  auto* s = FdTable::get().socket(fd);
  if (s == nullptr) return kernel().recvfrom(fd, buf, n, flags, from, len);
  iovec iov{buf, n};
  return result(s->recv(&iov, 1, flags, from, len));
}

ssize_t on_sendto(int fd, const void* buf, size_t n, int flags, const sockaddr* to, socklen_t len) {
  auto* s = FdTable::get().socket(fd);
  if (s == nullptr) return kernel().sendto(fd, buf, n, flags, to, len);
  iovec iov{const_cast<void*>(buf), n};
  return result(s->send(&iov, 1, flags, to, len));
}

ssize_t on_recvmsg(int fd, msghdr* msg, int flags) {
  auto* s = FdTable::get().socket(fd);
  if (s == nullptr) return kernel().recvmsg(fd, msg, flags);
  if (msg == nullptr) return result<ssize_t>(-EFAULT);
  socklen_t namelen = msg->msg_namelen;
  const ssize_t rc = s->recv(msg->msg_iov, static_cast<int>(msg->msg_iovlen), flags,
                             static_cast<sockaddr*>(msg->msg_name), msg->msg_name ? &namelen : nullptr);
  if (rc >= 0) {
    msg->msg_namelen = msg->msg_name ? namelen : 0;
    msg->msg_controllen = 0;  // no ancillary data from lstack sockets
    msg->msg_flags = 0;
  }
  return result(rc);
}

ssize_t on_sendmsg(int fd, const msghdr* msg, int flags) {
  auto* s = FdTable::get().socket(fd);
  if (s == nullptr) return kernel().sendmsg(fd, msg, flags);
  if (msg == nullptr) return result<ssize_t>(-EFAULT);
  return result(s->send(msg->msg_iov, static_cast<int>(msg->msg_iovlen), flags,
                        static_cast<const sockaddr*>(msg->msg_name), msg->msg_namelen));
}

}  // namespace gz::preload
