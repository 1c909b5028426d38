// StackThread: a thread that owns one Stack, pinned to its CPU, polling its
// NetDev and serving work posted by application threads.
//
// Application threads never touch lwIP: they post StackTasks (control calls,
// "this socket has data to send") through a lock-free MPSC queue; the stack
// thread runs them between receive bursts. With low_power_mode an idle stack
// sleeps (ppoll with a timeout) instead of spinning; a posted task (an eventfd)
// and, where the device has one, the next frame (NetDev::rx_wait_fd) wake it.
#pragma once

#include <poll.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <thread>
#include <utility>
#include <vector>

#include "gz/result.hpp"
#include "ring.hpp"
#include "stack.hpp"

namespace gz::stack {

// A unit of work for a stack thread; embed it in a larger struct for arguments.
struct StackTask {
  std::atomic<StackTask*> next_link{nullptr};
  void (*fn)(StackTask*) = nullptr;
  std::atomic<std::uint32_t> done{0};
};

class StackThread;

// The stacks of this process, for what spans them (a listener listens on
// every stack); the runtime implements it. Any thread; stack(i) for
// i < stack_count() (the count only grows).
class StackGroup {
 public:
  virtual std::size_t stack_count() const noexcept = 0;
  virtual StackThread& stack(std::size_t i) noexcept = 0;
  // At exit (or a fatal signal) the stacks flush at once, and a connection's
  // ACKs may come in on another stack's queue, handed over only while that
  // stack runs: each runs on until all are done (StackThread::finish_sends).
  // begin_flush(n): n stack threads are about to flush (before they are asked).
  void begin_flush(std::size_t n) noexcept { flushing_.store(static_cast<int>(n), std::memory_order_release); }
  void flushed_one() noexcept { flushing_.fetch_sub(1, std::memory_order_acq_rel); }
  bool all_flushed() const noexcept { return flushing_.load(std::memory_order_acquire) <= 0; }

 protected:
  ~StackGroup() = default;

 private:
  std::atomic<int> flushing_{0};
};

class StackThread {
 public:
  struct Setup {
    int index = 0;
    int cpu = -1;  // -1: not pinned
    std::unique_ptr<NetDev> dev;
    StackOptions opts;
    bool low_power = false;
    // While this reads false the stack takes no packets in (tasks still run):
    // lstack is replaying the listeners opened before it started. nullptr: open.
    const std::atomic<bool>* rx_open = nullptr;
    StackGroup* group = nullptr;  // the process's stacks (nullptr: this one alone)
  };

  // Starts the thread and waits until its Stack is up. Errors: the Stack's.
  static Result<std::unique_ptr<StackThread>> start(Setup setup);
  // Run to completion (stack_mode_rtc): no thread of ours; the Stack is created
  // on the calling thread, which drives it from inside its own socket calls.
  static Result<std::unique_ptr<StackThread>> adopt(Setup setup);
  // The run-to-completion stack the calling thread owns, or nullptr.
  static StackThread* rtc_of_this_thread() noexcept;
  bool rtc() const noexcept { return rtc_; }
  // One round (rx burst, posted tasks, timers, tx; readers woken once at its
  // end): the stack thread's loop, or an RTC owner thread. Returns the work done.
  unsigned drive() noexcept;
  // RTC owner thread: drive() unless the last round began under 20 µs ago.
  // A run of calls that complete without the stack (reads of data already
  // in, writes with room) then shares its rounds: its frames leave in bursts
  // rather than one device call each, and the device is polled 50,000 times
  // a second at most from them, not once a call.
  // Returns whether it drove.
  bool drive_if_stale() noexcept;
  // RTC owner thread, while it waits for something: drive; after a while back
  // off (low_power_mode) for at most max_sleep_us. A cancellation point
  // (gz/cancel.hpp) in its sleep: not noexcept.
  void drive_waiting(unsigned& idle_rounds, long max_sleep_us);
  // An idle sleep of the stack's thread outside sleep_idle (an RTC owner in
  // poll() or epoll_wait()) polls these too: wake_fd(), readable once a task
  // was posted to the sleeping stack, and rx_fd(), readable while frames wait
  // (-1: the device has none, a timed sleep it is). sleep_begin() before the
  // caller's last look (false: a task waits, do not sleep), sleep_end() after
  // it woke.
  // Owner thread.
  int wake_fd() const noexcept { return wake_fd_; }
  int rx_fd() const noexcept { return rx_fd_; }
  bool sleep_begin() noexcept;
  // A level-triggered sleep (ppoll) polls these two: wake_fd(), and rx_fd()
  // unless a sleep it ended was followed by no work (frames the stack cannot
  // take, its pool short or its receive held: the fd stays readable, and
  // the sleeps would spin; -1, ignored, then). slept(fds) after it: drains
  // wake_fd() when it was readable, and notes what rx_fd() said.
  void sleep_fds(pollfd fds[2]) const noexcept;
  void slept(const pollfd fds[2]) noexcept;
  void sleep_end() noexcept { sleeping_.store(0, std::memory_order_relaxed); }
  // RTC owner thread polling on (backoff_us() said 0) after idle_rounds
  // idle rounds: hands the CPU to any other runnable thread (sched_yield;
  // with low_power_mode too, before it sleeps).
  void relax(unsigned idle_rounds) noexcept;
  // How long an RTC waiter idle for idle_rounds may sleep: 0 while it should
  // keep polling (or always, without low_power_mode).
  long backoff_us(unsigned idle_rounds) const noexcept;
  ~StackThread();  // stops and joins
  // Stops and joins the stack thread (no effect in run to completion); the
  // object stays valid for the others' nudge() until destroyed. Not from it.
  void stop() noexcept;
  // Asks the stack thread to stop, without waiting (stop() then joins it):
  // the process's stacks are all asked before any is joined, so that they
  // flush together. Any thread but its own; no effect in run to completion.
  void request_stop() noexcept;
  StackThread(const StackThread&) = delete;
  StackThread& operator=(const StackThread&) = delete;
  // The process is about to end by a signal's default action (called from
  // that signal's handler: atomics and write(2) only). A stack thread runs
  // `last` (posted), leaves its loop, sends what is in flight as at exit
  // (finish_sends) and then waits for the end without touching the stack:
  // the program's threads run on meanwhile and may still hold its sockets.
  // flushed(): it has sent. No effect in run to completion.
  void end_for_signal(StackTask* last) noexcept;
  // Run to completion, the same from the handler itself, on the owner thread
  // and only while it is at rest between rounds in a waiting call (a socket
  // call, poll or epoll_wait): asleep there (low_power_mode lets it sleep), or
  // raising a deferred signal at its rest_point. lwIP's state is whole and
  // the thread holds no lock the flush takes (a blocked call's socket lock at
  // most). Runs last->fn, then finish_sends (they may allocate: not
  // async-signal-safe anywhere else). False, doing nothing, otherwise.
  bool end_at_rest(StackTask* last) noexcept;
  bool flushed() const noexcept { return flushed_.load(std::memory_order_acquire); }
  // Run to completion, a signal's default action found no owner at rest
  // (end_at_rest): the first owner to come to rest between the rounds of a
  // waiting call (rest_point) raises sig on itself, so that the handler runs
  // there, where end_at_rest may (Runtime::defer_signal). 0: asks no more.
  // Async-signal-safe (an atomic store); any thread.
  static void end_at_next_rest(int sig) noexcept { end_signal_.store(sig, std::memory_order_seq_cst); }
  // The owner thread, between the rounds of a waiting call (a blocked socket
  // call, poll/select, epoll_wait): where it would sleep, so nothing of
  // lwIP's, no lock of the stack's and no allocation of its is half done.
  // One relaxed load while no end is asked. Returns only if the signal did
  // not end the process (a handler of the program's put in meanwhile).
  void rest_point() noexcept {
    if (end_signal_.load(std::memory_order_relaxed) != 0) [[unlikely]] end_here();
  }
  // The calling thread owns this stack and waits between its rounds: asleep,
  // or in rest_point's raise. Async-signal-safe.
  bool at_rest_here() const noexcept {
    return rtc_ && on_this_thread() && (sleeping_.load() != 0 || resting_.load(std::memory_order_relaxed));
  }
  static constexpr std::uint64_t kExitLingerMs = 1000;  // finish_sends' bound

  // Any thread: queue t; it runs on the stack thread (t->fn(t)).
  void post(StackTask* t) noexcept;
  // Any thread but the stack's own: post t and wait until it ran.
  void run_sync(StackTask* t) noexcept;
  bool on_this_thread() const noexcept { return std::this_thread::get_id() == owner_id_; }
  int index() const noexcept { return index_; }
  // The stacks this one belongs to, or nullptr. Any thread.
  StackGroup* group() const noexcept { return group_; }
  // Any thread: ends the stack's sleep, if it sleeps (a frame or task for it
  // is queued already).
  void nudge() noexcept;
  // Counters of the stack (see gz/wire.hpp for the read rules).
  const wire::StackCounters* counters() const noexcept { return counters_; }
  // The stack's capture tap (valid while this StackThread lives). Any thread.
  CaptureTap* tap() const noexcept { return tap_; }
  // The stack's latency recording (valid while this StackThread lives). Any thread.
  LatencyStats* latency() const noexcept { return latency_; }

  // Transmit mbufs the application fills (one copy on send). They come from
  // the stack's pool, so a budget of half of it keeps senders from taking
  // the mbufs received ACKs need. Any thread: take up to n (returns how many:
  // 0 when the budget is spent), give back what was taken and not queued.
  // lwIP's frees come back through the stack's rounds.
  rte_mempool* tx_pool() const noexcept { return tx_pool_; }
  std::uint32_t take_tx_budget(std::uint32_t n) noexcept;
  void give_tx_budget(std::uint32_t n) noexcept { tx_budget_.fetch_add(n, std::memory_order_release); }
  // Stack thread: the mbufs lwIP let go so far (this_thread_state().
  // tx_mbufs_freed) back into the budget now; every round ends with it, and a
  // socket that frees many in one go need not wait for the round's end.
  void return_freed_tx() noexcept;
  bool tx_budget_left() const noexcept { return tx_budget_.load(std::memory_order_relaxed) > 0; }
  std::int64_t tx_budget() const noexcept { return tx_budget_.load(std::memory_order_relaxed); }
  // Under an eighth of the budget left: the stack copies what senders queue
  // into lwIP's memory (the mbufs come back at once) instead of keeping the
  // mbufs until the peer acknowledges, so that peers that stop reading
  // cannot hold every sender of the stack up.
  bool tx_budget_low() const noexcept { return tx_budget_.load(std::memory_order_relaxed) < tx_budget_full_ / 8; }
  // Stack thread: fn(ctx) once a round gave mbufs back with budget left, or
  // after kTxWaitMs (the pool may have been short for another reason); false
  // without memory to remember it: the caller wakes its sender at once.
  // forget_tx_budget_wait(ctx) before ctx goes away.
  bool wait_tx_budget(void (*fn)(void*), void* ctx) noexcept;
  void forget_tx_budget_wait(void* ctx) noexcept;

  // A snapshot of the stack for the control socket, waited for at most
  // timeout_ms. Any thread but the stack's. False (out holds only the CPU)
  // when the stack did not answer in time, or without memory.
  bool snapshot(wire::CtlStackStats& out, long timeout_ms) noexcept;
  // Every TCP and UDP socket of the stack (gazellectl's -c), waited for as
  // snapshot(). False (out empty) when the stack did not answer in time.
  bool connections(std::vector<wire::CtlConn>& out, long timeout_ms) noexcept;
  int cpu() const noexcept { return cpu_; }
  // low_power_mode of this stack from now on (gazellectl lstack set lowpower). Any thread.
  void set_low_power(bool on) noexcept;
  bool low_power() const noexcept { return low_power_.load(std::memory_order_relaxed); }
  // Application threads: an accepted connection went back to its listener's
  // queue for want of an fd (shown as accept_fd_limit).
  void count_accept_fd_limit() noexcept { accept_fd_limit_.fetch_add(1, std::memory_order_relaxed); }

  // Marks a finished task and wakes its waiter (stack thread).
  static void complete(StackTask* t) noexcept;

 private:
  explicit StackThread(int index) : index_(index) {}
  void main(Setup setup);
  unsigned run_tasks() noexcept;
  // Stopping: drives the stack until no connection has data or a FIN unacknowledged, at most kExitLingerMs.
  void finish_sends() noexcept;
  void wait_for_the_end() noexcept;  // end_for_signal, once flushed
  void idle(unsigned& idle_rounds) noexcept;
  // One round of a stack thread's loop: drive(), or idle() when it found nothing.
  void step(unsigned& idle_rounds) noexcept;
  void sleep_idle(long us);  // a cancellation point inside a CancelPoint
  void end_here() noexcept;  // rest_point, with an end asked
  void bind_stack(Stack* s) noexcept;  // the pointers any thread reads, once the stack is up

  int index_;
  std::thread thread_;
  MpscQueue<StackTask> tasks_;
  // One round of the Stack unless rx is still held (Setup::rx_open).
  unsigned poll_stack() noexcept;

  const std::atomic<bool>* rx_open_ = nullptr;
  StackGroup* group_ = nullptr;
  std::atomic<bool> stop_{false};
  std::atomic<bool> dying_{false}, flushed_{false};  // end_for_signal
  inline static std::atomic<int> end_signal_{0};  // end_at_next_rest
  std::atomic<bool> resting_{false};              // owner: raising end_signal_ at a rest point
  std::atomic<std::uint32_t> sleeping_{0};   // 1 while the stack sleeps: post() then writes wake_fd_
  int wake_fd_ = -1;                         // eventfd (created by start() / adopt())
  int rx_fd_ = -1;                           // the device's rx_wait_fd(), or -1
  bool rx_woke_ = false;                     // owner: the last sleep ended for rx_fd_, no work since
  // Owner, polling on: idle rounds between sched_yield()s (kYieldEveryMin while
  // the yields run someone else, doubling to kYieldEveryMax while they come
  // straight back), and what "straight back" is in TSC cycles (both set by
  // bind_stack, before the first round).
  unsigned yield_every_ = 0;
  std::uint64_t quick_yield_cycles_ = 0;
  bool yield_due(unsigned idle_rounds) const noexcept;
  void yield_cpu() noexcept;
  void wake_handed() noexcept;  // nudge() the stacks this round handed frames to
  bool open_wake_fd() noexcept;
  void drain_wake_fd() noexcept;
  void wake_sleeper() noexcept;
  std::atomic<int> started_{0};              // 0 starting, 1 up, -1 failed
  Error start_error_;
  const wire::StackCounters* counters_ = nullptr;
  CaptureTap* tap_ = nullptr;
  LatencyStats* latency_ = nullptr;
  Stack* stack_ = nullptr;  // stack thread only
  rte_mempool* tx_pool_ = nullptr;
  std::atomic<std::int64_t> tx_budget_{0};
  std::int64_t tx_budget_full_ = 0;
  // Stack thread only: senders waiting for mbufs, since tx_wait_since_ (rte_rdtsc);
  // tx_woken_ keeps the other vector's memory for the next ones.
  std::vector<std::pair<void (*)(void*), void*>> tx_budget_waiters_, tx_woken_;
  std::uint64_t tx_wait_since_ = 0;
  bool round_freed_tx_ = false;     // stack thread: this round gave tx mbufs back (return_freed_tx)
  std::uint64_t last_drive_ = 0;    // rte_rdtsc at the last drive()
  std::uint64_t stale_cycles_ = 0;  // drive_if_stale's 20 µs in TSC cycles
  void wake_tx_waiters(bool freed) noexcept;
  std::atomic<bool> low_power_{false};
  bool rtc_ = false;
  std::thread::id owner_id_;
  std::unique_ptr<Stack> rtc_stack_;  // RTC only: the stack the owner thread drives
  // RTC only: shared with the owner thread's exit hook (arm_owner_exit), which
  // finishes the stack's sends if the owner ends first; ~StackThread unhooks it.
  struct OwnerExit;
  std::shared_ptr<OwnerExit> owner_exit_;
  void arm_owner_exit() noexcept;
  void owner_done() noexcept;  // RTC, on the owner thread as it ends: finish_sends, then no longer its stack
  int cpu_ = -1;
  std::atomic<std::uint64_t> accept_fd_limit_{0};
};

// Futex helpers (Linux): wait while *word == expected, up to timeout_us (<0: forever).
void futex_wait(std::atomic<std::uint32_t>* word, std::uint32_t expected, long timeout_us) noexcept;
void futex_wake(std::atomic<std::uint32_t>* word, int count) noexcept;
// futex_wait for waiters of one kind among several on a word
// (FUTEX_WAIT_BITSET): woken by futex_wake_bits with a bit of theirs, or by
// any futex_wake. bits != 0. A cancellation point (inside a gz::CancelPoint):
// a cancel unwinds from it; nothing of the caller's may need cleaning but
// through RAII.
void futex_wait_bits_cancellable(std::atomic<std::uint32_t>* word, std::uint32_t expected, long timeout_us,
                                 std::uint32_t bits);
void futex_wake_bits(std::atomic<std::uint32_t>* word, std::uint32_t bits) noexcept;

}  // namespace gz::stack
