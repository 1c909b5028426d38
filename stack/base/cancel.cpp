#include "gz/cancel.hpp"

#include "gz/thread_state.hpp"

namespace gz {
namespace {
// The application's cancellation state when the innermost CallScope began;
// -1 outside every scope (stack threads, DPDK's threads, lstack's own work).
int& app_state() noexcept { return this_thread_state().app_cancel_state; }
}  // namespace

CallScope::CallScope(bool cancellation_point) noexcept : saved_app_(app_state()) {
  pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &old_state_);
  app_state() = cancellation_point ? old_state_ : PTHREAD_CANCEL_DISABLE;
}

CallScope::~CallScope() {
  app_state() = saved_app_;
  pthread_setcancelstate(old_state_, nullptr);
}

KernelCall::KernelCall() noexcept : on_(app_state() == PTHREAD_CANCEL_ENABLE) {
  if (on_) pthread_setcancelstate(PTHREAD_CANCEL_ENABLE, nullptr);
}

KernelCall::~KernelCall() {
  if (on_) pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, nullptr);
}

CancelPoint::CancelPoint() noexcept : on_(app_state() == PTHREAD_CANCEL_ENABLE) {
  if (!on_) return;
  pthread_setcancelstate(PTHREAD_CANCEL_ENABLE, nullptr);
}

CancelPoint::~CancelPoint() {
  if (on_) pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, nullptr);
}

}  // namespace gz
