#include "fd_table.hpp"

#include <pthread.h>
#include <sched.h>

#include <cstdlib>

#include "gz/kernel.hpp"
#include "result.hpp"

namespace gz::preload {

FdTable& FdTable::get() noexcept {
  static FdTable table;  // thread-safe init; calloc'ed pages stay untouched until used
  return table;
}

FdTable::FdTable() {
  size_ = static_cast<int>(fd_slots());
  // An all-zero slot is empty and unlocked.
  sockets_ = static_cast<Slot*>(std::calloc(size_, sizeof(Slot)));
  epolls_ = static_cast<Slot*>(std::calloc(size_, sizeof(Slot)));
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
    sockets_[fd].store(0, std::memory_order_relaxed);
    epolls_[fd].store(0, std::memory_order_relaxed);
    twins_[fd].store(kNone, std::memory_order_relaxed);
  }
}

std::uintptr_t FdTable::lock_slot(Slot& s) noexcept {
  for (unsigned spins = 0;; ++spins) {
    const std::uintptr_t w = s.fetch_or(1, std::memory_order_acquire);
    if ((w & 1) == 0) return w;
    // Held for a few instructions; a holder preempted on a busy CPU gets it back.
    if (spins < 64) {
      __builtin_ia32_pause();
    } else {
      sched_yield();
    }
  }
}

template <class T>
T* FdTable::share(Slot* slots, int fd) const noexcept {
  if (!in_range(fd) || slots[fd].load(std::memory_order_acquire) == 0) return nullptr;  // a kernel fd: no lock
  const std::uintptr_t w = lock_slot(slots[fd]);
  T* p = reinterpret_cast<T*>(w);
  if (p != nullptr) p->acquire();
  unlock_slot(slots[fd], w);
  return p;
}

// Puts now (its reference passes to the slot) into fd's slot; returns what
// was there with the slot's reference, for the caller to release.
template <class T>
T* FdTable::exchange(Slot* slots, int fd, T* now) noexcept {
  const std::uintptr_t w = lock_slot(slots[fd]);
  unlock_slot(slots[fd], reinterpret_cast<std::uintptr_t>(now));
  return reinterpret_cast<T*>(w);
}

stack::SocketRef FdTable::socket(int fd) const noexcept {
  return stack::SocketRef::adopt(share<stack::SocketBase>(sockets_, fd));
}

stack::EpollRef FdTable::epoll(int fd) const noexcept {
  return stack::EpollRef::adopt(share<stack::EpollSet>(epolls_, fd));
}

void FdTable::replace_socket(int fd, stack::SocketBase* old, stack::SocketBase* now) noexcept {
  if (!in_range(fd)) return;
  std::uintptr_t w = lock_slot(sockets_[fd]);
  const bool swap = w == reinterpret_cast<std::uintptr_t>(old);
  if (swap) {
    now->acquire();
    w = reinterpret_cast<std::uintptr_t>(now);
  }
  unlock_slot(sockets_[fd], w);
  if (swap) old->release();  // the slot's reference to the deferred socket
}

bool FdTable::set_socket(int fd, stack::SocketRef r) noexcept {
  if (!in_range(fd)) return false;
  note_fd(fd);
  // A slot being set is empty (its fd was just made); anything there is stale.
  const stack::SocketRef stale = stack::SocketRef::adopt(exchange(sockets_, fd, r.leak()));
  return true;
}

bool FdTable::set_epoll(int fd, stack::EpollRef r) noexcept {
  if (!in_range(fd)) return false;
  note_fd(fd);
  const stack::EpollRef stale = stack::EpollRef::adopt(exchange(epolls_, fd, r.leak()));
  return true;
}

stack::SocketRef FdTable::take_socket(int fd) noexcept {
  if (!in_range(fd) || sockets_[fd].load(std::memory_order_acquire) == 0) return {};
  twins_[fd].store(kNone, std::memory_order_release);
  return stack::SocketRef::adopt(exchange<stack::SocketBase>(sockets_, fd, nullptr));
}

stack::EpollRef FdTable::take_epoll(int fd) noexcept {
  if (!in_range(fd) || epolls_[fd].load(std::memory_order_acquire) == 0) return {};
  return stack::EpollRef::adopt(exchange<stack::EpollSet>(epolls_, fd, nullptr));
}

stack::SocketRef any_socket(int fd) noexcept {
  FdTable& t = FdTable::get();
  stack::SocketRef s = t.socket(fd);
  if (!s || !s->deferred()) return s;
  stack::SocketBase* r = s->real();
  if (r == nullptr) return s;
  t.replace_socket(fd, s.get(), r);
  return stack::SocketRef::share(r);  // s (held) keeps r alive until here
}

namespace {

// Starts the deferred socket s held by fd and swaps the real one in. If
// lstack itself cannot start, the process ends (fatal).
Result<stack::SocketRef> start_in_table(FdTable& t, int fd, const stack::SocketRef& s) noexcept {
  auto r = s->start();
  if (!r) {
    if (!stack::running()) fatal(r.error());
    return r.error();
  }
  t.replace_socket(fd, s.get(), r.value());
  return stack::SocketRef::share(r.value());  // s (held) keeps it alive until here
}

}  // namespace

stack::SocketRef live_socket(int fd) noexcept {
  FdTable& t = FdTable::get();
  stack::SocketRef s = t.socket(fd);
  if (!s || !s->deferred()) return s;
  auto r = start_in_table(t, fd, s);
  if (r) return std::move(r.value());
  return s;  // this socket alone failed (its port is taken): its calls return the errno
}

Result<stack::SocketRef> real_socket(int fd) noexcept {
  FdTable& t = FdTable::get();
  stack::SocketRef s = t.socket(fd);
  if (!s || !s->deferred()) return s;
  return start_in_table(t, fd, s);
}

}  // namespace gz::preload
