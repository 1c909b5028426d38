#include "runtime.hpp"

#include "gz/conf_text.hpp"
#include "gz/kernel.hpp"
#include "gz/socket.hpp"
#include "signal_cleanup.hpp"
#include "tcp_socket.hpp"
#include "gz/thread_state.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <new>
#include <unistd.h>
#include <numa.h>
#include <rte_errno.h>
#include <rte_ring.h>

#include <algorithm>
#include <cstdlib>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <mutex>
#include <string>

namespace gz::stack {
namespace {

// Free hugepage memory of all sizes, from sysfs (what DPDK can still map).
std::size_t hugepage_bytes_free() {
  std::size_t total = 0;
  DIR* dir = opendir("/sys/kernel/mm/hugepages");
  if (dir == nullptr) return 0;
  while (dirent* e = readdir(dir)) {
    std::string name = e->d_name;
    if (name.rfind("hugepages-", 0) != 0) continue;
    std::ifstream f("/sys/kernel/mm/hugepages/" + name + "/free_hugepages");
    std::size_t pages = 0;
    f >> pages;
    total += pages * std::stoul(name.substr(10)) * 1024;  // "hugepages-2048kB"
  }
  closedir(dir);
  return total;
}

// numa_bind=1: memory of a stack on its CPU's node; -1 (anywhere) otherwise.
int node_of(const Config& c, int cpu) {
  if (!c.numa_bind || numa_available() < 0) return -1;
  return numa_node_of_cpu(cpu);
}

// huge_free: read before EAL maps its memory, which the check must not count.
MachineFacts machine_facts(std::size_t huge_free) {
  MachineFacts facts;
  for (const auto& p : Port::list()) facts.ports.push_back({p.mac, p.max_rx_queues, p.max_tx_queues});
  facts.hugepage_bytes_free = huge_free;
  return facts;
}

}  // namespace

Result<std::unique_ptr<Runtime>> Runtime::start(const Config& config) {
  std::unique_ptr<Runtime> rt(new Runtime(config));
  const std::size_t huge_free = hugepage_bytes_free();
  auto args = rt->eal_args();
  if (!args) return args.error();
  auto eal = Eal::init(args.value());
  if (!eal) return eal.error();
  rt->eal_ = std::move(eal.value());
  if (auto ok = check_against_machine(rt->config_, machine_facts(huge_free)); !ok) return ok.error();
  if (auto ok = rt->start_stacks(); !ok) return ok.error();
  if (auto ok = rt->watch_ltran(); !ok) return ok.error();
  auto control = ControlServer::start(*rt, rt->config_.unix_prefix);
  if (!control) return control.error();
  rt->control_ = std::move(control.value());
  rt->telemetry_ = std::make_unique<TelemetryLink>(*rt);
  Leftovers left{rt->eal_->runtime_dir(), rt->eal_->owns_runtime_dir(), rt->eal_->own_files(), rt->control_->path(),
                 af_xdp_ifaces(rt->config_.dpdk_args)};
  rt->signal_tasks_ = std::make_unique<StackTask[]>(rt->threads_.size());
  left.flush = [](void* ctx) noexcept { static_cast<Runtime*>(ctx)->flush_at_signal(); };
  left.defer = [](void* ctx, int sig) noexcept { return static_cast<Runtime*>(ctx)->defer_signal(sig); };
  left.flush_ctx = rt.get();
  install_signal_cleanup(left);
  return rt;
}

namespace {
// net_memif's zero-copy client hands ltran its DPDK memory by the fd of each
// memory list, so ltran copies frames straight into and out of our mbufs (one
// copy each way instead of two). That needs single-file segments, which EAL
// refuses with --legacy-mem (a file a page) and with --huge-unlink. Gazelle's
// documented --legacy-mem only preallocates, as --socket-mem does without it:
// it goes. A user's own --huge-unlink keeps copy mode. True: zero-copy.
bool memif_zero_copy_args(std::vector<std::string>& args) {
  if (!conf::has_eal_arg(args, "--no-huge")) std::erase(args, std::string("--legacy-mem"));
  if (conf::has_eal_arg(args, "--huge-unlink")) {
    std::fprintf(stderr, "lstack: --huge-unlink in dpdk_args: ltran copies each frame twice (memif zero-copy needs "
                         "single-file segments, which EAL refuses with --huge-unlink)\n");
    return false;
  }
  if (!conf::has_eal_arg(args, "--single-file-segments")) args.emplace_back("--single-file-segments");
  return true;
}
}  // namespace

// dpdk_args, and with use_ltran = 1 the memif port ltran made for this
// process (registering first: ltran's answer names it). No PCI device is ours then.
Result<std::vector<std::string>> Runtime::eal_args() {
  std::vector<std::string> args = config_.dpdk_args;
  if (!config_.use_ltran) return args;
  args = conf::stock_eal_args(std::move(args));  // Gazelle's --map-perfect: not for stock DPDK
  auto has = [&](const char* a) { return conf::has_eal_arg(args, a); };
  // net_memif hands its regions over DPDK's multi-process channel, which these turn off.
  if (has("--in-memory") || has("--no-shconf")) {
    return make_error(EINVAL, config_.where("dpdk_args") + ": " + (has("--in-memory") ? "--in-memory" : "--no-shconf") +
                                  " cannot be used with use_ltran = 1 (net_memif needs DPDK's multi-process channel); "
                                  "use --file-prefix, and --no-huge to run without hugepages");
  }
  zero_copy_ = memif_zero_copy_args(args);
  // Each process behind ltran is a DPDK primary of its own: a prefix of its own.
  if (std::none_of(args.begin(), args.end(), [](const std::string& a) { return a.rfind("--file-prefix", 0) == 0; })) {
    args.push_back("--file-prefix=lstack" + std::to_string(getpid()));
  }
  wire::LtranRegister req{};
  req.queues = static_cast<std::uint32_t>(config_.cpus.size());
  req.addr = config_.host_addr.s_addr;
  std::copy(config_.devices.begin(), config_.devices.end(), req.mac);
  // The process's comm (its main thread's name): argv[0] may have been
  // rewritten ("nginx: worker process").
  if (FILE* f = std::fopen("/proc/self/comm", "re")) {
    if (std::fgets(req.name, sizeof req.name, f) != nullptr) req.name[std::strcspn(req.name, "\n")] = '\0';
    std::fclose(f);
  }
  auto link = LtranLink::connect(config_.run_dir + "/" + config_.unix_prefix + "ltran.sock", req);
  if (!link) return make_error(link.error().code, config_.where("use_ltran") + ": " + link.error().message);
  ltran_ = std::move(link.value());
  args.push_back(ltran_->memif_vdev(zero_copy_, pool_mbufs(config_)));
  if (!has("--no-pci")) args.emplace_back("--no-pci");
  return args;
}

Runtime::~Runtime() {
  forget_signal_flush();
  StackThread::end_at_next_rest(0);  // an end the signal left to an owner is the exit's now
  if (ltran_ != nullptr) ltran_->stop_watch();
  close_left_open();
  // Every stack stops before any is freed: a running one may still hand a
  // frame to another and nudge() it. All are asked first, so that they flush
  // together (StackGroup::begin_flush).
  begin_flush(stack_threads());
  for (auto& t : threads_) {
    if (t != nullptr) t->request_stop();
  }
  for (auto& t : threads_) {
    if (t != nullptr) t->stop();
  }
}

std::size_t Runtime::stack_threads() const noexcept {
  std::size_t n = 0;
  for (std::size_t i = 0; i < live_.load(std::memory_order_acquire); ++i) n += threads_[i] != nullptr && !threads_[i]->rtc();
  return n;
}

namespace {
// On the stack's thread: what the program left open closes; the resets that
// go at once (no data left to wait for) leave now, not with a next round.
// LSTACK_DEBUG_STATS: the connections as they were first (a stalled one's
// state, before its close changes it).
void close_left_open_task(StackTask*) {
  if (std::getenv("LSTACK_DEBUG_STATS") != nullptr) {
    if (Stack* s = Stack::current()) s->dump_connections(stderr);
  }
  TcpSocket::close_left_open();
  if (Stack* s = Stack::current()) s->flush_tx();
}
}  // namespace

// The process ends: the connections it left open close as the kernel would
// close them (TcpSocket::close_left_open), each stack on its own thread before
// it stops: a stack thread runs the task before its last flush (stop() below);
// a run-to-completion stack only when this exiting thread drives it (post()
// runs it here; its last flush follows in ~StackThread). Stacks other threads
// drive are left as before: their owner may be in lwIP right now.
void Runtime::close_left_open() noexcept {
  const std::size_t n = live_.load(std::memory_order_acquire);
  exit_tasks_.reset(new (std::nothrow) StackTask[threads_.size()]);
  for (std::size_t i = 0; exit_tasks_ != nullptr && i < n; ++i) {
    if (threads_[i] == nullptr || (threads_[i]->rtc() && !threads_[i]->on_this_thread())) continue;
    // Run to completion: frames that came in since the program last drove its
    // stack are taken in first, as the kernel would have (data the program
    // never read then makes the close a reset).
    if (threads_[i]->rtc()) (void)threads_[i]->drive();
    exit_tasks_[i].fn = close_left_open_task;
    threads_[i]->post(&exit_tasks_[i]);
  }
}

// The handler of a signal whose default action ends the process: what the
// program left open closes and what is in flight goes out, as at exit
// (close_left_open), on every stack thread at once; then the signal goes on.
// Bounded: a stack that cannot finish (a peer that acknowledges nothing, a
// program's thread stopped inside a post to it) delays the end by at most
// about 1.5 s. Run to completion: only the stack of the thread the signal
// interrupted, and only if that thread was at rest between rounds in a
// waiting call (StackThread::end_at_rest; asleep, or raising the signal
// again there after defer_signal); any other stack may be mid-round.
void Runtime::flush_at_signal() noexcept {
  const std::size_t n = live_.load(std::memory_order_acquire);
  const std::size_t asked = stack_threads();
  begin_flush(asked);
  for (std::size_t i = 0; i < n; ++i) {
    signal_tasks_[i].fn = close_left_open_task;
    if (!threads_[i]->rtc()) {
      threads_[i]->end_for_signal(&signal_tasks_[i]);
    } else {
      (void)threads_[i]->end_at_rest(&signal_tasks_[i]);  // its owner is us, waiting: or left as before
    }
  }
  const timespec ms{0, 1000000};
  for (std::uint64_t waited = 0; asked != 0 && waited < StackThread::kExitLingerMs + 500; ++waited) {
    std::size_t done = 0;
    for (std::size_t i = 0; i < n; ++i) done += !threads_[i]->rtc() && threads_[i]->flushed() ? 1 : 0;
    if (done == asked) return;
    nanosleep(&ms, nullptr);
  }
}

// Run to completion with no owner at rest here: the handler returns (a
// blocked system call restarts), and the first owner to come to rest in a
// waiting call raises the signal again on itself, where its handler can
// flush (a python http.server polling in select() with low_power_mode = 0:
// microseconds later). install_signal_cleanup bounds the wait. Stack threads
// flush wherever the program is: nothing to wait for.
bool Runtime::defer_signal(int sig) noexcept {
  const std::size_t n = live_.load(std::memory_order_acquire);
  bool waiting = false;
  for (std::size_t i = 0; i < n; ++i) {
    const StackThread& t = *threads_[i];
    if (!t.rtc() || t.at_rest_here()) return false;
    waiting = waiting || !t.flushed();
  }
  if (waiting) StackThread::end_at_next_rest(sig);
  return waiting;
}

// ltran gone: every stack (those up; an RTC stack adopted later starts down
// too) takes its netif down and aborts its connections, on its own thread.
Result<void> Runtime::watch_ltran() {
  if (ltran_ == nullptr) return {};
  down_tasks_ = std::make_unique<StackTask[]>(threads_.size());
  return ltran_->watch([this] {
    ltran_lost_.store(true, std::memory_order_release);
    for (std::size_t i = 0; i < live_.load(std::memory_order_acquire); ++i) {
      down_tasks_[i].fn = [](StackTask*) {
        if (Stack* s = Stack::current()) s->go_down();
      };
      threads_[i]->post(&down_tasks_[i]);
    }
  });
}

Result<void> Runtime::start_stacks() {
  const Config& c = config_;
  NetDevPlan plan;
  Port::Options& po = plan.port;
  po.mac = c.devices;
  po.queues = static_cast<std::uint16_t>(c.cpus.size());
  po.mbufs_per_queue = static_cast<std::uint32_t>(pool_mbufs(c));
  po.memif_zero_copy = zero_copy_;
  po.data_room = static_cast<std::uint16_t>(mbuf_data_room(c));
  for (int cpu : c.cpus) po.numa_nodes.push_back(node_of(c, cpu));
  auto devs = open_netdevs(plan);
  if (!devs) return devs.error();
  devs_ = std::move(devs.value());
  if (auto ok = create_inboxes(); !ok) return ok;
  threads_.resize(c.cpus.size());
  for (std::size_t i = 0; i < c.cpus.size(); ++i) {
    if (c.stack_mode_rtc) {  // each waits for the application thread that will drive it
      rtc_devs_.push_back(devs_->take(i));
      continue;
    }
    auto t = StackThread::start(setup_for(i, devs_->take(i)));
    if (!t) return t.error();
    threads_[i] = std::move(t.value());
    live_.store(i + 1, std::memory_order_release);
  }
  return {};
}

void Runtime::RingFree::operator()(rte_ring* r) const noexcept { rte_ring_free(r); }

Result<void> Runtime::create_inboxes() {
  const std::size_t n = config_.cpus.size();
  // Behind ltran even one stack takes its local ports from the process's own
  // range (other processes may share the address), through the directory.
  if (ltran_ != nullptr) {
    const wire::LtranRegistered& r = ltran_->registered();
    flows_ = std::make_unique<FlowDirectory>(std::size_t{4} * config_.tcp_conn_count * n, r.port_lo, r.port_hi);
  }
  if (n < 2) return {};
  for (std::size_t i = 0; i < n; ++i) {
    const std::string name = "gz_inbox" + std::to_string(i);
    rte_ring* r = rte_ring_create(name.c_str(), 4096, SOCKET_ID_ANY, RING_F_SC_DEQ);
    if (r == nullptr) return make_error(ENOMEM, "cannot create ring " + name + ": " + rte_strerror(rte_errno));
    inboxes_.emplace_back(r);
  }
  if (flows_ == nullptr) flows_ = std::make_unique<FlowDirectory>(std::size_t{4} * config_.tcp_conn_count * n);
  return {};
}

StackThread::Setup Runtime::setup_for(std::size_t i, std::unique_ptr<NetDev> dev) {
  const Config& c = config_;
  StackThread::Setup s;
  s.index = static_cast<int>(i);
  s.cpu = c.cpus[i];
  s.dev = std::move(dev);
  s.opts.host = c.host_addr;
  s.opts.mask = c.mask_addr;
  s.opts.gateway = c.gateway_addr;
  s.opts.rx_burst = static_cast<std::uint16_t>(c.nic_read_num);
  s.low_power = c.low_power_mode;
  s.opts.numa_node = node_of(c, c.cpus[i]);
  s.opts.max_tcp = c.tcp_conn_count;
  for (std::size_t j = 0; j < inboxes_.size(); ++j) s.opts.peer_inboxes.push_back(j == i ? nullptr : inboxes_[j].get());
  if (!inboxes_.empty()) s.opts.inbox = inboxes_[i].get();
  s.opts.flows = flows_.get();
  s.opts.claims = ltran_.get();
  s.rx_open = &rx_open_;
  s.group = this;
  return s;
}

void Runtime::open_rx_once(void (*replay)()) noexcept {
  bool& replaying = this_thread_state().replaying;
  if (replaying || rx_open_.load(std::memory_order_acquire)) return;
  std::call_once(rx_once_, [&] {
    replaying = true;
    replay();
    replaying = false;
    rx_open_.store(true, std::memory_order_release);
  });
}

Result<StackThread*> Runtime::pick_stack() {
  if (!config_.stack_mode_rtc) {
    return threads_[next_.fetch_add(1, std::memory_order_relaxed) % threads_.size()].get();
  }
  if (StackThread* own = StackThread::rtc_of_this_thread()) return own;
  std::lock_guard lock(adopt_mu_);
  const std::size_t i = live_.load();
  if (i == rtc_devs_.size()) {
    return make_error(EBUSY, "stack_mode_rtc: all " + std::to_string(i) +
                                 " stacks (num_cpus) already belong to other threads of this process");
  }
  auto t = StackThread::adopt(setup_for(i, std::move(rtc_devs_[i])));
  if (!t) return t.error();
  threads_[i] = std::move(t.value());
  live_.store(i + 1, std::memory_order_release);
  if (ltran_lost_.load(std::memory_order_acquire)) {  // adopted after ltran hung up: down from the start
    down_tasks_[i].fn = [](StackTask*) {
      if (Stack* s = Stack::current()) s->go_down();
    };
    threads_[i]->post(&down_tasks_[i]);
  }
  return threads_[i].get();
}

}  // namespace gz::stack
