// FdTable: which file descriptors are lstack sockets or epoll sets with lstack
// sockets in them. Indexed by fd; everything not in it is the kernel's.
// Thread: any. A kernel fd costs a lookup one load; an lstack one takes a
// reference under the slot's lock bit (see Slot).
#pragma once

#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <memory>

#include "gz/event.hpp"
#include "gz/socket.hpp"

namespace gz::preload {

class FdTable {
 public:
  static FdTable& get() noexcept;

  // The socket or epoll set behind fd, with a reference the caller holds
  // until it is done (see gz/ref.hpp), or nothing for a kernel fd.
  stack::SocketRef socket(int fd) const noexcept;
  stack::EpollRef epoll(int fd) const noexcept;
  // Whether fd is lstack's, without a reference (a hint: it may change).
  bool has_socket(int fd) const noexcept { return in_range(fd) && sockets_[fd].load(std::memory_order_acquire) != 0; }
  // Whether fd holds a socket or an epoll set (a hint, as has_socket).
  bool holds(int fd) const noexcept {
    return has_socket(fd) || (in_range(fd) && epolls_[fd].load(std::memory_order_acquire) != 0);
  }
  // fd takes over the reference r holds. False when fd is beyond the table
  // (the caller then keeps fd in the kernel; r is released).
  bool set_socket(int fd, stack::SocketRef r) noexcept;
  bool set_epoll(int fd, stack::EpollRef r) noexcept;
  // Swaps a started deferred socket for its real one (if fd still holds old).
  void replace_socket(int fd, stack::SocketBase* old, stack::SocketBase* now) noexcept;
  // Removes what fd held and returns the fd's reference to it.
  stack::SocketRef take_socket(int fd) noexcept;
  stack::EpollRef take_epoll(int fd) noexcept;
  bool in_range(int fd) const noexcept { return fd >= 0 && fd < size_; }
  // A TCP socket bound to INADDR_ANY has its kernel fd bound to the same
  // port (kKernelBound); once both listen it is a twin listener (kTwin):
  // loopback clients reach it through the kernel half.
  enum Twin : std::uint8_t { kNone = 0, kKernelBound = 1, kTwin = 2 };
  Twin twin_state(int fd) const noexcept {
    return in_range(fd) ? static_cast<Twin>(twins_[fd].load(std::memory_order_acquire)) : kNone;
  }
  bool twin(int fd) const noexcept { return twin_state(fd) == kTwin; }
  void set_twin_state(int fd, Twin t) noexcept {
    if (in_range(fd)) twins_[fd].store(t, std::memory_order_release);
  }
  // True in a vfork() child: it shares the parent's memory (this table
  // included) but not its lstack; pthread_atfork does not run for vfork.
  // Calls that would change the table then treat every fd as the kernel's.
  // A syscall (getpid): asked only where the table holds something.
  bool foreign() const noexcept { return getpid() != owner_.load(std::memory_order_relaxed); }
  // One past the highest fd ever set (bounds whole-table walks).
  int high() const noexcept { return high_.load(std::memory_order_acquire); }
  // In a child of fork() whose parent runs lstack: forget every entry (the
  // objects are the parent's; the child's fds become plain kernel fds).
  void forget_all() noexcept;

 private:
  // A slot holds an object's address; bit 0 is the slot's lock, held only to
  // take a reference or to change the slot (a few instructions), so that a
  // close() cannot free the object between a lookup's load and its acquire().
  using Slot = std::atomic<std::uintptr_t>;
  static std::uintptr_t lock_slot(Slot& s) noexcept;
  static void unlock_slot(Slot& s, std::uintptr_t w) noexcept { s.store(w, std::memory_order_release); }
  template <class T>
  T* share(Slot* slots, int fd) const noexcept;
  template <class T>
  T* exchange(Slot* slots, int fd, T* now) noexcept;

  FdTable();
  void note_fd(int fd) noexcept;
  int size_;
  std::atomic<int> high_{0};
  std::atomic<pid_t> owner_{0};  // the process this table belongs to
  std::atomic<std::uint8_t>* twins_;
  // calloc'ed: the pages of a large table stay untouched (free) until used.
  Slot* sockets_;
  Slot* epolls_;
};

// The socket behind fd for a call that needs lstack running: a deferred
// socket starts here (lstack with it). If lstack cannot start, the message is
// printed once and the process exits with status 2 (see fatal()); if only
// this socket failed (its replayed bind finds the port taken), the deferred
// socket is returned and its calls fail with that errno.
stack::SocketRef live_socket(int fd) noexcept;
// The socket behind fd without starting anything (a deferred socket that has
// started is swapped for its real one on the way).
stack::SocketRef any_socket(int fd) noexcept;
// As live_socket, for calls that cannot go on with a socket whose own start
// failed (dup, epoll_ctl): that failure is returned as the error.
Result<stack::SocketRef> real_socket(int fd) noexcept;
// Whether fd is a twin listener (lstack's and the kernel's): for poll_mixed.
bool twin_fd(int fd) noexcept;

}  // namespace gz::preload
