// lstack.conf: the rules that span several keys, and those that need the machine.
// Messages: "FILE:LINE: key: what", LINE of the key named (no LINE when the key
// took its default).
#include <arpa/inet.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <new>
#include <string>

#include "gz/conf_text.hpp"
#include "gz/config.hpp"

namespace gz::stack {
namespace {

// Sizes of one mbuf besides its data room (see kMbufBytes).
constexpr std::size_t kRteMbufBytes = 128;      // struct rte_mbuf
constexpr std::size_t kPbufAreaBytes = 64;      // our private area (net/netdev.hpp kMbufPrivBytes)
constexpr std::size_t kMempoolHeaderBytes = 64; // object header, cache-line aligned
constexpr std::size_t kHeadroomBytes = 128;     // RTE_PKTMBUF_HEADROOM
constexpr std::size_t kDefaultRoomBytes = 2048 + kHeadroomBytes;  // RTE_MBUF_DEFAULT_BUF_SIZE
constexpr std::size_t kNoHugeDefaultMib = 64;   // EAL's memory with --no-huge and no -m (MEMSIZE_IF_NO_HUGE_PAGE)
constexpr std::size_t kSmallPageBytes = 4096;   // --no-huge: a mempool object may not cross such a page

std::string ip_text(in_addr a) {
  char buf[INET_ADDRSTRLEN];
  inet_ntop(AF_INET, &a, buf, sizeof buf);
  return buf;
}

std::string ip_text(std::uint32_t host_order) { return ip_text(in_addr{htonl(host_order)}); }

// s with control characters as \xHH, so a message stays one line.
std::string shown(const std::string& s) {
  std::string out;
  for (const char ch : s) {
    if (std::isprint(static_cast<unsigned char>(ch)) != 0) {
      out += ch;
    } else {
      char hex[5];
      std::snprintf(hex, sizeof hex, "\\x%02x", static_cast<unsigned char>(ch));
      out += hex;
    }
  }
  return out;
}

Error at(const Config& c, std::string_view key, const std::string& what) {
  return make_error(EINVAL, c.where(key) + ": " + what);
}

Result<void> check_required(const Config& c) {
  static const std::pair<const char*, const char*> required[] = {
      {"dpdk_args", "the EAL arguments, like dpdk_args = [\"--no-pci\", \"--vdev\", \"net_af_xdp0,iface=eth1\"]"},
      {"num_cpus", "the CPUs of the stack threads, like num_cpus = \"1\""},
      {"host_addr", "lstack's IPv4 address, like host_addr = \"192.168.1.10\""},
      {"mask_addr", "the netmask of host_addr, like mask_addr = \"255.255.255.0\""},
      {"devices", "the MAC of the DPDK port to use, like devices = \"aa:bb:cc:dd:ee:ff\""},
  };
  for (const auto& [key, what] : required) {
    if (c.line_of(key) == 0) return make_error(EINVAL, c.path + ": " + key + " is missing (required, no default): " + what);
  }
  return {};
}

// Why `host` cannot be lstack's address in the subnet of `mask`; "" when it can.
std::string host_problem(std::uint32_t host, std::uint32_t mask) {
  if ((host >> 24) == 0) return "it is in 0.0.0.0/8 (\"this network\")";
  if ((host >> 24) == 127) return "it is loopback (127.0.0.0/8)";
  if ((host >> 28) == 0xe) return "it is multicast (224.0.0.0/4)";
  if ((host >> 28) == 0xf) return "it is reserved or broadcast (240.0.0.0/4)";
  const std::string subnet = ip_text(host & mask) + "/" + ip_text(mask);
  if ((host & ~mask) == 0) return "it is the network address of " + subnet;
  if ((host & ~mask) == ~mask) return "it is the broadcast address of " + subnet;
  return {};
}

Result<void> check_addresses(const Config& c) {
  const std::uint32_t host = ntohl(c.host_addr.s_addr), mask = ntohl(c.mask_addr.s_addr);
  const std::uint32_t gw = ntohl(c.gateway_addr.s_addr), hosts = ~mask;
  // /31 and /32 leave no neighbour besides a broadcast address lwIP would claim.
  if ((hosts & (hosts + 1)) != 0 || mask == 0 || hosts < 3) {
    return at(c, "mask_addr", "\"" + ip_text(c.mask_addr) +
                                  "\" is not a netmask lstack can use: contiguous ones from /1 to /30, like \"255.255.255.0\"");
  }
  if (const std::string why = host_problem(host, mask); !why.empty()) {
    return at(c, "host_addr", "\"" + ip_text(c.host_addr) + "\" cannot be a host address: " + why +
                                  "; allowed: a unicast address inside mask_addr's subnet");
  }
  const std::uint32_t net = host & mask;
  if (gw != 0 && ((gw & mask) != net || gw == host || (gw & hosts) == 0 || (gw & hosts) == hosts)) {
    return at(c, "gateway_addr", "\"" + ip_text(c.gateway_addr) + "\" is not another address in host_addr's subnet " +
                                     ip_text(net) + "/" + ip_text(c.mask_addr) + " (allowed: " + ip_text(net + 1) + " to " +
                                     ip_text(net + hosts - 1) + " except " + ip_text(c.host_addr) + ", or \"0.0.0.0\" for none)");
  }
  return {};
}

Result<void> check_cpus(const Config& c) {
  // Gazelle pairs each stack thread with a wakeup thread and refuses fewer.
  if (!c.wakeup_cpus.empty() && c.wakeup_cpus.size() < c.cpus.size()) {
    return at(c, "num_wakeup", std::to_string(c.wakeup_cpus.size()) + " CPU(s) for " + std::to_string(c.cpus.size()) +
                                   " stack threads in num_cpus: must list one per stack thread, or be left out");
  }
  for (int cpu : c.wakeup_cpus) {
    if (std::find(c.cpus.begin(), c.cpus.end(), cpu) != c.cpus.end()) {
      return at(c, "num_wakeup", "CPU " + std::to_string(cpu) + " is also a stack CPU in num_cpus; they must differ");
    }
  }
  return {};
}

Result<void> check_features(const Config& c) {
  if (c.use_ltran && c.kni_switch) return at(c, "kni_switch", "1 cannot be combined with use_ltran = 1 (Gazelle refuses it too)");
  if (c.kni_switch) return at(c, "kni_switch", "1 is not available: DPDK 22.11 has no KNI; allowed: 0");
  if (c.nic_vlan_mode != -1) {
    return at(c, "nic_vlan_mode", std::to_string(c.nic_vlan_mode) + ": VLANs are not supported yet; allowed: -1 (no VLAN)");
  }
  const bool printable = std::all_of(c.unix_prefix.begin(), c.unix_prefix.end(),
                                     [](char ch) { return std::isprint(static_cast<unsigned char>(ch)) != 0 && ch != '/'; });
  if (c.unix_prefix.size() > 64 || !printable) {
    return at(c, "unix_prefix", "\"" + shown(c.unix_prefix) + "\" must be at most 64 printable characters without '/'");
  }
  return {};
}

// dpdk_args' own memory limit: in EAL's legacy memory mode (Gazelle's
// --legacy-mem, which lstack leaves out behind ltran; --no-huge, 64 MiB unless
// -m says) --socket-mem / -m is all DPDK has, so pools beyond it would fail only
// when the stacks start, one by one. Otherwise they only reserve up front.
Result<void> check_eal_memory(const Config& c) {
  const bool no_huge = conf::has_eal_arg(c.dpdk_args, "--no-huge");
  if (!no_huge && (c.use_ltran || !conf::has_eal_arg(c.dpdk_args, "--legacy-mem"))) return {};
  std::size_t given = conf::eal_memory_mib(c.dpdk_args);
  if (given == 0 && no_huge) given = kNoHugeDefaultMib;
  const std::size_t need = (hugepage_bytes_needed(c) + (1u << 20) - 1) >> 20;
  if (given == 0 || need <= given) return {};
  return at(c, "dpdk_args", "they give DPDK " + std::to_string(given) + " MiB (--socket-mem or -m with --legacy-mem or --no-huge), but " +
                                std::to_string(c.cpus.size()) + " stack(s) of " + std::to_string(pool_mbufs(c)) + " mbufs of " +
                                std::to_string(mbuf_bytes(c)) + " bytes + " + std::to_string(kStackFixedBytes >> 20) +
                                " MiB each need " + std::to_string(need) + " MiB: give at least " + std::to_string(need) +
                                ", or lower tcp_conn_count or mbuf_count_per_conn");
}

}  // namespace

// The rules no single value can break alone, first problem first.
Result<void> check_consistency(const Config& c) {
  if (auto r = check_required(c); !r) return r;
  if (auto r = check_addresses(c); !r) return r;
  if (auto r = check_cpus(c); !r) return r;
  if (auto r = check_features(c); !r) return r;
  return check_eal_memory(c);
}

std::string mac_to_string(const std::array<std::uint8_t, 6>& m) { return conf::mac_text(m); }

std::size_t pool_mbufs(const Config& c) {
  return std::max(std::size_t{c.tcp_conn_count} * c.mbuf_count_per_conn, kMinPoolMbufs);
}

std::size_t mbuf_data_room(const Config& c) {
  const std::size_t frame = conf::af_packet_frame_size(c.dpdk_args);
  return frame == 0 ? kDefaultRoomBytes : std::max(kDefaultRoomBytes, std::min<std::size_t>(frame + kHeadroomBytes, UINT16_MAX));
}

std::size_t mbuf_bytes(const Config& c) {
  const std::size_t bytes = kRteMbufBytes + kPbufAreaBytes + mbuf_data_room(c) + kMempoolHeaderBytes;
  const std::size_t lines = (bytes + 63) / 64;
  const std::size_t object = (lines % 2 == 0 ? lines + 1 : lines) * 64;  // see kMbufBytes: with 2^k channels, an odd count
  // Without hugepages DPDK's pages are 4 KiB and no object crosses one: one
  // mbuf a page (DPDK 22.11's rte_mempool_get_page_size, check_obj_bounds).
  if (!conf::has_eal_arg(c.dpdk_args, "--no-huge")) return object;
  return (object + kSmallPageBytes - 1) / kSmallPageBytes * kSmallPageBytes;
}

std::size_t hugepage_bytes_needed(const Config& c) {
  return (pool_mbufs(c) * mbuf_bytes(c) + kStackFixedBytes) * c.cpus.size();
}

namespace {

Result<void> check_hugepages(const Config& c, std::size_t free_bytes) {
  const std::size_t need = hugepage_bytes_needed(c);
  if (need <= free_bytes) return {};
  const std::size_t mbufs = pool_mbufs(c);
  return at(c, "tcp_conn_count", std::to_string(c.tcp_conn_count) + " x mbuf_count_per_conn " +
                                     std::to_string(c.mbuf_count_per_conn) + " = " + std::to_string(mbufs) + " mbufs of " +
                                     std::to_string(mbuf_bytes(c)) + " bytes + " + std::to_string(kStackFixedBytes >> 20) +
                                     " MiB per stack x " + std::to_string(c.cpus.size()) + " stack(s) needs " +
                                     std::to_string((need + (1u << 20) - 1) >> 20) + " MiB of hugepages, " +
                                     std::to_string(free_bytes >> 20) +
                                     " MiB are free: lower tcp_conn_count or mbuf_count_per_conn, or reserve more hugepages");
}

}  // namespace

Result<void> check_against_machine(const Config& c, const MachineFacts& facts) {
  try {
    const PortFacts* port = nullptr;
    std::string seen;
    for (const auto& p : facts.ports) {
      seen += (seen.empty() ? "" : ", ") + mac_to_string(p.mac);
      if (port == nullptr && p.mac == c.devices) port = &p;
    }
    if (port == nullptr) {
      return at(c, "devices", "no DPDK port has MAC " + mac_to_string(c.devices) + " (ports: " +
                                  (seen.empty() ? std::string("none; check dpdk_args' --vdev/-a") : seen) + ")");
    }
    const std::size_t queues = std::min(port->max_rx_queues, port->max_tx_queues);
    if (c.cpus.size() > queues) {
      return at(c, "num_cpus", std::to_string(c.cpus.size()) + " stack threads, but the port has " + std::to_string(queues) +
                                   " queue pair(s): one each is needed; allowed: at most " + std::to_string(queues) + " CPU(s)");
    }
    // --no-huge (a process behind ltran needs no hugepages): EAL's -m memory instead.
    if (std::find(c.dpdk_args.begin(), c.dpdk_args.end(), "--no-huge") != c.dpdk_args.end()) return {};
    return check_hugepages(c, facts.hugepage_bytes_free);
  } catch (...) {  // only a string can throw: bad_alloc
    return make_error(ENOMEM, c.path + ": out of memory while checking the lstack config");
  }
}

}  // namespace gz::stack
