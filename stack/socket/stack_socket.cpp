#include "stack_socket.hpp"

#include "sock_util.hpp"

namespace gz::stack {

StackSocket::StackSocket(StackThread& owner) noexcept : owner_(owner) {
  if (owner.rtc()) driver_ = &owner;
  service_node_.self = this;
  service_node_.fn = [](StackTask* t) { static_cast<ServiceNode*>(t)->self->service(); };
  close_node_.self = this;
  close_node_.fn = [](StackTask* t) {
    StackSocket* self = static_cast<ServiceNode*>(t)->self;
    self->closing_.store(true, std::memory_order_seq_cst);
    // The close runs now, not in a service posted behind whatever was posted
    // meanwhile: at exit, lstack's close of what the program left open
    // (posted after the program's last closes) would otherwise come first,
    // and reset the queue of a listener nginx had just closed instead of its
    // close handing the queue to another worker behind ltran. If a service is
    // queued already, it does the close, as before.
    if (!self->service_queued_.exchange(true, std::memory_order_seq_cst)) self->service();
  };
}

void StackSocket::note_tx_starved() noexcept {
  if (tx_parked_ || closing_.load()) return;
  if (owner_.wait_tx_budget(on_tx_budget, this)) {
    tx_parked_ = true;
    return;
  }
  on_tx_budget(this);
}

void StackSocket::on_tx_budget(void* arg) {
  auto* self = static_cast<StackSocket*>(arg);
  self->tx_parked_ = false;
  self->tx_starved_.store(false);
  self->raise(EPOLLOUT);
}

void StackSocket::forget_tx_wait() noexcept {
  if (!tx_parked_) return;
  owner_.forget_tx_budget_wait(this);
  tx_parked_ = false;
}

void StackSocket::schedule_service() noexcept {
  if (!service_queued_.exchange(true, std::memory_order_seq_cst)) owner_.post(&service_node_);
}

int StackSocket::getsockname(sockaddr* addr, socklen_t* len) noexcept {
  sockaddr_in in = local_;
  in.sin_family = AF_INET;
  sockaddr_in_to(in, addr, len);
  return 0;
}

}  // namespace gz::stack
