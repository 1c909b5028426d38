#include <sched.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>

#include "gz/cancel.hpp"
#include "gz/kernel.hpp"
#include "gz/socket.hpp"
#include "gz/thread_state.hpp"
#include "stack_thread.hpp"

namespace gz::stack {

Waiter::Waiter() noexcept : efd_(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {}

Waiter::~Waiter() {
  if (efd_ >= 0) kernel().close(efd_);
}

void Waiter::disarm(bool seen) noexcept {
  // Still armed: no notify() took the flag, so none wrote during this sleep.
  // One that took it may write after our drain: the next sleep then sees
  // the eventfd readable (seen) and drains it then.
  if (armed_.exchange(false, std::memory_order_seq_cst) && !seen) return;
  std::uint64_t v;
  (void)!kernel().read(efd_, &v, sizeof v);  // one read takes the whole count (not EFD_SEMAPHORE)
}

void Waiter::notify(int cookie) noexcept {
  if (sink_ != nullptr && cookie >= 0) sink_(sink_ctx_, cookie);
  if (armed_.load(std::memory_order_seq_cst) && armed_.exchange(false)) {
    const std::uint64_t one = 1;
    (void)!kernel().write(efd_, &one, sizeof one);
  }
}

namespace {
// A slot taken by attach() while it writes the cookie: skipped by wake_now.
Waiter* const kFilling = reinterpret_cast<Waiter*>(alignof(Waiter));
// What wakes a reader (recv, accept) and a writer (send, connect) asleep in
// wait_event; each kind sleeps on its own futex bit, so a reader blocked in
// recv() on one thread sleeps through the room a send() on another is given.
constexpr std::uint32_t kReaderBits = EPOLLIN | EPOLLPRI | EPOLLRDHUP | EPOLLERR | EPOLLHUP;
constexpr std::uint32_t kWriterBits = EPOLLOUT | EPOLLERR | EPOLLHUP;
constexpr std::uint32_t kWakeReaders = 1, kWakeWriters = 2;
}  // namespace

void SocketBase::quiesce() const noexcept {
  // seq_cst against wake_now's increment: either it counted before we look
  // (we wait for it) or it reads the slots after our store (and sees it).
  while (notifying_.load(std::memory_order_seq_cst) != 0) sched_yield();
}

bool SocketBase::attach(Waiter* w, int cookie) noexcept {
  for (int i = 0; i < kMaxWaiters; ++i) {
    Waiter* expected = nullptr;
    if (!waiters_[i].compare_exchange_strong(expected, kFilling, std::memory_order_seq_cst)) continue;
    quiesce();  // a wake-up that read this slot's last waiter may still read its cookie
    cookies_[i].store(cookie, std::memory_order_relaxed);
    waiters_[i].store(w, std::memory_order_release);
    // Against a raise that saw the slot still filling: either it set its
    // bits before this fence (the caller's events() read after sees them)
    // or it reads the slot after (and notifies w). Store-load: needs seq_cst.
    std::atomic_thread_fence(std::memory_order_seq_cst);
    return true;
  }
  return false;
}

void SocketBase::detach_where(Waiter* w, std::optional<int> cookie) noexcept {
  bool any = false;
  for (int i = 0; i < kMaxWaiters; ++i) {
    if (waiters_[i].load(std::memory_order_acquire) != w) continue;
    if (cookie && cookies_[i].load(std::memory_order_relaxed) != *cookie) continue;
    // Only w's own attachment: a signal handler's poll sharing the waiter
    // may have cleared it meanwhile, and another thread reused the slot.
    Waiter* expected = w;
    if (!waiters_[i].compare_exchange_strong(expected, nullptr, std::memory_order_seq_cst)) continue;
    any = true;
    if (cookie) break;
  }
  if (any) quiesce();
}

void SocketBase::detach(Waiter* w) noexcept { detach_where(w, std::nullopt); }

void SocketBase::detach(Waiter* w, int cookie) noexcept { detach_where(w, cookie); }

SocketBase::~SocketBase() {
  if (wake_queued_.load(std::memory_order_relaxed)) cancel_deferred_wake(this);  // destroyed in the round that raised it
}

// The readiness bits change at once; the wake-up waits for the end of the
// stack round when there is one (a burst of segments wakes the reader once).
void SocketBase::raise(std::uint32_t bits) noexcept {
  events_.fetch_or(bits, std::memory_order_seq_cst);
  wait_seq_.fetch_add(1, std::memory_order_seq_cst);
  wake_bits_.fetch_or(bits, std::memory_order_seq_cst);  // before the look: a queued wake-up sees them
  if (wake_queued_.load(std::memory_order_seq_cst)) return;
  // Only the queued wake-up clears the flag: a direct one from another thread
  // meanwhile must not, or a close() in the same round would leave the queued
  // one to run on a freed socket (~SocketBase cancels it only while flagged).
  auto queued = [](void* p) {
    auto* s = static_cast<SocketBase*>(p);
    s->wake_queued_.store(false, std::memory_order_seq_cst);
    s->wake_now();
  };
  if (defer_wake(queued, this)) {
    wake_queued_.store(true, std::memory_order_seq_cst);
    return;
  }
  wake_now();
}

void SocketBase::wake_now() noexcept {
  // A raise after the queued wake-up cleared its flag wakes by itself; one
  // before it left its bits for the exchange. The sleepers' counts are read
  // after the bits' raise bumped wait_seq_: a sleeper counted later sees the
  // new sequence.
  const std::uint32_t bits = wake_bits_.exchange(0, std::memory_order_seq_cst);
  std::uint32_t who = 0;  // the kinds of sleepers that wait for one of them
  if ((bits & kReaderBits) != 0 && sleepers_in_.load(std::memory_order_seq_cst) != 0) who |= kWakeReaders;
  if ((bits & kWriterBits) != 0 && sleepers_out_.load(std::memory_order_seq_cst) != 0) who |= kWakeWriters;
  if (who != 0) futex_wake_bits(&wait_seq_, who);
  notifying_.fetch_add(1, std::memory_order_seq_cst);
  for (int i = 0; i < kMaxWaiters; ++i) {
    Waiter* w = waiters_[i].load(std::memory_order_seq_cst);
    if (w != nullptr && w != kFilling) w->notify(cookies_[i].load(std::memory_order_relaxed));
  }
  notifying_.fetch_sub(1, std::memory_order_release);
}

void SocketBase::drive_if_owner() noexcept {
  if (driver_ != nullptr && driver_->on_this_thread()) driver_->drive();
}

bool SocketBase::drive_if_stale() noexcept {
  return driver_ != nullptr && driver_->on_this_thread() && driver_->drive_if_stale();
}

bool SocketBase::drive_once(bool& driven) noexcept {
  if (driven || driver_ == nullptr || !driver_->on_this_thread()) return false;
  driver_->drive();
  driven = true;
  return true;
}

bool SocketBase::wait_event(std::uint32_t seen_seq, long timeout_ms, std::uint32_t interest) {
  using clock = std::chrono::steady_clock;
  const auto deadline = clock::now() + std::chrono::milliseconds(timeout_ms < 0 ? 0 : timeout_ms);
  if (driver_ != nullptr && driver_->on_this_thread()) {  // run to completion: we are the stack
    unsigned idle = 0;
    while (wait_seq_.load(std::memory_order_seq_cst) == seen_seq) {
      long left_us = 1000;
      if (timeout_ms >= 0) {
        left_us = std::chrono::duration_cast<std::chrono::microseconds>(deadline - clock::now()).count();
        if (left_us <= 0) return false;
      }
      driver_->drive_waiting(idle, left_us);
    }
    return true;
  }
  // Not yet counted as a sleeper: a raise meanwhile makes no futex_wake.
  if (yield_until([&] { return wait_seq_.load(std::memory_order_seq_cst) != seen_seq; })) return true;
  const bool writer = (interest & EPOLLOUT) != 0;
  // Counted while asleep, also when a cancel unwinds from the sleep.
  struct Sleeper {
    std::atomic<std::uint32_t>* n;
    explicit Sleeper(std::atomic<std::uint32_t>* c) : n(c) { n->fetch_add(1, std::memory_order_seq_cst); }
    ~Sleeper() { n->fetch_sub(1, std::memory_order_seq_cst); }
  } sleeper(writer ? &sleepers_out_ : &sleepers_in_);
  while (wait_seq_.load(std::memory_order_seq_cst) == seen_seq) {
    // Re-check periodically: bounded waits, never a lost wake-up (a raise of
    // no interest moves the sequence without waking: seen at the next look).
    long us = 100000;
    if (timeout_ms >= 0) {
      const auto left = std::chrono::duration_cast<std::chrono::microseconds>(deadline - clock::now()).count();
      if (left <= 0) return false;
      us = std::min<long>(us, left);
    }
    CancelPoint cancel;
    futex_wait_bits_cancellable(&wait_seq_, seen_seq, us, writer ? kWakeWriters : kWakeReaders);
  }
  return true;
}

}  // namespace gz::stack
