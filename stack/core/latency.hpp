// LatencyStats: gazellectl lstack show -l. While on, a stack stamps each
// received frame (rte_rdtsc, in the mbuf's private area) and records, per
// frame the program reads, the time from that stamp to the read. On send it
// samples: a TCP write() made while no earlier one is being timed records the
// time until lwIP has taken its last byte and the stack's next tx burst is
// handed to the driver (data lwIP then holds for the peer's or the congestion
// window is not waited for). And each tx burst's call into the driver, timed
// apart: over net_af_xdp that is a sendto() kick in which the kernel builds
// an skb per frame and veth runs the peer's receive, which is not lstack's
// own time (sockperf over veth: about half a round trip). Histograms with 4
// buckets per power of two of nanoseconds (within 25%), from which gazellectl
// reads p50/p99/p99.9.
//
// Thread: record_*() from any thread (application threads read and write;
// relaxed atomic adds, only while on); start()/stop()/read() from the
// control thread. Off, the hot paths pay one relaxed load and a branch.
#pragma once

#include <atomic>
#include <cstdint>

#include "gz/wire.hpp"

namespace gz::stack {

class LatencyStats {
 public:
  LatencyStats() noexcept;
  bool on() const noexcept { return on_.load(std::memory_order_relaxed); }
  // Clears the histograms and records from now on, for at most seconds (a
  // gazellectl that never came back for the result stops nothing otherwise).
  void start(std::uint32_t seconds) noexcept;
  void stop() noexcept { on_.store(false, std::memory_order_relaxed); }
  // from_tsc: the frame's stamp or the write's; 0 or older than start() is
  // not recorded (a stamp from before, in a reused mbuf).
  void record_rx(std::uint64_t from_tsc) noexcept { record(rx_, from_tsc); }
  // now_tsc: the end of the span (rte_rdtsc()), 0 to read the clock here.
  void record_tx(std::uint64_t from_tsc, std::uint64_t now_tsc) noexcept { record(tx_, from_tsc, now_tsc); }
  void record_dev(std::uint64_t from_tsc) noexcept { record(dev_, from_tsc); }
  void read(wire::CtlLatency& out) const noexcept;

 private:
  struct Histogram {
    std::atomic<std::uint64_t> buckets[wire::kLatencyBuckets];
    std::atomic<std::uint64_t> max_ns;
  };
  void record(Histogram& h, std::uint64_t from_tsc, std::uint64_t now_tsc = 0) noexcept;

  std::atomic<bool> on_{false};
  std::atomic<std::uint64_t> since_{0};
  std::atomic<std::uint64_t> until_{0};
  double ns_per_tick_;
  Histogram rx_{}, tx_{}, dev_{};
};

}  // namespace gz::stack
