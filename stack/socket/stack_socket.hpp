// StackSocket: what every socket served by a stack thread shares (internal).
// Its owner; the service node that carries deferred work (data to send,
// buffers to free, a close) to the stack thread at most once at a time; the
// cached addresses and timeouts.
#pragma once

#include <netinet/in.h>

#include <atomic>

#include "gz/socket.hpp"
#include "stack_thread.hpp"

namespace gz::stack {

class StackSocket : public SocketBase {
 public:
  int getsockname(sockaddr* addr, socklen_t* len) noexcept override;

 protected:
  explicit StackSocket(StackThread& owner) noexcept;

  // Any thread: have service() run on the stack thread soon; requests made
  // before it starts are merged into that one run.
  void schedule_service() noexcept;
  // Stack thread: the deferred work. It starts with service_started() and may
  // delete the socket (after a close).
  virtual void service() noexcept = 0;
  void service_started() noexcept { service_queued_.store(false, std::memory_order_seq_cst); }
  // Application thread, its last touch of the socket (close): the stack sets
  // closing_ and runs service(), which deletes the socket once done with it.
  // closing_ is never set from the application: a service() running at that
  // moment would delete the socket under the application's schedule_service.
  void request_close() noexcept { owner_.post(&close_node_); }
  // The stack's tx budget (one copy on send): a sender that found no mbuf to
  // fill sets tx_starved_; the stack thread then parks the socket until a
  // round gets mbufs back, and its writer hears EPOLLOUT. Stack thread.
  void note_tx_starved() noexcept;
  // Stack thread, before the socket goes: no wake-up for it any more.
  void forget_tx_wait() noexcept;

  StackThread& owner_;
  std::atomic<bool> closing_{false};
  sockaddr_in local_{}, peer_{};
  long rcvtimeo_ms_ = -1, sndtimeo_ms_ = -1;  // -1: none (SO_RCVTIMEO / SO_SNDTIMEO)
  std::atomic<bool> tx_starved_{false};  // a send found the stack's tx budget spent (or its pool short)

 private:
  struct ServiceNode : StackTask {
    StackSocket* self = nullptr;
  } service_node_, close_node_;
  std::atomic<bool> service_queued_{false};
  bool tx_parked_ = false;  // stack thread: waiting for tx budget (StackThread::wait_tx_budget)
  static void on_tx_budget(void* arg);
};

}  // namespace gz::stack
