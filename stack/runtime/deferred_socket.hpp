// DeferredSocket: a socket the program opened before lstack started.
//
// Starting lstack (EAL, port, stack threads) is put off until the program
// first needs the data path: a server that binds and listens and then forks
// its workers (nginx) must start lstack in the worker, never in the master,
// because threads, the port and its queues do not survive fork(). Until then
// this object records bind, listen, options and O_NONBLOCK; start() creates
// the real socket (starting lstack), replays them, and from then on every
// call is forwarded to it. Thread: any; start() is serialized internally.
#pragma once

#include <netinet/in.h>

#include <cstdint>
#include <mutex>
#include <vector>

#include "gz/socket.hpp"

namespace gz::stack {

class Process;

class DeferredSocket final : public SocketBase {
 public:
  // process: whose runtime start() starts (it outlives every socket).
  DeferredSocket(Process& process, int type, int protocol) noexcept;

  Result<SocketBase*> start() noexcept override;
  SocketBase* real() noexcept override;  // nullptr until started
  // Starts every deferred socket that is bound or listening (run once, when
  // lstack has started and before its stacks take packets in).
  static void start_listeners() noexcept;

  int bind(const sockaddr* addr, socklen_t len) noexcept override;
  int listen(int backlog) noexcept override;
  int accept(SocketBase** out, sockaddr* addr, socklen_t* len) override;
  int connect(const sockaddr* addr, socklen_t len) override;
  ssize_t recv(const iovec* iov, int iovcnt, int flags, sockaddr* from, socklen_t* fromlen) override;
  ssize_t send(const iovec* iov, int iovcnt, int flags, const sockaddr* to, socklen_t tolen) override;
  int shutdown(int how) noexcept override;
  void close() noexcept override;
  int getsockname(sockaddr* addr, socklen_t* len) noexcept override;
  int getpeername(sockaddr* addr, socklen_t* len) noexcept override;
  // Before start: SO_TYPE, SO_DOMAIN, SO_PROTOCOL, SO_ERROR, SO_ACCEPTCONN;
  // -ENOPROTOOPT for the rest (the shim asks the kernel fd, which mirrors them).
  int getsockopt(int level, int name, void* val, socklen_t* len) noexcept override;
  // Before start: recorded as given (the shim has had the kernel validate it).
  int setsockopt(int level, int name, const void* val, socklen_t len) noexcept override;
  int readable_bytes() noexcept override;

 private:
  struct Option {
    int level, name;
    std::vector<std::uint8_t> value;
  };
  Result<SocketBase*> start_locked();

  Process& process_;
  const int type_, protocol_;
  std::mutex mu_;
  SocketBase* real_ = nullptr;
  bool bound_ = false, listening_ = false;
  int backlog_ = 0;
  sockaddr_in local_{};
  std::vector<Option> options_;
};

}  // namespace gz::stack
