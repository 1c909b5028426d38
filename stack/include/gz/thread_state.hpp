// ThreadState: everything lstack keeps per thread, in one thread-local.
//
// One initial-exec TLS block per thread (the library is loaded at program
// start), reached by this_thread_state(): a single %fs-relative access, no
// wrapper call (constinit). Each layer owns its fields; lwIP's own globals are
// per-thread through LWIP_PER_THREAD (the lwIP patch series), not here.
// Thread: the calling thread's own state only.
#pragma once

#include <cstdint>

namespace gz {
namespace stack {
class Stack;
class StackThread;
class LwipArena;
}  // namespace stack

struct ThreadState {
  // What ThreadState owns is freed when the thread exits (see own()).
  enum Owned { kPollWaiter, kSendfileBuffer, kOwnedCount };

  stack::Stack* stack = nullptr;       // core: the Stack this thread runs (Stack::current)
  stack::StackThread* rtc = nullptr;   // core: run to completion, the stack this thread drives
  stack::LwipArena* arena = nullptr;   // lwip_port: this thread's lwIP heap
  std::uint64_t rand_state = 0;        // lwip_port: LWIP_RAND's xorshift64* state
  bool hosted_lwip = false;            // lwip_port: an lwIP instance lived here (one per thread)
  bool kernel_only = false;            // runtime: lstack's own thread, or lstack starting here
  bool replaying = false;              // runtime: deferred listeners being replayed here
  int app_cancel_state = -1;           // base: the app's cancel state in the innermost CallScope (-1: none)
  void* owned[kOwnedCount] = {};       // socket: poll's Waiter; preload: sendfile's buffer
  void (*drop[kOwnedCount])(void*) = {};

  // Hands p to the thread: drop(p) runs when the thread exits. Returns false
  // (and drops nothing) when the exit hook cannot be armed.
  bool own(Owned slot, void* p, void (*drop_fn)(void*)) noexcept;
};

extern thread_local constinit ThreadState t_thread_state;

inline ThreadState& this_thread_state() noexcept { return t_thread_state; }

}  // namespace gz
