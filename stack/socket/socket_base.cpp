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

void Waiter::disarm() noexcept {
  armed_.store(false, std::memory_order_seq_cst);
  std::uint64_t v;
  while (kernel().read(efd_, &v, sizeof v) == static_cast<ssize_t>(sizeof v)) {
  }
}

void Waiter::notify(int cookie) noexcept {
  if (sink_ != nullptr && cookie >= 0) sink_(sink_ctx_, cookie);
  if (armed_.load(std::memory_order_seq_cst) && armed_.exchange(false)) {
    const std::uint64_t one = 1;
    (void)!kernel().write(efd_, &one, sizeof one);
  }
}

bool SocketBase::attach(Waiter* w, int cookie) noexcept {
  std::lock_guard lock(waiters_mu_);
  for (int i = 0; i < kMaxWaiters; ++i) {
    if (waiters_[i] == nullptr) {
      waiters_[i] = w;
      cookies_[i] = cookie;
      return true;
    }
  }
  return false;
}

void SocketBase::detach(Waiter* w) noexcept {
  std::lock_guard lock(waiters_mu_);
  for (auto& slot : waiters_) {
    if (slot == w) slot = nullptr;
  }
}

void SocketBase::detach(Waiter* w, int cookie) noexcept {
  std::lock_guard lock(waiters_mu_);
  for (int i = 0; i < kMaxWaiters; ++i) {
    if (waiters_[i] == w && cookies_[i] == cookie) {
      waiters_[i] = nullptr;
      return;
    }
  }
}

SocketBase::~SocketBase() {
  if (wake_queued_.load(std::memory_order_relaxed)) cancel_deferred_wake(this);  // destroyed in the round that raised it
}

// The readiness bits change at once; the wake-up waits for the end of the
// stack round when there is one (a burst of segments wakes the reader once).
void SocketBase::raise(std::uint32_t bits) noexcept {
  events_.fetch_or(bits, std::memory_order_seq_cst);
  wait_seq_.fetch_add(1, std::memory_order_seq_cst);
  if (wake_queued_.load(std::memory_order_seq_cst)) return;
  if (defer_wake([](void* s) { static_cast<SocketBase*>(s)->wake_now(); }, this)) {
    wake_queued_.store(true, std::memory_order_seq_cst);
    return;
  }
  wake_now();
}

void SocketBase::wake_now() noexcept {
  wake_queued_.store(false, std::memory_order_seq_cst);
  if (sleepers_.load(std::memory_order_seq_cst) != 0) futex_wake(&wait_seq_, INT32_MAX);
  std::lock_guard lock(waiters_mu_);
  for (int i = 0; i < kMaxWaiters; ++i) {
    if (waiters_[i] != nullptr) waiters_[i]->notify(cookies_[i]);
  }
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

bool SocketBase::wait_event(std::uint32_t seen_seq, long timeout_ms) {
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
  // Counted while asleep, also when a cancel unwinds from the sleep.
  struct Sleeper {
    std::atomic<std::uint32_t>& n;
    explicit Sleeper(std::atomic<std::uint32_t>& c) : n(c) { n.fetch_add(1, std::memory_order_seq_cst); }
    ~Sleeper() { n.fetch_sub(1, std::memory_order_seq_cst); }
  } sleeper(sleepers_);
  while (wait_seq_.load(std::memory_order_seq_cst) == seen_seq) {
    long us = 100000;  // re-check periodically: bounded waits, never a lost wake-up
    if (timeout_ms >= 0) {
      const auto left = std::chrono::duration_cast<std::chrono::microseconds>(deadline - clock::now()).count();
      if (left <= 0) return false;
      us = std::min<long>(us, left);
    }
    CancelPoint cancel;
    futex_wait_cancellable(&wait_seq_, seen_seq, us);
  }
  return true;
}

}  // namespace gz::stack
