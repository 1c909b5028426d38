#include "stack_thread.hpp"

#include "gz/cancel.hpp"
#include "gz/kernel.hpp"
#include "gz/signals.hpp"
#include "gz/socket.hpp"
#include "gz/thread_state.hpp"
#include "lwip/tcp.h"
#include "tsc.hpp"

#include <linux/futex.h>
#include <poll.h>
#include <pthread.h>
#include <rte_cycles.h>
#include <rte_lcore.h>
#include <rte_mempool.h>
#include <sched.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <mutex>
#include <new>
#include <vector>
#include <cstdio>
#include <cstdlib>

namespace gz::stack {
namespace {
constexpr unsigned kSpinRoundsBeforeSleep = 2000;  // ~tens of µs of polling first
constexpr long kMaxSleepUs = 1000;                 // bounds rx latency while idle

// The idle rounds that hand the CPU over (sched_yield, a system call of its
// own): the first after a round with work, whose wake-ups made the program's
// threads runnable, then every yield_every_-th (a power of two in between).
// A frame that comes during a yield waits for it: with nobody else to run, an
// idle round is a look at memory (the device's ring, the task queue) and the
// yield most of its cost, so the yields thin out while they come straight back.
constexpr unsigned kYieldEveryMin = 4;
constexpr unsigned kYieldEveryMax = 64;
constexpr std::uint64_t kQuickYieldUs = 4;  // a switch to another thread and back takes longer here

// LSTACK_DEBUG_STATS=1: the counters on stderr when the stack stops (tests, debugging).
void dump_counters(int index, const wire::StackCounters& c) {
  std::fprintf(stderr, "lstack stack %d (pid %d):", index, static_cast<int>(getpid()));
  for (const wire::NamedCounter& n : wire::kCounters) {
    if (c.*n.field != 0) std::fprintf(stderr, " %s %lu", n.name, static_cast<unsigned long>(c.*n.field));
  }
  std::fputc('\n', stderr);
}
}  // namespace

void futex_wait(std::atomic<std::uint32_t>* word, std::uint32_t expected, long timeout_us) noexcept {
  timespec ts{timeout_us / 1000000, (timeout_us % 1000000) * 1000};
  syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(word), FUTEX_WAIT_PRIVATE, expected,
          timeout_us < 0 ? nullptr : &ts, nullptr, 0);
}

namespace {
// As glibc's own blocking wrappers do: asynchronous cancellation only inside
// the call, so a cancel unwinds from the system call (or from setcanceltype,
// when one is already pending). No effect while cancellation is off (no CancelPoint).
template <class Call>
void cancellable(Call call) {
  int old_type;
  pthread_setcanceltype(PTHREAD_CANCEL_ASYNCHRONOUS, &old_type);
  call();
  pthread_setcanceltype(old_type, nullptr);
}
}  // namespace

void futex_wait_bits_cancellable(std::atomic<std::uint32_t>* word, std::uint32_t expected, long timeout_us,
                                 std::uint32_t bits) {
  timespec at{};  // FUTEX_WAIT_BITSET's timeout is a CLOCK_MONOTONIC time, not a duration
  if (timeout_us >= 0) {
    clock_gettime(CLOCK_MONOTONIC, &at);
    at.tv_sec += timeout_us / 1000000;
    at.tv_nsec += (timeout_us % 1000000) * 1000;
    if (at.tv_nsec >= 1000000000) {
      at.tv_nsec -= 1000000000;
      ++at.tv_sec;
    }
  }
  cancellable([&] {
    syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(word), FUTEX_WAIT_BITSET_PRIVATE, expected,
            timeout_us < 0 ? nullptr : &at, nullptr, bits);
  });
}

void futex_wake_bits(std::atomic<std::uint32_t>* word, std::uint32_t bits) noexcept {
  syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(word), FUTEX_WAKE_BITSET_PRIVATE, INT32_MAX, nullptr, nullptr,
          bits);
}

void futex_wake(std::atomic<std::uint32_t>* word, int count) noexcept {
  syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(word), FUTEX_WAKE_PRIVATE, count, nullptr, nullptr, 0);
}

bool StackThread::open_wake_fd() noexcept {
  wake_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  return wake_fd_ >= 0;
}

Result<std::unique_ptr<StackThread>> StackThread::start(Setup setup) {
  std::unique_ptr<StackThread> t(new StackThread(setup.index));
  if (!t->open_wake_fd()) return make_error(errno, "no eventfd for stack " + std::to_string(setup.index));
  t->low_power_.store(setup.low_power, std::memory_order_relaxed);
  t->rx_open_ = setup.rx_open;
  t->group_ = setup.group;
  t->cpu_ = setup.cpu;
  StackThread* raw = t.get();
  // None of the program's signals run on it: a handler of the program's
  // could find the stack mid-round, and a program that blocks SIGTERM in its
  // own threads to take it with sigwait() would lose it to ours.
  t->thread_ = start_thread_without_signals([raw, s = std::move(setup)]() mutable { raw->main(std::move(s)); });
  t->owner_id_ = t->thread_.get_id();
  while (t->started_.load(std::memory_order_acquire) == 0) std::this_thread::sleep_for(std::chrono::microseconds(100));
  if (t->started_.load() < 0) {
    t->thread_.join();
    return t->start_error_;
  }
  return t;
}

Result<std::unique_ptr<StackThread>> StackThread::adopt(Setup setup) {
  if (this_thread_state().rtc != nullptr) return make_error(EBUSY, "this thread already drives a stack");
  std::unique_ptr<StackThread> t(new StackThread(setup.index));
  if (!t->open_wake_fd()) return make_error(errno, "no eventfd for stack " + std::to_string(setup.index));
  t->low_power_.store(setup.low_power, std::memory_order_relaxed);
  t->rx_open_ = setup.rx_open;
  t->group_ = setup.group;
  t->cpu_ = setup.cpu;
  t->rtc_ = true;
  t->owner_id_ = std::this_thread::get_id();
  t->stale_cycles_ = tsc_cycles_us(20);
  {
    KernelOnlyScope internal;
    if (rte_lcore_id() == LCORE_ID_ANY) rte_thread_register();
    auto stack = Stack::create(setup.index, std::move(setup.dev), setup.opts);
    if (!stack) return stack.error();
    t->rtc_stack_ = std::move(stack.value());
  }
  t->bind_stack(t->rtc_stack_.get());
  t->started_.store(1);
  this_thread_state().rtc = t.get();
  t->arm_owner_exit();
  return t;
}

struct StackThread::OwnerExit {
  std::mutex mu;
  StackThread* thread = nullptr;  // nullptr once the StackThread is gone
};

// An owner thread that ends before the process (a worker that wrote, closed
// and returned) leaves its stack undriven: what it still had to send would go
// nowhere. At its exit (a pthread key destructor, after its last call) it
// drives the stack until that is acknowledged, as the process's exit does.
void StackThread::arm_owner_exit() noexcept {
  try {
    owner_exit_ = std::make_shared<OwnerExit>();
    owner_exit_->thread = this;
    auto* hook = new std::shared_ptr<OwnerExit>(owner_exit_);
    const bool armed = this_thread_state().own(ThreadState::kRtcExit, hook, [](void* p) {
      auto* h = static_cast<std::shared_ptr<OwnerExit>*>(p);
      {
        std::lock_guard lock((*h)->mu);
        if (StackThread* t = (*h)->thread; t != nullptr) t->owner_done();
      }
      delete h;
    });
    if (!armed) delete hook;
  } catch (const std::bad_alloc&) {
    owner_exit_.reset();  // no hook: the stack is left as before
  }
}

// The owner thread ends (or the process with it): what the stack still sends goes out first.
void StackThread::owner_done() noexcept {
  if (stack_ != nullptr) finish_sends();
  flushed_.store(true, std::memory_order_release);  // no owner comes to rest here again (Runtime::defer_signal)
  this_thread_state().rtc = nullptr;
}

StackThread* StackThread::rtc_of_this_thread() noexcept { return this_thread_state().rtc; }

void StackThread::bind_stack(Stack* s) noexcept {
  stack_ = s;
  counters_ = &s->counters();
  tap_ = s->tap();
  latency_ = s->latency();
  tx_pool_ = s->tx_pool();
  rx_fd_ = s->rx_wait_fd();
  tx_budget_full_ = tx_pool_ != nullptr ? rte_mempool_avail_count(tx_pool_) / 2 : 0;
  tx_budget_.store(tx_budget_full_);
  quick_yield_cycles_ = tsc_cycles_us(kQuickYieldUs);
  yield_every_ = kYieldEveryMin;
}

bool StackThread::yield_due(unsigned idle_rounds) const noexcept {
  return (idle_rounds & (yield_every_ - 1)) == 1;  // round 1 always: yield_every_ is a power of two >= 4
}

void StackThread::yield_cpu() noexcept {
  const std::uint64_t t0 = rte_rdtsc();
  sched_yield();
  // Another thread ran meanwhile: it may want the CPU again soon (a request
  // handler between its reads and writes), so look every few rounds.
  const bool ran_someone = rte_rdtsc() - t0 >= quick_yield_cycles_;
  yield_every_ = ran_someone ? kYieldEveryMin : std::min(kYieldEveryMax, yield_every_ * 2);
}

unsigned StackThread::poll_stack() noexcept {
  if (rx_open_ != nullptr && !rx_open_->load(std::memory_order_acquire)) return 0;
  return stack_->poll_once();
}

bool StackThread::drive_if_stale() noexcept {
  if (rte_rdtsc() - last_drive_ < stale_cycles_) return false;
  drive();
  return true;
}

unsigned StackThread::drive() noexcept {
  last_drive_ = rte_rdtsc();
  WakeBatch batch;  // readers woken once per round
  // The posted tasks first: a reply the program handed over while we polled
  // goes out before this round's receive kick (a syscall over af_xdp), which
  // cut sockperf's p50 in the stack-thread layout by about 1.3 µs.
  const unsigned work = run_tasks() + poll_stack();
  if (work != 0) {
    rx_woke_ = false;
    wake_handed();  // a sleeping peer would see its frames only when its sleep times out (up to 1 ms)
  }
  // Transmit mbufs lwIP let go this round go back to the senders at once
  // (one atomic add a round, not one a segment).
  return_freed_tx();
  if (!tx_budget_waiters_.empty()) wake_tx_waiters(round_freed_tx_);
  round_freed_tx_ = false;
  return work;
}

void StackThread::return_freed_tx() noexcept {
  std::uint32_t& freed = this_thread_state().tx_mbufs_freed;
  if (freed == 0) return;
  give_tx_budget(freed);
  freed = 0;
  round_freed_tx_ = true;
}

void StackThread::wake_tx_waiters(bool freed) noexcept {
  constexpr std::uint64_t kTxWaitMs = 10;
  constexpr unsigned kTxWakeMbufs = 32;  // budget back is not mbufs back: the device may still hold them
  const bool back = freed && tx_budget_left() && rte_mempool_avail_count(tx_pool_) >= kTxWakeMbufs;
  if (!back && rte_rdtsc() - tx_wait_since_ < tsc_cycles_us(kTxWaitMs * 1000)) return;
  std::swap(tx_budget_waiters_, tx_woken_);  // a woken sender may park again at once
  for (const auto& [fn, ctx] : tx_woken_) fn(ctx);
  tx_woken_.clear();
}

std::uint32_t StackThread::take_tx_budget(std::uint32_t n) noexcept {
  std::int64_t left = tx_budget_.load(std::memory_order_relaxed);
  for (;;) {
    const auto k = static_cast<std::uint32_t>(std::min<std::int64_t>(left, n));
    if (left <= 0) return 0;
    if (tx_budget_.compare_exchange_weak(left, left - k, std::memory_order_acquire)) return k;
  }
}

bool StackThread::wait_tx_budget(void (*fn)(void*), void* ctx) noexcept {
  try {
    if (tx_budget_waiters_.empty()) tx_wait_since_ = rte_rdtsc();
    tx_budget_waiters_.emplace_back(fn, ctx);
    return true;
  } catch (const std::bad_alloc&) {
    return false;
  }
}

void StackThread::forget_tx_budget_wait(void* ctx) noexcept {
  std::erase_if(tx_budget_waiters_, [ctx](const auto& w) { return w.second == ctx; });
}

long StackThread::backoff_us(unsigned idle_rounds) const noexcept {
  if (!low_power() || idle_rounds < kSpinRoundsBeforeSleep) return 0;
  return std::min<long>(kMaxSleepUs, 16L << std::min(6u, (idle_rounds - kSpinRoundsBeforeSleep) / 8));
}

void StackThread::drive_waiting(unsigned& idle_rounds, long max_sleep_us) {
  rest_point();
  if (drive() != 0) {
    idle_rounds = 0;
    return;
  }
  ++idle_rounds;
  const long us = std::min(backoff_us(idle_rounds), max_sleep_us);
  if (us > 0) {
    CancelPoint cancel;  // the application waits here: a cancel acts in the sleep
    sleep_idle(us);
    return;
  }
  // Polling on: the cancellation state stays as it is (switching it twice
  // a round cost a tenth of the round); the test below is the cancel point.
  relax(idle_rounds);
  if ((idle_rounds & 63) == 0) pthread_testcancel();  // polling sleeps nowhere
}

void StackThread::relax(unsigned idle_rounds) noexcept {
  // An RTC thread polling on lets whoever else is runnable on its CPU run:
  // the program's other threads (a request handler waiting for this stack's
  // data, then for its reply to go out) otherwise wait for the scheduler's
  // tick, 4 ms (as the stack thread's idle(); python's http.server,
  // bench/results/python-*). Also with low_power_mode, whose first idle
  // rounds poll too: python's GETs, one at a time, 250/s instead of 1,700.
  if (yield_due(idle_rounds)) yield_cpu();
}

StackThread::~StackThread() {
  if (rtc_) {
    if (owner_exit_ != nullptr) {  // an owner thread ending from now on leaves us alone
      std::lock_guard lock(owner_exit_->mu);
      owner_exit_->thread = nullptr;
    }
    if (rtc_stack_ == nullptr && wake_fd_ >= 0) kernel().close(wake_fd_);  // adopt() failed: nobody posts
    // The stack belongs to its owner thread's lwIP; at exit it is left as is,
    // once what it still sends is through when the exiting thread is its owner.
    if (this_thread_state().rtc == this) owner_done();
    (void)rtc_stack_.release();
    return;  // its eventfd too: a late post() may still write it
  }
  stop();
  if (wake_fd_ >= 0) kernel().close(wake_fd_);
}

void StackThread::request_stop() noexcept {
  if (rtc_) return;
  stop_.store(true);
  if (sleeping_.exchange(0) != 0) wake_sleeper();
}

void StackThread::stop() noexcept {
  request_stop();
  if (thread_.joinable()) thread_.join();  // run to completion has no thread of ours
}

void StackThread::end_for_signal(StackTask* last) noexcept {
  if (rtc_ || !thread_.joinable()) return;
  tasks_.push(last);
  dying_.store(true);
  stop_.store(true);
  if (sleeping_.exchange(0) != 0) wake_sleeper();
}

bool StackThread::end_at_rest(StackTask* last) noexcept {
  // At rest in lstack's wait (asleep, or raising a deferred signal at a
  // rest_point): no lwIP call, no lock the flush takes and no allocation of
  // this thread is half done. Anywhere else (the program's own code may be
  // inside malloc, which the close below calls) the stack is left as before.
  if (stack_ == nullptr || !at_rest_here()) return false;
  (void)drive();  // what came in meanwhile first, as the kernel would have taken it
  last->fn(last);
  finish_sends();
  flushed_.store(true, std::memory_order_release);
  return true;
}

void StackThread::end_here() noexcept {
  const int sig = end_signal_.load(std::memory_order_relaxed);
  sigset_t blocked;
  // An owner that blocks it would only queue it: another owner's rest, or the
  // handler's bound, ends the process then. The request stays for the others.
  if (!rtc_ || !on_this_thread() || pthread_sigmask(SIG_BLOCK, nullptr, &blocked) != 0 ||
      sigismember(&blocked, sig) == 1) {
    return;
  }
  if (sig == 0 || end_signal_.exchange(0) != sig) return;  // one owner raises it
  resting_.store(true, std::memory_order_relaxed);
  std::atomic_signal_fence(std::memory_order_seq_cst);  // set before the handler runs, on this thread
  raise(sig);  // delivered before raise() returns, to this thread
  std::atomic_signal_fence(std::memory_order_seq_cst);
  resting_.store(false, std::memory_order_relaxed);  // (a program's handler that longjmps out leaves it set)
}

// After end_for_signal: the signal's default action ends the process once
// every stack has flushed. Should it not (a handler of the program's put back
// meanwhile), the stack goes as at exit after a while.
void StackThread::wait_for_the_end() noexcept {
  flushed_.store(true, std::memory_order_release);
  for (int i = 0; i < 10000; ++i) usleep(1000);
}

void StackThread::main(Setup setup) {
  KernelOnlyScope internal;
  pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, nullptr);  // lstack's own thread: never a cancellation point
  if (setup.cpu >= 0) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(setup.cpu, &set);
    pthread_setaffinity_np(pthread_self(), sizeof set, &set);
  }
  char name[16];
  std::snprintf(name, sizeof name, "lstack_%d", setup.index);
  pthread_setname_np(pthread_self(), name);
  rte_thread_register();  // an lcore id gives this thread mempool caches
  auto stack = Stack::create(setup.index, std::move(setup.dev), setup.opts);
  if (!stack) {
    start_error_ = stack.error();
    started_.store(-1, std::memory_order_release);
    return;
  }
  bind_stack(stack.value().get());
  started_.store(1, std::memory_order_release);
  unsigned idle_rounds = 0;
  while (!stop_.load(std::memory_order_relaxed)) step(idle_rounds);
  run_tasks();
  finish_sends();
  if (dying_.load()) wait_for_the_end();
  stack_->sync_lwip_counters();
  if (std::getenv("LSTACK_DEBUG_STATS") != nullptr) {
    dump_counters(setup.index, stack_->counters());
    stack_->dump_connections(stderr);
  }
  stack_ = nullptr;
  stack.value().reset();
  rte_thread_unregister();
}

// At exit the process's connections would vanish with what they still had in
// flight: a reply nginx wrote and closed just before its old worker left at a
// reload, its frames not yet out of ltran's queue, was lost, and the client's
// next retransmission met a reset. Linux keeps such a closed socket sending
// after its process is gone (RFC 9293 3.10.4: queued data goes before the
// FIN); lstack runs its stack on until the peers acknowledged it all, at most
// kExitLingerMs (a peer that does not answer only delays the exit).
//
// With several stacks, a connection's ACKs may arrive on another stack's queue
// (the NIC's hash, af_packet's fanout), which hands them over only while its
// thread runs: a stack thread done with its own sends runs on until every
// stack of the process is done (StackGroup::begin_flush), within the same
// bound. Stopped one after the other, the last stack got no ACK that came in
// on a stopped one's queue (exit-flush-two-stacks failed once so: a peer
// 2,412 bytes short, no FIN).
void StackThread::finish_sends() noexcept {
  const std::uint64_t until = rte_rdtsc() + rte_get_tsc_hz() / 1000 * kExitLingerMs;
  unsigned idle_rounds = 0;
  while (stack_->sends_in_flight() && rte_rdtsc() < until) step(idle_rounds);
  if (rtc_ || group_ == nullptr) return;
  group_->flushed_one();
  while (!group_->all_flushed() && rte_rdtsc() < until) step(idle_rounds);
}

void StackThread::step(unsigned& idle_rounds) noexcept {
  if (drive() != 0) {
    idle_rounds = 0;
  } else {
    idle(idle_rounds);
  }
}

unsigned StackThread::run_tasks() noexcept {
  unsigned n = 0;
  // The applications' reads posted since the last round open windows: one
  // window update per connection for all of them (lwIP patch 0012).
  tcp_ack_burst_begin();
  while (StackTask* t = tasks_.pop()) {
    t->fn(t);
    ++n;
  }
  tcp_ack_burst_end();
  if (n != 0) stack_->flush_tx();
  return n;
}

void StackThread::idle(unsigned& idle_rounds) noexcept {
  // low_power_mode: exponential back-off from 16 µs to kMaxSleepUs; post()
  // wakes us early.
  if (const long us = backoff_us(++idle_rounds); us > 0) {
    sleep_idle(us);
    return;
  }
  // Until then the stack polls on, but hands the CPU to whoever else is
  // runnable there after every idle round: in the layout Gazelle documents
  // (num_cpus = "1", the program on that CPU) the program otherwise waits out
  // the scheduler's time slice behind an idle stack. Measured with redis
  // (bench/results/redis-20261201-113*): 0.18-0.48x the kernel before, 0.67-0.80x
  // yielding after 64 idle rounds, 1.03-1.21x yielding after each. With
  // low_power_mode too, in the rounds before it sleeps.
  if (yield_due(idle_rounds)) yield_cpu();
}

void StackThread::sleep_idle(long us) {
  struct Awake {  // also when a cancel unwinds from the sleep (RTC caller)
    StackThread& t;
    ~Awake() {
      t.sleeping_.store(0, std::memory_order_relaxed);
      t.stack_->count_idle_sleep();
    }
  } awake{*this};
  if (!sleep_begin()) return;
  // A frame or a posted task ends the sleep at once: with a timed sleep
  // alone, each frame after a quiet moment waited up to kMaxSleepUs (python's
  // http.server, a GET at a time: 250 GETs/s against the kernel's 1,300).
  pollfd fds[2];
  sleep_fds(fds);
  const timespec ts{us / 1000000, (us % 1000000) * 1000};
  kernel().ppoll(fds, 2, &ts, nullptr);  // glibc's: a cancellation point inside the caller's CancelPoint
  slept(fds);
}

void StackThread::sleep_fds(pollfd fds[2]) const noexcept {
  fds[0] = {wake_fd_, POLLIN, 0};
  fds[1] = {rx_woke_ ? -1 : rx_fd_, POLLIN, 0};
}

void StackThread::slept(const pollfd fds[2]) noexcept {
  if (fds[0].revents != 0) drain_wake_fd();
  rx_woke_ = fds[1].revents != 0;
}

bool StackThread::sleep_begin() noexcept {
  // Before the last look: post() and another stack's hand-off see it, or we
  // see their task or frame.
  sleeping_.store(1, std::memory_order_seq_cst);
  return tasks_.maybe_empty() && (stack_ == nullptr || stack_->inbox_empty());
}

void StackThread::drain_wake_fd() noexcept {
  std::uint64_t n;
  (void)!kernel().read(wake_fd_, &n, sizeof n);
}

void StackThread::wake_sleeper() noexcept {
  const std::uint64_t one = 1;
  (void)!kernel().write(wake_fd_, &one, sizeof one);
}

void StackThread::set_low_power(bool on) noexcept {
  low_power_.store(on, std::memory_order_relaxed);
  if (!on && sleeping_.exchange(0) != 0) wake_sleeper();  // back to polling now
}

void StackThread::post(StackTask* t) noexcept {
  if (rtc_ && on_this_thread()) {  // run to completion: the owner runs it right away
    t->fn(t);
    return;
  }
  tasks_.push(t);
  nudge();
}

void StackThread::nudge() noexcept {
  std::atomic_thread_fence(std::memory_order_seq_cst);
  if (sleeping_.load(std::memory_order_relaxed) != 0 && sleeping_.exchange(0) != 0) wake_sleeper();
}

void StackThread::wake_handed() noexcept {
  std::uint64_t handed = stack_->take_handed();
  if (handed == 0 || group_ == nullptr) return;
  for (std::size_t i = 0; handed != 0 && i < group_->stack_count(); ++i, handed >>= 1) {
    if ((handed & 1) != 0) group_->stack(i).nudge();
  }
}

namespace {

// A question for a stack thread. On the heap, shared: whoever of the stack and
// the asker comes second frees it, so a stack that never runs it (a
// run-to-completion owner that stopped driving, at exit) neither blocks the
// asker nor runs a dead task.
template <class T>
struct Query : StackTask {
  T answer{};
  void (*fill)(Stack&, T&) = nullptr;
  std::atomic<std::uint32_t> state{0};  // 0 queued, 1 answered, 2 abandoned by the asker
};

// Posts fill to st and waits at most timeout_ms for its answer.
template <class T>
bool ask(StackThread& st, void (*fill)(Stack&, T&), T& out, long timeout_ms) noexcept {
  auto* q = new (std::nothrow) Query<T>;
  if (q == nullptr) return false;
  q->fill = fill;
  q->fn = [](StackTask* x) {
    auto* query = static_cast<Query<T>*>(x);
    query->fill(*Stack::current(), query->answer);
    if (query->state.exchange(1) == 2) {
      delete query;
      return;
    }
    futex_wake(&query->state, 1);  // a stray wake after the asker freed it is harmless
  };
  st.post(q);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (q->state.load(std::memory_order_acquire) == 0) {
    const long left = std::chrono::duration_cast<std::chrono::microseconds>(deadline - std::chrono::steady_clock::now()).count();
    if (left <= 0) break;
    futex_wait(&q->state, 0, std::min(left, 10000L));
  }
  if (q->state.exchange(2) != 1) return false;  // the stack frees it when it gets to it
  out = std::move(q->answer);
  delete q;
  return true;
}

}  // namespace

bool StackThread::snapshot(wire::CtlStackStats& out, long timeout_ms) noexcept {
  out = {};
  const bool answered =
      ask<wire::CtlStackStats>(*this, [](Stack& s, wire::CtlStackStats& a) { s.fill_stats(a); }, out, timeout_ms);
  out.cpu = cpu_;
  out.counters.accept_fd_limit = accept_fd_limit_.load(std::memory_order_relaxed);
  return answered;
}

bool StackThread::connections(std::vector<wire::CtlConn>& out, long timeout_ms) noexcept {
  out.clear();
  return ask<std::vector<wire::CtlConn>>(
      *this, [](Stack& s, std::vector<wire::CtlConn>& a) { s.list_connections(a); }, out, timeout_ms);
}

void StackThread::complete(StackTask* t) noexcept {
  t->done.store(1, std::memory_order_release);
  futex_wake(&t->done, 1);
}

void StackThread::run_sync(StackTask* t) noexcept {
  t->done.store(0, std::memory_order_relaxed);
  post(t);
  if (rtc_ && on_this_thread()) return;
  for (int spin = 0; spin < 200 && t->done.load(std::memory_order_acquire) == 0; ++spin) sched_yield();
  while (t->done.load(std::memory_order_acquire) == 0) futex_wait(&t->done, 0, 10000);
}

}  // namespace gz::stack
