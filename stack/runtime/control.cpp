#include "control.hpp"

#include <dirent.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <rte_log.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "gz/kernel.hpp"
#include "gz/socket.hpp"
#include "gz/wire.hpp"
#include "runtime.hpp"

namespace gz::stack {

std::string run_dir() {
  const char* env = std::getenv("GAZELLE_RUN_DIR");
  return env != nullptr && *env != '\0' ? env : "/var/run/gazelle";
}

namespace {

constexpr long kSnapshotWaitMs = 500;

// Whether nobody listens on the unix socket at path any more (its process was
// killed). Asked of the socket itself, not of the pid in its name: pids do
// not mean the same in every pid namespace sharing the run directory.
bool abandoned(const std::string& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) return false;
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  const int fd = kernel().socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return false;
  const bool refused = kernel().connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 && errno == ECONNREFUSED;
  kernel().close(fd);
  return refused;
}

// Control sockets that processes killed with SIGKILL left behind. (A live
// process's socket is left alone.)
void remove_stale_sockets(const std::string& dir, const std::string& unix_prefix) {
  const std::string head = unix_prefix + "lstack.";
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) return;
  while (dirent* e = readdir(d)) {
    const std::string name = e->d_name;
    if (name.rfind(head, 0) != 0 || name.size() <= head.size() + 5 || name.substr(name.size() - 5) != ".sock") continue;
    const std::string digits = name.substr(head.size(), name.size() - head.size() - 5);
    if (digits.empty() || digits.find_first_not_of("0123456789") != std::string::npos) continue;
    if (abandoned(dir + "/" + name)) unlink((dir + "/" + name).c_str());
  }
  closedir(d);
}

}  // namespace

Result<std::unique_ptr<ControlServer>> ControlServer::start(Runtime& rt, const std::string& unix_prefix) {
  const std::string dir = run_dir();
  if (mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) {
    return make_error(errno, "cannot create the run directory " + dir + ": " + std::strerror(errno));
  }
  remove_stale_sockets(dir, unix_prefix);
  const std::string path = dir + "/" + unix_prefix + "lstack." + std::to_string(getpid()) + ".sock";
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) return make_error(ENAMETOOLONG, "control socket path too long: " + path);
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  const int fd = kernel().socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return make_error(errno, "control socket: " + std::string(std::strerror(errno)));
  unlink(path.c_str());  // a stale file of a dead process with our pid
  if (kernel().bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || kernel().listen(fd, 16) != 0) {
    const int err = errno;
    kernel().close(fd);
    return make_error(err, "cannot listen on " + path + ": " + std::strerror(err));
  }
  std::unique_ptr<ControlServer> s(new ControlServer(rt, fd, path));
  s->thread_ = std::thread([raw = s.get()] { raw->serve(); });
  return s;
}

ControlServer::~ControlServer() {
  stop_.store(true);
  kernel().shutdown(fd_, SHUT_RDWR);  // wakes the blocking accept
  if (thread_.joinable()) thread_.join();
  kernel().close(fd_);
  unlink(path_.c_str());
}

void ControlServer::serve() noexcept {
  KernelOnlyScope internal;
  pthread_setname_np(pthread_self(), "lstack_ctl");
  while (!stop_.load()) {
    const int client = kernel().accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (client < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      break;
    }
    const timeval tv{2, 0};  // a silent client must not hold the control thread
    kernel().setsockopt(client, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    kernel().setsockopt(client, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    answer(client);
    kernel().close(client);
  }
}

namespace {

bool write_all(int fd, const void* buf, std::size_t bytes) noexcept {
  const char* p = static_cast<const char*>(buf);
  for (std::size_t done = 0; done < bytes;) {
    const ssize_t n = kernel().write(fd, p + done, bytes - done);
    if (n <= 0) return false;
    done += static_cast<std::size_t>(n);
  }
  return true;
}

}  // namespace

// Bounded: a run-to-completion stack is only served while its owner thread
// drives it, and at exit this thread must be joinable at once.
void ControlServer::answer(int client) noexcept {
  wire::CtlRequest req{};
  if (kernel().read(client, &req, sizeof req) != static_cast<ssize_t>(sizeof req)) return;
  wire::CtlReplyHeader head{wire::kCtlMagic, wire::kWireVersion, 0, 0, static_cast<std::uint32_t>(getpid()), 0,
                            rt_.config().host_addr.s_addr, 0};
  std::vector<wire::CtlStackStats> stacks;
  std::vector<wire::CtlConn> conns;
  std::vector<wire::CtlXstat> xstats;
  if (req.magic != wire::kCtlMagic || req.version != wire::kWireVersion) {
    head.status = -EPROTO;
  } else if (req.command == wire::kCtlStats) {
    try {
      stacks.resize(rt_.stack_count());
    } catch (const std::bad_alloc&) {
      head.status = -ENOMEM;
    }
    for (std::size_t i = 0; i < stacks.size(); ++i) (void)rt_.stack(i).snapshot(stacks[i], kSnapshotWaitMs);
    head.stack_count = static_cast<std::uint32_t>(stacks.size());
  } else if (req.command == wire::kCtlSetLowPower || req.command == wire::kCtlSetLogLevel) {
    head.status = apply_setting(req.command, req.value);
  } else if (req.command == wire::kCtlXstats) {
    head.status = rt_.devices().xstats(xstats);
    head.items = static_cast<std::uint32_t>(xstats.size());
  } else if (req.command == wire::kCtlConns) {
    head.stack_count = static_cast<std::uint32_t>(rt_.stack_count());
    head.status = collect_connections(conns);
    head.items = static_cast<std::uint32_t>(conns.size());
  } else {
    head.status = -EOPNOTSUPP;
  }
  if (!write_all(client, &head, sizeof head)) return;
  if (!write_all(client, stacks.data(), stacks.size() * sizeof(wire::CtlStackStats))) return;
  if (!write_all(client, conns.data(), conns.size() * sizeof(wire::CtlConn))) return;
  (void)write_all(client, xstats.data(), xstats.size() * sizeof(wire::CtlXstat));
}

int ControlServer::apply_setting(std::uint32_t command, std::uint32_t value) noexcept {
  if (command == wire::kCtlSetLowPower) {
    if (value > 1) return -EINVAL;
    for (std::size_t i = 0; i < rt_.stack_count(); ++i) rt_.stack(i).set_low_power(value == 1);
    return 0;
  }
  const int level = value == wire::kLogError  ? RTE_LOG_ERR
                    : value == wire::kLogInfo ? RTE_LOG_INFO
                    : value == wire::kLogDebug ? RTE_LOG_DEBUG
                                               : -1;
  if (level < 0) return -EINVAL;
  rte_log_set_global_level(static_cast<std::uint32_t>(level));
  return 0;
}

int ControlServer::collect_connections(std::vector<wire::CtlConn>& out) noexcept {
  std::vector<wire::CtlConn> one;
  for (std::size_t i = 0; i < rt_.stack_count(); ++i) {
    (void)rt_.stack(i).connections(one, kSnapshotWaitMs);  // a stack that did not answer in time lists nothing
    try {
      out.insert(out.end(), one.begin(), one.end());
    } catch (const std::bad_alloc&) {
      return -ENOMEM;
    }
  }
  return 0;
}

}  // namespace gz::stack
