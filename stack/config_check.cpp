// lstack.conf: the rules that span several keys, and those that need the machine.
#include <arpa/inet.h>

#include <cerrno>
#include <algorithm>
#include <cstdio>

#include "gz/config.hpp"

namespace gz::stack {
namespace {

std::string ip_text(in_addr a) {
  char buf[INET_ADDRSTRLEN];
  inet_ntop(AF_INET, &a, buf, sizeof buf);
  return buf;
}

Error at(const Config& c, std::string_view key, const std::string& what) {
  return make_error(EINVAL, c.where(key) + std::string(key) + ": " + what);
}

Result<void> check_required(const Config& c) {
  for (const char* key : {"dpdk_args", "num_cpus", "host_addr", "mask_addr", "devices"}) {
    if (c.line_of(key) == 0) return make_error(EINVAL, c.path + ": " + key + " is missing; it has no default (see conf/lstack.conf)");
  }
  return {};
}

Result<void> check_addresses(const Config& c) {
  const std::uint32_t host = ntohl(c.host_addr.s_addr), mask = ntohl(c.mask_addr.s_addr);
  const std::uint32_t gw = ntohl(c.gateway_addr.s_addr);
  if (mask == 0 || (~mask & (~mask + 1)) != 0) {
    return at(c, "mask_addr", "\"" + ip_text(c.mask_addr) + "\" is not a netmask (contiguous ones, like 255.255.255.0)");
  }
  const bool special = host == 0 || host == 0xffffffffu || (host >> 28) == 0xe || (host >> 24) == 127 ||
                       (host & ~mask) == 0 || (host & ~mask) == ~mask;
  if (special) {
    return at(c, "host_addr", "\"" + ip_text(c.host_addr) +
                                  "\" cannot be a host address (zero, loopback, multicast, or the network/broadcast address of mask_addr)");
  }
  if (gw != 0 && ((gw & mask) != (host & mask) || gw == host)) {
    return at(c, "gateway_addr", "\"" + ip_text(c.gateway_addr) + "\" is not another address in host_addr's subnet " +
                                     ip_text(in_addr{htonl(host & mask)}) + "/" + ip_text(c.mask_addr));
  }
  return {};
}

Result<void> check_features(const Config& c) {
  for (int cpu : c.wakeup_cpus) {
    for (int s : c.cpus) {
      if (cpu == s) return at(c, "num_wakeup", "CPU " + std::to_string(cpu) + " is also a stack CPU in num_cpus; they must differ");
    }
  }
  if (c.use_ltran) return at(c, "use_ltran", "1 is not available yet (ltran comes later); set use_ltran = 0");
  if (c.kni_switch) return at(c, "kni_switch", "1 is not available: DPDK 22.11 has no KNI; set kni_switch = 0");
  if (c.nic_vlan_mode != -1) return at(c, "nic_vlan_mode", "VLANs are not supported yet; set nic_vlan_mode = -1");
  if (c.unix_prefix.size() > 64 || c.unix_prefix.find('/') != std::string::npos) {
    return at(c, "unix_prefix", "\"" + c.unix_prefix + "\" must be at most 64 characters without '/'");
  }
  return {};
}

}  // namespace

Result<void> check_consistency(const Config& c) {
  if (auto r = check_required(c); !r) return r;
  if (auto r = check_addresses(c); !r) return r;
  return check_features(c);
}

std::string mac_to_string(const std::array<std::uint8_t, 6>& m) {
  char buf[18];
  std::snprintf(buf, sizeof buf, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
  return buf;
}

std::size_t hugepage_bytes_needed(const Config& c) {
  const std::size_t mbufs = std::max(std::size_t{c.tcp_conn_count} * c.mbuf_count_per_conn, kMinPoolMbufs);
  const std::size_t per_stack = mbufs * kMbufBytes + kStackFixedBytes;
  return per_stack * c.cpus.size();
}

Result<void> check_against_machine(const Config& c, const MachineFacts& facts) {
  const PortFacts* port = nullptr;
  std::string seen;
  for (const auto& p : facts.ports) {
    seen += (seen.empty() ? "" : ", ") + mac_to_string(p.mac);
    if (p.mac == c.devices) port = &p;
  }
  if (port == nullptr) {
    return at(c, "devices", "no DPDK port has MAC " + mac_to_string(c.devices) + " (ports: " +
                                (seen.empty() ? std::string("none; check dpdk_args' --vdev/-a") : seen) + ")");
  }
  const std::size_t queues = std::min(port->max_rx_queues, port->max_tx_queues);
  if (c.cpus.size() > queues) {
    return at(c, "num_cpus", std::to_string(c.cpus.size()) + " stack threads, but the port has " + std::to_string(queues) +
                                 " queue pair(s): one each is needed");
  }
  const std::size_t need = hugepage_bytes_needed(c);
  if (need > facts.hugepage_bytes_free) {
    return at(c, "tcp_conn_count", std::to_string(c.tcp_conn_count) + " x mbuf_count_per_conn " +
                                       std::to_string(c.mbuf_count_per_conn) + " x " + std::to_string(c.cpus.size()) +
                                       " stack(s) needs " + std::to_string(need >> 20) + " MiB of hugepages, " +
                                       std::to_string(facts.hugepage_bytes_free >> 20) + " MiB are free");
  }
  return {};
}

}  // namespace gz::stack
