// Threads lstack starts for itself (stack threads, the control server, the
// capture writer, the ltran watcher)
// take none of the program's signals: a handler of the program's must not run
// on them, not even before their first instruction, and a write that breaks
// (EPIPE) is an errno there, never SIGPIPE.
// Thread: any; the caller's own mask is as it was on return.
#pragma once

#include <pthread.h>
#include <signal.h>

#include <thread>
#include <utility>

namespace gz {

// A std::thread running f, started with every asynchronous signal blocked
// (it inherits the mask). The synchronous ones stay open: a fault of its own
// (SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP, SIGSYS) or abort() reaches the
// program's handler, a crash reporter or a sanitizer as from any thread.
// Throws what std::thread throws (std::system_error: EAGAIN).
template <class F>
std::thread start_thread_without_signals(F&& f) {
  sigset_t all, old;
  sigfillset(&all);
  for (int sync : {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP, SIGSYS, SIGABRT}) sigdelset(&all, sync);
  pthread_sigmask(SIG_BLOCK, &all, &old);
  struct Restore {
    sigset_t mask;
    ~Restore() { pthread_sigmask(SIG_SETMASK, &mask, nullptr); }
  } restore{old};
  return std::thread(std::forward<F>(f));
}

}  // namespace gz
