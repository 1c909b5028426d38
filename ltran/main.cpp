// ltran: the dispatcher. A DPDK primary process that owns the wire port (one
// port or a bond) and serves lstack processes registered on its unix socket,
// each through a net_memif port of its own (see instance.hpp for why).
//
//   ltran [--config-file FILE]   (default /etc/gazelle/ltran.conf)
//
// Exit status: 0 after SIGTERM/SIGINT or `gazellectl ltran quit`; 1 when the
// config is wrong (one FILE:LINE message), 2 when DPDK, the port or the socket
// cannot be set up.
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <atomic>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "config.hpp"
#include "dispatcher.hpp"
#include "gz/conf_text.hpp"
#include "kni_port.hpp"
#include "memif_guard.hpp"
#include "gz/version.hpp"
#include "server.hpp"
#include "wire_port.hpp"

namespace gz::ltran {
namespace {

std::atomic<bool> g_stop{false};

void on_signal(int) { g_stop.store(true); }

std::string run_dir() {
  const char* env = std::getenv("GAZELLE_RUN_DIR");
  return env != nullptr && *env != '\0' ? env : "/var/run/gazelle";
}

// EAL's argv. A primary's hugepage files are unlinked once mapped (as
// lstack's): a killed ltran gives its hugepages back.
std::vector<std::string> eal_argv(const LtranConfig& c) {
  std::vector<std::string> args{"ltran"};
  for (const std::string& a : eal_args_for_stock_dpdk(c)) args.push_back(a);
  // EAL refuses --huge-unlink with --single-file-segments.
  if (conf::should_unlink_hugepages(args) && !conf::has_eal_arg(args, "--single-file-segments")) {
    args.emplace_back("--huge-unlink");
  }
  return args;
}

// DPDK keeps an unprivileged process's runtime directory in /tmp/dpdk/<prefix>
// (when XDG_RUNTIME_DIR is unset, as in a daemon's worker), and makes /tmp/dpdk
// 0700 for whichever user comes first: every other user's process behind ltran
// would then fail to start. Made sticky and writable by all, as /tmp is, and
// owned by root, so that no user's lstack can remove it once empty.
void open_up_dpdk_tmp_dir() {
  if (geteuid() != 0) return;
  if (mkdir("/tmp/dpdk", 01777) != 0 && errno != EEXIST) return;
  struct stat st {};
  if (lstat("/tmp/dpdk", &st) != 0 || !S_ISDIR(st.st_mode)) return;  // not a symlink planted by someone
  if (chown("/tmp/dpdk", 0, 0) == 0) chmod("/tmp/dpdk", 01777);
}

// DPDK leaves its runtime directory (config, fbarrays, sockets) for
// secondaries to come; ltran is the last user of its prefix.
void remove_runtime_dir(const std::string& dir) {
  if (DIR* d = opendir(dir.c_str())) {
    while (dirent* e = readdir(d)) {
      if (e->d_name[0] != '.') unlink((dir + "/" + e->d_name).c_str());
    }
    closedir(d);
  }
  rmdir(dir.c_str());
}

std::uint32_t prefix_mask(std::uint32_t host_bits) {
  return host_bits >= 32 ? 0 : htonl(~0u << host_bits);
}

// The dispatch loop: busy while frames move, then backs off (10 us doubling
// to 1 ms) in epoll on the control socket, so an idle ltran leaves the CPU
// to the programs (a 2-CPU machine has none to spare).
void run(Dispatcher& d, Server& server) {
  unsigned idle = 0, rounds = 0;
  while (!g_stop.load(std::memory_order_relaxed) && !server.quit_requested()) {
    WirePort::poll_all_links();  // a clock read; the kernel's link state every bond_miimon ms
    std::size_t moved;
    {
      PollPass pass;  // memif's unmaps on the interrupt thread wait for it (memif_guard.hpp)
      moved = d.poll();
    }
    if (moved != 0) {
      idle = 0;
      if ((++rounds & 255) == 0) server.serve(d, 0);
      continue;
    }
    ++idle;
    const long wait = idle < 64 ? 0 : std::min(1000000L, 10000L << std::min(idle - 64, 7u));
    server.serve(d, wait);
  }
}

int serve(const LtranConfig& c) {
  // The wire's rx ring (1024) and tx ring (1024) hold most; a process's memif
  // rx takes mbufs only for the burst at hand (32 per queue).
  // A net_af_packet port's frames (framesz=, datagrams the kernel reassembled) fit one mbuf.
  const std::size_t frame = conf::af_packet_frame_size(c.forward_kit_args);
  const auto room = static_cast<std::uint16_t>(
      std::max<std::size_t>(RTE_MBUF_DEFAULT_BUF_SIZE, std::min<std::size_t>(frame + RTE_PKTMBUF_HEADROOM, UINT16_MAX)));
  const unsigned count = 8192 + 256 * c.dispatch_max_clients;
  rte_mempool* pool = rte_pktmbuf_pool_create("ltran_pool", count, 256, 0, room, static_cast<int>(rte_socket_id()));
  if (pool == nullptr) {
    // Say what the pool needs, so the fix (more --socket-mem, fewer clients, smaller frames) is plain.
    rte_mempool_objsz sz{};
    const double mib = double(count) * rte_mempool_calc_obj_size(sizeof(rte_mbuf) + room, 0, &sz) / (1 << 20);
    std::fprintf(stderr,
                 "ltran: cannot create the mbuf pool: %s: %u mbufs (8192 + 256 x dispatch_max_clients %u) of %u bytes "
                 "need about %.0f MiB of hugepages; forward_kit_args' --socket-mem must leave room for them\n",
                 rte_strerror(rte_errno), count, c.dispatch_max_clients, unsigned{room}, mib);
    return 2;
  }
  WirePort::Options wo;
  wo.mask = c.bond_ports.at(0);
  wo.mode = c.bond_mode;
  wo.miimon_ms = c.bond_miimon;
  wo.mtu = static_cast<std::uint16_t>(c.bond_mtu);
  wo.mac = c.bond_macs.at(0);
  auto port = WirePort::open(wo, pool);
  if (!port) {
    std::fprintf(stderr, "ltran: %s\n", port.error().message.c_str());
    return 2;
  }
  std::unique_ptr<KniPort> kni;
  if (c.kni_switch) {
    auto k = KniPort::open(c.bond_macs.at(0), pool);
    if (!k) {
      std::fprintf(stderr, "ltran: %s\n", k.error().message.c_str());
      return 2;
    }
    kni = std::move(k.value());
  }
  open_up_dpdk_tmp_dir();
  auto server = Server::start({run_dir(), c.unix_prefix, c.allow_uids, c.allow_gids, c.path});
  if (!server) {
    std::fprintf(stderr, "ltran: %s\n", server.error().message.c_str());
    return 2;
  }
  Dispatcher::Options o;
  o.wire_port = port.value()->id();
  o.wire = port.value().get();
  o.kni_port = kni != nullptr ? kni->id() : kNoPort;
  o.bond_mode = c.bond_mode;
  o.pool = pool;
  o.mac = c.bond_macs.at(0);
  o.mtu = port.value()->mtu();
  o.subnet_mask = prefix_mask(c.dispatch_subnet_length);
  o.subnet = c.dispatch_subnet.s_addr & o.subnet_mask;
  o.max_clients = c.dispatch_max_clients;
  o.scan_interval_s = c.tcp_conn_scan_interval;
  o.tx_pps = c.instance_tx_pps;
  o.tx_bps = c.instance_tx_bps;
  o.run_dir = run_dir();
  o.prefix = c.unix_prefix;
  {
    Dispatcher d(o);
    std::fprintf(stderr, "ltran: serving on %s (port %u, %zu member(s))\n", server.value()->path().c_str(),
                 static_cast<unsigned>(o.wire_port), port.value()->members().size());
    run(d, *server.value());
  }  // every process's memif port closes before the wire port does
  server.value().reset();
  kni.reset();
  port.value().reset();
  rte_mempool_free(pool);
  std::fprintf(stderr, "ltran: stopped\n");
  return 0;
}

}  // namespace
}  // namespace gz::ltran

int main(int argc, char** argv) {
  using namespace gz::ltran;
  std::string path = "/etc/gazelle/ltran.conf";
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--version" || a == "-v") {
      std::printf("ltran %s\n", gz::kVersion);
      return 0;
    }
    if (a == "--help" || a == "-h") {
      std::printf("usage: ltran [--config-file FILE]   (default /etc/gazelle/ltran.conf)\n");
      return 0;
    }
    if (a == "--config-file" && i + 1 < argc) {
      path = argv[++i];
    } else {
      std::fprintf(stderr, "ltran: unknown argument '%s' (usage: ltran [--config-file FILE])\n", a.c_str());
      return 1;
    }
  }
  auto config = load_ltran_config(path);
  if (!config) {
    std::fprintf(stderr, "ltran: %s\n", config.error().message.c_str());
    return 1;
  }
  if (config.value().bond_ports.size() > 1) {  // Gazelle allows two; one wire port is served here
    std::fprintf(stderr, "ltran: %s: bond_ports: %zu bonds; allowed: one mask (a second bond is not served yet)\n",
                 config.value().where("bond_ports").c_str(), config.value().bond_ports.size());
    return 1;
  }
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);
  std::signal(SIGPIPE, SIG_IGN);
  std::vector<std::string> args = eal_argv(config.value());
  if (gz::conf::has_eal_arg(args, "--in-memory") || gz::conf::has_eal_arg(args, "--no-shconf")) {
    std::fprintf(stderr, "ltran: %s: forward_kit_args: --in-memory and --no-shconf cannot be used: the processes' net_memif "
                 "ports need DPDK's multi-process channel (use --file-prefix)\n", path.c_str());
    return 1;
  }
  std::vector<char*> cargs;
  for (auto& a : args) cargs.push_back(a.data());
  if (rte_eal_init(static_cast<int>(cargs.size()), cargs.data()) < 0) {
    std::fprintf(stderr, "ltran: DPDK EAL init failed: %s (forward_kit_args of %s)\n", rte_strerror(rte_errno), path.c_str());
    return 2;
  }
  const int rc = serve(config.value());
  if (const std::uint64_t w = unmaps_waited(); w != 0) {
    std::fprintf(stderr, "ltran: %llu memif unmaps waited for a dispatch pass to end\n", static_cast<unsigned long long>(w));
  }
  // No rte_eal_cleanup(): in DPDK 22.11 it unmaps the hugepages while EAL's
  // interrupt thread still runs over handles that live there (the memif
  // sockets', the bond's alarm): a crash at exit, seen with a bond. The
  // process's end returns the memory (--huge-unlink); the files go here.
  remove_runtime_dir(rte_eal_get_runtime_dir());
  return rc;
}
