// Handlers for the calls that name or duplicate fds: close, dup, fcntl,
// close_range. An lstack socket named by several fds (dup) is released with
// the last of them; the kernel fd beside each keeps flags and numbering.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>

#include "fd_table.hpp"
#include "gz/event.hpp"
#include "gz/kernel.hpp"
#include "handlers.hpp"
#include "result.hpp"

namespace gz::preload {
namespace {

// lstack's half of closing fd (the kernel's half is the caller's).
void forget_fd(int fd) noexcept {
  FdTable& t = FdTable::get();
  if (auto s = t.take_socket(fd)) {
    stack::EpollSet::forget_everywhere(fd, s.get());
  } else {
    t.take_epoll(fd);  // a call still running on the set keeps it until it returns
  }
}

// After the kernel made nfd a copy of fd: nfd names fd's socket too.
int share_socket(int fd, int nfd, stack::SocketRef s) noexcept {
  if (nfd < 0 || !s) return nfd;
  FdTable& t = FdTable::get();
  if (!t.set_socket(nfd, std::move(s))) {
    kernel().close(nfd);
    return result(-EMFILE);
  }
  t.set_twin_state(nfd, t.twin_state(fd));
  return nfd;
}

// dup2 (is_dup3 false) and dup3: errors are found before fd2 is touched.
int dup_onto(int fd, int fd2, int flags, bool is_dup3) noexcept {
  if (FdTable::get().foreign()) {  // see FdTable::foreign
    return is_dup3 ? kernel().dup3(fd, fd2, flags) : kernel().dup2(fd, fd2);
  }
  if (is_dup3 && (fd == fd2 || (flags & ~O_CLOEXEC) != 0)) return result(-EINVAL);
  if (fd == fd2) return kernel().dup2(fd, fd2);
  if (kernel().fcntl(fd, F_GETFD, 0UL) < 0) return -1;  // EBADF
  auto s = real_socket(fd);  // a deferred socket starts: one object behind both fds
  if (!s) return result(-s.error().code);
  forget_fd(fd2);  // dup2 closes fd2 first
  return share_socket(fd, kernel().dup3(fd, fd2, flags), std::move(s.value()));
}

void forget_range(unsigned first, unsigned last) noexcept {
  const unsigned high = static_cast<unsigned>(FdTable::get().high());
  for (unsigned fd = first; fd < high && fd <= last; ++fd) forget_fd(static_cast<int>(fd));
}

}  // namespace

int on_close(int fd) {
  // A file's close (most closes) asks no more than the table.
  if (FdTable::get().holds(fd) && !FdTable::get().foreign()) forget_fd(fd);
  return AppKernel::close(fd);
}

int on_dup(int fd) {
  if (FdTable::get().foreign()) return AppKernel::dup(fd);
  auto s = real_socket(fd);
  if (!s) return result(-s.error().code);
  return share_socket(fd, AppKernel::dup(fd), std::move(s.value()));
}

int on_dup2(int fd, int fd2) { return dup_onto(fd, fd2, 0, false); }
int on_dup3(int fd, int fd2, int flags) { return dup_onto(fd, fd2, flags, true); }

int on_close_range(unsigned int first, unsigned int last, int flags) {
  const bool ours = !FdTable::get().foreign();
  if (ours && (flags & CLOSE_RANGE_CLOEXEC) == 0 && first <= last) forget_range(first, last);
  return AppKernel::close_range(first, last, flags);
}

void on_closefrom(int first) {
  if (first >= 0 && !FdTable::get().foreign()) forget_range(static_cast<unsigned>(first), UINT_MAX);
  AppKernel::closefrom(first);
}

int on_fcntl(int fd, int cmd, unsigned long arg) {
  if ((cmd == F_DUPFD || cmd == F_DUPFD_CLOEXEC) && !FdTable::get().foreign()) {
    auto s = real_socket(fd);
    if (!s) return result(-s.error().code);
    return share_socket(fd, AppKernel::fcntl(fd, cmd, arg), std::move(s.value()));
  }
  auto s = any_socket(fd);
  // The kernel fd mirrors the flags, so F_GETFL and FD_CLOEXEC keep working.
  const int rc = AppKernel::fcntl(fd, cmd, arg);
  if (s && rc >= 0 && cmd == F_SETFL) s->set_nonblocking(arg & O_NONBLOCK);
  return rc;
}

int on_fcntl64(int fd, int cmd, unsigned long arg) { return on_fcntl(fd, cmd, arg); }

}  // namespace gz::preload
