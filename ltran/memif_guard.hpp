// DPDK 22.11's net_memif against ltran's threads: the one place that knows.
//
// When a process behind ltran goes (exits, or is killed), its memif client's
// socket hangs up and EAL's interrupt thread runs memif_disconnect on ltran's
// server port: it clears the port's CONNECTED flag, then unmaps the regions
// the process had shared. Nothing stops the dispatch thread from being inside
// an rx or tx burst of that port at that moment, past the flag's check: it
// then touches unmapped memory (SIGSEGV; 1 stop in 15 under load before this
// guard, test/integration/ltran_stops.sh). And a port ltran stops itself
// (rte_eth_dev_stop, the same memif_disconnect) could race the interrupt
// thread's own disconnect of it, both freeing the same regions.
//
// The guards:
//  - PollPass brackets each pass of the dispatch thread over the ports. ltran
//    defines munmap (exported, so the PMD's calls bind to it), which waits for
//    a pass in progress to end before unmapping. A burst checks the CONNECTED
//    flag first, memif clears it before unmapping, and both sides order the
//    flag and the pass counter with a full barrier: a pass that began before
//    the unmap is waited for; one that begins after sees the port down.
//  - stop_memif_port stops a port on the interrupt thread, where memif's own
//    disconnects run, so no two run at once.
#pragma once

#include <cstdint>

namespace gz::ltran {

// RAII: a pass of the dispatch thread in progress (its own unmaps meanwhile
// do not wait): around every rx or tx burst of a process's memif port (the
// loop's poll, and a handoff sent from a control request). Nests (only the
// outermost counts). Thread: the dispatch thread only.
class PollPass {
 public:
  PollPass() noexcept;
  ~PollPass();
  PollPass(const PollPass&) = delete;
  PollPass& operator=(const PollPass&) = delete;
};

// Stops DPDK port `port` (a memif server) on EAL's interrupt thread and waits
// for it, at most 5 s. Returns false when it did not finish by then (it may
// still run later: the port must not be started again) or could not be
// queued (said on stderr; not stopped). Thread: any but the interrupt
// thread, outside a PollPass (the stop's unmap waits for the pass).
bool stop_memif_port(std::uint16_t port) noexcept;

// How many unmaps had to wait for a pass (ltran prints it at exit; the
// stops test reads it). Thread: any.
std::uint64_t unmaps_waited() noexcept;

}  // namespace gz::ltran
