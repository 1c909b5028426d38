#include "fd_table.hpp"

#include <pthread.h>
#include <sys/resource.h>

#include <algorithm>
#include <cstdlib>

#include "result.hpp"

namespace gz::preload {

FdTable& FdTable::get() noexcept {
  static FdTable table;  // thread-safe init; calloc'ed pages stay untouched until used
  return table;
}

FdTable::FdTable() {
  rlimit lim{};
  rlim_t n = 65536;
  if (getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_max != RLIM_INFINITY) n = std::max<rlim_t>(n, lim.rlim_max);
  size_ = static_cast<int>(std::min<rlim_t>(n, 1 << 20));
  // An all-zero atomic pointer is a null pointer on every ABI we build for.
  sockets_ = static_cast<std::atomic<stack::SocketBase*>*>(std::calloc(size_, sizeof(*sockets_)));
  epolls_ = static_cast<std::atomic<stack::EpollSet*>*>(std::calloc(size_, sizeof(*epolls_)));
  twins_ = static_cast<std::atomic<std::uint8_t>*>(std::calloc(size_, sizeof(*twins_)));
  owner_.store(getpid());
  if (sockets_ == nullptr || epolls_ == nullptr || twins_ == nullptr) size_ = 0;  // everything stays the kernel's
  // A child of fork() must not drive the parent's lstack (see forget_all).
  pthread_atfork(nullptr, nullptr, [] {
    FdTable& t = FdTable::get();
    t.owner_.store(getpid());
    if (stack::started_in_parent()) t.forget_all();
  });
}

void FdTable::note_fd(int fd) noexcept {
  int h = high_.load(std::memory_order_relaxed);
  while (fd >= h && !high_.compare_exchange_weak(h, fd + 1, std::memory_order_acq_rel)) {
  }
}

void FdTable::forget_all() noexcept {
  const int h = high();
  for (int fd = 0; fd < h; ++fd) {
    sockets_[fd].store(nullptr, std::memory_order_relaxed);
    epolls_[fd].store(nullptr, std::memory_order_relaxed);
    twins_[fd].store(kNone, std::memory_order_relaxed);
  }
}

void FdTable::replace_socket(int fd, stack::SocketBase* old, stack::SocketBase* now) noexcept {
  if (in_range(fd)) sockets_[fd].compare_exchange_strong(old, now, std::memory_order_acq_rel);
}

bool FdTable::set_socket(int fd, stack::SocketBase* s) noexcept {
  if (!in_range(fd)) return false;
  note_fd(fd);
  sockets_[fd].store(s, std::memory_order_release);
  return true;
}

bool FdTable::set_epoll(int fd, stack::EpollSet* e) noexcept {
  if (!in_range(fd)) return false;
  note_fd(fd);
  epolls_[fd].store(e, std::memory_order_release);
  return true;
}

stack::SocketBase* FdTable::take_socket(int fd) noexcept {
  if (!in_range(fd)) return nullptr;
  twins_[fd].store(kNone, std::memory_order_release);
  return sockets_[fd].exchange(nullptr, std::memory_order_acq_rel);
}

stack::EpollSet* FdTable::take_epoll(int fd) noexcept {
  return in_range(fd) ? epolls_[fd].exchange(nullptr, std::memory_order_acq_rel) : nullptr;
}

stack::SocketBase* any_socket(int fd) noexcept {
  FdTable& t = FdTable::get();
  stack::SocketBase* s = t.socket(fd);
  if (s == nullptr || !s->deferred()) return s;
  stack::SocketBase* r = s->real();
  if (r == nullptr) return s;
  t.replace_socket(fd, s, r);
  return r;
}

namespace {

// Starts the deferred socket s held by fd and swaps the real one in. If
// lstack itself cannot start, the process ends (fatal).
Result<stack::SocketBase*> start_in_table(FdTable& t, int fd, stack::SocketBase* s) noexcept {
  auto r = s->start();
  if (!r) {
    if (!stack::running()) fatal(r.error());
    return r.error();
  }
  t.replace_socket(fd, s, r.value());
  return r.value();
}

}  // namespace

stack::SocketBase* live_socket(int fd) noexcept {
  FdTable& t = FdTable::get();
  stack::SocketBase* s = t.socket(fd);
  if (s == nullptr || !s->deferred()) return s;
  auto r = start_in_table(t, fd, s);
  return r ? r.value() : s;  // this socket alone failed (its port is taken): its calls return the errno
}

Result<stack::SocketBase*> real_socket(int fd) noexcept {
  FdTable& t = FdTable::get();
  stack::SocketBase* s = t.socket(fd);
  if (s == nullptr || !s->deferred()) return s;
  return start_in_table(t, fd, s);
}

}  // namespace gz::preload
