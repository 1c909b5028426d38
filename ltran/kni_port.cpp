#include "kni_port.hpp"

#include <net/if.h>
#include <rte_bus_vdev.h>
#include <rte_ethdev.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace gz::ltran {
namespace {
constexpr const char* kVdev = "net_tap_ltran_kni";
}

Result<std::unique_ptr<KniPort>> KniPort::open(const std::array<std::uint8_t, 6>& mac, rte_mempool* pool) {
  if (if_nametoindex(kIface) != 0) {
    return make_error(EEXIST, std::string("kni_switch = 1: an interface ") + kIface + " exists already");
  }
  std::unique_ptr<KniPort> k(new KniPort());
  char args[96];
  std::snprintf(args, sizeof args, "iface=%s,mac=%02x:%02x:%02x:%02x:%02x:%02x", kIface, mac[0], mac[1], mac[2],
                mac[3], mac[4], mac[5]);
  if (int rc = rte_vdev_init(kVdev, args); rc != 0) {
    return make_error(-rc, std::string("kni_switch = 1: cannot make the tap interface: ") + std::strerror(-rc));
  }
  k->made_ = true;
  if (rte_eth_dev_get_port_by_name(kVdev, &k->id_) != 0) return make_error(ENODEV, "kni_switch = 1: no tap port");
  rte_eth_conf conf{};
  int rc = rte_eth_dev_configure(k->id_, 1, 1, &conf);
  if (rc == 0) rc = rte_eth_rx_queue_setup(k->id_, 0, 512, rte_eth_dev_socket_id(k->id_), nullptr, pool);
  if (rc == 0) rc = rte_eth_tx_queue_setup(k->id_, 0, 512, rte_eth_dev_socket_id(k->id_), nullptr);
  if (rc == 0) rc = rte_eth_dev_start(k->id_);
  if (rc != 0) return make_error(-rc, std::string("kni_switch = 1: tap port setup: ") + std::strerror(-rc));
  k->started_ = true;
  return k;
}

KniPort::~KniPort() {
  if (started_) rte_eth_dev_stop(id_);
  if (made_) {
    rte_eth_dev_close(id_);
    rte_vdev_uninit(kVdev);
  }
}

}  // namespace gz::ltran
