#include "gz/cancel.hpp"

namespace gz {
namespace {
// The application's cancellation state when the innermost CallScope began;
// -1 outside every scope (stack threads, DPDK's threads, lstack's own work).
thread_local int t_app_state = -1;
}  // namespace

CallScope::CallScope(bool cancellation_point) noexcept : saved_app_(t_app_state) {
  pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &old_state_);
  t_app_state = cancellation_point ? old_state_ : PTHREAD_CANCEL_DISABLE;
}

CallScope::~CallScope() {
  t_app_state = saved_app_;
  pthread_setcancelstate(old_state_, nullptr);
}

KernelCall::KernelCall() noexcept : on_(t_app_state == PTHREAD_CANCEL_ENABLE) {
  if (on_) pthread_setcancelstate(PTHREAD_CANCEL_ENABLE, nullptr);
}

KernelCall::~KernelCall() {
  if (on_) pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, nullptr);
}

CancelPoint::CancelPoint() noexcept : on_(t_app_state == PTHREAD_CANCEL_ENABLE) {
  if (!on_) return;
  pthread_setcancelstate(PTHREAD_CANCEL_ENABLE, nullptr);
}

CancelPoint::~CancelPoint() {
  if (on_) pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, nullptr);
}

}  // namespace gz
