// Control calls of a TcpSocket, carried to the stack thread (internal).
#pragma once

#include <netinet/in.h>
#include <netinet/tcp.h>

#include "tcp_socket.hpp"

namespace gz::stack {

struct TcpSocket::Task : StackTask {
  enum class Op { Bind, Listen, Connect, SetOpt, Info, Shutdown, Unlisten } op;
  TcpSocket* self = nullptr;
  sockaddr_in addr{};
  int level = 0, name = 0, value = 0;
  tcp_info* info = nullptr;
  int result = 0;

  static void run_on_stack(StackTask* t) {
    auto* task = static_cast<Task*>(t);
    task->result = task->self->exec(*task);
    StackThread::complete(t);
  }
};

}  // namespace gz::stack
