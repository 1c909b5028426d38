// lstack.conf: read once (libconfig syntax, Gazelle's keys) into an immutable
// Config that is passed by const reference; there is no global config.
//
// Bad input never turns into a silent default: load_config() returns ONE
// message (the first problem found) naming the file, the line, the key, the
// value and what is allowed, e.g.
//   /etc/gazelle/lstack.conf:12: tcp_conn_count = -5: must be an integer from 1 to 65535
//   /etc/gazelle/lstack.conf:7: unknown key 'num_cpu' (did you mean 'num_cpus'?); allowed keys: ...
//   /etc/gazelle/lstack.conf:9: gateway_addr: "10.0.0.1" is not another address in host_addr's subnet ...
// Rules about one value say "key = VALUE: what is allowed"; rules that span
// keys or need the machine say "key: ...", naming the key whose line is given.
//
// Thread safety: every function here is reentrant and touches no global state
// (libconfig keeps everything in a local config_t), except that
// load_config_from_env() reads the environment, so it must not race a
// setenv()/putenv() in another thread. A Config is a plain value: const
// access from many threads is safe. No exception escapes any function here.
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

// Hugepage bytes of one mbuf in a pool of DPDK's default data room:
// rte_mbuf (128) + our private pbuf area (64) + headroom (128) + data (2048)
// + mempool object header, cache-line aligned (64) = 2432 = 38 cache lines,
// which DPDK pads to an odd count to spread objects over the memory channels
// (rte_mempool's arch_mem_object_align, x86): 39 x 64 = 2496.
inline constexpr std::size_t kMbufBytes = 2496;
// Fewest mbufs in a stack's pool, whatever tcp_conn_count x mbuf_count_per_conn
// says: the NIC's rx and tx rings alone hold up to 2 x 1024.
inline constexpr std::size_t kMinPoolMbufs = 4096;
// Rings and per-queue overhead of one stack thread, besides its mbufs.
inline constexpr std::size_t kStackFixedBytes = 8u << 20;

// The parsed lstack.conf. Each field says its key and default; keys marked
// "required" have no default. The defaults keep one stack thread's pools at
// 1500 x 32 x 2496 B + 8 MiB = 122.3 MiB of hugepages (Gazelle's 1500 x 170
// would need ~615 MiB per stack).
struct Config {
  std::string path;                        // the file it came from
  std::vector<std::string> dpdk_args;      // dpdk_args: EAL arguments (required, non-empty)
  std::vector<int> cpus;                   // num_cpus "1", "1,2", "1-3": one stack thread each (required)
  std::vector<int> wakeup_cpus;            // num_wakeup (old spelling num_weakup): default none
  bool numa_bind = true;                   // numa_bind: stack memory on its CPU's node
  bool app_bind_numa = true;               // app_bind_numa (accepted for Gazelle compatibility)
  bool low_power_mode = false;             // low_power_mode: idle stacks sleep
  bool listen_shadow = false;              // listen_shadow (accepted for Gazelle compatibility)
  bool stack_mode_rtc = false;             // stack_mode_rtc, or stack_thread_mode = "run-to-completion"
  in_addr host_addr{};                     // host_addr (required)
  in_addr mask_addr{};                     // mask_addr (required), /1 to /30
  in_addr gateway_addr{};                  // gateway_addr: default 0.0.0.0 = none
  std::array<std::uint8_t, 6> devices{};   // devices: MAC of the port to use (required)
  std::uint32_t tcp_conn_count = 1500;     // tcp_conn_count: 1..65535
  std::uint32_t mbuf_count_per_conn = 32;  // mbuf_count_per_conn: 4..4096
  std::uint32_t nic_read_num = 32;         // nic_read_number: rx burst, 1..128
  std::uint32_t rpc_number = 4;            // rpc_number: 1..1024
  std::uint32_t send_connect_number = 4;   // send_connect_number: 1..1024
  std::uint32_t read_connect_number = 4;   // read_connect_number: 1..1024
  bool udp_enable = true;                  // udp_enable
  int nic_vlan_mode = -1;                  // nic_vlan_mode: -1 = no VLAN (the only value served yet)
  bool use_ltran = false;                  // use_ltran: 1 = packets through ltran (registers on its socket)
  bool kni_switch = false;                 // kni_switch: 0 (DPDK 22.11 has no KNI)
  std::string unix_prefix;                 // unix_prefix: default ""
  // Not a key: $GAZELLE_RUN_DIR (default /var/run/gazelle) as load_config_from_env()
  // found it, where the control sockets and ltran's socket are.
  std::string run_dir = "/var/run/gazelle";

  // Line where key (its canonical name: "num_wakeup", "stack_mode_rtc") was
  // set, 0 when it took its default. Never fails.
  int line_of(std::string_view key) const;
  // "FILE:LINE: KEY" for a message about key, with the file and the spelling
  // the user wrote ("FILE: KEY" when the key took its default).
  std::string where(std::string_view key) const;

 private:
  friend class ConfigReader;  // config.cpp fills origins_
  struct Origin {
    std::string file;     // the file holding the setting (@include may differ from path)
    int line = 0;
    std::string spelled;  // the key as written (num_weakup for num_wakeup)
  };
  std::map<std::string, Origin, std::less<>> origins_;  // canonical key -> where it was set
};

// Reads and checks path.
// Returns the Config, or an Error with one message as described above:
//   ENOENT, EACCES, EISDIR (...): the file cannot be opened or is not a file;
//   EINVAL: bad content (syntax, unknown key, type, range, missing key, an
//           inconsistent set of keys);
//   ENOMEM: out of memory.
Result<Config> load_config(const std::string& path);
// load_config($LSTACK_CONF_PATH), or /etc/gazelle/lstack.conf when it is
// unset or empty. Same errors.
Result<Config> load_config_from_env();

// Checks that need the machine, given as plain facts (unit-testable without DPDK).
struct PortFacts {
  std::array<std::uint8_t, 6> mac;
  std::uint16_t max_rx_queues;
  std::uint16_t max_tx_queues;
};
struct MachineFacts {
  std::vector<PortFacts> ports;
  std::size_t hugepage_bytes_free = 0;
};

// Mbufs in each stack's pool: tcp_conn_count x mbuf_count_per_conn, at least
// kMinPoolMbufs. The runtime creates exactly this; the checks count it.
std::size_t pool_mbufs(const Config& c);
// Data room of each mbuf (headroom included): DPDK's default, or more when a
// net_af_packet vdev in dpdk_args sets framesz= above it (that PMD copies a
// whole frame, possibly a datagram the kernel reassembled, into one mbuf).
std::size_t mbuf_data_room(const Config& c);
// Bytes of DPDK memory one mbuf takes with this config: kMbufBytes for the
// default data room, more with a larger one; a whole 4 KiB page (or pages)
// with --no-huge, where no object crosses a page.
std::size_t mbuf_bytes(const Config& c);
// Hugepage bytes the config needs, all stack threads together: per stack
// max(tcp_conn_count x mbuf_count_per_conn, kMinPoolMbufs) x mbuf_bytes()
// + kStackFixedBytes, times cpus.size(). Never fails.
std::size_t hugepage_bytes_needed(const Config& c);
// Returns EINVAL with one message when no port has the MAC of `devices`,
// when there are more stack threads than that port has queue pairs, or when
// hugepage_bytes_needed() exceeds the free hugepages; ENOMEM when out of memory.
Result<void> check_against_machine(const Config& c, const MachineFacts& facts);

// "aa:bb:cc:dd:ee:ff"
std::string mac_to_string(const std::array<std::uint8_t, 6>& mac);

}  // namespace gz::stack
