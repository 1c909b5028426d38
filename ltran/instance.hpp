// Instance: one registered lstack process, and the net_memif port ltran made
// for it (one queue pair per stack thread of the process).
//
// Why memif: each process's packets live in shared memory that process made
// (memif's client allocates the regions and hands them to ltran), so one
// process can neither read nor corrupt another's; its death is a hang-up of
// the memif and registration sockets, never a ring left locked; and it needs
// no hugepages nor any privilege (lstack runs --no-huge). The price is a copy
// on each side of the ring (see the README's ltran section for the figures).
// Thread: the dispatch thread only.
#pragma once

#include <sys/types.h>

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "gz/result.hpp"
#include "gz/wire.hpp"

struct rte_mbuf;
struct rte_mempool;

namespace gz::ltran {

inline constexpr std::uint16_t kNoPort = 0xffff;
inline constexpr std::uint16_t kBurst = 32;

// Per-second packet and byte budgets (a token bucket each, refilled by TSC).
struct TxLimit {
  std::uint64_t pps = 0, bps = 0;  // 0: none
  double pkt_tokens = 0, byte_tokens = 0;
  std::uint64_t last_tsc = 0;
  // Whether a frame of len bytes may go now (and takes its tokens).
  bool admit(std::uint32_t len, std::uint64_t now, std::uint64_t hz) noexcept;
};

struct Instance {
  bool live = false;
  bool up = false;  // its memif connected: frames sent now arrive (SYNs and parked connections wait for it)
  std::uint16_t slot = 0;
  int fd = -1;  // its registration connection
  pid_t pid = 0;
  uid_t uid = 0;
  gid_t gid = 0;
  std::uint32_t addr = 0;  // network order
  std::uint16_t queues = 0;
  std::uint16_t port = kNoPort;  // its slot's net_memif server port (MemifPort)
  std::array<char, 16> name{};
  std::uint16_t port_lo = 0, port_hi = 0;
  wire::LtranInstanceInfo counters{};
  TxLimit limit;
  // Frames for each queue, gathered over one wire burst and sent together.
  std::vector<std::array<rte_mbuf*, kBurst>> pending;
  std::vector<std::uint16_t> pending_count;
  std::string inbuf;  // bytes of a request not yet complete
};

// The net_memif server port of one slot, made for the slot's first process and
// kept, stopped, for the next ones: DPDK 22.11's memif frees a server socket's
// interrupt handle without unregistering it when its port goes, and EAL's
// interrupt thread then reads freed memory (a crash seen at ltran's exit; any
// later registration could meet it too). Never closed: ltran's exit leaves
// them to the process's end.
struct MemifPort {
  std::uint16_t port = kNoPort;
  std::string vdev, socket_path;
  std::array<char, 24> secret{};  // the slot's memif secret=, beside the socket's owner and mode
  bool unusable = false;          // its stop did not finish: never started again
};

// Starts m for inst (slot, queues, uid/gid set), making the port on first use:
// its socket in run_dir handed to the process's uid, mode 0600. Errors: the
// vdev's or the port setup's errno.
Result<void> attach_memif(MemifPort& m, Instance& inst, const std::string& run_dir, const std::string& prefix,
                          rte_mempool* pool);
// The process is gone: frees its pending frames, stops the port (its memif
// disconnects) and takes the socket back (root, 0600). Never fails.
void detach_memif(MemifPort& m, Instance& inst) noexcept;
// ltran stops: the socket file goes (the port stays, see MemifPort). Never fails.
void forget_memif(MemifPort& m) noexcept;

}  // namespace gz::ltran
