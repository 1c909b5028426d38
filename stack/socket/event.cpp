#include "gz/event.hpp"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <list>
#include <new>
#include <span>

#include "gz/cancel.hpp"
#include "gz/kernel.hpp"
#include "stack_thread.hpp"
#include "tsc.hpp"
#include "gz/thread_state.hpp"

namespace gz::stack {
namespace {

constexpr std::uint64_t kWakeTag = 0x6c73746b77616b65ULL;  // "lstkwake": our eventfd in the kernel set
constexpr std::uint64_t kStackTag = 0x6c73746b73746b21ULL;  // "lstkstk!": a run-to-completion stack's wake-up fds
bool ours(const epoll_event& e) noexcept { return e.data.u64 == kWakeTag || e.data.u64 == kStackTag; }

// An idle sleep of a run-to-completion stack's owner (StackThread::
// sleep_begin/sleep_end), also when a cancel unwinds from it; nothing for
// nullptr. !ok(): a task waits, do not sleep.
class StackSleep {
 public:
  explicit StackSleep(StackThread* rtc) noexcept : rtc_(rtc), ok_(rtc == nullptr || rtc->sleep_begin()) {}
  ~StackSleep() {
    if (rtc_ != nullptr) rtc_->sleep_end();
  }
  StackSleep(const StackSleep&) = delete;
  StackSleep& operator=(const StackSleep&) = delete;
  bool ok() const noexcept { return ok_; }

 private:
  StackThread* rtc_;
  bool ok_;
};
using Clock = std::chrono::steady_clock;

std::mutex g_sets_mu;
std::list<EpollSet*> g_sets;  // every live set, for forget_everywhere

// A Waiter armed for one sleep: disarmed when the sleep ends, also when a
// cancel unwinds from it. Not armed (on false) when there is no sleep.
class Armed {
 public:
  explicit Armed(Waiter& w, bool on = true) noexcept : w_(on ? &w : nullptr) {
    if (on) w.arm();
  }
  ~Armed() { release(); }
  Armed(const Armed&) = delete;
  Armed& operator=(const Armed&) = delete;
  // seen: the sleep found the Waiter's eventfd readable (see Waiter::disarm).
  void release(bool seen = false) noexcept {
    if (w_ != nullptr) w_->disarm(seen);
    w_ = nullptr;
  }

 private:
  Waiter* w_;
};

// The calling thread's T in ThreadState's slot, made on its first call and
// deleted when the thread exits. nullptr without memory or when usable(t)
// says the new one is not.
template <typename T, typename Usable>
T* thread_owned(ThreadState::Owned slot, Usable usable) noexcept {
  ThreadState& ts = this_thread_state();
  if (auto* t = static_cast<T*>(ts.owned[slot])) return t;
  auto* t = new (std::nothrow) T();
  if (t == nullptr || !usable(*t) || !ts.own(slot, t, [](void* p) { delete static_cast<T*>(p); })) {
    delete t;
    return nullptr;
  }
  return t;
}

// poll/select's Waiter of the calling thread; nullptr without memory or an eventfd.
Waiter* poll_waiter() noexcept {
  return thread_owned<Waiter>(ThreadState::kPollWaiter, [](const Waiter& w) { return w.ok(); });
}

long remaining_ms(Clock::time_point deadline, bool forever) {
  if (forever) return -1;
  // Rounded up: poll(..., 1) waits its millisecond, never returns at once.
  const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(deadline - Clock::now()).count();
  return ns <= 0 ? 0 : (ns + 999999) / 1000000;
}

}  // namespace

// The ready bitmap covers every fd the shim's table takes (zero pages until
// used): an fd beyond it would make every raise relist the set.
EpollSet::EpollSet(int kfd) noexcept : kfd_(kfd), pending_(fd_slots()) {}

Result<EpollRef> EpollSet::create(int kernel_epfd) {
  EpollRef set = EpollRef::adopt(new EpollSet(kernel_epfd));
  if (!set->waiter_.ok()) return make_error(errno, "eventfd for epoll wake-ups");
  set->waiter_.set_sink(&EpollSet::on_ready, set.get());
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = kWakeTag;
  if (kernel().epoll_ctl(kernel_epfd, EPOLL_CTL_ADD, set->waiter_.fd(), &ev) != 0) {
    return make_error(errno, "epoll_ctl for the wake-up eventfd");
  }
  std::lock_guard lock(g_sets_mu);
  g_sets.push_back(set.get());
  return set;
}

EpollSet::~EpollSet() {
  {
    std::lock_guard lock(g_sets_mu);
    g_sets.remove(this);
  }
  std::lock_guard lock(mu_);
  for (auto& e : entries_) e.sock->detach(&waiter_);
}

int EpollSet::ctl(int op, int fd, SocketBase* sock, const epoll_event* ev) noexcept {
  std::lock_guard lock(mu_);
  auto it = index_.find(fd);
  switch (op) {
    case EPOLL_CTL_ADD:
      if (it != index_.end()) return -EEXIST;
      if (ev == nullptr) return -EFAULT;
      try {
        entries_.push_back({fd, sock, *ev, sock->edge_seq() - 1, false, false, 0});
        index_[fd] = entries_.size() - 1;
        stack_count_.store(entries_.size(), std::memory_order_relaxed);
      } catch (const std::bad_alloc&) {
        if (entries_.size() > index_.size()) entries_.pop_back();
        return -ENOMEM;
      }
      try {
        list(entries_.back());  // it may be ready already
      } catch (const std::bad_alloc&) {
        degraded_ = true;
      }
      if (!sock->attach(&waiter_, fd)) {
        remove_at(entries_.size() - 1);
        return -ENOSPC;
      }
      return 0;
    case EPOLL_CTL_MOD:
      if (it == index_.end()) return -ENOENT;
      if (ev == nullptr) return -EFAULT;
      entries_[it->second].ev = *ev;
      entries_[it->second].disabled = false;
      entries_[it->second].last_seq = sock->edge_seq() - 1;
      try {
        list(entries_[it->second]);
      } catch (const std::bad_alloc&) {
        degraded_ = true;  // the change stands; collect scans everything from now on
      }
      return 0;
    case EPOLL_CTL_DEL:
      if (it == index_.end()) return -ENOENT;
      remove_at(it->second);
      return 0;
    default:
      return -EINVAL;
  }
}

void EpollSet::remove_at(std::size_t i) noexcept {
  entries_[i].sock->detach(&waiter_, entries_[i].fd);
  index_.erase(entries_[i].fd);
  if (i + 1 != entries_.size()) {
    entries_[i] = entries_.back();
    index_[entries_[i].fd] = i;
  }
  entries_.pop_back();
  stack_count_.store(entries_.size(), std::memory_order_relaxed);
}

void EpollSet::forget(int fd, SocketBase* sock) noexcept {
  std::lock_guard lock(mu_);
  auto it = index_.find(fd);
  if (it != index_.end() && entries_[it->second].sock == sock) remove_at(it->second);
}

void EpollSet::forget_everywhere(int fd, SocketBase* sock) noexcept {
  std::lock_guard lock(g_sets_mu);
  for (EpollSet* s : g_sets) s->forget(fd, sock);
}

void EpollSet::move_to_kernel(int fd, SocketBase* sock) noexcept {
  std::lock_guard lock(g_sets_mu);
  for (EpollSet* set : g_sets) {
    std::lock_guard set_lock(set->mu_);
    auto it = set->index_.find(fd);
    if (it == set->index_.end() || set->entries_[it->second].sock != sock) continue;
    epoll_event ev = set->entries_[it->second].ev;
    set->remove_at(it->second);
    kernel().epoll_ctl(set->kfd_, EPOLL_CTL_ADD, fd, &ev);
  }
}

void EpollSet::list(Entry& e) {
  if (e.listed || degraded_) return;
  ready_.push_back(e.fd);
  e.listed = true;
}

void EpollSet::on_ready(void* self, int fd) noexcept { static_cast<EpollSet*>(self)->pending_.mark(fd); }

// The fds notified since the last call join ready_. False when the set must
// be scanned whole (out of memory).
bool EpollSet::take_pending() noexcept {
  try {
    const bool overflow = pending_.take([this](int fd) {
      if (degraded_) return;
      auto it = index_.find(fd);
      if (it != index_.end()) list(entries_[it->second]);
    });
    if (overflow) {
      for (Entry& e : entries_) list(e);
    }
  } catch (const std::bad_alloc&) {
    degraded_ = true;  // the marks this take had not listed yet are lost: every call scans all from now on
  }
  return !degraded_;
}

// Whether e is to be reported now (out filled): its readiness, EPOLLET's
// edge and EPOLLONESHOT as epoll(7) says.
bool EpollSet::report(Entry& e, epoll_event& out) noexcept {
  if (e.disabled) return false;
  const std::uint32_t ready = e.sock->events() & (e.ev.events | EPOLLERR | EPOLLHUP);
  if (ready == 0) return false;
  if (e.ev.events & EPOLLET) {
    const std::uint32_t seq = e.sock->edge_seq();
    if (seq == e.last_seq) return false;
    e.last_seq = seq;
  }
  if (e.ev.events & EPOLLONESHOT) e.disabled = true;
  out.events = ready;
  out.data = e.ev.data;
  return true;
}

int EpollSet::collect(epoll_event* out, int max) noexcept {
  std::lock_guard lock(mu_);
  if (!take_pending()) return collect_all(out, max);
  return collect_listed(out, max);
}

// A listed fd stays listed while it is level-triggered and ready (moved to
// the back: fairness when max is small); any other leaves until its next
// raise. Listings of a removed fd, or repeated ones, are dropped here.
int EpollSet::collect_listed(epoll_event* out, int max) noexcept {
  ++collects_;
  int got = 0;
  std::size_t i = 0, kept = 0;  // ready_[0, kept): looked at and staying
  for (; i < ready_.size() && got < max; ++i) {
    auto it = index_.find(ready_[i]);
    if (it == index_.end()) continue;
    Entry& e = entries_[it->second];
    if (!e.listed || e.seen == collects_) continue;
    e.seen = collects_;
    const bool fired = report(e, out[got]);
    got += fired;
    if (fired && (e.ev.events & (EPOLLET | EPOLLONESHOT)) == 0) {
      ready_[kept++] = e.fd;
    } else {
      e.listed = false;
    }
  }
  // [staying | dropped | not looked at] -> [not looked at | staying]: no allocation.
  const auto first = ready_.begin();
  ready_.erase(first + static_cast<std::ptrdiff_t>(kept), first + static_cast<std::ptrdiff_t>(i));
  std::rotate(ready_.begin(), ready_.begin() + static_cast<std::ptrdiff_t>(kept), ready_.end());
  return got;
}

// The whole set, as before the ready list: after an allocation failed.
int EpollSet::collect_all(epoll_event* out, int max) noexcept {
  const std::size_t n = entries_.size();
  int got = 0;
  for (std::size_t k = 0; k < n && got < max; ++k) got += report(entries_[(cursor_ + k) % n], out[got]);
  if (n != 0) cursor_ = (cursor_ + 1) % n;
  return got;
}

// Kernel events into out, without our wake-up eventfd. Count or -errno.
// Drops our own wake-up entries from out[first, first + k), noting them in
// woken; returns first + the kernel events kept (moved down to first).
int EpollSet::keep_kernel_events(epoll_event* out, int first, int k, bool& woken) noexcept {
  int total = first;
  for (int i = first; i < first + k; ++i) {
    if (ours(out[i])) {
      woken = true;
      continue;
    }
    out[total++] = out[i];
  }
  return total;
}

int EpollSet::kernel_events(epoll_event* out, int max, int timeout_ms, const sigset_t* sigmask, bool& woken) {
  int k;
  {
    CancelPoint cancel;
    k = kernel().epoll_pwait(kfd_, out, max, timeout_ms, sigmask);
  }
  if (k < 0) return -errno;
  const int kept = keep_kernel_events(out, 0, k, woken);
  if (timeout_ms == 0) kernel_looks_.fetch_add(1, std::memory_order_relaxed);
  kernel_looked(kept > 0);
  return kept;
}

bool EpollSet::kernel_quiet() const noexcept {
  return kernel_gap_.load(std::memory_order_relaxed) != 0 && rte_rdtsc() < kernel_next_.load(std::memory_order_relaxed);
}

void EpollSet::kernel_looked(bool found) noexcept {
  std::uint64_t gap = kernel_gap_.load(std::memory_order_relaxed);
  if (found) {
    if (gap != 0) kernel_gap_.store(0, std::memory_order_relaxed);
    return;
  }
  // Back-off bounds: a kernel fd that wakes after a quiet spell waits up to
  // 32 µs more, then the next 8th call or round (while stack sockets keep the
  // calls busy, or an RTC owner polls).
  constexpr std::uint64_t kFirstUs = 2, kMaxUs = 32;
  gap = gap == 0 ? tsc_cycles_us(kFirstUs) : std::min(gap * 2, tsc_cycles_us(kMaxUs));
  kernel_gap_.store(gap, std::memory_order_relaxed);
  kernel_next_.store(rte_rdtsc() + gap, std::memory_order_relaxed);
}

// Run to completion, idle: sleep in the kernel's set, which also holds the
// stack's wake-up fds (StackThread::wake_fd, rx_fd; edge-triggered, so
// nothing to drain), so that a task posted by another thread or the next
// frame ends the sleep at once, not its timeout. Count or -errno.
int EpollSet::sleep_rtc(StackThread& d, epoll_event* out, int max, int timeout_ms, const sigset_t* sigmask) {
  // Added once per stack (a set outlives no stack of its process). Another
  // RTC thread waiting on the same set may take one of our edges meanwhile:
  // this sleep then ends at its timeout (1 ms at most), as before.
  if (watched_.exchange(&d, std::memory_order_relaxed) != &d) {
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLET;
    ev.data.u64 = kStackTag;
    for (int fd : {d.wake_fd(), d.rx_fd()}) {
      if (fd >= 0) (void)kernel().epoll_ctl(kfd_, EPOLL_CTL_ADD, fd, &ev);
    }
  }
  StackSleep asleep(&d);
  bool woken = false;
  return kernel_events(out, max, asleep.ok() ? timeout_ms : 0, sigmask, woken);
}

// Run to completion: the caller is the stack. Poll it, look at the kernel fds
// every few rounds, and sleep in the kernel's epoll only when idle long enough.
// With stack sockets ready the kernel's fds (a syscall) are looked at first
// every 8th call only: whatever max is, they wait 7 calls at most.
int EpollSet::wait_rtc(StackThread& d, epoll_event* out, int max, int timeout_ms, const sigset_t* sigmask) {
  if (kernel_turn()) {
    bool woken = false;
    const int k = kernel_events(out, max, 0, sigmask, woken);
    if (k < 0) return k;  // EINTR (a signal epoll_pwait's mask let in)...
    if (k > 0) {
      d.drive();
      return k < max ? k + collect(out + k, max - k) : k;
    }
  }
  const bool forever = timeout_ms < 0;
  const auto deadline = Clock::now() + std::chrono::milliseconds(forever ? 0 : timeout_ms);
  unsigned idle = 0;
  for (unsigned round = 0;; ++round) {
    d.rest_point();
    idle = d.drive() != 0 ? 0 : idle + 1;
    const int n = collect(out, max);
    if (n > 0) return n;
    const long sleep_us = d.backoff_us(idle);
    const long left = remaining_ms(deadline, forever);
    // Every 8th round looks at the kernel's fds, unless they are quiet (kernel_quiet).
    const bool look = (round & 7) == 0 && !kernel_quiet();
    // Idle and polling on (not a zero timeout, not a round that may look at the kernel fds).
    if (sleep_us == 0 && left != 0 && (round & 7) != 0) d.relax(idle);
    if (sleep_us > 0 || look || left == 0) {
      bool woken = false;
      const int kt = sleep_us > 0 ? static_cast<int>(std::min<long>(left < 0 ? 1 : left, 1)) : 0;
      const int k = kt > 0 ? sleep_rtc(d, out, max, kt, sigmask) : kernel_events(out, max, 0, sigmask, woken);
      if (k != 0) return k;  // events, or an error (EINTR...)
    }
    if (left == 0) return 0;
  }
}

int EpollSet::wait(epoll_event* out, int max, int timeout_ms, const sigset_t* sigmask) {
  if (max <= 0 || out == nullptr) return -EINVAL;
  if (StackThread* d = StackThread::rtc_of_this_thread()) return wait_rtc(*d, out, max, timeout_ms, sigmask);
  // As in wait_rtc: ready stack sockets are returned without a syscall, and
  // every 8th call looks at the kernel's fds first, so that they wait 7
  // calls at most however many stack sockets stay ready and whatever max is.
  if (kernel_turn()) {
    bool woken = false;
    const int k = kernel_events(out, max, 0, sigmask, woken);
    if (k < 0) return k;
    if (k > 0) return k < max ? k + collect(out + k, max - k) : k;
  } else if (const int n = collect(out, max); n > 0) {
    return n;
  }
  if (timeout_ms != 0 && stack_count_.load(std::memory_order_relaxed) > 0) {
    int n = 0;
    if (yield_until([&] { return (n = collect(out, max)) > 0; })) return n;
  }
  const bool forever = timeout_ms < 0;
  const auto deadline = Clock::now() + std::chrono::milliseconds(forever ? 0 : timeout_ms);
  for (;;) {
    int n, k, err, total;
    bool woken = false;
    {
      Armed armed(waiter_);
      n = collect(out, max);
      if (n == max) return n;  // no room left to ask the kernel for (maxevents 0 is EINVAL)
      const long kt = n > 0 ? 0 : remaining_ms(deadline, forever);
      CancelPoint cancel;
      k = kernel().epoll_pwait(kfd_, out + n, max - n, static_cast<int>(kt), sigmask);
      err = errno;
      total = k < 0 ? n : keep_kernel_events(out, n, k, woken);
      if (total > n) kernel_looked(true);  // the kernel's fds are awake: every 8th call looks again
      armed.release(woken);
    }
    if (k < 0) return n > 0 ? n : -err;
    if (total > 0) return total;
    if (!woken && remaining_ms(deadline, forever) == 0) return 0;
  }
}

namespace {

// poll's working arrays, kept by the thread between calls (they keep their
// capacity): poll and select allocate nothing once a thread's sets stop growing.
struct PollScratch {
  std::vector<SocketRef> socks;
  std::vector<pollfd> kfds;
  std::vector<nfds_t> kidx;
  // A poll from a signal handler inside ours gets arrays of its own (it
  // still shares the thread's Waiter, as it always did: the outer call may
  // then sleep to its timeout).
  volatile bool busy = false;
};

// The calling thread's; nullptr without memory.
PollScratch* poll_scratch() noexcept {
  return thread_owned<PollScratch>(ThreadState::kPollScratch, [](const PollScratch&) { return true; });
}

// One poll_mixed call: lstack's sockets are read in user space, the kernel's
// fds (and the kernel half of twin listeners) with one ppoll, next to the
// eventfd the stacks write when a socket of ours changes.
class MixedPoll {
 public:
  // socks_ holds a reference per lstack socket until the call returns: a
  // close() meanwhile from another thread frees none of them. May throw
  // bad_alloc (arrays not yet as large as fds).
  MixedPoll(pollfd* fds, nfds_t n, Waiter& w, PollScratch& s)
      : fds_(fds), n_(n), waiter_(w), scratch_(s), socks_(s.socks), kfds_(s.kfds), kidx_(s.kidx) {
    scratch_.busy = true;
    try {
      socks_.resize(n);
    } catch (...) {
      scratch_.busy = false;
      throw;
    }
  }
  ~MixedPoll() {
    for (SocketRef& s : socks_) {
      if (s) s->detach(&waiter_);
    }
    socks_.clear();  // the references go; the capacity stays
    kfds_.clear();
    kidx_.clear();
    scratch_.busy = false;
  }
  MixedPoll(const MixedPoll&) = delete;
  MixedPoll& operator=(const MixedPoll&) = delete;

  void split(SocketLookup lookup, TwinLookup twin) {
    for (nfds_t i = 0; i < n_; ++i) {
      if (fds_[i].fd >= 0) socks_[i] = lookup(fds_[i].fd);
      if (socks_[i]) socks_[i]->attach(&waiter_);
      if (!socks_[i] || (twin != nullptr && twin(fds_[i].fd))) {
        kfds_.push_back(fds_[i]);
        kidx_.push_back(i);
      }
    }
    kfds_.push_back({waiter_.fd(), POLLIN, 0});
  }
  // After split (whose lookup may have started lstack on this thread): the
  // run-to-completion stack the caller drives, whose sleeps also end for a
  // posted task or the next frame.
  void add_stack(const StackThread& rtc) {
    pollfd two[2];
    rtc.sleep_fds(two);
    kfds_.insert(kfds_.end(), two, two + 2);
  }

  // lstack's sockets: revents from their readiness bits. Returns how many are ready.
  int stack_ready() noexcept {
    int ready = 0;
    for (nfds_t i = 0; i < n_; ++i) {
      if (!socks_[i]) continue;
      fds_[i].revents = static_cast<short>(socks_[i]->events() & (fds_[i].events | POLLERR | POLLHUP));
      ready += fds_[i].revents != 0;
    }
    return ready;
  }

  int kernel_poll(long ms, const sigset_t* sigmask) {
    timespec ts{ms / 1000, (ms % 1000) * 1000000};
    CancelPoint cancel;
    return kernel().ppoll(kfds_.data(), kfds_.size(), ms < 0 ? nullptr : &ts, sigmask);
  }

  // The kernel's answers into fds; a twin already counted when lstack's half
  // was ready. Returns how many more are ready.
  int kernel_ready() noexcept {
    int ready = 0;
    for (std::size_t j = 0; j < kidx_.size(); ++j) {
      pollfd& f = fds_[kidx_[j]];
      if (socks_[kidx_[j]] && f.revents != 0) {
        f.revents = static_cast<short>(f.revents | kfds_[j].revents);
        continue;
      }
      f.revents = kfds_[j].revents;
      ready += kfds_[j].revents != 0;
    }
    return ready;
  }
  // Our eventfds after the caller's kernel fds (the waiter's, the stack's
  // posted-task one) said to look again. Not the stack's rx fd: it stays
  // readable while frames wait, and a zero timeout must still end the call.
  bool waiter_woke() const noexcept { return kfds_[kidx_.size()].revents != 0; }
  bool woken() const noexcept {
    const std::size_t w = kidx_.size();
    return kfds_[w].revents != 0 || (kfds_.size() > w + 1 && kfds_[w + 1].revents != 0);
  }
  // Around an RTC owner's look or sleep: the stack's two fds as it wants
  // them polled, and after it what they said (StackThread::sleep_fds, slept).
  void before_sleep(const StackThread& rtc) noexcept { rtc.sleep_fds(&kfds_[kidx_.size() + 1]); }
  void after_sleep(StackThread& rtc) noexcept { rtc.slept(&kfds_[kidx_.size() + 1]); }
  // No kernel fd among the caller's (kfds_ holds only our fds).
  bool stack_only() const noexcept { return kidx_.empty(); }

  // The call's rounds until something is ready or the timeout (nullptr:
  // none) passes; rtc: the run-to-completion stack the caller drives.
  // Returns how many fds are ready, or -errno.
  int run(StackThread* rtc, const timespec* timeout, const sigset_t* sigmask) {
    const bool forever = timeout == nullptr;
    const auto deadline = Clock::now() + (forever ? std::chrono::nanoseconds(0)
                                                  : std::chrono::seconds(timeout->tv_sec) + std::chrono::nanoseconds(timeout->tv_nsec));
    unsigned idle = 0;
    for (unsigned round = 0;; ++round) {
      if (rtc != nullptr) {
        rtc->rest_point();
        idle = rtc->drive() != 0 ? 0 : idle + 1;
      }
      int ready = stack_ready();
      const long left = remaining_ms(deadline, forever);
      long ms = ready > 0 ? 0 : left;
      if (rtc != nullptr && ready == 0) {
        const long backoff = rtc->backoff_us(idle);
        if (backoff == 0 && (round & 7) != 0 && left != 0) {  // keep polling the stack
          rtc->relax(idle);
          continue;
        }
        ms = backoff > 0 ? std::min<long>(left < 0 ? 1 : left, 1) : 0;
      }
      // (The shim calls us only with a stack socket among fds.)
      if (rtc == nullptr && ms != 0 && yield_until([&] { return (ready = stack_ready()) > 0; })) {
        ms = 0;  // the kernel's fds still get their look, without a sleep
      }
      // Only lstack's sockets asked about (iperf3's select): nothing for a ppoll
      // that would not sleep to look at (it cost a syscall each call or round).
      if (ms == 0 && stack_only()) {
        if (ready > 0 || left == 0) return ready;
        if (rtc != nullptr) rtc->relax(idle);  // ms == 0 with time left: run to completion's 8th round
        continue;
      }
      ready = kernel_round(ms, ready, sigmask, rtc);
      if (ready != 0 || (!woken() && remaining_ms(deadline, forever) == 0)) return ready;
    }
  }

  // One look at the kernel's fds, asleep for up to ms (0: no sleep) unless
  // one of ours is ready by then. Returns ready plus the kernel's, or -errno.
  int kernel_round(long ms, int ready, const sigset_t* sigmask, StackThread* rtc) {
    // Armed before the last look: a socket that becomes ready from here on
    // writes the eventfd, so the sleep below cannot miss it.
    Armed armed(waiter_, ms != 0);
    StackSleep asleep(ms != 0 ? rtc : nullptr);  // a task posted from here on ends the sleep
    if (!asleep.ok() || (ms != 0 && (ready = stack_ready()) > 0)) ms = 0;
    if (rtc != nullptr) before_sleep(*rtc);
    const int k = kernel_poll(ms, sigmask);
    const int err = errno;
    armed.release(k > 0 && waiter_woke());
    if (rtc != nullptr) after_sleep(*rtc);
    if (k < 0) return ready > 0 ? ready : -err;
    return ready + kernel_ready();
  }

 private:
  pollfd* fds_;
  nfds_t n_;
  Waiter& waiter_;
  PollScratch& scratch_;
  std::vector<SocketRef>& socks_;
  std::vector<pollfd>& kfds_;
  std::vector<nfds_t>& kidx_;
};

}  // namespace

int poll_mixed(pollfd* fds, nfds_t n, const timespec* timeout, const sigset_t* sigmask, SocketLookup lookup,
               TwinLookup twin) {
  Waiter* w = poll_waiter();
  if (w == nullptr) return -EMFILE;
  Waiter& waiter = *w;
  PollScratch local;  // empty: allocates only if used
  PollScratch* scratch = poll_scratch();
  if (scratch == nullptr || scratch->busy) scratch = &local;
  try {
    MixedPoll mp(fds, n, waiter, *scratch);
    mp.split(lookup, twin);
    StackThread* rtc = StackThread::rtc_of_this_thread();  // run to completion: we drive the stack
    if (rtc != nullptr) mp.add_stack(*rtc);
    return mp.run(rtc, timeout, sigmask);
  } catch (const std::bad_alloc&) {
    return -ENOMEM;
  }
}

int select_mixed(int nfds, fd_set* rd, fd_set* wr, fd_set* ex, const timespec* timeout, const sigset_t* sigmask,
                 SocketLookup lookup, TwinLookup twin) {
  if (nfds < 0 || nfds > FD_SETSIZE) return -EINVAL;
  pollfd room[FD_SETSIZE];  // 8 KiB of stack: select allocates nothing
  std::size_t used = 0;
  for (int fd = 0; fd < nfds; ++fd) {
    short ev = 0;
    if (rd != nullptr && FD_ISSET(fd, rd)) ev |= POLLIN;
    if (wr != nullptr && FD_ISSET(fd, wr)) ev |= POLLOUT;
    if (ex != nullptr && FD_ISSET(fd, ex)) ev |= POLLPRI;
    if (ev != 0) room[used++] = {fd, ev, 0};
  }
  const std::span<pollfd> pfds(room, used);
  const int rc = poll_mixed(pfds.data(), pfds.size(), timeout, sigmask, lookup, twin);
  if (rc < 0) return rc;
  if (rd != nullptr) FD_ZERO(rd);
  if (wr != nullptr) FD_ZERO(wr);
  if (ex != nullptr) FD_ZERO(ex);
  int count = 0;
  for (const pollfd& p : pfds) {
    if (p.revents & POLLNVAL) return -EBADF;
    const bool r = (p.events & POLLIN) && (p.revents & (POLLIN | POLLHUP | POLLERR));
    const bool w = (p.events & POLLOUT) && (p.revents & (POLLOUT | POLLERR));
    const bool x = (p.events & POLLPRI) && (p.revents & POLLPRI);
    if (r) FD_SET(p.fd, rd);
    if (w) FD_SET(p.fd, wr);
    if (x) FD_SET(p.fd, ex);
    count += r + w + x;
  }
  return count;
}

}  // namespace gz::stack
