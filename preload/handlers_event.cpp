// Handlers for epoll, poll and select: the kernel's own calls unless an lstack
// socket is involved (then gz/event.hpp mixes both).
#include <cerrno>
#include <ctime>

#include "fd_table.hpp"
#include "gz/kernel.hpp"
#include "handlers.hpp"
#include "result.hpp"

namespace gz::preload {
namespace {

// Readiness needs lstack running: a deferred socket starts here.
stack::SocketRef lookup(int fd) noexcept { return live_socket(fd); }
// Only asks whether fd is lstack's (deferred or not), starting nothing.
bool is_lstack(int fd) noexcept { return FdTable::get().has_socket(fd); }

// The EpollSet of epfd, created the first time an lstack socket joins it.
stack::EpollRef epoll_set_for(int epfd) {
  FdTable& t = FdTable::get();
  if (auto e = t.epoll(epfd)) return e;
  static std::mutex mu;  // rare: first lstack socket in this epoll fd
  std::lock_guard lock(mu);
  if (auto e = t.epoll(epfd)) return e;
  auto created = stack::EpollSet::create(epfd);
  if (!created) {
    errno = created.error().code;
    return {};
  }
  stack::EpollRef mine = stack::EpollRef::share(created.value().get());
  if (!t.set_epoll(epfd, std::move(created.value()))) {
    errno = EBADF;
    return {};
  }
  return mine;
}

}  // namespace

int on_epoll_create(int size) { return AppKernel::epoll_create(size); }
int on_epoll_create1(int flags) { return AppKernel::epoll_create1(flags); }

int on_epoll_ctl(int epfd, int op, int fd, epoll_event* ev) {
  auto r = real_socket(fd);  // a socket whose own start failed says so now, not by never being ready
  if (!r) return result(-r.error().code);
  stack::SocketRef& s = r.value();
  if (!s) return AppKernel::epoll_ctl(epfd, op, fd, ev);
  stack::EpollRef set = epoll_set_for(epfd);
  if (!set) return -1;
  const int rc = result(set->ctl(op, fd, s.get(), ev));
  if (rc == 0 && FdTable::get().twin(fd)) {  // the kernel half of an INADDR_ANY listener
    const int saved = errno;
    AppKernel::epoll_ctl(epfd, op, fd, ev);
    errno = saved;
  }
  return rc;
}

int on_epoll_pwait(int epfd, epoll_event* ev, int max, int timeout, const sigset_t* mask) {
  stack::EpollRef set = FdTable::get().epoll(epfd);
  if (!set) return AppKernel::epoll_pwait(epfd, ev, max, timeout, mask);
  return result(set->wait(ev, max, timeout, mask));
}

int on_epoll_wait(int epfd, epoll_event* ev, int max, int timeout) {
  stack::EpollRef set = FdTable::get().epoll(epfd);
  if (!set) return AppKernel::epoll_wait(epfd, ev, max, timeout);
  return result(set->wait(ev, max, timeout, nullptr));
}

int on_ppoll(pollfd* fds, nfds_t n, const timespec* timeout, const sigset_t* mask) {
  bool mixed = false;
  for (nfds_t i = 0; i < n && !mixed; ++i) mixed = is_lstack(fds[i].fd);
  if (!mixed) return AppKernel::ppoll(fds, n, timeout, mask);
  return result(stack::poll_mixed(fds, n, timeout, mask, lookup, twin_fd));
}

int on_poll(pollfd* fds, nfds_t n, int timeout) {
  bool mixed = false;
  for (nfds_t i = 0; i < n && !mixed; ++i) mixed = is_lstack(fds[i].fd);
  if (!mixed) return AppKernel::poll(fds, n, timeout);
  timespec ts{timeout / 1000, (timeout % 1000) * 1000000L};
  return result(stack::poll_mixed(fds, n, timeout < 0 ? nullptr : &ts, nullptr, lookup, twin_fd));
}

int on_pselect(int nfds, fd_set* rd, fd_set* wr, fd_set* ex, const timespec* timeout, const sigset_t* mask) {
  bool mixed = false;
  for (int fd = 0; fd < nfds && fd < FD_SETSIZE && !mixed; ++fd) {
    const bool asked = (rd && FD_ISSET(fd, rd)) || (wr && FD_ISSET(fd, wr)) || (ex && FD_ISSET(fd, ex));
    mixed = asked && is_lstack(fd);
  }
  if (!mixed) return AppKernel::pselect(nfds, rd, wr, ex, timeout, mask);
  return result(stack::select_mixed(nfds, rd, wr, ex, timeout, mask, lookup, twin_fd));
}

int on_select(int nfds, fd_set* rd, fd_set* wr, fd_set* ex, timeval* timeout) {
  timespec ts{};
  if (timeout != nullptr) ts = {timeout->tv_sec, timeout->tv_usec * 1000L};
  const int rc = on_pselect(nfds, rd, wr, ex, timeout ? &ts : nullptr, nullptr);
  if (rc >= 0 && timeout != nullptr) *timeout = {0, 0};  // Linux reports the time left; we report none
  return rc;
}

}  // namespace gz::preload
