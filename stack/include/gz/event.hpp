// epoll, poll and select over a mix of kernel fds and lstack sockets.
//
// A user epoll fd is a real kernel epoll (kernel fds go straight into it); the
// lstack sockets in it are kept here and checked in user space. A Waiter's
// eventfd sits in the kernel set, so one kernel sleep covers both: the stack
// thread writes the eventfd when a socket of a sleeping set becomes ready.
// Thread: any application thread; one EpollSet may be shared (internally locked).
#pragma once

#include <poll.h>
#include <sys/epoll.h>
#include <sys/select.h>

#include <memory>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "gz/ready_bits.hpp"
#include "gz/result.hpp"
#include "gz/socket.hpp"

namespace gz::stack {

class StackThread;
class EpollSet;
using EpollRef = Ref<EpollSet>;

class EpollSet {
 public:
  // kernel_epfd: the application's epoll fd (created by the shim). Errors:
  // EMFILE/ENFILE for the eventfd, or epoll_ctl's errno.
  static Result<EpollRef> create(int kernel_epfd);
  EpollSet(const EpollSet&) = delete;
  EpollSet& operator=(const EpollSet&) = delete;

  // References (gz/ref.hpp): the fd's and one per call running on the set
  // (an epoll_wait another thread's close() must not free). The last
  // release() deletes the set; create() returns the fd's. Thread: any.
  void acquire() noexcept { refs_.fetch_add(1, std::memory_order_relaxed); }
  void release() noexcept {
    if (refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) delete this;
  }

  // EPOLL_CTL_ADD/MOD/DEL for an lstack socket registered under fd. 0 or
  // -EEXIST, -ENOENT, -EINVAL, -ENOSPC (the socket is in too many sets).
  int ctl(int op, int fd, SocketBase* sock, const epoll_event* ev) noexcept;
  // epoll_pwait semantics over both kinds (level, EPOLLET, EPOLLONESHOT).
  // Returns the number of events or -errno (-EINTR, -EINVAL). A cancellation
  // point (gz/cancel.hpp), as epoll_wait is: not noexcept.
  int wait(epoll_event* out, int max, int timeout_ms, const sigset_t* sigmask);
  // How many times wait() has looked at the kernel's fds without sleeping
  // (an epoll_pwait each). Thread: any; for tests and diagnostics.
  std::uint64_t kernel_looks() const noexcept { return kernel_looks_.load(std::memory_order_relaxed); }
  // The shim calls this when fd (an lstack socket) is closed.
  void forget(int fd, SocketBase* sock) noexcept;
  // ... and this to drop a closing socket from every set.
  static void forget_everywhere(int fd, SocketBase* sock) noexcept;
  // The shim hands fd back to the kernel: its registrations move to the
  // kernel's epoll sets, with the same events and data.
  static void move_to_kernel(int fd, SocketBase* sock) noexcept;

 private:
  struct Entry {
    int fd;
    SocketBase* sock;
    epoll_event ev;
    std::uint32_t last_seq;
    bool disabled;       // EPOLLONESHOT fired
    bool listed;         // in ready_
    std::uint64_t seen;  // the collect() that last looked at it
  };
  explicit EpollSet(int kfd) noexcept;
  ~EpollSet();
  // The ready list (as the kernel's rdllist): a socket's raise() lists its fd
  // (on_ready, through the Waiter's sink), collect() looks at the listed ones
  // only and keeps those still ready (level-triggered) for the next call. So
  // epoll_wait costs what is ready, not what is registered.
  static void on_ready(void* self, int fd) noexcept;
  void list(Entry& e);  // mu_ held; may throw bad_alloc
  int collect(epoll_event* out, int max) noexcept;
  bool take_pending() noexcept;
  int collect_listed(epoll_event* out, int max) noexcept;
  int collect_all(epoll_event* out, int max) noexcept;
  bool report(Entry& e, epoll_event& out) noexcept;
  int kernel_events(epoll_event* out, int max, int timeout_ms, const sigset_t* sigmask, bool& woken);
  static int keep_kernel_events(epoll_event* out, int first, int k, bool& woken) noexcept;
  // Whether this wait call looks at the kernel's fds first (a syscall):
  // every 8th, so they wait 7 calls at most while stack sockets stay ready
  // (both modes); but while those looks find nothing, not before
  // kernel_next_ (kernel_quiet).
  bool kernel_turn() noexcept { return (kernel_turn_.fetch_add(1, std::memory_order_relaxed) & 7) == 0 && !kernel_quiet(); }
  // The kernel's fds found nothing at the last looks and the back-off since
  // has not passed: a program whose kernel fds sleep (redis' module pipe)
  // paid a syscall every 8th call, an eighth of its CPU at 650k requests/s.
  bool kernel_quiet() const noexcept;
  // After a look at the kernel's fds: found (events) resets the back-off,
  // nothing doubles it, from 2 µs to 32 µs.
  void kernel_looked(bool found) noexcept;
  int wait_rtc(StackThread& d, epoll_event* out, int max, int timeout_ms, const sigset_t* sigmask);
  int sleep_rtc(StackThread& d, epoll_event* out, int max, int timeout_ms, const sigset_t* sigmask);
  void remove_at(std::size_t i) noexcept;

  int kfd_;
  std::atomic<int> refs_{1};
  Waiter waiter_;
  std::mutex mu_;
  std::vector<Entry> entries_;
  std::unordered_map<int, std::size_t> index_;
  std::atomic<std::size_t> stack_count_{0};  // entries_.size(), read without mu_ (a hint)
  std::vector<int> ready_;     // mu_: fds that may be ready, oldest first
  std::uint64_t collects_ = 0;
  std::atomic<std::uint32_t> kernel_turn_{0};  // wait calls so far (kernel_turn)
  std::atomic<std::uint64_t> kernel_next_{0};  // TSC: no look before, while looks find nothing
  std::atomic<std::uint64_t> kernel_gap_{0};   // TSC cycles: the back-off now (0: none)
  std::atomic<std::uint64_t> kernel_looks_{0};  // kernel_looks()
  std::atomic<const StackThread*> watched_{nullptr};  // run to completion: the last stack whose wake-up fds kfd_ got
  bool degraded_ = false;      // mu_: out of memory once: every call scans all (still correct)
  std::size_t cursor_ = 0;     // the scan's start when degraded: fairness when max is small
  // fds notified since the last collect, marked without a lock by the
  // stacks' raise(): readiness reaches the set without a mutex.
  ReadyBits pending_;
};

// Finds the lstack socket behind fd (a reference held until the call ends),
// or nothing for a kernel fd.
using SocketLookup = SocketRef (*)(int fd) noexcept;
// Whether the kernel fd behind an lstack socket is to be watched as well (a
// listener on INADDR_ANY listens on both); may be nullptr.
using TwinLookup = bool (*)(int fd) noexcept;

// poll/ppoll over mixed fds. timeout: nullptr forever. Returns count or -errno.
// Both are cancellation points (gz/cancel.hpp), as poll and select are.
int poll_mixed(pollfd* fds, nfds_t n, const timespec* timeout, const sigset_t* sigmask, SocketLookup lookup,
               TwinLookup twin);
// select/pselect over mixed fds (through poll_mixed). Returns count or -errno.
int select_mixed(int nfds, fd_set* rd, fd_set* wr, fd_set* ex, const timespec* timeout, const sigset_t* sigmask,
                 SocketLookup lookup, TwinLookup twin);

}  // namespace gz::stack
