// What a process would leave behind when a signal's default action ends it
// (an unhandled SIGTERM, SIGINT or SIGHUP: python's http.server, a shell
// script's kill): no destructor runs then. For each of those signals whose
// disposition is still the default when lstack has started, a handler first
// has the stacks close the connections left open and send what is in flight,
// as the kernel does for a process that ends (at most about 1.5 s; run to
// completion only a stack whose owner thread is at rest in lstack's wait,
// where the end may wait for it: Runtime::flush_at_signal, defer_signal), then removes
// the DPDK runtime directory, the control socket and the XDP programs of our
// af_xdp ports, and lets the signal end the process as before (status
// 128+sig). A program that installs its own handler (redis, nginx, iperf3)
// replaces ours and stops through exit(), where the destructors clean up.
// Hugepages need nothing here: the files are unlinked once mapped (dpdk/eal).
// Thread: install once, from the thread that starts lstack. The handler only
// makes async-signal-safe system calls on data prepared at install (the flush:
// atomics, lock-free pushes, write(2) and nanosleep(2); run to completion, the
// stack's own round, only where its thread holds nothing: see end_at_rest; a
// deferral: sigaction(2) and timer_settime(2) on timers made at install).
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
  // Called before flush, in the handler: true when the end waits for a
  // run-to-completion owner's next rest (Runtime::defer_signal). The handler
  // then returns, put back for the owner's raise of sig; a timer sends sig
  // again after 200 ms, which ends the process without that flush should no
  // owner come to rest (one in the program's own code, or blocked in the
  // kernel). A second signal ends it at once.
  bool (*defer)(void* ctx, int sig) noexcept = nullptr;
  void* flush_ctx = nullptr;
};

void install_signal_cleanup(const Leftovers& what) noexcept;
// The flush's context is going (the runtime stops): the handler no longer
// calls it, and a deferred end waits for end_by_pending_signal.
void forget_signal_flush() noexcept;
// After the runtime stopped (exit flushed what was left open): a deferred
// signal (the program went on to exit before an owner came to rest) ends the
// process now, by its default action, with the status it would have had.
void end_by_pending_signal() noexcept;

// The kernel interfaces of the net_af_xdp vdevs in dpdk_args (iface=NAME).
std::vector<std::string> af_xdp_ifaces(const std::vector<std::string>& dpdk_args);

}  // namespace gz::stack
