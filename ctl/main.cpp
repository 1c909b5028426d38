// gazellectl: shows what lstack processes are doing, through their control
// sockets (<run_dir>/<unix_prefix>lstack.<pid>.sock, gz/wire.hpp).
//
//   gazellectl lstack show [PID] [-u PREFIX]   per-stack counters of one or every lstack process
//   gazellectl --version | --help
#include <dirent.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "gz/version.hpp"
#include "gz/wire.hpp"

namespace gz::ctl {
namespace {

const char* kStateNames[wire::kTcpStates] = {"CLOSED", "LISTEN", "SYN_SENT", "SYN_RCVD", "ESTABLISHED", "FIN_WAIT_1",
                                              "FIN_WAIT_2", "CLOSE_WAIT", "CLOSING", "LAST_ACK", "TIME_WAIT"};

std::string run_dir() {
  const char* env = std::getenv("GAZELLE_RUN_DIR");
  return env != nullptr && *env != '\0' ? env : "/var/run/gazelle";
}

bool read_all(int fd, void* buf, std::size_t n) {
  auto* p = static_cast<char*>(buf);
  while (n > 0) {
    const ssize_t r = read(fd, p, n);
    if (r <= 0) return false;
    p += r;
    n -= static_cast<std::size_t>(r);
  }
  return true;
}

// Asks one lstack for its stats; "" on success, else why not.
std::string query(const std::string& path, wire::CtlReplyHeader& head, std::vector<wire::CtlStackStats>& stacks) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", path.c_str());
  const int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return std::strerror(errno);
  const timeval tv{5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  std::string err;
  const wire::CtlRequest req{wire::kCtlMagic, wire::kWireVersion, wire::kCtlStats, 0};
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    err = std::string("cannot connect: ") + std::strerror(errno);
  } else if (write(fd, &req, sizeof req) != static_cast<ssize_t>(sizeof req) || !read_all(fd, &head, sizeof head)) {
    err = "no answer";
  } else if (head.magic != wire::kCtlMagic || head.version != wire::kWireVersion) {
    err = "it speaks another protocol version";
  } else if (head.status != 0) {
    err = std::string("it refused: ") + std::strerror(-head.status);
  } else {
    stacks.resize(head.stack_count);
    if (!read_all(fd, stacks.data(), stacks.size() * sizeof(wire::CtlStackStats))) err = "short answer";
  }
  close(fd);
  return err;
}

void print_stack(std::size_t i, const wire::CtlStackStats& s) {
  const auto& c = s.counters;
  std::printf("  stack %zu (cpu %d)\n", i, s.cpu);
  std::printf("    rx  %12lu pkts %14lu bytes   dropped %lu, bad checksum %lu\n", c.rx_packets, c.rx_bytes, c.rx_dropped,
              c.rx_cksum_bad);
  std::printf("    tx  %12lu pkts %14lu bytes   dropped nombuf %lu full %lu oversize %lu\n", c.tx_packets, c.tx_bytes,
              c.tx_dropped_nombuf, c.tx_dropped_full, c.tx_dropped_oversize);
  std::printf("    device drops: rx_missed %lu rx_nombuf %lu rx_errors %lu tx_errors %lu\n", s.device.rx_missed,
              s.device.rx_nombuf, s.device.rx_errors, s.device.tx_errors);
  const auto on = [&](std::uint32_t bit) { return (s.offloads & bit) ? "device" : "software"; };
  std::printf("    checksums: rx ip %s, rx tcp/udp %s, tx ip %s, tx tcp %s\n", on(wire::kOffloadRxIp),
              on(wire::kOffloadRxL4), on(wire::kOffloadTxIp), on(wire::kOffloadTxL4));
  std::printf("    ip: drop %lu chkerr %lu lenerr %lu proterr %lu reassembled %lu | tcp: drop %lu chkerr %lu proterr %lu | "
              "udp: drop %lu chkerr %lu lenerr %lu | ooseq freed %lu\n",
              c.ip_drop, c.ip_chkerr, c.ip_lenerr, c.ip_proterr, c.ip_reass_ok, c.tcp_drop, c.tcp_chkerr, c.tcp_proterr,
              c.udp_drop, c.udp_chkerr, c.udp_lenerr, c.ooseq_dropped);
  std::printf("    icmp rx %lu tx %lu | arp rx %lu tx %lu | polls %lu idle sleeps %lu\n", c.icmp_recv, c.icmp_xmit,
              c.arp_recv, c.arp_xmit, c.polls, c.idle_sleeps);
  std::printf("    tcp sockets refused over tcp_conn_count: %lu | packets handed to the stack holding their flow: %lu"
              " | flows another stack held: %lu\n",
              c.tcp_refused, c.handed_over, c.flow_conflicts);
  std::printf("    segments copied out of mbufs under pool pressure: %lu | sends retried after ERR_MEM: %lu"
              " | half-open connections evicted (SYN flood): %lu\n",
              c.rx_copied, c.tx_retried, c.syn_evicted);
  std::printf("    accepts that met the fd limit (EMFILE/ENFILE; the connection stayed queued): %lu\n", c.accept_fd_limit);
  std::printf("    connections: listen %u, udp %u", s.tcp_listen, s.udp_pcbs);
  for (int st = 0; st < wire::kTcpStates; ++st) {
    if (s.tcp_states[st] != 0) std::printf(", %s %u", kStateNames[st], s.tcp_states[st]);
  }
  std::printf("\n    mbufs free %lu of %lu | lwIP memory %lu bytes in use, %lu reserved, %lu refusals\n",
              s.mbufs_free, s.mbufs_total, s.arena_in_use, s.arena_reserved, s.arena_failures);
}

int show(const std::string& pid, const std::string& prefix) {
  const std::string dir = run_dir();
  std::vector<std::string> paths;
  if (DIR* d = opendir(dir.c_str())) {
    const std::string want = prefix + "lstack." + (pid.empty() ? "" : pid + ".sock");
    while (dirent* e = readdir(d)) {
      const std::string name = e->d_name;
      const bool match = pid.empty() ? name.rfind(want, 0) == 0 && name.size() > 5 &&
                                           name.compare(name.size() - 5, 5, ".sock") == 0
                                     : name == want;
      if (!match) continue;
      // A file whose process is gone (killed without cleaning up) is stale: skip it.
      const std::string owner = name.substr(prefix.size() + 7, name.size() - prefix.size() - 7 - 5);
      if (access(("/proc/" + owner).c_str(), F_OK) == 0) paths.push_back(dir + "/" + name);
    }
    closedir(d);
  }
  if (paths.empty()) {
    std::fprintf(stderr, "gazellectl: no lstack process%s%s found in %s\n", pid.empty() ? "" : " with pid ",
                 pid.c_str(), dir.c_str());
    return 1;
  }
  int status = 0;
  for (const auto& path : paths) {
    wire::CtlReplyHeader head{};
    std::vector<wire::CtlStackStats> stacks;
    if (std::string err = query(path, head, stacks); !err.empty()) {
      std::fprintf(stderr, "gazellectl: %s: %s\n", path.c_str(), err.c_str());
      status = 1;
      continue;
    }
    std::printf("lstack pid %u: %u stack%s\n", head.pid, head.stack_count, head.stack_count == 1 ? "" : "s");
    for (std::size_t i = 0; i < stacks.size(); ++i) print_stack(i, stacks[i]);
  }
  return status;
}

int usage(FILE* out, int status) {
  std::fprintf(out,
               "usage: gazellectl lstack show [PID] [-u UNIX_PREFIX]   counters of one or every lstack process\n"
               "       gazellectl --version | --help\n"
               "control sockets are looked up in $GAZELLE_RUN_DIR (default /var/run/gazelle)\n");
  return status;
}

}  // namespace
}  // namespace gz::ctl

int main(int argc, char** argv) {
  using namespace gz::ctl;
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty()) return usage(stderr, 2);
  if (args[0] == "--version" || args[0] == "-v") {
    std::printf("gazellectl %s\n", gz::kVersion);
    return 0;
  }
  if (args[0] == "--help" || args[0] == "-h") return usage(stdout, 0);
  if (args.size() >= 2 && args[0] == "lstack" && args[1] == "show") {
    std::string pid, prefix;
    for (std::size_t i = 2; i < args.size(); ++i) {
      if (args[i] == "-u" && i + 1 < args.size()) {
        prefix = args[++i];
      } else if (pid.empty() && args[i].find_first_not_of("0123456789") == std::string::npos) {
        pid = args[i];
      } else {
        std::fprintf(stderr, "gazellectl: unexpected argument '%s'\n", args[i].c_str());
        return usage(stderr, 2);
      }
    }
    return show(pid, prefix);
  }
  std::fprintf(stderr, "gazellectl: unknown command '%s'\n", args[0].c_str());
  return usage(stderr, 2);
}
