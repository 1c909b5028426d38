// Handlers for the data calls: every receive goes through SocketBase::recv,
// every send through SocketBase::send.
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <memory>
#include <new>
#include <cstdio>

#include "fd_table.hpp"
#include "gz/kernel.hpp"
#include "gz/thread_state.hpp"
#include "handlers.hpp"
#include "result.hpp"

namespace gz::preload {

void report_once(const Error& e) noexcept {
  static std::atomic<bool> said{false};
  if (!said.exchange(true)) std::fprintf(stderr, "lstack: %s\n", e.message.c_str());
}

void fatal(const Error& e) noexcept {
  report_once(e);
  std::fflush(stdout);
  _exit(2);  // not exit(): the program's atexit handlers may wait on the very call that failed
}

namespace {

// The calling thread's sendfile buffer (freed when the thread exits).
char* sendfile_buffer(std::size_t size) noexcept {
  ThreadState& ts = this_thread_state();
  if (auto* b = static_cast<char*>(ts.owned[ThreadState::kSendfileBuffer])) return b;
  char* b = new (std::nothrow) char[size];
  if (b != nullptr && !ts.own(ThreadState::kSendfileBuffer, b, [](void* p) { delete[] static_cast<char*>(p); })) {
    delete[] b;
    return nullptr;
  }
  return b;
}

// sendfile to an lstack socket: the file's bytes are read at the offset (the
// file position is only moved by what was sent, as the kernel does) and go
// through the socket's one send path, 64 KiB at a time.
ssize_t send_file(stack::SocketBase* s, int in, off_t* offset, size_t count) {
  constexpr std::size_t kChunk = 64 * 1024;
  char* buf = sendfile_buffer(kChunk);
  if (buf == nullptr) return -ENOMEM;
  const off_t start = offset != nullptr ? *offset : lseek(in, 0, SEEK_CUR);
  if (start < 0) return errno == ESPIPE ? -EINVAL : -errno;
  size_t done = 0;
  while (done < count) {
    const ssize_t got = pread(in, buf, std::min(kChunk, count - done), start + static_cast<off_t>(done));
    if (got <= 0) {
      if (got < 0 && done == 0) return -errno;
      break;
    }
    iovec iov{buf, static_cast<size_t>(got)};
    const ssize_t sent = s->send(&iov, 1, 0, nullptr, 0);
    if (sent < 0) {
      if (done == 0) return sent;
      break;
    }
    done += static_cast<size_t>(sent);
    if (sent < got) break;  // the socket is full (non-blocking)
  }
  if (offset != nullptr) {
    *offset = start + static_cast<off_t>(done);
  } else {
    lseek(in, start + static_cast<off_t>(done), SEEK_SET);
  }
  return static_cast<ssize_t>(done);
}

}  // namespace

ssize_t on_sendfile(int out, int in, off_t* offset, size_t n) {
  auto s = live_socket(out);
  if (!s) return AppKernel::sendfile(out, in, offset, n);
  return result(send_file(s.get(), in, offset, n));
}

ssize_t on_sendfile64(int out, int in, off64_t* offset, size_t n) {
  static_assert(sizeof(off64_t) == sizeof(off_t), "64-bit builds only: off_t is off64_t");
  auto s = live_socket(out);
  if (!s) return AppKernel::sendfile64(out, in, offset, n);
  return result(send_file(s.get(), in, reinterpret_cast<off_t*>(offset), n));
}

ssize_t on_read(int fd, void* buf, size_t n) {
  auto s = live_socket(fd);
  if (!s) return AppKernel::read(fd, buf, n);
  iovec iov{buf, n};
  return result(s->recv(&iov, 1, 0, nullptr, nullptr));
}

ssize_t on_write(int fd, const void* buf, size_t n) {
  auto s = live_socket(fd);
  if (!s) return AppKernel::write(fd, buf, n);
  iovec iov{const_cast<void*>(buf), n};
  return result(s->send(&iov, 1, 0, nullptr, 0));
}

ssize_t on_readv(int fd, const iovec* iov, int cnt) {
  auto s = live_socket(fd);
  if (!s) return AppKernel::readv(fd, iov, cnt);
  if (cnt < 0 || cnt > IOV_MAX) return result<ssize_t>(-EINVAL);
  return result(s->recv(iov, cnt, 0, nullptr, nullptr));
}

ssize_t on_writev(int fd, const iovec* iov, int cnt) {
  auto s = live_socket(fd);
  if (!s) return AppKernel::writev(fd, iov, cnt);
  if (cnt < 0 || cnt > IOV_MAX) return result<ssize_t>(-EINVAL);
  return result(s->send(iov, cnt, 0, nullptr, 0));
}

ssize_t on_recv(int fd, void* buf, size_t n, int flags) {
  auto s = live_socket(fd);
  if (!s) return AppKernel::recv(fd, buf, n, flags);
  iovec iov{buf, n};
  return result(s->recv(&iov, 1, flags, nullptr, nullptr));
}

ssize_t on_send(int fd, const void* buf, size_t n, int flags) {
  auto s = live_socket(fd);
  if (!s) return AppKernel::send(fd, buf, n, flags);
  iovec iov{const_cast<void*>(buf), n};
  return result(s->send(&iov, 1, flags, nullptr, 0));
}

ssize_t on_recvfrom(int fd, void* buf, size_t n, int flags, sockaddr* from, socklen_t* len) {
  auto s = live_socket(fd);
  if (!s) return AppKernel::recvfrom(fd, buf, n, flags, from, len);
  iovec iov{buf, n};
  return result(s->recv(&iov, 1, flags, from, len));
}

ssize_t on_sendto(int fd, const void* buf, size_t n, int flags, const sockaddr* to, socklen_t len) {
  auto s = live_socket(fd);
  if (!s) return AppKernel::sendto(fd, buf, n, flags, to, len);
  iovec iov{const_cast<void*>(buf), n};
  return result(s->send(&iov, 1, flags, to, len));
}

ssize_t on_recvmsg(int fd, msghdr* msg, int flags) {
  auto s = live_socket(fd);
  if (!s) return AppKernel::recvmsg(fd, msg, flags);
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
  auto s = live_socket(fd);
  if (!s) return AppKernel::sendmsg(fd, msg, flags);
  if (msg == nullptr) return result<ssize_t>(-EFAULT);
  return result(s->send(msg->msg_iov, static_cast<int>(msg->msg_iovlen), flags,
                        static_cast<const sockaddr*>(msg->msg_name), msg->msg_namelen));
}

}  // namespace gz::preload
