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

  StackThread& owner_;
  std::atomic<bool> closing_{false};
  sockaddr_in local_{}, peer_{};
  long rcvtimeo_ms_ = -1, sndtimeo_ms_ = -1;  // -1: none (SO_RCVTIMEO / SO_SNDTIMEO)

 private:
  struct ServiceNode : StackTask {
    StackSocket* self = nullptr;
  } service_node_, close_node_;
  std::atomic<bool> service_queued_{false};
};

}  // namespace gz::stack
