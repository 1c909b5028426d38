// What a process would leave behind when a signal's default action ends it
// (an unhandled SIGTERM, SIGINT or SIGHUP: python's http.server, a shell
// script's kill): no destructor runs then. For each of those signals whose
// disposition is still the default when lstack has started, a handler first
// has the stacks close the connections left open and send what is in flight,
// as the kernel does for a process that ends (at most about 1.5 s; run to
// completion only the interrupted thread's own stack, and only if it was
// asleep in lstack's wait: Runtime::flush_at_signal), then removes
// the DPDK runtime directory, the control socket and the XDP programs of our
// af_xdp ports, and lets the signal end the process as before (status
// 128+sig). A program that installs its own handler (redis, nginx, iperf3)
// replaces ours and stops through exit(), where the destructors clean up.
// Hugepages need nothing here: the files are unlinked once mapped (dpdk/eal).
// Thread: install once, from the thread that starts lstack. The handler only
// makes async-signal-safe system calls on data prepared at install (the flush:
// atomics, lock-free pushes, write(2) and nanosleep(2); run to completion, the
// stack's own round, only where its thread holds nothing: see end_at_rest).
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
  // Called first, in the handler: the stacks close what the program left
  // open and send what is in flight (Runtime::flush_at_signal).
  void (*flush)(void* ctx) noexcept = nullptr;
  void* flush_ctx = nullptr;
};

void install_signal_cleanup(const Leftovers& what) noexcept;
// The flush's context is going (the runtime stops): the handler no longer calls it.
void forget_signal_flush() noexcept;

// The kernel interfaces of the net_af_xdp vdevs in dpdk_args (iface=NAME).
std::vector<std::string> af_xdp_ifaces(const std::vector<std::string>& dpdk_args);

}  // namespace gz::stack
