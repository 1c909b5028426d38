#include "show.hpp"

#include <arpa/inet.h>

#include <cinttypes>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

namespace gz::ctl {
namespace {

using wire::kCounters;
using Named = wire::NamedCounter;
using Counter = std::uint64_t wire::StackCounters::*;

// ss's names for the TCP states, in lwIP's (RFC 9293) order.
const char* kSsStates[wire::kTcpStates] = {"CLOSED",     "LISTEN",     "SYN-SENT", "SYN-RECV", "ESTAB",    "FIN-WAIT-1",
                                           "FIN-WAIT-2", "CLOSE-WAIT", "CLOSING",  "LAST-ACK", "TIME-WAIT"};

std::string ip_text(std::uint32_t net_order) {
  char buf[INET_ADDRSTRLEN] = "?";
  in_addr a{net_order};
  inet_ntop(AF_INET, &a, buf, sizeof buf);
  return buf;
}

std::string comm_of(std::uint32_t pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/comm");
  std::string name;
  std::getline(f, name);
  return name.empty() ? "?" : name;
}

wire::StackCounters total_of(const Reply& r) {
  wire::StackCounters t{};
  for (const auto& s : r.stacks) {
    wire::add_counters(t, s.counters);
  }
  return t;
}

void counters_json(const wire::StackCounters& c) {
  std::printf("{");
  for (std::size_t i = 0; i < std::size(kCounters); ++i) {
    std::printf("%s\"%s\": %" PRIu64, i ? ", " : "", kCounters[i].name, c.*kCounters[i].field);
  }
  std::printf("}");
}

void stack_json(std::size_t i, const wire::CtlStackStats& s) {
  std::printf("{\"stack\": %zu, \"cpu\": %d, \"counters\": ", i, s.cpu);
  counters_json(s.counters);
  std::printf(", \"tcp\": {\"LISTEN\": %u", s.tcp_listen);
  for (int st = 2; st < wire::kTcpStates; ++st) std::printf(", \"%s\": %u", kSsStates[st], s.tcp_states[st]);
  std::printf("}, \"udp_sockets\": %u, \"mbufs_total\": %" PRIu64 ", \"mbufs_free\": %" PRIu64
              ", \"lwip_memory_in_use\": %" PRIu64 ", \"lwip_memory_reserved\": %" PRIu64
              ", \"lwip_memory_refusals\": %" PRIu64 ", \"device\": {\"rx_missed\": %" PRIu64 ", \"rx_nombuf\": %" PRIu64
              ", \"rx_errors\": %" PRIu64 ", \"tx_errors\": %" PRIu64 "}}",
              s.udp_pcbs, s.mbufs_total, s.mbufs_free, s.arena_in_use, s.arena_reserved, s.arena_failures,
              s.device.rx_missed, s.device.rx_nombuf, s.device.rx_errors, s.device.tx_errors);
}

void stack_text(std::size_t i, const wire::CtlStackStats& s) {
  std::printf("  stack %zu (cpu %d)\n", i, s.cpu);
  int col = 0;
  for (const Named& n : kCounters) {
    std::printf("%s%-20s %14" PRIu64, col == 0 ? "    " : "   ", n.name, s.counters.*n.field);
    if (++col == 3) {
      std::printf("\n");
      col = 0;
    }
  }
  if (col != 0) std::printf("\n");
  const auto on = [&](std::uint32_t bit) { return (s.offloads & bit) ? "device" : "software"; };
  std::printf("    checksums: rx ip %s, rx tcp/udp %s, tx ip %s, tx tcp %s\n", on(wire::kOffloadRxIp),
              on(wire::kOffloadRxL4), on(wire::kOffloadTxIp), on(wire::kOffloadTxL4));
  std::printf("    device drops: rx_missed %" PRIu64 " rx_nombuf %" PRIu64 " rx_errors %" PRIu64 " tx_errors %" PRIu64 "\n",
              s.device.rx_missed, s.device.rx_nombuf, s.device.rx_errors, s.device.tx_errors);
  std::printf("    sockets: tcp LISTEN %u", s.tcp_listen);
  for (int st = 2; st < wire::kTcpStates; ++st) {
    if (s.tcp_states[st] != 0) std::printf(", %s %u", kSsStates[st], s.tcp_states[st]);
  }
  std::printf(", udp %u\n    mbufs free %" PRIu64 " of %" PRIu64 " | lwIP memory %" PRIu64 " bytes in use, %" PRIu64
              " reserved, %" PRIu64 " refusals\n",
              s.udp_pcbs, s.mbufs_free, s.mbufs_total, s.arena_in_use, s.arena_reserved, s.arena_failures);
}

}  // namespace

void print_counters(const Reply& r, bool json) {
  const wire::StackCounters total = total_of(r);
  if (json) {
    std::printf("{\"pid\": %u, \"host_addr\": \"%s\", \"stacks\": [", r.head.pid, ip_text(r.head.host_addr).c_str());
    for (std::size_t i = 0; i < r.stacks.size(); ++i) {
      if (i) std::printf(", ");
      stack_json(i, r.stacks[i]);
    }
    std::printf("], \"total\": ");
    counters_json(total);
    std::printf("}\n");
    return;
  }
  std::printf("lstack pid %u (%s), host_addr %s: %zu stack%s\n", r.head.pid, comm_of(r.head.pid).c_str(),
              ip_text(r.head.host_addr).c_str(), r.stacks.size(), r.stacks.size() == 1 ? "" : "s");
  for (std::size_t i = 0; i < r.stacks.size(); ++i) stack_text(i, r.stacks[i]);
  std::printf("  total: rx %" PRIu64 " pkts %" PRIu64 " bytes, tx %" PRIu64 " pkts %" PRIu64 " bytes\n", total.rx_packets,
              total.rx_bytes, total.tx_packets, total.tx_bytes);
}

void print_rates(const Reply& before, const Reply& after, double secs, bool json) {
  const std::size_t n = std::min(before.stacks.size(), after.stacks.size());
  if (json) std::printf("{\"pid\": %u, \"interval_s\": %.3f, \"stacks\": [", after.head.pid, secs);
  if (!json) {
    std::printf("lstack pid %u (%s): per second over %.1f s\n", after.head.pid, comm_of(after.head.pid).c_str(), secs);
    std::printf("  %-5s %12s %14s %12s %14s %10s %10s\n", "stack", "rx pkts/s", "rx bytes/s", "tx pkts/s", "tx bytes/s",
                "rx drop/s", "tx drop/s");
  }
  for (std::size_t i = 0; i < n; ++i) {
    const auto& a = before.stacks[i].counters;
    const auto& b = after.stacks[i].counters;
    const auto rate = [&](Counter f) { return static_cast<double>(b.*f - a.*f) / secs; };
    const double txdrop = rate(&wire::StackCounters::tx_dropped_nombuf) + rate(&wire::StackCounters::tx_dropped_full);
    if (json) {
      std::printf("%s{\"stack\": %zu", i ? ", " : "", i);
      for (const Named& c : kCounters) std::printf(", \"%s\": %.1f", c.name, rate(c.field));
      std::printf("}");
    } else {
      std::printf("  %-5zu %12.0f %14.0f %12.0f %14.0f %10.0f %10.0f\n", i, rate(&wire::StackCounters::rx_packets),
                  rate(&wire::StackCounters::rx_bytes), rate(&wire::StackCounters::tx_packets),
                  rate(&wire::StackCounters::tx_bytes), rate(&wire::StackCounters::rx_dropped), txdrop);
    }
  }
  if (json) std::printf("]}\n");
}

void print_snmp(const Reply& r, bool json) {
  std::uint64_t sum[wire::kSnmpCount] = {};
  for (const auto& s : r.stacks) {
    for (int i = 0; i < wire::kSnmpCount; ++i) sum[i] += s.snmp[i];
  }
  if (json) {
    std::printf("{\"pid\": %u, \"snmp\": {", r.head.pid);
    for (int i = 0; i < wire::kSnmpCount; ++i) std::printf("%s\"%s\": %" PRIu64, i ? ", " : "", wire::kSnmpNames[i], sum[i]);
    std::printf("}}\n");
    return;
  }
  std::printf("#lstack pid %u (%s), %zu stack%s\n", r.head.pid, comm_of(r.head.pid).c_str(), r.stacks.size(),
              r.stacks.size() == 1 ? "" : "s");
  for (int i = 0; i < wire::kSnmpCount; ++i) std::printf("%-28s %" PRIu64 "\n", wire::kSnmpNames[i], sum[i]);
}

void print_features(const Reply& r, bool json) {
  if (json) std::printf("{\"pid\": %u, \"stacks\": [", r.head.pid);
  for (std::size_t i = 0; i < r.stacks.size(); ++i) {
    const wire::CtlStackStats& s = r.stacks[i];
    char mac[18];
    std::snprintf(mac, sizeof mac, "%02x:%02x:%02x:%02x:%02x:%02x", s.mac[0], s.mac[1], s.mac[2], s.mac[3], s.mac[4],
                  s.mac[5]);
    const auto on = [&](std::uint32_t bit) { return (s.offloads & bit) != 0; };
    const struct {
      const char* name;
      bool value;
    } f[] = {{"rx-checksum-ipv4", on(wire::kOffloadRxIp)},
             {"rx-checksum-tcp-udp", on(wire::kOffloadRxL4)},
             {"tx-checksum-ipv4", on(wire::kOffloadTxIp)},
             {"tx-checksum-tcp-udp", on(wire::kOffloadTxL4)},
             {"tcp-segmentation-offload", false},
             {"large-receive-offload", false}};
    if (json) {
      std::printf("%s{\"stack\": %zu, \"mac\": \"%s\", \"mtu\": %u", i ? ", " : "", i, mac, s.mtu);
      for (const auto& x : f) std::printf(", \"%s\": %s", x.name, x.value ? "true" : "false");
      std::printf("}");
      continue;
    }
    std::printf("lstack pid %u stack %zu: mac %s, mtu %u\n", r.head.pid, i, mac, s.mtu);
    for (const auto& x : f) std::printf("  %s: %s\n", x.name, x.value ? "on (device)" : "off (lstack in software)");
  }
  if (json) std::printf("]}\n");
}

void print_xstats(const Reply& r, bool json) {
  if (json) {
    std::printf("{\"pid\": %u, \"xstats\": {", r.head.pid);
    for (std::size_t i = 0; i < r.xstats.size(); ++i) {
      std::printf("%s\"%s\": %" PRIu64, i ? ", " : "", r.xstats[i].name, r.xstats[i].value);
    }
    std::printf("}}\n");
    return;
  }
  std::printf("lstack pid %u (%s): the device's xstats\n", r.head.pid, comm_of(r.head.pid).c_str());
  for (const auto& x : r.xstats) std::printf("  %-40s %" PRIu64 "\n", x.name, x.value);
}

void print_all(const std::vector<Reply>& replies, bool json) {
  Reply all;
  for (const Reply& r : replies) {
    for (const auto& s : r.stacks) all.stacks.push_back(s);
  }
  const wire::StackCounters total = total_of(all);
  if (json) {
    std::printf("{\"processes\": %zu, \"stacks\": %zu, \"total\": ", replies.size(), all.stacks.size());
    counters_json(total);
    std::printf("}\n");
    return;
  }
  std::printf("all lstack processes: %zu, %zu stack%s\n", replies.size(), all.stacks.size(),
              all.stacks.size() == 1 ? "" : "s");
  for (const Named& n : kCounters) std::printf("  %-20s %14" PRIu64 "\n", n.name, total.*n.field);
}

void print_connections(const Reply& r, bool json) {
  const std::string comm = comm_of(r.head.pid);
  if (json) std::printf("{\"pid\": %u, \"connections\": [", r.head.pid);
  if (!json) {
    std::printf("%-6s %-11s %7s %7s %-25s %-25s %s\n", "Netid", "State", "Recv-Q", "Send-Q", "Local Address:Port",
                "Peer Address:Port", "Process");
  }
  for (std::size_t i = 0; i < r.conns.size(); ++i) {
    const wire::CtlConn& c = r.conns[i];
    const bool tcp = c.proto == 6;
    const char* state = tcp ? kSsStates[c.state % wire::kTcpStates] : (c.remote_ip != 0 ? "ESTAB" : "UNCONN");
    const std::string local = ip_text(c.local_ip) + ":" + (c.local_port ? std::to_string(c.local_port) : "*");
    const std::string peer = ip_text(c.remote_ip) + ":" + (c.remote_port ? std::to_string(c.remote_port) : "*");
    if (json) {
      std::printf("%s{\"netid\": \"%s\", \"state\": \"%s\", \"recv_q\": %u, \"send_q\": %u, \"local\": \"%s\", "
                  "\"peer\": \"%s\", \"stack\": %u}",
                  i ? ", " : "", tcp ? "tcp" : "udp", state, c.recv_q, c.send_q, local.c_str(), peer.c_str(), c.stack);
    } else {
      std::printf("%-6s %-11s %7u %7u %-25s %-25s users:((\"%s\",pid=%u,stack=%u))\n", tcp ? "tcp" : "udp", state,
                  c.recv_q, c.send_q, local.c_str(), peer.c_str(), comm.c_str(), r.head.pid, c.stack);
    }
  }
  if (json) std::printf("]}\n");
}

}  // namespace gz::ctl
