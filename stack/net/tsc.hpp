// Durations by the TSC, for polling loops: rte_rdtsc() is a few cycles where
// clock_gettime() cost an idle round more than the rest of it on this
// project's VM.
// Thread: any, once the EAL is up (rte_get_tsc_hz() is fixed from then on).
#pragma once

#include <rte_cycles.h>

#include <cstdint>

namespace gz::stack {

// TSC cycles in `us` microseconds.
inline std::uint64_t tsc_cycles_us(std::uint64_t us) noexcept { return rte_get_tsc_hz() / 1000000 * us; }

}  // namespace gz::stack
