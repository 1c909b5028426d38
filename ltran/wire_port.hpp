// WirePort: the port ltran sends and receives on, as ltran.conf describes it:
// the DPDK ports of bond_ports' first mask (port ids in the order
// forward_kit_args creates them), one port alone or several in DPDK's
// bonding PMD (bond_mode, bond_miimon), with bond_macs' first MAC and
// bond_mtu. RAII: stopped and closed on destruction.
//
// Link watching: net_af_packet and net_af_xdp report their link up from start
// to stop whatever the kernel interface does, so DPDK's bond never sees a
// member go down. poll_links() asks the kernel (the carrier of the member's
// interface, in ltran's network namespace) every bond_miimon ms instead, takes
// a member whose link went down out of the bond (the bond then moves its
// traffic to the members left, in every mode) and puts it back once the link
// is up again, as a standby: traffic stays where it is. The last member of the
// bond stays in even when down: there is nowhere else to send. Members whose
// PMD raises link events itself (RTE_ETH_DEV_INTR_LSC) or that have no kernel
// interface are left to DPDK.
// Thread: the dispatch thread.
#pragma once

#include <net/if.h>

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
  // The bond's active member (DPDK's primary), or the port itself; 0xffff when its link is down.
  std::uint16_t active() const noexcept;
  // Whether member's link is up: the kernel's word for a watched member (as of the last
  // poll), DPDK's otherwise.
  bool link_up(std::uint16_t member) const noexcept;
  // Called every round of the dispatch loop: reads the watched members' links every
  // bond_miimon ms (a clock read otherwise), takes members out of the bond and back,
  // and says so on stderr ("ltran: bond: port 0 (IF) down, port 1 (IF) active").
  void poll_links() noexcept;
  // poll_links() of every open WirePort (what the dispatch loop calls).
  static void poll_all_links() noexcept;

 private:
  WirePort() = default;
  Result<void> make_bond(const Options& opts);
  Result<void> start(const Options& opts, rte_mempool* pool);
  Result<void> set_mac(const Options& opts);
  void watch_links(std::uint32_t miimon_ms);

  // A member whose link the kernel knows and DPDK does not.
  struct Link {
    std::uint16_t port = 0;
    unsigned if_index = 0;
    char if_name[IF_NAMESIZE] = {};
    bool up = true;           // the kernel's word at the last poll (DPDK's at start: up)
    bool in_bond = true;      // false while taken out for a link down
    bool changed = false;     // in this round of poll_links()
    bool complained = false;  // a failed leave or rejoin was said (once)
  };
  static std::vector<WirePort*>& open_ports();
  const Link* find_link(std::uint16_t port) const noexcept;
  bool read_link(Link& l) const noexcept;
  void leave_bond(Link& l) noexcept;
  void rejoin_bond(Link& l) noexcept;
  bool another_member_up(const Link& l) const noexcept;
  void report(const Link& l, std::uint16_t was_active) const noexcept;

  std::uint16_t id_ = 0;
  std::uint16_t mtu_ = 1500;
  bool bonded_ = false, started_ = false;
  std::string bond_name_;
  std::vector<std::uint16_t> members_;
  std::vector<Link> links_;  // the watched members
  int ioctl_fd_ = -1;        // for the link ioctls: any socket of ltran's network namespace
  std::uint64_t poll_cycles_ = 0, next_poll_ = 0;
};

}  // namespace gz::ltran
