// Thread cancellation (pthread_cancel) through lstack's calls.
//
// POSIX (XSH 2.9.5.2) makes read, recv*, send*, accept, connect, epoll_wait,
// poll, select... cancellation points. lstack keeps them so, and makes nothing
// else one: inside lstack cancellation is off (its own C library calls, DPDK's
// start, a task waited for on a stack thread must never unwind half-way), and
// it is on again, as the application had it, only
//   - around the C library's own call when the fd is the kernel's (KernelCall),
//   - around the one sleep of a blocking lstack call (CancelPoint).
// A cancel acting there unwinds (abi::__forced_unwind) through the frames up to
// the interposed call: none of them is noexcept or catches it, and each keeps
// its state in RAII guards, so cleanup handlers run and the thread is joinable.
// Thread: each object belongs to the thread that made it. Errors: none.
#pragma once

#include <pthread.h>

#include <utility>

namespace gz {

// One per interposed call that enters lstack (the trampoline makes it):
// cancellation off until it ends, the application's state remembered.
// cancellation_point: false for the calls the C library declares noexcept
// (sendfile, socket, bind...): no cancel may act inside those, even where
// lstack would wait (a blocking sendfile), or the unwinding would end the
// process.
class CallScope {
 public:
  explicit CallScope(bool cancellation_point) noexcept;
  ~CallScope();
  CallScope(const CallScope&) = delete;
  CallScope& operator=(const CallScope&) = delete;

 private:
  int old_state_;
  int saved_app_;  // the enclosing scope's (a signal handler may nest one)
};

// Around the application's own C library call inside a CallScope: the
// application's cancellation state while it runs.
class KernelCall {
 public:
  KernelCall() noexcept;
  ~KernelCall();
  KernelCall(const KernelCall&) = delete;
  KernelCall& operator=(const KernelCall&) = delete;

 private:
  bool on_;
};

// Around one sleep of a blocking lstack call: a pending cancel acts when it
// begins, an arriving one inside the sleep, when the application has
// cancellation on. The sleep is a C library cancellation point (epoll_pwait,
// ppoll) or futex_wait_bits_cancellable (stack_thread.hpp).
class CancelPoint {
 public:
  CancelPoint() noexcept;
  ~CancelPoint();
  CancelPoint(const CancelPoint&) = delete;
  CancelPoint& operator=(const CancelPoint&) = delete;

 private:
  bool on_;
};

// The C library's call fn(args...) for the application (the fd is not lstack's).
template <class F, class... A>
auto app_call(F fn, A&&... args) {
  KernelCall on;
  return fn(std::forward<A>(args)...);
}

}  // namespace gz
