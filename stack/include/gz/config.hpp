// lstack.conf: read once (libconfig syntax, Gazelle's keys) into an immutable
// Config that is passed by const reference; there is no global config.
//
// Bad input never turns into a silent default: load_config() returns one
// message naming the file, the line, the key, the value and what is allowed,
// e.g. "/etc/gazelle/lstack.conf:12: tcp_conn_count = -5: must be an integer
// from 1 to 65535". Thread: all functions are reentrant; no exception escapes.
#pragma once

#include <netinet/in.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "gz/result.hpp"

namespace gz::stack {

// Bytes of hugepage memory one mbuf takes in a pool of the default data room:
// rte_mbuf (128) + private pbuf area (64) + headroom (128) + data (2048) +
// mempool object header and alignment (64).
inline constexpr std::size_t kMbufBytes = 2432;
// Fewest mbufs in a stack's pool, whatever tcp_conn_count x mbuf_count_per_conn
// says: the NIC's rx and tx rings alone hold up to 2 x 1024.
inline constexpr std::size_t kMinPoolMbufs = 4096;
// Rings and per-queue overhead of one stack thread, besides its mbufs.
inline constexpr std::size_t kStackFixedBytes = 8u << 20;

struct Config {
  std::string path;                        // the file it came from
  std::vector<std::string> dpdk_args;      // EAL arguments
  std::vector<int> cpus;                   // num_cpus: one stack thread per entry
  std::vector<int> wakeup_cpus;            // num_wakeup (old spelling num_weakup)
  bool numa_bind = true;
  bool app_bind_numa = true;
  bool low_power_mode = false;
  bool listen_shadow = false;
  bool stack_mode_rtc = false;
  in_addr host_addr{};
  in_addr mask_addr{};
  in_addr gateway_addr{};                  // 0.0.0.0: none
  std::array<std::uint8_t, 6> devices{};   // MAC of the port to use
  std::uint32_t tcp_conn_count = 1500;
  std::uint32_t mbuf_count_per_conn = 32;
  std::uint32_t nic_read_num = 32;
  std::uint32_t rpc_number = 4;
  std::uint32_t send_connect_number = 4;
  std::uint32_t read_connect_number = 4;
  bool udp_enable = true;
  int nic_vlan_mode = -1;                  // -1: no VLAN
  bool use_ltran = false;
  bool kni_switch = false;
  std::string unix_prefix;

  // Line where key was set, 0 when it took its default.
  int line_of(std::string_view key) const;
  // "FILE:LINE: " (or "FILE: " for a defaulted key), to start a message about key.
  std::string where(std::string_view key) const;

  std::map<std::string, int, std::less<>> lines;  // key -> line
};

// Errors: ENOENT/EACCES (file), EINVAL (content) with the message described above.
Result<Config> load_config(const std::string& path);
// $LSTACK_CONF_PATH, or /etc/gazelle/lstack.conf.
Result<Config> load_config_from_env();

// Checks that need the machine, as plain facts (unit-testable without DPDK).
struct PortFacts {
  std::array<std::uint8_t, 6> mac;
  std::uint16_t max_rx_queues;
  std::uint16_t max_tx_queues;
};
struct MachineFacts {
  std::vector<PortFacts> ports;
  std::size_t hugepage_bytes_free = 0;
};

// Hugepage memory the config needs, all stack threads together.
std::size_t hugepage_bytes_needed(const Config& c);
// EINVAL when no port has the MAC of `devices`, when there are more stack
// threads than the port has queues, or when the pools exceed the free hugepages.
Result<void> check_against_machine(const Config& c, const MachineFacts& facts);

// "aa:bb:cc:dd:ee:ff"
std::string mac_to_string(const std::array<std::uint8_t, 6>& mac);

}  // namespace gz::stack
