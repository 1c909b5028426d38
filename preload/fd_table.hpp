// FdTable: which file descriptors are lstack sockets or epoll sets with lstack
// sockets in them. Indexed by fd; everything not in it is the kernel's.
// Thread: any; entries are atomic pointers (lookups are one load).
#pragma once

#include <atomic>
#include <memory>

#include "gz/event.hpp"
#include "gz/socket.hpp"

namespace gz::preload {

class FdTable {
 public:
  static FdTable& get() noexcept;

  stack::SocketBase* socket(int fd) const noexcept {
    return in_range(fd) ? sockets_[fd].load(std::memory_order_acquire) : nullptr;
  }
  stack::EpollSet* epoll(int fd) const noexcept {
    return in_range(fd) ? epolls_[fd].load(std::memory_order_acquire) : nullptr;
  }
  // False when fd is beyond the table (the caller then keeps it in the kernel).
  bool set_socket(int fd, stack::SocketBase* s) noexcept;
  bool set_epoll(int fd, stack::EpollSet* e) noexcept;
  // Removes and returns what fd held.
  stack::SocketBase* take_socket(int fd) noexcept;
  stack::EpollSet* take_epoll(int fd) noexcept;
  bool in_range(int fd) const noexcept { return fd >= 0 && fd < size_; }

 private:
  FdTable();
  int size_;
  // calloc'ed: the pages of a large table stay untouched (free) until used.
  std::atomic<stack::SocketBase*>* sockets_;
  std::atomic<stack::EpollSet*>* epolls_;
};

}  // namespace gz::preload
