#include "control.hpp"

#include <dirent.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <pcap/bpf.h>
#include <rte_log.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "gz/kernel.hpp"
#include "gz/signals.hpp"
#include "gz/socket.hpp"
#include "gz/wire.hpp"
#include "runtime.hpp"

namespace gz::stack {

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
  const std::string& dir = rt.config().run_dir;
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
  s->thread_ = start_thread_without_signals([raw = s.get()] { raw->serve(); });  // none of the program's
  return s;
}

ControlServer::~ControlServer() {
  stop_.store(true);
  kernel().shutdown(fd_, SHUT_RDWR);  // wakes the blocking accept
  if (thread_.joinable()) thread_.join();
  capture_.reset();
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
    if (answer(client)) kernel().close(client);
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

// The request, and the fd it may carry (SCM_RIGHTS: a capture's file), or -1.
bool read_request(int client, wire::CtlRequest& req, int& fd) noexcept {
  return recv_with_fd(client, &req, sizeof req, MSG_WAITALL, fd) == static_cast<ssize_t>(sizeof req);
}

}  // namespace

wire::CtlReplyHeader ControlServer::reply_header() const noexcept {
  return {wire::kCtlMagic, wire::kWireVersion, 0, 0, static_cast<std::uint32_t>(getpid()), 0, rt_.config().host_addr.s_addr, 0};
}

// Bounded: a run-to-completion stack is only served while its owner thread
// drives it, and at exit this thread must be joinable at once.
bool ControlServer::answer(int client) noexcept {
  wire::CtlRequest req{};
  int fd = -1;
  const bool whole = read_request(client, req, fd);
  const bool valid = whole && req.magic == wire::kCtlMagic && req.version == wire::kWireVersion;
  if (fd >= 0 && (!valid || req.command != wire::kCtlCapture)) {
    kernel().close(fd);
    fd = -1;
  }
  if (!whole) return true;
  Answer a;
  a.head = reply_header();
  if (!valid) {
    a.head.status = -EPROTO;
  } else if (req.command == wire::kCtlCapture) {
    const int rc = start_capture(client, req.value, fd);
    if (rc >= 0) return rc > 0;  // 0: the session owns client now; 1: answered, but it could not start
    a.head.status = rc;
  } else {
    dispatch(req, a);
  }
  if (write_all(client, &a.head, sizeof a.head)) (void)write_all(client, a.body.data(), a.body.size());
  return true;
}

namespace {

// v's bytes after the header (the wire structs are plain). False without memory.
template <class T>
bool put(std::vector<char>& body, const std::vector<T>& v) noexcept {
  try {
    body.insert(body.end(), reinterpret_cast<const char*>(v.data()), reinterpret_cast<const char*>(v.data() + v.size()));
    return true;
  } catch (const std::bad_alloc&) {
    return false;
  }
}

// One T per stack, filled by fill(stack, t). -ENOMEM or 0.
template <class T, class Fill>
int per_stack(StackGroup& stacks, ControlServer::Answer& a, Fill fill) noexcept {
  std::vector<T> v;
  try {
    v.resize(stacks.stack_count());
  } catch (const std::bad_alloc&) {
    return -ENOMEM;
  }
  for (std::size_t i = 0; i < v.size(); ++i) fill(stacks.stack(i), v[i]);
  a.head.stack_count = static_cast<std::uint32_t>(v.size());
  return put(a.body, v) ? 0 : -ENOMEM;
}

// A list of T that make(v) fills (0 or -errno) after the header; its length in items.
template <class T, class Make>
int items(ControlServer::Answer& a, Make make) noexcept {
  std::vector<T> v;
  int status = make(v);
  a.head.items = static_cast<std::uint32_t>(v.size());
  if (status == 0 && !put(a.body, v)) status = -ENOMEM;
  return status;
}

}  // namespace

void ControlServer::dispatch(const wire::CtlRequest& req, Answer& a) noexcept {
  int& status = a.head.status;
  switch (req.command) {
    case wire::kCtlStats:
      status = per_stack<wire::CtlStackStats>(rt_, a, [](StackThread& s, wire::CtlStackStats& out) {
        (void)s.snapshot(out, kSnapshotWaitMs);  // a stack that did not answer in time shows its CPU only
      });
      break;
    case wire::kCtlSetLowPower:
    case wire::kCtlSetLogLevel:
      status = apply_setting(req.command, req.value);
      break;
    case wire::kCtlLatencyStart:
      for (std::size_t i = 0; i < rt_.stack_count(); ++i) rt_.stack(i).latency()->start(req.value != 0 ? req.value : 3600);
      break;
    case wire::kCtlLatencyRead:
      status = per_stack<wire::CtlLatency>(rt_, a, [](StackThread& s, wire::CtlLatency& out) {
        s.latency()->stop();
        s.latency()->read(out);
      });
      break;
    case wire::kCtlXstats:
      status = items<wire::CtlXstat>(a, [this](std::vector<wire::CtlXstat>& v) { return rt_.devices().xstats(v); });
      break;
    case wire::kCtlConns:
      a.head.stack_count = static_cast<std::uint32_t>(rt_.stack_count());
      status = items<wire::CtlConn>(a, [this](std::vector<wire::CtlConn>& v) { return collect_connections(v); });
      break;
    default:
      status = -EOPNOTSUPP;
  }
  if (status != 0) {  // the header alone: nothing after it
    a.body.clear();
    a.head.stack_count = a.head.items = 0;
  }
}

int ControlServer::start_capture(int client, std::uint32_t snaplen, int file) noexcept {
  CaptureSession::Params p;
  p.snaplen = snaplen;
  const int rc = read_capture_params(client, p);
  if (rc == 0 && file < 0) return -EBADF;  // no file came with the request
  if (rc == 0 && !is_regular_file(file)) {
    kernel().close(file);
    return -EINVAL;
  }
  if (rc != 0 || (capture_ != nullptr && !capture_->finished())) {
    if (file >= 0) kernel().close(file);
    return rc != 0 ? rc : -EBUSY;
  }
  capture_.reset();
  const wire::CtlReplyHeader head = reply_header();
  // Answered before the session starts: after it, only the session writes.
  if (!write_all(client, &head, sizeof head)) {
    kernel().close(file);
    return 1;
  }
  capture_ = CaptureSession::start(rt_, client, file, std::move(p));
  if (capture_ != nullptr) return 0;
  kernel().close(file);
  return 1;  // without memory the client sees the stream end at once
}

int ControlServer::read_capture_params(int client, CaptureSession::Params& p) noexcept {
  wire::CtlCaptureFilter f{};
  if (kernel().recv(client, &f, sizeof f, MSG_WAITALL) != static_cast<ssize_t>(sizeof f)) return -EPROTO;
  if (f.count > wire::kCaptureMaxInsns || p.snaplen == 0 || p.snaplen > 262144) return -EINVAL;
  p.max_frames = f.max_frames;
  try {
    p.filter.resize(f.count);
  } catch (const std::bad_alloc&) {
    return -ENOMEM;
  }
  const std::size_t bytes = p.filter.size() * sizeof(wire::CtlBpfInsn);
  if (bytes != 0 && kernel().recv(client, p.filter.data(), bytes, MSG_WAITALL) != static_cast<ssize_t>(bytes)) return -EPROTO;
  // libpcap's own checker: a program that could read outside the frame or loop is refused.
  if (!p.filter.empty() && bpf_validate(reinterpret_cast<const bpf_insn*>(p.filter.data()), static_cast<int>(p.filter.size())) == 0) {
    return -EINVAL;
  }
  return 0;
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
