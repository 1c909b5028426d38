#include "control_client.hpp"

#include <arpa/inet.h>
#include <dirent.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace gz::ctl {

bool read_exactly(int fd, void* buf, std::size_t n) {
  auto* p = static_cast<char*>(buf);
  while (n > 0) {
    const ssize_t r = read(fd, p, n);
    if (r <= 0) return false;
    p += r;
    n -= static_cast<std::size_t>(r);
  }
  return true;
}

std::string read_header(int fd, wire::CtlReplyHeader& head) {
  if (!read_exactly(fd, &head, sizeof head)) return "no answer";
  if (head.magic != wire::kCtlMagic || head.version != wire::kWireVersion) {
    return "it speaks another protocol version (gazellectl and liblstack come from different builds)";
  }
  if (head.status != 0) return std::string("it refused: ") + std::strerror(-head.status);
  return "";
}

namespace {

// "<prefix>lstack.<pid>.sock" -> pid, or 0.
std::uint32_t pid_of(const std::string& name, const std::string& prefix) {
  const std::string head = prefix + "lstack.", tail = ".sock";
  if (name.size() <= head.size() + tail.size() || name.rfind(head, 0) != 0 ||
      name.compare(name.size() - tail.size(), tail.size(), tail) != 0) {
    return 0;
  }
  const std::string digits = name.substr(head.size(), name.size() - head.size() - tail.size());
  if (digits.find_first_not_of("0123456789") != std::string::npos) return 0;
  return static_cast<std::uint32_t>(std::strtoul(digits.c_str(), nullptr, 10));
}

std::string read_reply(int fd, std::uint32_t command, Reply& out) {
  if (std::string err = read_header(fd, out.head); !err.empty()) return err;
  if (command == wire::kCtlStats) {
    out.stacks.resize(out.head.stack_count);
    if (!read_exactly(fd, out.stacks.data(), out.stacks.size() * sizeof(wire::CtlStackStats))) return "short answer";
  } else if (command == wire::kCtlLatencyRead) {
    out.latency.resize(out.head.stack_count);
    if (!read_exactly(fd, out.latency.data(), out.latency.size() * sizeof(wire::CtlLatency))) return "short answer";
  } else if (command == wire::kCtlXstats) {
    out.xstats.resize(out.head.items);
    if (!read_exactly(fd, out.xstats.data(), out.xstats.size() * sizeof(wire::CtlXstat))) return "short answer";
  } else if (command == wire::kCtlConns) {
    out.conns.resize(out.head.items);
    if (!read_exactly(fd, out.conns.data(), out.conns.size() * sizeof(wire::CtlConn))) return "short answer";
  }
  return "";
}

}  // namespace

std::string run_dir() {
  const char* env = std::getenv("GAZELLE_RUN_DIR");
  return env != nullptr && *env != '\0' ? env : "/var/run/gazelle";
}

std::vector<Target> find_targets(const std::string& prefix, std::uint32_t pid) {
  std::vector<Target> out;
  const std::string dir = run_dir();
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) return out;
  while (dirent* e = readdir(d)) {
    const std::uint32_t owner = pid_of(e->d_name, prefix);
    if (owner == 0 || (pid != 0 && owner != pid)) continue;
    // A file whose process is gone (killed without cleaning up) is stale.
    if (access(("/proc/" + std::to_string(owner)).c_str(), F_OK) == 0) out.push_back({dir + "/" + e->d_name, owner});
  }
  closedir(d);
  return out;
}

int connect_control(const Target& t, std::string& err) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", t.path.c_str());
  const int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    err = std::strerror(errno);
    return -1;
  }
  const timeval tv{5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    err = errno == EACCES ? "permission denied (run gazellectl as the program's user or root)"
                          : std::string("cannot connect: ") + std::strerror(errno);
    close(fd);
    return -1;
  }
  return fd;
}

std::string query(const Target& t, std::uint32_t command, Reply& out, std::uint32_t value) {
  std::string err;
  const int fd = connect_control(t, err);
  if (fd < 0) return err;
  const wire::CtlRequest req{wire::kCtlMagic, wire::kWireVersion, command, value};
  if (write(fd, &req, sizeof req) != static_cast<ssize_t>(sizeof req)) {
    err = "no answer";
  } else {
    err = read_reply(fd, command, out);
  }
  close(fd);
  return err;
}

std::vector<Target> resolve(const std::string& target, const std::string& prefix) {
  const bool by_ip = target.find('.') != std::string::npos;
  in_addr ip{};
  if (by_ip && inet_pton(AF_INET, target.c_str(), &ip) != 1) {
    std::fprintf(stderr, "gazellectl: '%s' is neither a pid nor an IPv4 address\n", target.c_str());
    return {};
  }
  const auto pid = static_cast<std::uint32_t>(by_ip || target.empty() ? 0 : std::strtoul(target.c_str(), nullptr, 10));
  std::vector<Target> found = find_targets(prefix, pid), out;
  for (const Target& t : found) {
    Reply r;
    if (!by_ip || (query(t, wire::kCtlStats, r).empty() && r.head.host_addr == ip.s_addr)) out.push_back(t);
  }
  if (!out.empty()) return out;
  const std::string dir = run_dir();
  if (by_ip) {
    std::fprintf(stderr, "gazellectl: no lstack process serves %s (control sockets in %s)\n", target.c_str(), dir.c_str());
  } else if (pid != 0 && access(("/proc/" + target).c_str(), F_OK) != 0) {
    std::fprintf(stderr, "gazellectl: no such process %s\n", target.c_str());
  } else if (pid != 0) {
    std::fprintf(stderr, "gazellectl: process %s is not an lstack process (no control socket in %s)\n",
                 target.c_str(), dir.c_str());
  } else {
    std::fprintf(stderr, "gazellectl: no lstack process found in %s\n", dir.c_str());
  }
  return {};
}

}  // namespace gz::ctl
