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

// Wake-ups a stack round defers to its end (WakeBatch): one per socket that
// became ready, however many segments made it so.
struct DeferredWake {
  void (*wake)(void*);
  void* target;
};

struct ThreadState {
  // What ThreadState owns is freed when the thread exits (see own()).
  // Dropped in this order: the run-to-completion stack's last flush first.
  enum Owned { kRtcExit, kPollWaiter, kSendfileBuffer, kPollScratch, kOwnedCount };
  static constexpr int kMaxDeferredWakes = 64;

  stack::Stack* stack = nullptr;       // core: the Stack this thread runs (Stack::current)
  stack::StackThread* rtc = nullptr;   // core: run to completion, the stack this thread drives
  stack::LwipArena* arena = nullptr;   // lwip_port: this thread's lwIP heap
  std::uint64_t rand_state = 0;        // lwip_port: LWIP_RAND's xorshift64* state
  bool hosted_lwip = false;            // lwip_port: an lwIP instance lived here (one per thread)
  std::uint32_t tx_mbufs_freed = 0;    // lwip_port: application-filled tx mbufs lwIP let go (core returns them to the budget)
  bool kernel_only = false;            // runtime: lstack's own thread, or lstack starting here
  bool replaying = false;              // runtime: deferred listeners being replayed here
  int app_cancel_state = -1;           // base: the app's cancel state in the innermost CallScope (-1: none)
  void* owned[kOwnedCount] = {};       // socket: poll's Waiter and arrays; preload: sendfile's buffer
  void (*drop[kOwnedCount])(void*) = {};
  bool batching = false;               // core: inside a stack round (WakeBatch)
  int deferred_count = 0;
  DeferredWake deferred[kMaxDeferredWakes] = {};  // socket: wake-ups due at the round's end

  // Hands p to the thread: drop(p) runs when the thread exits. Returns false
  // (and drops nothing) when the exit hook cannot be armed.
  bool own(Owned slot, void* p, void (*drop_fn)(void*)) noexcept;
};

extern thread_local constinit ThreadState t_thread_state;

inline ThreadState& this_thread_state() noexcept { return t_thread_state; }

// A stack round (rx burst, tasks, timers): the wake-ups it causes are sent
// once per target at its end (RAII), not once per segment.
class WakeBatch {
 public:
  WakeBatch() noexcept : ts_(this_thread_state()) { ts_.batching = true; }
  ~WakeBatch() { flush(); }
  WakeBatch(const WakeBatch&) = delete;
  WakeBatch& operator=(const WakeBatch&) = delete;

 private:
  void flush() noexcept;
  ThreadState& ts_;
};

// Inside a WakeBatch: queues wake(target) for the round's end and returns
// true; false (the caller wakes now) outside one or when the batch is full.
bool defer_wake(void (*wake)(void*), void* target) noexcept;
// Drops target's queued wake-up (it is being destroyed on this thread).
void cancel_deferred_wake(void* target) noexcept;

}  // namespace gz
