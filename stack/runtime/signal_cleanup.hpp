// What a process would leave behind when a signal's default action ends it
// (an unhandled SIGTERM, SIGINT or SIGHUP: python's http.server, a shell
// script's kill): no destructor runs then. For each of those signals whose
// disposition is still the default when lstack has started, a handler removes
// the DPDK runtime directory, the control socket and the XDP programs of our
// af_xdp ports, then lets the signal end the process as before (status
// 128+sig). A program that installs its own handler (redis, nginx, iperf3)
// replaces ours and stops through exit(), where the destructors clean up.
// Hugepages need nothing here: the files are unlinked once mapped (dpdk/eal).
// Thread: install once, from the thread that starts lstack. The handler only
// makes async-signal-safe system calls on data prepared at install.
#pragma once

#include <string>
#include <vector>

namespace gz::stack {

struct Leftovers {
  std::string runtime_dir;           // DPDK's /var/run/dpdk/<prefix>: removed once empty
  bool owns_runtime_dir = false;     // everything in it is ours
  std::vector<std::string> own_files;  // else: these in it are
  std::string control_socket;        // <run_dir>/<prefix>lstack.<pid>.sock
  std::vector<std::string> xdp_ifaces;  // kernel interfaces under net_af_xdp ports
};

void install_signal_cleanup(const Leftovers& what) noexcept;

// The kernel interfaces of the net_af_xdp vdevs in dpdk_args (iface=NAME).
std::vector<std::string> af_xdp_ifaces(const std::vector<std::string>& dpdk_args);

}  // namespace gz::stack
