#include "fd_table.hpp"

#include <sys/resource.h>

#include <algorithm>
#include <cstdlib>

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
  if (sockets_ == nullptr || epolls_ == nullptr) size_ = 0;  // everything stays the kernel's
}

bool FdTable::set_socket(int fd, stack::SocketBase* s) noexcept {
  if (!in_range(fd)) return false;
  sockets_[fd].store(s, std::memory_order_release);
  return true;
}

bool FdTable::set_epoll(int fd, stack::EpollSet* e) noexcept {
  if (!in_range(fd)) return false;
  epolls_[fd].store(e, std::memory_order_release);
  return true;
}

stack::SocketBase* FdTable::take_socket(int fd) noexcept {
  return in_range(fd) ? sockets_[fd].exchange(nullptr, std::memory_order_acq_rel) : nullptr;
}

stack::EpollSet* FdTable::take_epoll(int fd) noexcept {
  return in_range(fd) ? epolls_[fd].exchange(nullptr, std::memory_order_acq_rel) : nullptr;
}

}  // namespace gz::preload
