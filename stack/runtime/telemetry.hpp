// lstack's own commands in DPDK's telemetry (dpdk-telemetry.py beside
// /ethdev/stats and /mempool/info):
//   /lstack/stats        every counter summed over the stacks, and "stacks"
//   /lstack/stats,N      stack N's counters
// Thread: constructed and destroyed by the runtime; the callbacks run on
// DPDK's telemetry thread and read the counters as gazellectl does (plain loads).
#pragma once

#include "stack_thread.hpp"

namespace gz::stack {

class TelemetryLink {
 public:
  // Registers the commands (once per process) and points them at stacks.
  explicit TelemetryLink(StackGroup& stacks) noexcept;
  // From here on the commands answer -ENODEV: DPDK 22.11 cannot unregister them.
  ~TelemetryLink();
  TelemetryLink(const TelemetryLink&) = delete;
  TelemetryLink& operator=(const TelemetryLink&) = delete;
};

}  // namespace gz::stack
