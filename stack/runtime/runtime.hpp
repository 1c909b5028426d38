// Runtime: lstack of this process: its config, EAL, port and stack threads.
// Started once, on the first socket that lstack serves; lives until exit.
// Thread: get() is safe from any thread (first caller starts it, others wait).
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <vector>

#include "control.hpp"
#include "flow_directory.hpp"
#include "eal.hpp"
#include "ltran_link.hpp"
#include "netdev_factory.hpp"
#include "gz/config.hpp"
#include "gz/result.hpp"
#include "stack_thread.hpp"
#include "telemetry.hpp"

namespace gz::stack {

class Runtime final : public StackGroup {
 public:
  // Starts lstack with config (EAL, devices, stack threads, control socket).
  // config must outlive the Runtime (the Process holds both). Errors: the
  // first step that failed, with its message.
  static Result<std::unique_ptr<Runtime>> start(const Config& config);
  // The ltran watcher stops first: it reaches into the stacks.
  ~Runtime();

  const Config& config() const noexcept { return config_; }
  // Where the stacks' devices come from (the port): for its xstats. Any thread.
  const NetDevSource& devices() const noexcept { return *devs_; }
  // The stack that serves the next new socket: round robin over the stack
  // threads, or (stack_mode_rtc) the calling thread's own stack, created on its
  // first socket. Errors (RTC): EBUSY when every stack already has its thread.
  Result<StackThread*> pick_stack();
  // Stacks that are up (RTC: those adopted so far). Any thread.
  std::size_t stack_count() const noexcept override { return live_.load(std::memory_order_acquire); }
  StackThread& stack(std::size_t i) noexcept override { return *threads_[i]; }
  // Lets the stacks take packets in, once: first `replay` runs (it starts the
  // listeners opened before lstack started), so that no SYN meets a stack on
  // which its listener is not there yet. Callers while replay runs return at
  // once (replay itself opens sockets). Any thread.
  void open_rx_once(void (*replay)()) noexcept;

 private:
  explicit Runtime(const Config& c) : config_(c) {}
  Result<void> start_stacks();
  StackThread::Setup setup_for(std::size_t i, std::unique_ptr<NetDev> dev);
  Result<void> create_inboxes();
  Result<std::vector<std::string>> eal_args();
  Result<void> watch_ltran();
  void close_left_open() noexcept;
  // From a signal handler (async-signal-safe): see install_signal_cleanup.
  void flush_at_signal() noexcept;
  // From a signal handler, before flush_at_signal: true when the end waits
  // for a run-to-completion owner's next rest (StackThread::end_at_next_rest).
  bool defer_signal(int sig) noexcept;
  // The stacks with a thread of their own (not run to completion) now up.
  std::size_t stack_threads() const noexcept;

  const Config& config_;
  std::unique_ptr<LtranLink> ltran_;  // use_ltran: outlives the stacks (their listeners release ports)
  bool zero_copy_ = false;            // use_ltran: memif zero-copy client (our mbufs are its buffers)
  std::unique_ptr<Eal> eal_;
  std::unique_ptr<NetDevSource> devs_;  // one NetDev per stack
  struct RingFree {
    void operator()(rte_ring* r) const noexcept;
  };
  // One inbox per stack when there are several, and the flow directory;
  // declared before threads_ so that the stacks stop before these go.
  std::vector<std::unique_ptr<rte_ring, RingFree>> inboxes_;
  std::unique_ptr<FlowDirectory> flows_;
  std::unique_ptr<StackTask[]> down_tasks_;  // one per stack, for ltran's hang-up: outlives the threads
  std::unique_ptr<StackTask[]> exit_tasks_;  // one per stack, at exit (close_left_open): likewise
  std::unique_ptr<StackTask[]> signal_tasks_;  // one per stack, made at start for flush_at_signal
  std::atomic<bool> ltran_lost_{false};
  std::vector<std::unique_ptr<StackThread>> threads_;  // sized once; slot i set before live_ > i
  std::vector<std::unique_ptr<NetDev>> rtc_devs_;      // RTC: queues waiting for their thread
  std::atomic<std::size_t> live_{0};
  std::mutex adopt_mu_;
  std::unique_ptr<ControlServer> control_;  // destroyed early: it reads the stacks
  std::unique_ptr<TelemetryLink> telemetry_;  // destroyed first, likewise
  std::atomic<unsigned> next_{0};
  std::once_flag rx_once_;
  std::atomic<bool> rx_open_{false};

};

}  // namespace gz::stack
