#include "telemetry.hpp"

#include <rte_telemetry.h>

#include <cerrno>
#include <cstdlib>
#include <mutex>

#include "gz/wire.hpp"

namespace gz::stack {
namespace {

// DPDK 22.11's telemetry callbacks take no context argument, so the one
// process's stacks are reached through this pointer, set and cleared by the
// TelemetryLink that owns the registration; the mutex keeps the stacks from
// going while a callback reads them.
std::mutex g_mu;
StackGroup* g_stacks = nullptr;

void put_counters(rte_tel_data* d, const wire::StackCounters& c) {
  for (const wire::NamedCounter& n : wire::kCounters) rte_tel_data_add_dict_u64(d, n.name, c.*n.field);
}

int stats(const char*, const char* params, rte_tel_data* d) {
  std::lock_guard<std::mutex> lock(g_mu);
  if (g_stacks == nullptr) return -ENODEV;
  const std::size_t count = g_stacks->stack_count();
  rte_tel_data_start_dict(d);
  if (params != nullptr && *params != '\0') {
    char* end = nullptr;
    const unsigned long i = std::strtoul(params, &end, 10);
    if (*end != '\0' || i >= count) return -EINVAL;
    rte_tel_data_add_dict_u64(d, "stack", i);
    put_counters(d, *g_stacks->stack(i).counters());
    return 0;
  }
  wire::StackCounters total{};
  for (std::size_t i = 0; i < count; ++i) wire::add_counters(total, *g_stacks->stack(i).counters());
  rte_tel_data_add_dict_u64(d, "stacks", count);
  put_counters(d, total);
  return 0;
}

}  // namespace

TelemetryLink::TelemetryLink(StackGroup& stacks) noexcept {
  {
    std::lock_guard<std::mutex> lock(g_mu);
    g_stacks = &stacks;
  }
  static std::once_flag once;
  std::call_once(once, [] {
    rte_telemetry_register_cmd("/lstack/stats", stats,
                               "lstack's counters summed over its stacks; parameter: a stack's index for that stack's");
  });
}

TelemetryLink::~TelemetryLink() {
  std::lock_guard<std::mutex> lock(g_mu);
  g_stacks = nullptr;
}

}  // namespace gz::stack
