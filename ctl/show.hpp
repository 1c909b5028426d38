// What `gazellectl lstack show` prints: counters, rates and the socket table,
// as text for people or as JSON for scripts (--json: one object per process).
#pragma once

#include "control_client.hpp"

namespace gz::ctl {

// No option: every counter, per stack and in total.
void print_counters(const Reply& r, bool json);
// -r: per-second rates between two snapshots taken secs apart.
void print_rates(const Reply& before, const Reply& after, double secs, bool json);
// -s: MIB-II counters over every stack, with the names nstat gives /proc/net/snmp's.
void print_snmp(const Reply& r, bool json);
// -k: the device's features and offloads, as ethtool -k words them.
void print_features(const Reply& r, bool json);
// -x: the device's DPDK extended statistics.
void print_xstats(const Reply& r, bool json);
// -a: every counter summed over every process given.
void print_all(const std::vector<Reply>& replies, bool json);
// -l: receive and send latency histograms with p50/p99/p99.9 (ctl/latency.cpp).
void print_latency(const Reply& r, bool json);
// -c: one line per socket, in the layout of `ss -tuanp`.
void print_connections(const Reply& r, bool json);

}  // namespace gz::ctl
