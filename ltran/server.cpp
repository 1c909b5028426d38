#include "server.hpp"

#include <sys/epoll.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace gz::ltran {
namespace {

constexpr std::size_t kMaxBody = 4096;

Error sys_error(const std::string& what) { return make_error(errno, what + ": " + std::strerror(errno)); }

// Whether some process still answers on the socket at path (another ltran).
bool answered(const sockaddr_un& addr) {
  const int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  const bool up = connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0;
  close(fd);
  return up;
}

bool send_all(int fd, const void* data, std::size_t len) {
  const auto* p = static_cast<const char*>(data);
  while (len > 0) {
    const ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
    if (n <= 0) return false;  // replies are small: a full socket is a client that does not read
    p += n;
    len -= static_cast<std::size_t>(n);
  }
  return true;
}

bool reply(int fd, int status, const std::string& message, const void* body = nullptr, std::uint32_t len = 0,
           std::uint32_t items = 0) {
  wire::LtranReply r{};
  r.magic = wire::kLtranMagic;
  r.version = wire::kWireVersion;
  r.status = status;
  r.length = len;
  r.items = items;
  std::snprintf(r.message, sizeof r.message, "%s", message.c_str());
  return send_all(fd, &r, sizeof r) && (len == 0 || send_all(fd, body, len));
}

}  // namespace

Result<std::unique_ptr<Server>> Server::start(Options opts) {
  std::unique_ptr<Server> s(new Server());
  s->opts_ = std::move(opts);
  if (mkdir(s->opts_.run_dir.c_str(), 01777) != 0 && errno != EEXIST) return sys_error("cannot create " + s->opts_.run_dir);
  // Sticky and writable by all, as /tmp: a process behind ltran may run as
  // any allowed user (nginx's www-data worker) and puts its own control
  // socket there; a root lstack may have made it 0755 before.
  if (chmod(s->opts_.run_dir.c_str(), 01777) != 0) return sys_error("cannot open up " + s->opts_.run_dir);
  s->path_ = s->opts_.run_dir + "/" + s->opts_.prefix + "ltran.sock";
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (s->path_.size() >= sizeof addr.sun_path) return make_error(ENAMETOOLONG, "socket path too long: " + s->path_);
  std::memcpy(addr.sun_path, s->path_.c_str(), s->path_.size() + 1);
  if (answered(addr)) return make_error(EADDRINUSE, "another ltran already serves " + s->path_);
  unlink(s->path_.c_str());  // left by an ltran that was killed
  s->listen_fd_ = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (s->listen_fd_ < 0) return sys_error("socket");
  if (bind(s->listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) return sys_error("bind " + s->path_);
  // Anyone may connect; who may register is decided by SO_PEERCRED (allow_uids, allow_gids).
  chmod(s->path_.c_str(), 0666);
  if (listen(s->listen_fd_, 64) != 0) return sys_error("listen " + s->path_);
  s->epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
  if (s->epoll_fd_ < 0) return sys_error("epoll_create1");
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = s->listen_fd_;
  if (epoll_ctl(s->epoll_fd_, EPOLL_CTL_ADD, s->listen_fd_, &ev) != 0) return sys_error("epoll_ctl");
  return s;
}

Server::~Server() {
  for (auto& [fd, c] : conns_) close(fd);
  if (epoll_fd_ >= 0) close(epoll_fd_);
  if (listen_fd_ >= 0) {
    close(listen_fd_);
    unlink(path_.c_str());
  }
}

void Server::serve(Dispatcher& d, long timeout_ns) {
  epoll_event evs[16];
  const timespec ts{0, timeout_ns};
  const int n = epoll_pwait2(epoll_fd_, evs, 16, &ts, nullptr);
  for (int i = 0; i < n; ++i) {
    if (evs[i].data.fd == listen_fd_) {
      accept_all();
    } else {
      read_conn(d, evs[i].data.fd);
    }
  }
}

void Server::accept_all() {
  for (int k = 0; k < 64; ++k) {
    const int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) return;
    Conn c;
    socklen_t len = sizeof c.who;
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLRDHUP;
    ev.data.fd = fd;
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &c.who, &len) != 0 || epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev) != 0) {
      close(fd);
      continue;
    }
    conns_.emplace(fd, std::move(c));
  }
}

void Server::hang_up(Dispatcher& d, int fd) {
  d.remove(fd);  // a registered process is gone: its port, flows and claims go too
  epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr);
  close(fd);
  conns_.erase(fd);
}

void Server::read_conn(Dispatcher& d, int fd) {
  auto it = conns_.find(fd);
  if (it == conns_.end()) return;
  Conn& c = it->second;
  char buf[4096];
  const ssize_t n = recv(fd, buf, sizeof buf, 0);
  if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) return hang_up(d, fd);
  if (n < 0) return;
  c.in.append(buf, static_cast<std::size_t>(n));
  while (c.in.size() >= sizeof(wire::LtranRequest)) {
    wire::LtranRequest req;
    std::memcpy(&req, c.in.data(), sizeof req);
    if (req.magic != wire::kLtranMagic || req.version != wire::kWireVersion || req.length > kMaxBody) {
      reply(fd, -EPROTO, "not a request of this ltran version (" + std::to_string(wire::kWireVersion) + ")");
      return hang_up(d, fd);
    }
    if (c.in.size() < sizeof req + req.length) return;
    const std::string body = c.in.substr(sizeof req, req.length);
    c.in.erase(0, sizeof req + req.length);
    if (!handle(d, fd, c, req, body.data())) return hang_up(d, fd);
  }
}

bool Server::allowed(const ucred& who) const {
  return std::find(opts_.allow_uids.begin(), opts_.allow_uids.end(), who.uid) != opts_.allow_uids.end() ||
         std::find(opts_.allow_gids.begin(), opts_.allow_gids.end(), who.gid) != opts_.allow_gids.end();
}

bool Server::handle(Dispatcher& d, int fd, Conn& c, const wire::LtranRequest& req, const char* body) {
  switch (req.type) {
    case wire::kLtranRegister: {
      if (req.length != sizeof(wire::LtranRegister) || d.registered(fd)) return reply(fd, -EINVAL, "bad registration") && false;
      if (!allowed(c.who)) {
        return reply(fd, -EPERM, "uid " + std::to_string(c.who.uid) + " (gid " + std::to_string(c.who.gid) +
                                     ") may not attach: not in allow_uids or allow_gids of " + opts_.config_path) && false;
      }
      wire::LtranRegister r;
      std::memcpy(&r, body, sizeof r);
      auto out = d.add(fd, c.who, r);
      if (!out) return reply(fd, -out.error().code, out.error().message) && false;
      return reply(fd, 0, "", &out.value(), sizeof out.value());
    }
    case wire::kLtranClaim:
    case wire::kLtranRelease: {
      if (req.length != sizeof(wire::LtranClaim)) return false;
      wire::LtranClaim cl;
      std::memcpy(&cl, body, sizeof cl);
      std::string why;
      const int rc = req.type == wire::kLtranClaim ? d.claim(fd, cl, why) : (d.release(fd, cl), 0);
      return reply(fd, rc, why);
    }
    case wire::kLtranHandoff:
      return reply(fd, d.handoff_request(fd, body, req.length), "");
    case wire::kLtranShow: {
      const wire::LtranTotals t = d.totals();
      const std::vector<wire::LtranInstanceInfo> infos = d.infos();
      std::string out(reinterpret_cast<const char*>(&t), sizeof t);
      out.append(reinterpret_cast<const char*>(infos.data()), infos.size() * sizeof(wire::LtranInstanceInfo));
      return reply(fd, 0, "", out.data(), static_cast<std::uint32_t>(out.size()), static_cast<std::uint32_t>(infos.size()));
    }
    case wire::kLtranQuit:
      if (c.who.uid != 0 && c.who.uid != geteuid()) return reply(fd, -EPERM, "only root or ltran's own user may stop it");
      quit_ = true;
      return reply(fd, 0, "");
    default:
      return reply(fd, -EOPNOTSUPP, "unknown request " + std::to_string(req.type)) && false;
  }
}

}  // namespace gz::ltran
