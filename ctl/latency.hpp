// Percentiles of the latency histograms of gz/wire.hpp (wire::latency_bucket),
// shared by `gazellectl lstack show -l` (latency.cpp) and `ltran show -l` (ltran.cpp).
#pragma once

#include <cstdint>

#include "gz/wire.hpp"

namespace gz::ctl {

// The q-quantile (0.5, 0.99, ...) of h, wire::kLatencyBuckets buckets holding
// samples in all, in microseconds: the middle of the bucket it falls in (0 for
// no samples). Callers clamp it to a known maximum if they have one.
double latency_percentile_us(const std::uint64_t* h, std::uint64_t samples, double q);

}  // namespace gz::ctl
