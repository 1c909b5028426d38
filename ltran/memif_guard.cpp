#include "memif_guard.hpp"

#include <rte_alarm.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_pause.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <memory>
#include <new>

namespace gz::ltran {
namespace {

// Odd while the dispatch thread is inside a pass.
std::atomic<std::uint64_t> g_pass{0};
std::atomic<std::uint64_t> g_waited{0};
thread_local unsigned t_depth = 0;  // the dispatch thread's nested passes

std::uint64_t now_ns() noexcept {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<std::uint64_t>(ts.tv_nsec);
}

void pause_10us() noexcept {
  timespec ts{0, 10000};
  nanosleep(&ts, nullptr);
}

// Called before any unmap. Only the dispatch thread makes g_pass odd: on it,
// inside a pass, there is nothing to wait for (and outside one, g_pass is even).
void wait_for_pass() noexcept {
  if (t_depth != 0) return;
  // Pairs with the pass's fetch_add: the caller's earlier stores (memif's
  // CONNECTED flag) are visible to any pass that starts after this load.
  std::atomic_thread_fence(std::memory_order_seq_cst);
  const std::uint64_t seen = g_pass.load(std::memory_order_seq_cst);
  if ((seen & 1) == 0) return;
  g_waited.fetch_add(1, std::memory_order_relaxed);
  // A pass lasts microseconds; bounded at 2 s so a stuck one cannot hang us.
  const std::uint64_t deadline = now_ns() + 2000000000ull;
  for (unsigned i = 0; g_pass.load(std::memory_order_acquire) == seen; ++i) {
    if (i < 256) {
      rte_pause();
    } else if (now_ns() < deadline) {
      pause_10us();
    } else {
      break;
    }
  }
}

struct StopTask {
  std::uint16_t port;
  std::atomic<bool> done{false};
};

void stop_on_interrupt_thread(void* arg) {
  std::shared_ptr<StopTask>* task = static_cast<std::shared_ptr<StopTask>*>(arg);
  rte_eth_dev_stop((*task)->port);
  (*task)->done.store(true, std::memory_order_release);
  delete task;
}

}  // namespace

PollPass::PollPass() noexcept {
  if (t_depth++ != 0) return;
  g_pass.fetch_add(1, std::memory_order_seq_cst);
  // A full barrier before the pass's loads of memif's flags, on any CPU
  // (the read-modify-write alone orders them only on x86).
  std::atomic_thread_fence(std::memory_order_seq_cst);
}

PollPass::~PollPass() {
  if (--t_depth == 0) g_pass.fetch_add(1, std::memory_order_release);
}

bool stop_memif_port(std::uint16_t port) noexcept {
  std::shared_ptr<StopTask> task;
  std::shared_ptr<StopTask>* arg = nullptr;
  try {
    task = std::make_shared<StopTask>();
    task->port = port;
    arg = new std::shared_ptr<StopTask>(task);
  } catch (const std::bad_alloc&) {
    std::fprintf(stderr, "ltran: no memory to stop memif port %u\n", port);
    return false;
  }
  // EAL's alarms fire on its interrupt thread, one callback at a time. Never
  // stopped here instead: memif's own disconnect may be running there.
  bool queued = false;
  for (int i = 0; i < 100 && !(queued = rte_eal_alarm_set(1, stop_on_interrupt_thread, arg) == 0); ++i) pause_10us();
  if (!queued) {
    delete arg;
    std::fprintf(stderr, "ltran: cannot queue the stop of memif port %u (%s)\n", port, rte_strerror(rte_errno));
    return false;
  }
  const std::uint64_t deadline = now_ns() + 5000000000ull;
  while (!task->done.load(std::memory_order_acquire) && now_ns() < deadline) pause_10us();
  if (task->done.load(std::memory_order_acquire)) return true;
  std::fprintf(stderr, "ltran: stopping memif port %u took more than 5 s; its slot is not used again\n", port);
  return false;
}

std::uint64_t unmaps_waited() noexcept { return g_waited.load(std::memory_order_relaxed); }

}  // namespace gz::ltran

// The PMD's unmaps come here (ltran exports this symbol; see the header).
// glibc's own internal unmaps do not, nor does the dynamic loader's.
// Return value and errno as munmap(2): syscall() sets errno on failure.
extern "C" int munmap(void* addr, size_t len) noexcept {
  gz::ltran::wait_for_pass();
  return static_cast<int>(syscall(SYS_munmap, addr, len));
}
