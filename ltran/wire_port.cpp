#include "wire_port.hpp"

#include <rte_eth_bond.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace gz::ltran {
namespace {

Error dpdk_error(int rc, const std::string& what) {
  const int e = rc < 0 ? -rc : EIO;
  return make_error(e, what + ": " + std::strerror(e));
}

std::string mac_text(const std::array<std::uint8_t, 6>& m) {
  char buf[18];
  std::snprintf(buf, sizeof buf, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
  return buf;
}

}  // namespace

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
  return p;
}

Result<void> WirePort::make_bond(const Options& opts) {
  bond_name_ = "net_bonding_ltran";
  const int id = rte_eth_bond_create(bond_name_.c_str(), static_cast<std::uint8_t>(opts.mode),
                                     static_cast<std::uint8_t>(rte_socket_id()));
  if (id < 0) return dpdk_error(id, "creating the bond (bond_mode " + std::to_string(opts.mode) + ")");
  bonded_ = true;
  id_ = static_cast<std::uint16_t>(id);
  for (std::uint16_t m : members_) {
    if (int rc = rte_eth_bond_slave_add(id_, m); rc != 0) return dpdk_error(rc, "adding port " + std::to_string(m) + " to the bond");
  }
  rte_eth_bond_link_monitoring_set(id_, opts.miimon_ms);
  return {};
}

Result<void> WirePort::start(const Options& opts, rte_mempool* pool) {
  rte_eth_conf conf{};
  if (int rc = rte_eth_dev_configure(id_, 1, 1, &conf); rc != 0) return dpdk_error(rc, "configuring the port");
  if (int rc = rte_eth_rx_queue_setup(id_, 0, 1024, rte_eth_dev_socket_id(id_), nullptr, pool); rc != 0) {
    return dpdk_error(rc, "rx queue");
  }
  if (int rc = rte_eth_tx_queue_setup(id_, 0, 1024, rte_eth_dev_socket_id(id_), nullptr); rc != 0) {
    return dpdk_error(rc, "tx queue");
  }
  rte_ether_addr want{};
  std::memcpy(want.addr_bytes, opts.mac.data(), 6);
  rte_ether_addr have{};
  rte_eth_macaddr_get(id_, &have);
  if (!rte_is_same_ether_addr(&want, &have) && rte_eth_dev_default_mac_addr_set(id_, &want) != 0) {
    std::array<std::uint8_t, 6> h{};
    std::memcpy(h.data(), have.addr_bytes, 6);
    return make_error(EINVAL, "bond_macs = " + mac_text(opts.mac) + ": the port has " + mac_text(h) +
                                  " and its driver cannot change it (give the interface that MAC, or use net_af_packet)");
  }
  if (opts.mtu != 1500) rte_eth_dev_set_mtu(id_, opts.mtu);
  if (int rc = rte_eth_dev_start(id_); rc != 0) return dpdk_error(rc, "starting the port");
  started_ = true;
  rte_eth_dev_get_mtu(id_, &mtu_);
  if (mtu_ == 0 || mtu_ > opts.mtu) mtu_ = opts.mtu;
  return {};
}

std::uint16_t WirePort::active() const noexcept {
  if (!bonded_) return id_;
  std::uint16_t active[8];
  const int n = rte_eth_bond_active_slaves_get(id_, active, 8);
  return n > 0 ? static_cast<std::uint16_t>(rte_eth_bond_primary_get(id_)) : 0xffff;
}

bool WirePort::link_up(std::uint16_t member) const noexcept {
  rte_eth_link link{};
  return rte_eth_link_get_nowait(member, &link) == 0 && link.link_status == RTE_ETH_LINK_UP;
}

WirePort::~WirePort() {
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
