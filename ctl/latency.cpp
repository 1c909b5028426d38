// gazellectl lstack show -l: the latency histograms (gz/wire.hpp CtlLatency).
#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <vector>

#include "latency.hpp"
#include "show.hpp"

namespace gz::ctl {
namespace {

// The middle of bucket i, in microseconds (a bucket spans at most 25% of its low edge).
double bucket_us(int i) {
  const double low = static_cast<double>(wire::latency_bucket_low(i));
  const double high = i + 1 < wire::kLatencyBuckets ? static_cast<double>(wire::latency_bucket_low(i + 1)) : low;
  return (low + high) / 2 / 1000;
}

}  // namespace

double latency_percentile_us(const std::uint64_t* h, std::uint64_t samples, double q) {
  const auto rank = static_cast<std::uint64_t>(q * static_cast<double>(samples) + 0.999999);
  std::uint64_t seen = 0;
  for (int i = 0; i < wire::kLatencyBuckets; ++i) {
    seen += h[i];
    if (seen >= rank && seen > 0) return bucket_us(i);
  }
  return 0;
}

namespace {

struct Summary {
  std::uint64_t samples = 0;
  double p50_us = 0, p99_us = 0, p999_us = 0, max_us = 0;
};

Summary summarize(const std::uint64_t* h, std::uint64_t max_ns) {
  Summary s;
  for (int i = 0; i < wire::kLatencyBuckets; ++i) s.samples += h[i];
  if (s.samples == 0) return s;
  s.p50_us = latency_percentile_us(h, s.samples, 0.50);
  s.p99_us = latency_percentile_us(h, s.samples, 0.99);
  s.p999_us = latency_percentile_us(h, s.samples, 0.999);
  s.max_us = static_cast<double>(max_ns) / 1000;
  // A bucket's middle may lie above the largest sample in it.
  for (double* p : {&s.p50_us, &s.p99_us, &s.p999_us}) *p = *p > s.max_us ? s.max_us : *p;
  return s;
}

void print_direction(const char* name, const char* what, const std::uint64_t* h, std::uint64_t max_ns, bool json) {
  const Summary s = summarize(h, max_ns);
  if (json) {
    std::printf("\"%s\": {\"samples\": %" PRIu64 ", \"p50_us\": %.3f, \"p99_us\": %.3f, \"p99.9_us\": %.3f, \"max_us\": %.3f, "
                "\"histogram\": [",
                name, s.samples, s.p50_us, s.p99_us, s.p999_us, s.max_us);
    bool first = true;
    for (int i = 0; i < wire::kLatencyBuckets; ++i) {
      if (h[i] == 0) continue;
      std::printf("%s[%" PRIu64 ", %" PRIu64 "]", first ? "" : ", ", wire::latency_bucket_low(i), h[i]);
      first = false;
    }
    std::printf("]}");
    return;
  }
  std::printf("  %s (%s): %" PRIu64 " samples", name, what, s.samples);
  if (s.samples != 0) {
    std::printf(", p50 %.1f us, p99 %.1f us, p99.9 %.1f us, max %.1f us", s.p50_us, s.p99_us, s.p999_us, s.max_us);
  }
  std::printf("\n");
  std::uint64_t peak = 0;
  for (int i = 0; i < wire::kLatencyBuckets; ++i) peak = h[i] > peak ? h[i] : peak;
  for (int i = 0; i < wire::kLatencyBuckets; ++i) {
    if (h[i] == 0) continue;
    const int bar = static_cast<int>(40 * h[i] / peak);
    std::printf("    >= %10.1f us %10" PRIu64 " %.*s\n", static_cast<double>(wire::latency_bucket_low(i)) / 1000, h[i],
                bar > 0 ? bar : 1, "########################################");
  }
}

}  // namespace

void print_latency(const Reply& r, bool json) {
  wire::CtlLatency total{};
  for (const auto& l : r.latency) {
    for (int i = 0; i < wire::kLatencyBuckets; ++i) {
      total.rx[i] += l.rx[i];
      total.tx[i] += l.tx[i];
      total.dev[i] += l.dev[i];
    }
    total.rx_max_ns = std::max(total.rx_max_ns, l.rx_max_ns);
    total.tx_max_ns = std::max(total.tx_max_ns, l.tx_max_ns);
    total.dev_max_ns = std::max(total.dev_max_ns, l.dev_max_ns);
    total.window_ns = std::max(total.window_ns, l.window_ns);
  }
  const double window = static_cast<double>(total.window_ns) / 1e9;
  if (json) {
    std::printf("{\"pid\": %u, \"stacks\": %zu, \"window_s\": %.3f, ", r.head.pid, r.latency.size(), window);
    print_direction("receive", "", total.rx, total.rx_max_ns, true);
    std::printf(", ");
    print_direction("send", "", total.tx, total.tx_max_ns, true);
    std::printf(", ");
    print_direction("device", "", total.dev, total.dev_max_ns, true);
    std::printf("}\n");
    return;
  }
  std::printf("lstack pid %u: latency over %.1f s, %zu stack%s\n", r.head.pid, window, r.latency.size(),
              r.latency.size() == 1 ? "" : "s");
  print_direction("receive", "the stack's rx burst to the program's read", total.rx, total.rx_max_ns, false);
  print_direction("send", "the program's write() to the tx burst carrying it, handed to the driver, TCP", total.tx,
                  total.tx_max_ns, false);
  print_direction("device", "each tx burst's call into the driver", total.dev, total.dev_max_ns, false);
}

}  // namespace gz::ctl
