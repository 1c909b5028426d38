// ltran.conf: read once (libconfig syntax, Gazelle's keys plus a few of ours)
// into an immutable LtranConfig that is passed by const reference; there is no
// global config.
//
// Bad input never turns into a silent default: load_ltran_config() returns ONE
// message (the first problem found) in lstack.conf's style, e.g.
//   /etc/gazelle/ltran.conf:12: bond_mtu = 9000: must be an integer from 68 to 1500
//   /etc/gazelle/ltran.conf:7: unknown key 'bond_mdoe' (did you mean 'bond_mode'?); allowed keys: ...
//   /etc/gazelle/ltran.conf: bond_ports: required (the DPDK ports of each bond ...)
//   /etc/gazelle/ltran.conf:9: bond_macs: 2 MAC(s) for 1 bond(s) in bond_ports: ...
// Rules about one value say "key = VALUE: what is allowed" (VALUE as written);
// rules that span keys say "key: ...", naming the key whose line is given.
//
// ltran shares only header-only parts of stack/include with lstack (this file
// uses gz/result.hpp, config.cpp gz/conf_text.hpp); it links none of stack's libraries.
//
// Thread safety: every function here is reentrant and touches no global state
// (libconfig keeps everything in a local config_t; user and group names are
// looked up with getpwnam_r/getgrnam_r). An LtranConfig is a plain value:
// const access from many threads is safe.
#pragma once

#include <netinet/in.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "gz/result.hpp"

namespace gz::ltran {

// Where Gazelle's ltran looks when no --config-file is given.
inline constexpr const char* kDefaultConfigPath = "/etc/gazelle/ltran.conf";
inline constexpr std::size_t kMaxBonds = 2;           // bond_ports: at most 2 masks
inline constexpr std::uint32_t kMaxClients = 32;      // dispatch_max_clients: 1..32
inline constexpr std::size_t kMaxUnixPrefix = 32;     // unix_prefix: at most 32 characters

// The parsed ltran.conf. Each field says its key and default; keys marked
// "required" have no default.
struct LtranConfig {
  std::string path;                              // the file it came from
  std::string forward_kit = "dpdk";              // forward_kit: only "dpdk"
  std::vector<std::string> forward_kit_args;     // forward_kit_args: one string, split at blanks (required, non-empty)
  bool kni_switch = false;                       // kni_switch: 0|1 (1: the kernel's traffic goes through a tap device)
  std::uint32_t dispatch_max_clients = 30;       // 1..32
  in_addr dispatch_subnet{};                     // required; its low dispatch_subnet_length bits must be 0
  std::uint32_t dispatch_subnet_length = 8;      // host bits, 1..16 (Gazelle's meaning, see conf/ltran.conf)
  std::uint32_t bond_mode = 1;                   // 1 (active-backup), 4 (802.3ad), 6 (alb)
  std::uint32_t bond_miimon = 100;               // ms, 1..10000
  std::uint32_t bond_mtu = 1500;                 // 68..1500
  std::vector<std::uint32_t> bond_ports;         // bond_ports "0x3" or "0x1,0x2": one mask per bond, 0x1..0xff,
                                                 // at most 2 bonds, no port in two bonds (required)
  std::vector<std::array<std::uint8_t, 6>> bond_macs;  // one per bond_ports entry, all different, unicast (required)
  std::uint32_t tcp_conn_scan_interval = 600;    // seconds 0..86400 (0: never scan)
  std::string unix_prefix;                       // [A-Za-z0-9_.-], at most 32 chars; default ""
  // ours:
  std::vector<std::uint32_t> allow_uids{0};      // allow_uids = [0, "www-data", 1000]: ids or user names; default [0]
  std::vector<std::uint32_t> allow_gids;         // allow_gids: ids or group names; default []
                                                 // (a process may register if its uid OR its gid is listed)
  std::uint64_t instance_tx_pps = 0;             // per-process transmit limit, packets/s, 0 = none, up to 100000000
  std::uint64_t instance_tx_bps = 0;             // bytes/s, 0 = none, up to 100000000000

  // Line where key was set, 0 when it took its default. Never fails.
  int line_of(std::string_view key) const;
  // "FILE:LINE: KEY" for a message about key ("FILE: KEY" when the key took
  // its default). FILE is the @include'd file when the key was set there.
  std::string where(std::string_view key) const;

 private:
  friend class ConfigReader;  // config.cpp fills origins_
  struct Origin {
    std::string file;
    int line = 0;
  };
  std::map<std::string, Origin, std::less<>> origins_;  // key -> where it was set
};

// Reads and checks path (no machine checks: the ports are DPDK's to count).
// Returns the LtranConfig, or an Error with one message as described above:
//   ENOENT, EACCES, EISDIR, EFBIG (...): the file cannot be read or is not a
//           reasonable file; the message names the path;
//   EINVAL: bad content (syntax, unknown key, type, range, missing key, an
//           inconsistent set of keys, an unknown user or group name);
//   another errno (EIO, EMFILE...): looking a user or group name up failed;
//   ENOMEM: out of memory.
// No exception escapes.
Result<LtranConfig> load_ltran_config(const std::string& path);

// forward_kit_args for rte_eal_init() of a stock DPDK (program name not
// included: argv[0] is the caller's). Gazelle's DPDK carries an extension,
// --map-perfect (keeps address space free for the lstack processes), that
// Gazelle's samples and docs require; stock DPDK 22.11 (Debian's) refuses any
// unknown option and rte_eal_init() fails, so it is dropped here while
// load_ltran_config() still accepts it, and a Gazelle ltran.conf carries over
// unchanged. Every other argument is kept, in order.
// Throws std::bad_alloc only when out of memory.
std::vector<std::string> eal_args_for_stock_dpdk(const LtranConfig& c);

// Whether a process with this uid and gid may register with ltran: its uid is
// in allow_uids or its gid in allow_gids. Never fails.
bool client_allowed(const LtranConfig& c, std::uint32_t uid, std::uint32_t gid) noexcept;

// "aa:bb:cc:dd:ee:ff". Throws std::bad_alloc only when out of memory.
std::string mac_text(const std::array<std::uint8_t, 6>& mac);

}  // namespace gz::ltran
