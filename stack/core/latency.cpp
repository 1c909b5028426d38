#include "latency.hpp"

#include <rte_cycles.h>

namespace gz::stack {

LatencyStats::LatencyStats() noexcept : ns_per_tick_(1e9 / static_cast<double>(rte_get_tsc_hz())) {}

void LatencyStats::start(std::uint32_t seconds) noexcept {
  on_.store(false, std::memory_order_relaxed);
  for (Histogram* h : {&rx_, &tx_, &dev_}) {
    for (auto& b : h->buckets) b.store(0, std::memory_order_relaxed);
    h->max_ns.store(0, std::memory_order_relaxed);
  }
  const std::uint64_t now = rte_rdtsc();
  since_.store(now, std::memory_order_relaxed);
  until_.store(now + static_cast<std::uint64_t>(seconds) * rte_get_tsc_hz(), std::memory_order_relaxed);
  on_.store(true, std::memory_order_release);
}

void LatencyStats::record(Histogram& h, std::uint64_t from_tsc, std::uint64_t now_tsc) noexcept {
  if (!on()) return;  // stopped since the caller looked
  const std::uint64_t now = now_tsc != 0 ? now_tsc : rte_rdtsc();
  if (now > until_.load(std::memory_order_relaxed)) {
    stop();
    return;
  }
  if (from_tsc == 0 || from_tsc < since_.load(std::memory_order_relaxed) || from_tsc > now) return;
  const auto ns = static_cast<std::uint64_t>(static_cast<double>(now - from_tsc) * ns_per_tick_);
  h.buckets[wire::latency_bucket(ns)].fetch_add(1, std::memory_order_relaxed);
  std::uint64_t max = h.max_ns.load(std::memory_order_relaxed);
  while (ns > max && !h.max_ns.compare_exchange_weak(max, ns, std::memory_order_relaxed)) {
  }
}

void LatencyStats::read(wire::CtlLatency& out) const noexcept {
  out.recording = on() ? 1 : 0;
  const std::uint64_t since = since_.load(std::memory_order_relaxed);
  out.window_ns = since == 0 ? 0 : static_cast<std::uint64_t>(static_cast<double>(rte_rdtsc() - since) * ns_per_tick_);
  for (int i = 0; i < wire::kLatencyBuckets; ++i) {
    out.rx[i] = rx_.buckets[i].load(std::memory_order_relaxed);
    out.tx[i] = tx_.buckets[i].load(std::memory_order_relaxed);
    out.dev[i] = dev_.buckets[i].load(std::memory_order_relaxed);
  }
  out.rx_max_ns = rx_.max_ns.load(std::memory_order_relaxed);
  out.tx_max_ns = tx_.max_ns.load(std::memory_order_relaxed);
  out.dev_max_ns = dev_.max_ns.load(std::memory_order_relaxed);
}

}  // namespace gz::stack
