#include "gz/thread_state.hpp"

#include <pthread.h>

namespace gz {

thread_local constinit ThreadState t_thread_state;

namespace {

pthread_key_t g_exit_key;
bool g_exit_key_ok = false;

// At thread exit (a pthread key destructor: after the thread's last call,
// whatever ended it): frees what the thread owned.
void drop_owned(void* arg) {
  auto* ts = static_cast<ThreadState*>(arg);
  for (int i = 0; i < ThreadState::kOwnedCount; ++i) {
    if (ts->owned[i] != nullptr && ts->drop[i] != nullptr) ts->drop[i](ts->owned[i]);
    ts->owned[i] = nullptr;
  }
}

}  // namespace

void WakeBatch::flush() noexcept {
  ts_.batching = false;
  // A wake may run code that queues no more (batching is off): the list is stable.
  for (int i = 0; i < ts_.deferred_count; ++i) ts_.deferred[i].wake(ts_.deferred[i].target);
  ts_.deferred_count = 0;
}

bool defer_wake(void (*wake)(void*), void* target) noexcept {
  ThreadState& ts = this_thread_state();
  if (!ts.batching || ts.deferred_count == ThreadState::kMaxDeferredWakes) return false;
  ts.deferred[ts.deferred_count++] = {wake, target};
  return true;
}

void cancel_deferred_wake(void* target) noexcept {
  ThreadState& ts = this_thread_state();
  for (int i = 0; i < ts.deferred_count; ++i) {
    if (ts.deferred[i].target == target) ts.deferred[i--] = ts.deferred[--ts.deferred_count];  // look at the one moved here
  }
}

bool ThreadState::own(Owned slot, void* p, void (*drop_fn)(void*)) noexcept {
  static pthread_once_t once = PTHREAD_ONCE_INIT;
  pthread_once(&once, [] { g_exit_key_ok = pthread_key_create(&g_exit_key, drop_owned) == 0; });
  if (!g_exit_key_ok || pthread_setspecific(g_exit_key, this) != 0) return false;
  owned[slot] = p;
  drop[slot] = drop_fn;
  return true;
}

}  // namespace gz
