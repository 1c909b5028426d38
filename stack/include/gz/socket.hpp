// Sockets served by lstack, as the preload shim sees them.
//
// Every method is called from application threads and returns >= 0 on success
// or -errno (never throws, never sets errno). The blocking ones (accept,
// connect, recv, send) are cancellation points (gz/cancel.hpp): a thread
// cancelled while blocked in them unwinds, so they are not noexcept. Blocking calls wait for the stack
// thread; O_NONBLOCK / MSG_DONTWAIT make them return -EAGAIN / -EINPROGRESS.
// Readiness is kept as EPOLL* bits so epoll, poll and select can share it.
// File descriptors are the shim's business: a socket here has none.
#pragma once

#include <sched.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <atomic>
#include <cstdint>
#include <optional>

#include "gz/ref.hpp"
#include "gz/result.hpp"

namespace gz::stack {

class StackThread;

// Stack-thread mode, before a blocking call sleeps: the stack thread that
// would wake it often shares this CPU (the layout Gazelle documents) and is
// runnable, busy with the very round that makes the call ready. A few
// sched_yield()s let that round run first, which saves the wake-up's
// syscalls and two context switches (nginx in that layout: 38,000 ->
// 59,000 requests/s). True once ready() is. Bounded: an idle caller sleeps
// after kSpinYields yields (a few microseconds when nothing else runs here).
// Not for run to completion: its caller is the stack and polls it instead.
inline constexpr int kSpinYields = 8;
template <class Ready>
bool yield_until(Ready ready) {
  for (int i = 0; i < kSpinYields; ++i) {
    sched_yield();
    if (ready()) return true;
  }
  return false;
}

// Wakes one sleeping application thread (epoll_wait, poll, select) through an
// eventfd that sits in the kernel wait set next to the kernel fds.
// Thread: arm/disarm by the owner; notify from any thread.
class Waiter {
 public:
  Waiter() noexcept;
  ~Waiter();
  Waiter(const Waiter&) = delete;
  Waiter& operator=(const Waiter&) = delete;
  int fd() const noexcept { return efd_; }
  bool ok() const noexcept { return efd_ >= 0; }
  // Before sleeping: from now on notify() writes the eventfd.
  void arm() noexcept { armed_.store(true, std::memory_order_seq_cst); }
  // After waking: stop writing, and drain the eventfd when a notify() wrote
  // it during this sleep or `seen` (the sleep found it readable: a write
  // that came after an earlier drain). Otherwise no syscall.
  void disarm(bool seen = false) noexcept;
  // A socket attached under cookie (>= 0) changed: the sink hears of it
  // first (an epoll set's ready list), then an armed waiter wakes.
  void notify(int cookie = -1) noexcept;
  // Called by notify with the cookie, from the thread that raised the
  // socket (a stack thread, or an application thread). Must not block nor
  // take a lock: a detach waits for it while holding the set's lock. Set
  // once, before any attach.
  using ReadySink = void (*)(void* ctx, int cookie) noexcept;
  void set_sink(ReadySink fn, void* ctx) noexcept {
    sink_ = fn;
    sink_ctx_ = ctx;
  }

 private:
  int efd_ = -1;
  std::atomic<bool> armed_{false};
  ReadySink sink_ = nullptr;
  void* sink_ctx_ = nullptr;
};

class SocketBase {
 public:
  virtual ~SocketBase();
  virtual int bind(const sockaddr* addr, socklen_t len) noexcept = 0;
  virtual int listen(int backlog) noexcept = 0;
  // On success *out is the new connection (blocking unless nonblocking()).
  virtual int accept(SocketBase** out, sockaddr* addr, socklen_t* len) = 0;
  virtual int connect(const sockaddr* addr, socklen_t len) = 0;
  // One receive path for read/recv/recvfrom/recvmsg/readv.
  virtual ssize_t recv(const iovec* iov, int iovcnt, int flags, sockaddr* from, socklen_t* fromlen) = 0;
  // One send path for write/send/sendto/sendmsg/writev. EPIPE also raises SIGPIPE
  // unless flags has MSG_NOSIGNAL.
  virtual ssize_t send(const iovec* iov, int iovcnt, int flags, const sockaddr* to, socklen_t tolen) = 0;
  virtual int shutdown(int how) noexcept = 0;
  // Releases the socket: the object must not be used afterwards (the stack
  // deletes it once the connection is done with it). Called by the last
  // release(), or directly by the only holder of a socket never shared.
  virtual void close() noexcept = 0;
  virtual int getsockname(sockaddr* addr, socklen_t* len) noexcept = 0;
  virtual int getpeername(sockaddr* addr, socklen_t* len) noexcept = 0;
  virtual int getsockopt(int level, int name, void* val, socklen_t* len) noexcept = 0;
  virtual int setsockopt(int level, int name, const void* val, socklen_t len) noexcept = 0;
  // Bytes ready to read (FIONREAD).
  virtual int readable_bytes() noexcept = 0;
  // A connection accept() returned that the shim could not give an fd (the
  // process is at its fd limit: EMFILE/ENFILE): it goes back to the head of
  // the queue, as Linux leaves it queued, and is counted; the next accept()
  // returns it. Listeners only; others close it.
  virtual void unaccept(SocketBase* child) noexcept { child->close(); }

  // A socket opened before lstack started is deferred (see open_socket): it
  // records bind, listen and options. start() starts lstack if needed and
  // returns the real socket, the same one for every caller (a started
  // deferred socket forwards every call to it, so the shim may swap it in).
  // Errors: lstack's start error, or the replayed bind/listen's. real() is
  // the started socket or nullptr; both are `this` for ordinary sockets.
  bool deferred() const noexcept { return deferred_; }
  // References (gz/ref.hpp): one per fd naming this socket (dup) and one per
  // call running on it. The last release() closes it, so close() from
  // another thread leaves a blocked call its socket; that call ends as on
  // Linux (data, the peer's FIN, shutdown()). A new socket holds one
  // reference, its creator's. Thread: any.
  void acquire() noexcept { refs_.fetch_add(1, std::memory_order_relaxed); }
  void release() noexcept {
    if (refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) close();
  }
  virtual Result<SocketBase*> start() noexcept { return this; }
  virtual SocketBase* real() noexcept { return this; }

  // Current readiness: EPOLLIN, EPOLLOUT, EPOLLERR, EPOLLHUP, EPOLLRDHUP.
  std::uint32_t events() const noexcept { return events_.load(std::memory_order_acquire); }
  // Increments on every raise: lets EPOLLET report each new edge once.
  std::uint32_t edge_seq() const noexcept { return wait_seq_.load(std::memory_order_acquire); }
  bool nonblocking() const noexcept { return nonblocking_.load(std::memory_order_relaxed); }
  void set_nonblocking(bool on) noexcept { nonblocking_.store(on, std::memory_order_relaxed); }
  // A waiter attached here is notified on every raise, with cookie (the fd
  // an epoll set knows us by; -1 for none). At most kMaxWaiters: false when
  // they are taken. Lock-free against raise(); any thread.
  bool attach(Waiter* w, int cookie = -1) noexcept;
  // Every attachment of w; or only the one under cookie (a dup of the fd in
  // the same epoll set keeps its own). On return no raise() still notifies
  // w through them (it may be freed): waits out a wake-up in flight (yields).
  void detach(Waiter* w) noexcept;
  void detach(Waiter* w, int cookie) noexcept;

 protected:
  static constexpr int kMaxWaiters = 8;
  // Stack thread (or any thread that changes readiness): set bits and wake.
  void raise(std::uint32_t bits) noexcept;
  // Wakes who waits on this socket: the sleepers in wait_event waiting for a
  // bit raised since the last wake-up (or for any, on EPOLLERR/EPOLLHUP), and
  // every attached Waiter.
  void wake_now() noexcept;
  void clear(std::uint32_t bits) noexcept { events_.fetch_and(~bits, std::memory_order_seq_cst); }
  // Application thread: sleep until the next raise or timeout_ms (<0: none).
  // interest: EPOLLIN for a reader (woken by EPOLLIN, EPOLLPRI, EPOLLRDHUP),
  // EPOLLOUT for a writer (a mask with EPOLLOUT counts as a writer only);
  // EPOLLERR and EPOLLHUP wake both. Each kind sleeps on a futex bit of its
  // own: a recv() and a send() blocked on the socket in two threads wake
  // only for what each waits for. Returns false on timeout; true at once
  // when a raise came after seen_seq, else when one of interest wakes it, or
  // within 100 ms of one of no interest (a bounded sleep re-checks): look
  // again. A reader blocked in recv() so sleeps through the EPOLLOUT of its
  // own send completing (on a CPU shared with the stack thread, each such
  // wake-up cost a context switch each way).
  // A cancellation point (gz/cancel.hpp): not noexcept.
  bool wait_event(std::uint32_t seen_seq, long timeout_ms, std::uint32_t interest);
  // Run to completion: a call of the owner thread gives its stack one round
  // first, so packets (an RST, an ACK) are seen without a wait.
  void drive_if_owner() noexcept;
  // Run to completion, for data calls: a round only if the last one is over
  // 20 µs old (StackThread::drive_if_stale; returns whether it drove), and
  // else one before the call would give up or sleep: drive_once(driven)
  // drives when this thread owns the stack and driven is still false; true
  // when it did (look again).
  bool drive_if_stale() noexcept;
  bool drive_once(bool& driven) noexcept;

  std::atomic<std::uint32_t> events_{0};
  std::atomic<std::uint32_t> wait_seq_{0};
  // Threads asleep in wait_event for reading (EPOLLIN, EPOLLRDHUP) and for
  // writing (EPOLLOUT); and the bits raised since the last wake_now().
  std::atomic<std::uint32_t> sleepers_in_{0};
  std::atomic<std::uint32_t> sleepers_out_{0};
  std::atomic<std::uint32_t> wake_bits_{0};
  std::atomic<bool> nonblocking_{false};
  bool deferred_ = false;
  // A stack round's WakeBatch holds our wake-up: another raise() meanwhile
  // (from any thread) need not wake anyone, the round's end will.
  std::atomic<bool> wake_queued_{false};
  std::atomic<int> refs_{1};
  StackThread* driver_ = nullptr;  // run to completion: the stack its owner drives while waiting
  // Waiters without a lock (a raise never waits for a poll() that attaches
  // on another thread, which on a shared CPU cost a context switch each
  // way): a slot is free (nullptr), being filled (kFilling) or a waiter,
  // whose cookie was written before the waiter was published. notifying_
  // counts wake_now()s in flight; detach and a slot's reuse wait for it to
  // drain, so neither a detached waiter nor a stale cookie is notified.
  void quiesce() const noexcept;
  // w's attachments (under cookie: the first one only); then quiesce().
  void detach_where(Waiter* w, std::optional<int> cookie) noexcept;
  std::atomic<Waiter*> waiters_[kMaxWaiters] = {};
  std::atomic<int> cookies_[kMaxWaiters] = {};
  mutable std::atomic<std::uint32_t> notifying_{0};
};

using SocketRef = Ref<SocketBase>;

// Creates a socket served by lstack. domain must be AF_INET; type SOCK_STREAM
// or SOCK_DGRAM (SOCK_NONBLOCK honoured, SOCK_CLOEXEC is the shim's). Before
// lstack has started, the socket is deferred (only the config is read: no
// DPDK); lstack starts when a socket first needs the data path.
// Errors: EAFNOSUPPORT, EPROTONOSUPPORT, ENOBUFS, ENOMEM, or the config's /
// lstack's start error (with its message, printed once by the caller).
Result<SocketBase*> open_socket(int domain, int type, int protocol);

// Whether lstack serves sockets of the calling thread: not on lstack's own
// threads, GAZELLE_BIND_PROCNAME (when set) names this process (its comm or
// argv[0]'s base name), GAZELLE_THREAD_NAME (when set) names this thread, and
// lstack does not run in a parent process (after fork, the child of a process
// whose lstack runs uses the kernel). Any thread; cheap after the first call.
bool serves_caller() noexcept;
// The config from $LSTACK_CONF_PATH (default /etc/gazelle/lstack.conf), read
// once, without starting DPDK. Errors: the config's one message.
Result<void> check_config();
// Whether lstack has started in this process. Any thread.
bool running() noexcept;
// True in a child of fork() whose parent runs lstack: the sockets it
// inherited from the parent's table are not its own to drive.
bool started_in_parent() noexcept;

// Routing (any thread, lstack started): whether binding to addr belongs to
// lstack (INADDR_ANY or host_addr), and whether a connection to addr does
// (not loopback, not an address of the kernel's own interfaces). The shim
// hands the socket back to the kernel otherwise.
bool serves_bind_address(const sockaddr* addr, socklen_t len) noexcept;
bool serves_destination(const sockaddr* addr, socklen_t len) noexcept;

// True on lstack's own threads (stack threads) and while lstack starts on the
// calling thread: sockets DPDK and its drivers open there (ioctl sockets,
// telemetry) must be the kernel's, or starting would wait on itself.
bool thread_uses_kernel() noexcept;

// Marks the calling thread as one of lstack's own (see thread_uses_kernel).
class KernelOnlyScope {
 public:
  KernelOnlyScope() noexcept;
  ~KernelOnlyScope();
  KernelOnlyScope(const KernelOnlyScope&) = delete;
  KernelOnlyScope& operator=(const KernelOnlyScope&) = delete;

 private:
  bool saved_;
};

}  // namespace gz::stack
