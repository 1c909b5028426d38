#include "wire_port.hpp"

#include <rte_cycles.h>
#include <rte_eth_bond.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>

#include <linux/ethtool.h>
#include <linux/sockios.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <utility>
#include <vector>

#include "gz/conf_text.hpp"

namespace gz::ltran {
namespace {

}  // namespace

// Every WirePort alive, for poll_all_links(): the dispatch loop holds the
// Dispatcher and the Server, not the port. Touched by the dispatch thread only.
std::vector<WirePort*>& WirePort::open_ports() {
  static std::vector<WirePort*> ports;
  return ports;
}

void WirePort::poll_all_links() noexcept {
  for (WirePort* p : open_ports()) p->poll_links();
}

Result<std::unique_ptr<WirePort>> WirePort::open(const Options& opts, rte_mempool* pool) {
  std::unique_ptr<WirePort> p(new WirePort());
  for (std::uint16_t id = 0; id < 32; ++id) {
    if ((opts.mask >> id & 1) == 0) continue;
    if (!rte_eth_dev_is_valid_port(id)) {
      return make_error(ENODEV, "bond_ports names DPDK port " + std::to_string(id) + ", but forward_kit_args create " +
                                    std::to_string(rte_eth_dev_count_avail()) + " port(s)");
    }
    p->members_.push_back(id);
  }
  if (p->members_.empty()) return make_error(ENODEV, "bond_ports selects no port");
  p->id_ = p->members_[0];
  if (p->members_.size() > 1) {
    if (auto ok = p->make_bond(opts); !ok) return ok.error();
  }
  if (auto ok = p->start(opts, pool); !ok) return ok.error();
  p->watch_links(opts.miimon_ms);
  open_ports().push_back(p.get());
  return p;
}

Result<void> WirePort::make_bond(const Options& opts) {
  bond_name_ = "net_bonding_ltran";
  const int id = rte_eth_bond_create(bond_name_.c_str(), static_cast<std::uint8_t>(opts.mode),
                                     static_cast<std::uint8_t>(rte_socket_id()));
  if (id < 0) return error_from_rc(id, "creating the bond (bond_mode " + std::to_string(opts.mode) + ")");
  bonded_ = true;
  id_ = static_cast<std::uint16_t>(id);
  for (std::uint16_t m : members_) {
    if (int rc = rte_eth_bond_slave_add(id_, m); rc != 0) return error_from_rc(rc, "adding port " + std::to_string(m) + " to the bond");
  }
  rte_eth_bond_link_monitoring_set(id_, opts.miimon_ms);
  return {};
}

Result<void> WirePort::start(const Options& opts, rte_mempool* pool) {
  rte_eth_conf conf{};
  if (int rc = rte_eth_dev_configure(id_, 1, 1, &conf); rc != 0) return error_from_rc(rc, "configuring the port");
  if (int rc = rte_eth_rx_queue_setup(id_, 0, 1024, rte_eth_dev_socket_id(id_), nullptr, pool); rc != 0) {
    return error_from_rc(rc, "rx queue");
  }
  if (int rc = rte_eth_tx_queue_setup(id_, 0, 1024, rte_eth_dev_socket_id(id_), nullptr); rc != 0) {
    return error_from_rc(rc, "tx queue");
  }
  if (auto ok = set_mac(opts); !ok) return ok.error();
  if (opts.mtu != 1500) rte_eth_dev_set_mtu(id_, opts.mtu);
  if (int rc = rte_eth_dev_start(id_); rc != 0) return error_from_rc(rc, "starting the port");
  started_ = true;
  // The wire carries many addresses' frames to the one MAC, and broadcasts
  // (ARP): an 802.3ad bond passes a broadcast only when promiscuous or all-
  // multicast, and af_packet members have no all-multicast.
  if (int rc = rte_eth_promiscuous_enable(id_); rc != 0 && rc != -ENOTSUP) {
    std::fprintf(stderr, "ltran: port %u: promiscuous mode: %s (broadcasts may not arrive)\n", id_, rte_strerror(-rc));
  }
  rte_eth_dev_get_mtu(id_, &mtu_);
  if (mtu_ == 0 || mtu_ > opts.mtu) mtu_ = opts.mtu;
  return {};
}

// A bond's MAC is set through the bond's own call: it marks the MAC as the
// user's, and the bond keeps it at start and when members come and go (set as
// any port's, the bond's start puts back its first member's MAC).
Result<void> WirePort::set_mac(const Options& opts) {
  rte_ether_addr want{};
  std::memcpy(want.addr_bytes, opts.mac.data(), 6);
  rte_ether_addr have{};
  rte_eth_macaddr_get(id_, &have);
  if (bonded_ ? rte_eth_bond_mac_address_set(id_, &want) == 0
              : rte_is_same_ether_addr(&want, &have) || rte_eth_dev_default_mac_addr_set(id_, &want) == 0) {
    return {};
  }
  std::array<std::uint8_t, 6> h{};
  std::memcpy(h.data(), have.addr_bytes, 6);
  return make_error(EINVAL, "bond_macs = " + conf::mac_text(opts.mac) + ": the port has " + conf::mac_text(h) +
                                " and its driver cannot change it (give the interface that MAC, or use net_af_packet)");
}

std::uint16_t WirePort::active() const noexcept {
  std::uint16_t port = id_;
  if (bonded_) {
    const int primary = rte_eth_bond_primary_get(id_);
    if (primary < 0) return 0xffff;
    port = static_cast<std::uint16_t>(primary);
  }
  return link_up(port) ? port : 0xffff;
}

bool WirePort::link_up(std::uint16_t member) const noexcept {
  if (const Link* l = find_link(member)) return l->up;
  rte_eth_link link{};
  return rte_eth_link_get_nowait(member, &link) == 0 && link.link_status == RTE_ETH_LINK_UP;
}

const WirePort::Link* WirePort::find_link(std::uint16_t port) const noexcept {
  for (const Link& l : links_) {
    if (l.port == port) return &l;
  }
  return nullptr;
}

// The members to watch: those with a kernel interface (dev_info.if_index: its
// index in ltran's network namespace, where the PMD opened it) whose PMD does
// not raise link events. The first poll_links() reads them at once.
void WirePort::watch_links(std::uint32_t miimon_ms) {
  for (std::uint16_t m : members_) {
    rte_eth_dev_info info{};
    if (rte_eth_dev_info_get(m, &info) != 0 || info.if_index == 0) continue;
    if (info.dev_flags != nullptr && (*info.dev_flags & RTE_ETH_DEV_INTR_LSC) != 0) continue;
    Link l;
    l.port = m;
    l.if_index = info.if_index;
    if (if_indextoname(l.if_index, l.if_name) == nullptr) std::snprintf(l.if_name, sizeof l.if_name, "ifindex %u", l.if_index);
    links_.push_back(l);
  }
  if (links_.empty()) return;
  ioctl_fd_ = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (ioctl_fd_ < 0) {
    std::fprintf(stderr, "ltran: cannot watch the members' links (socket: %s): DPDK's link state is used\n",
                 std::strerror(errno));
    links_.clear();
    return;
  }
  poll_cycles_ = rte_get_timer_hz() * miimon_ms / 1000;
  std::string names;
  for (const Link& l : links_) names += (names.empty() ? "" : ", ") + std::to_string(l.port) + " (" + l.if_name + ")";
  std::fprintf(stderr, "ltran: watching the kernel's link of port%s %s every %u ms\n", links_.size() > 1 ? "s" : "",
               names.c_str(), miimon_ms);
}

// Up: the interface is up and has a carrier (ETHTOOL_GLINK: netif_carrier_ok,
// which changes at once; IFF_RUNNING follows it through the kernel's linkwatch
// queue, later). Gone: down.
bool WirePort::read_link(Link& l) const noexcept {
  ifreq ifr{};
  ifr.ifr_ifindex = static_cast<int>(l.if_index);
  if (ioctl(ioctl_fd_, SIOCGIFNAME, &ifr) != 0) return false;
  std::memcpy(l.if_name, ifr.ifr_name, sizeof l.if_name);  // renamed since: say its name now
  if (ioctl(ioctl_fd_, SIOCGIFFLAGS, &ifr) != 0 || (ifr.ifr_flags & IFF_UP) == 0) return false;
  const bool running = (ifr.ifr_flags & IFF_RUNNING) != 0;
  ethtool_value glink{};
  glink.cmd = ETHTOOL_GLINK;
  ifr.ifr_data = reinterpret_cast<char*>(&glink);
  if (ioctl(ioctl_fd_, SIOCETHTOOL, &ifr) != 0) return running;  // a driver without get_link
  return glink.data != 0;
}

// A round every bond_miimon ms: members whose link came back rejoin first, so
// that a member left alone in the bond while down can then make room for them.
void WirePort::poll_links() noexcept {
  if (links_.empty()) return;
  const std::uint64_t now = rte_get_timer_cycles();
  if (now < next_poll_) return;
  next_poll_ = now + poll_cycles_;
  const std::uint16_t was_active = active();
  for (Link& l : links_) {
    const bool up = read_link(l);
    l.changed = up != l.up;
    l.up = up;
    if (bonded_ && up && !l.in_bond) rejoin_bond(l);
  }
  if (bonded_) {
    for (Link& l : links_) {
      if (!l.up && l.in_bond && another_member_up(l)) leave_bond(l);
    }
  }
  for (const Link& l : links_) {
    if (l.changed) report(l, was_active);
  }
}

bool WirePort::another_member_up(const Link& l) const noexcept {
  for (std::uint16_t m : members_) {
    if (m == l.port) continue;
    const Link* other = find_link(m);
    if (other == nullptr ? link_up(m) : other->up && other->in_bond) return true;
  }
  return false;
}

// Out of the bond, which moves its traffic to the members left (a new primary
// in active-backup, out of the aggregation in 802.3ad, out of alb's table).
// Stopped first: the bond resets what it lets go, and only a stopped port can be.
void WirePort::leave_bond(Link& l) noexcept {
  rte_eth_dev_stop(l.port);
  if (rte_eth_bond_slave_remove(id_, l.port) != 0) {
    if (!std::exchange(l.complained, true)) {
      std::fprintf(stderr, "ltran: bond: cannot take port %u (%s) out of the bond (tried again every bond_miimon ms)\n",
                   l.port, l.if_name);
    }
    rte_eth_dev_start(l.port);
    return;
  }
  l.in_bond = false;
  l.complained = false;
}

// Back in: the bond configures and starts it with its own queues and MAC; its
// link monitor makes it active within bond_miimon ms, as a standby in
// active-backup (the primary stays: no flap).
void WirePort::rejoin_bond(Link& l) noexcept {
  if (rte_eth_bond_slave_add(id_, l.port) != 0) {
    if (!std::exchange(l.complained, true)) {
      std::fprintf(stderr, "ltran: bond: cannot put port %u (%s) back in the bond (tried again every bond_miimon ms)\n",
                   l.port, l.if_name);
    }
    return;
  }
  l.in_bond = true;
  l.complained = false;
}

void WirePort::report(const Link& l, std::uint16_t was_active) const noexcept {
  if (!bonded_) {
    std::fprintf(stderr, "ltran: port %u (%s) link %s\n", l.port, l.if_name, l.up ? "up" : "down");
    return;
  }
  const std::uint16_t now = active();
  const Link* a = find_link(now);
  char tail[64];
  if (now == 0xffff) {
    std::snprintf(tail, sizeof tail, "no member up");
  } else {
    std::snprintf(tail, sizeof tail, "port %u (%s) %sactive", now, a != nullptr ? a->if_name : "-", now == was_active ? "still " : "");
  }
  std::fprintf(stderr, "ltran: bond: port %u (%s) %s, %s\n", l.port, l.if_name, l.up ? "up" : "down", tail);
}

WirePort::~WirePort() {
  std::erase(open_ports(), this);
  if (ioctl_fd_ >= 0) close(ioctl_fd_);
  if (started_) rte_eth_dev_stop(id_);
  if (bonded_) {
    rte_eth_dev_close(id_);
    rte_eth_bond_free(bond_name_.c_str());
  }
  for (std::uint16_t m : members_) {
    if (bonded_) rte_eth_dev_stop(m);  // alone, it is id_: stopped above
    rte_eth_dev_close(m);
  }
}

}  // namespace gz::ltran
