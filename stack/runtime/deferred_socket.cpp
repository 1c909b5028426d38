#include "deferred_socket.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "process.hpp"
#include "runtime.hpp"
#include "sock_util.hpp"

namespace gz::stack {

namespace {
// Every deferred socket not yet closed: start_listeners() walks it (bound
// UDP sockets too, so that no datagram meets a port not open yet). Lock
// order: g_all_mu, then a socket's mu_.
std::mutex g_all_mu;
std::vector<DeferredSocket*> g_all;
}  // namespace

DeferredSocket::DeferredSocket(Process& process, int type, int protocol) noexcept
    : process_(process), type_(type), protocol_(protocol) {
  deferred_ = true;
  std::lock_guard lock(g_all_mu);
  try {
    g_all.push_back(this);
  } catch (...) {  // only the replay of its listen is lost: it starts at its first data call
  }
}

void DeferredSocket::start_listeners() noexcept {
  std::lock_guard all(g_all_mu);
  for (DeferredSocket* d : g_all) {
    std::lock_guard lock(d->mu_);
    if (d->real_ == nullptr && (d->listening_ || d->bound_)) {
      try {
        (void)d->start_locked();  // a failure shows at the socket's next call
      } catch (...) {
      }
    }
  }
}

SocketBase* DeferredSocket::real() noexcept {
  std::lock_guard lock(mu_);
  return real_;
}

Result<SocketBase*> DeferredSocket::start() noexcept {
  try {
    auto rt = process_.runtime();
    if (!rt) return rt.error();
    rt.value()->open_rx_once(&DeferredSocket::start_listeners);
    std::lock_guard lock(mu_);
    if (real_ != nullptr) return real_;
    return start_locked();
  } catch (...) {
    return make_error(ENOMEM, "out of memory while starting a deferred socket");
  }
}

// Creates the real socket and replays what the program did so far. A replay
// that fails (the port is taken inside lstack) fails the call that started it.
Result<SocketBase*> DeferredSocket::start_locked() {
  if (auto rt = process_.runtime(); !rt) return rt.error();
  auto made = open_socket(AF_INET, type_ | (nonblocking() ? SOCK_NONBLOCK : 0), protocol_);
  if (!made) return made.error();
  SocketBase* s = made.value();
  if (s->deferred()) {  // cannot happen once started; never forward to ourselves
    s->close();
    return make_error(EAGAIN, "lstack did not start");
  }
  for (const Option& o : options_) {
    (void)s->setsockopt(o.level, o.name, o.value.data(), static_cast<socklen_t>(o.value.size()));
  }
  int rc = bound_ ? s->bind(reinterpret_cast<const sockaddr*>(&local_), sizeof local_) : 0;
  if (rc == 0 && listening_) rc = s->listen(backlog_);
  if (rc < 0) {
    s->close();
    return make_error(-rc, "replaying bind/listen on lstack failed");
  }
  real_ = s;
  return s;
}

int DeferredSocket::bind(const sockaddr* addr, socklen_t len) noexcept {
  std::unique_lock lock(mu_);
  if (real_ != nullptr) return real_->bind(addr, len);
  if (bound_) return -EINVAL;
  if (int rc = sockaddr_in_from(addr, len, local_); rc < 0) return rc;
  if (local_.sin_port != 0) {
    bound_ = true;
    return 0;
  }
  // Port 0: only the stack can pick the ephemeral port the program will ask for.
  lock.unlock();
  auto s = start();
  return s ? s.value()->bind(addr, len) : -s.error().code;
}

int DeferredSocket::listen(int backlog) noexcept {
  std::unique_lock lock(mu_);
  if (real_ != nullptr) return real_->listen(backlog);
  if ((type_ & 0xf) != SOCK_STREAM) return -EOPNOTSUPP;
  if (bound_) {  // a second listen() only changes the backlog, as on Linux
    listening_ = true;
    backlog_ = backlog;
    return 0;
  }
  lock.unlock();  // listen() without bind(): the stack picks the port now
  auto s = start();
  return s ? s.value()->listen(backlog) : -s.error().code;
}

int DeferredSocket::accept(SocketBase** out, sockaddr* addr, socklen_t* len) {
  auto s = start();
  return s ? s.value()->accept(out, addr, len) : -s.error().code;
}

int DeferredSocket::connect(const sockaddr* addr, socklen_t len) {
  auto s = start();
  return s ? s.value()->connect(addr, len) : -s.error().code;
}

ssize_t DeferredSocket::recv(const iovec* iov, int iovcnt, int flags, sockaddr* from, socklen_t* fromlen) {
  auto s = start();
  return s ? s.value()->recv(iov, iovcnt, flags, from, fromlen) : -s.error().code;
}

ssize_t DeferredSocket::send(const iovec* iov, int iovcnt, int flags, const sockaddr* to, socklen_t tolen) {
  auto s = start();
  return s ? s.value()->send(iov, iovcnt, flags, to, tolen) : -s.error().code;
}

int DeferredSocket::shutdown(int how) noexcept {
  if (SocketBase* s = real()) return s->shutdown(how);
  return how < SHUT_RD || how > SHUT_RDWR ? -EINVAL : -ENOTCONN;
}

// The last reference is gone (gz/ref.hpp): no fd and no call holds this
// object any more. The real socket loses the reference this one held.
void DeferredSocket::close() noexcept {
  {
    std::lock_guard all(g_all_mu);
    g_all.erase(std::remove(g_all.begin(), g_all.end(), this), g_all.end());
  }
  if (SocketBase* s = real()) s->release();
  delete this;
}

int DeferredSocket::getsockname(sockaddr* addr, socklen_t* len) noexcept {
  if (SocketBase* s = real()) return s->getsockname(addr, len);
  std::lock_guard lock(mu_);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  if (bound_) a = local_;
  if (len == nullptr) return -EFAULT;
  sockaddr_in_to(a, addr, len);
  return 0;
}

int DeferredSocket::getpeername(sockaddr* addr, socklen_t* len) noexcept {
  if (SocketBase* s = real()) return s->getpeername(addr, len);
  return -ENOTCONN;
}

int DeferredSocket::getsockopt(int level, int name, void* val, socklen_t* len) noexcept {
  if (SocketBase* s = real()) return s->getsockopt(level, name, val, len);
  if (level != SOL_SOCKET) return -ENOPROTOOPT;
  const bool tcp = (type_ & 0xf) == SOCK_STREAM;
  switch (name) {
    case SO_TYPE: return put_option_int(val, len, type_ & 0xf);
    case SO_DOMAIN: return put_option_int(val, len, AF_INET);
    case SO_PROTOCOL: return put_option_int(val, len, tcp ? IPPROTO_TCP : IPPROTO_UDP);
    case SO_ERROR: return put_option_int(val, len, 0);
    case SO_ACCEPTCONN: {
      std::lock_guard lock(mu_);
      return put_option_int(val, len, listening_ ? 1 : 0);
    }
    default: return -ENOPROTOOPT;
  }
}

int DeferredSocket::setsockopt(int level, int name, const void* val, socklen_t len) noexcept {
  std::unique_lock lock(mu_);
  if (real_ != nullptr) {
    SocketBase* s = real_;
    lock.unlock();
    return s->setsockopt(level, name, val, len);
  }
  if (val == nullptr && len > 0) return -EFAULT;
  try {
    const auto* p = static_cast<const std::uint8_t*>(val);
    options_.push_back({level, name, std::vector<std::uint8_t>(p, p + len)});
  } catch (...) {
    return -ENOMEM;
  }
  return 0;
}

int DeferredSocket::readable_bytes() noexcept {
  SocketBase* s = real();
  return s != nullptr ? s->readable_bytes() : 0;
}

}  // namespace gz::stack
