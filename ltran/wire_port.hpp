// WirePort: the port ltran sends and receives on, as ltran.conf describes it:
// the DPDK ports of bond_ports' first mask (port ids in the order
// forward_kit_args creates them), one port alone or several in DPDK's
// bonding PMD (bond_mode, bond_miimon), with bond_macs' first MAC and
// bond_mtu. RAII: stopped and closed on destruction.
// Thread: the dispatch thread.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "gz/result.hpp"

struct rte_mempool;

namespace gz::ltran {

class WirePort {
 public:
  struct Options {
    std::uint32_t mask = 1;  // member port ids, bit i = port i
    std::uint32_t mode = 1;  // bonding mode when the mask has several ports
    std::uint32_t miimon_ms = 100;
    std::uint16_t mtu = 1500;
    std::array<std::uint8_t, 6> mac{};
  };
  // Errors: ENODEV (a port of the mask does not exist), the driver's errno,
  // EINVAL when the port cannot take the MAC (net_af_xdp cannot).
  static Result<std::unique_ptr<WirePort>> open(const Options& opts, rte_mempool* pool);
  ~WirePort();
  WirePort(const WirePort&) = delete;
  WirePort& operator=(const WirePort&) = delete;

  std::uint16_t id() const noexcept { return id_; }
  std::uint16_t mtu() const noexcept { return mtu_; }
  const std::vector<std::uint16_t>& members() const noexcept { return members_; }
  bool bonded() const noexcept { return bonded_; }
  // The bond's active member, or the port itself; 0xffff when none is up.
  std::uint16_t active() const noexcept;
  // Whether member's link is up, as DPDK reports it (see the README: af_packet and af_xdp report up always).
  bool link_up(std::uint16_t member) const noexcept;

 private:
  WirePort() = default;
  Result<void> make_bond(const Options& opts);
  Result<void> start(const Options& opts, rte_mempool* pool);
  std::uint16_t id_ = 0;
  std::uint16_t mtu_ = 1500;
  bool bonded_ = false, started_ = false;
  std::string bond_name_;
  std::vector<std::uint16_t> members_;
};

}  // namespace gz::ltran
