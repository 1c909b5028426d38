#include "ltran_link.hpp"

#include <poll.h>
#include <pthread.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "gz/conf_text.hpp"
#include "gz/kernel.hpp"
#include "gz/signals.hpp"

namespace gz::stack {
namespace {

bool send_all(int fd, const void* data, std::size_t len) noexcept {
  const auto* p = static_cast<const char*>(data);
  while (len > 0) {
    const ssize_t n = kernel().send(fd, p, len, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    p += n;
    len -= static_cast<std::size_t>(n);
  }
  return true;
}

bool recv_all(int fd, void* data, std::size_t len) noexcept {
  auto* p = static_cast<char*>(data);
  while (len > 0) {
    const ssize_t n = kernel().recv(fd, p, len, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    p += n;
    len -= static_cast<std::size_t>(n);
  }
  return true;
}

// A child of fork() must not keep this process's registration open: ltran
// would not see the parent go while the child lives (redis's background save,
// a daemon that forks and lets its parent exit). One link per process.
std::atomic<int> g_registration_fd{-1};
void close_registration_in_child() {
  const int fd = g_registration_fd.exchange(-1);
  if (fd >= 0) kernel().close(fd);
}

}  // namespace

Result<std::unique_ptr<LtranLink>> LtranLink::connect(const std::string& socket_path, const wire::LtranRegister& req) {
  std::unique_ptr<LtranLink> link(new LtranLink());
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (socket_path.size() >= sizeof addr.sun_path) return make_error(ENAMETOOLONG, "ltran socket path too long: " + socket_path);
  std::memcpy(addr.sun_path, socket_path.c_str(), socket_path.size() + 1);
  link->fd_ = kernel().socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (link->fd_ < 0) return make_error(errno, "socket: " + std::string(std::strerror(errno)));
  if (kernel().connect(link->fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    const int e = errno;
    return make_error(e, "use_ltran = 1, but no ltran answers on " + socket_path + " (" + std::strerror(e) +
                             "): start ltran first, with the same unix_prefix");
  }
  std::string why;
  const int rc = link->call(wire::kLtranRegister, &req, sizeof req, &link->reg_, sizeof link->reg_, &why);
  if (rc != 0) return make_error(-rc, "ltran refused this process: " + why);
  static std::once_flag atfork_once;
  std::call_once(atfork_once, [] { pthread_atfork(nullptr, nullptr, close_registration_in_child); });
  g_registration_fd.store(link->fd_);
  link->reg_.memif_socket[sizeof link->reg_.memif_socket - 1] = '\0';
  link->reg_.memif_secret[sizeof link->reg_.memif_secret - 1] = '\0';
  return link;
}

LtranLink::~LtranLink() {
  stop_watch();
  g_registration_fd.store(-1);
  if (stop_fd_ >= 0) kernel().close(stop_fd_);
  if (fd_ >= 0) kernel().close(fd_);
}

void LtranLink::stop_watch() noexcept {
  if (!watcher_.joinable()) return;
  const std::uint64_t one = 1;
  (void)!kernel().write(stop_fd_, &one, sizeof one);
  watcher_.join();
}

// POLLRDHUP only: ltran's answers to claims (read under mu_ by the callers)
// must not wake the watcher, its hang-up must.
Result<void> LtranLink::watch(std::function<void()> lost) {
  stop_fd_ = eventfd(0, EFD_CLOEXEC);
  if (stop_fd_ < 0) return make_error(errno, "eventfd: " + std::string(std::strerror(errno)));
  try {
    watcher_ = start_thread_without_signals([this, lost = std::move(lost)] {
      pthread_setname_np(pthread_self(), "lstack_ltran");
      pollfd fds[2] = {{fd_, POLLRDHUP, 0}, {stop_fd_, POLLIN, 0}};
      for (;;) {
        if (kernel().poll(fds, 2, -1) < 0 && errno == EINTR) continue;
        if (fds[1].revents != 0) return;
        if (fds[0].revents != 0) break;
      }
      {
        std::lock_guard lock(mu_);
        down_ = true;
      }
      std::fprintf(stderr, "lstack: ltran hung up: the network is down for this process\n");
      lost();
    });
  } catch (const std::system_error& e) {
    return make_error(EAGAIN, std::string("cannot start the ltran watcher: ") + e.what());
  }
  return {};
}

// The rings are the only buffer between ltran and the stack, as a NIC's rx
// ring is: a burst beyond them is dropped (ltran's rx_dropped) and must be
// sent again. They grow with the pool, up to 16384 slots; a small pool keeps
// 1024, since zero-copy fills the whole rx ring with the pool's mbufs. (Size
// alone did not stop tools/bench ltran-scale's drops, a stack too slow to
// drain them did: lwIP patch 0009.) The client picks the size (memif's
// server offers up to 2^14).
namespace {
unsigned memif_log2_ring(std::size_t pool_mbufs) noexcept {
  unsigned log2 = 10;
  while (log2 < 14 && (std::size_t{2} << log2) * 4 <= pool_mbufs) ++log2;  // the ring: at most a quarter of the pool
  return log2;
}
}  // namespace

std::string LtranLink::memif_vdev(bool zero_copy, std::size_t pool_mbufs) const {
  return "--vdev=net_memif_ltran,role=client,id=0,socket-abstract=no,rsize=" + std::to_string(memif_log2_ring(pool_mbufs)) +
         ",socket=" +
         std::string(reg_.memif_socket) + ",secret=" + reg_.memif_secret + ",mac=" + conf::mac_text(reg_.mac) +
         (zero_copy ? ",zero-copy=yes" : "");
}

int LtranLink::call(std::uint32_t type, const void* body, std::uint32_t len, void* out, std::uint32_t out_len,
                    std::string* why) noexcept {
  const wire::LtranRequest req{wire::kLtranMagic, wire::kWireVersion, type, len};
  wire::LtranReply rep{};
  if (!send_all(fd_, &req, sizeof req) || !send_all(fd_, body, len) || !recv_all(fd_, &rep, sizeof rep)) {
    down_ = true;
    if (why != nullptr) *why = "ltran hung up";
    return -ENETDOWN;
  }
  rep.message[sizeof rep.message - 1] = '\0';
  if (rep.magic != wire::kLtranMagic || rep.version != wire::kWireVersion) {
    if (why != nullptr) *why = "ltran speaks another protocol version (" + std::to_string(rep.version) + ")";
    return -EPROTO;
  }
  if (rep.status == 0 && rep.length != out_len) {
    if (why != nullptr) *why = "unexpected answer length";
    return -EPROTO;
  }
  if (rep.length != 0 && !recv_all(fd_, out, rep.length)) return -ENETDOWN;
  if (why != nullptr) *why = rep.message;
  return rep.status;
}

int LtranLink::claim(std::uint8_t proto, std::uint16_t port) noexcept {
  std::lock_guard lock(mu_);
  if (down_) return ENETDOWN;
  const wire::LtranClaim c{0, port, proto, 0};
  const int rc = call(wire::kLtranClaim, &c, sizeof c, nullptr, 0, nullptr);
  return rc < 0 ? -rc : 0;
}

int LtranLink::hand_off(const void* handoff, std::uint32_t len) noexcept {
  std::lock_guard lock(mu_);
  if (down_) return ENETDOWN;
  const int rc = call(wire::kLtranHandoff, handoff, len, nullptr, 0, nullptr);
  return rc < 0 ? -rc : 0;
}

void LtranLink::release(std::uint8_t proto, std::uint16_t port) noexcept {
  std::lock_guard lock(mu_);
  if (down_) return;
  const wire::LtranClaim c{0, port, proto, 0};
  call(wire::kLtranRelease, &c, sizeof c, nullptr, 0, nullptr);
}

}  // namespace gz::stack
