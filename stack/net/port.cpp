#include "port.hpp"

#include "dpdk_compat.hpp"
#include "tsc.hpp"

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_memory.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <algorithm>
#include <cstdlib>
#include <new>
#include <vector>

#include "gz/conf_text.hpp"

namespace gz::stack {
namespace {

class DpdkQueue final : public NetDev {
 public:
  DpdkQueue(std::uint16_t port, std::uint16_t queue, rte_mempool* pool, std::array<std::uint8_t, 6> mac,
            std::uint16_t mtu, Offloads off)
      : port_(port), queue_(queue), pool_(pool), mac_(mac), mtu_(mtu), off_(off),
        wait_fd_(af_xdp_queue_fd(port, queue)),  // the port has started: its sockets exist
        peek_(XskRxPeek::map(wait_fd_)),
        driver_every_(tsc_cycles_us(kDriverEveryUs)) {}
  std::uint16_t rx_burst(std::span<rte_mbuf*> out) noexcept override {
    if (peek_ != nullptr && peek_->idle()) {
      // Nothing came: the driver would only make its system call. It still
      // gets it every millisecond, for preferred busy polling set up on the
      // interface (napi_defer_hard_irqs), which that recvfrom() drives.
      const std::uint64_t now = rte_rdtsc();
      if (now - driver_at_ < driver_every_) return 0;
      driver_at_ = now;
    }
    return rte_eth_rx_burst(port_, queue_, out.data(), static_cast<std::uint16_t>(out.size()));
  }
  std::uint16_t tx_burst(std::span<rte_mbuf*> pkts) noexcept override {
    return rte_eth_tx_burst(port_, queue_, pkts.data(), static_cast<std::uint16_t>(pkts.size()));
  }
  rte_mempool* tx_pool() noexcept override { return pool_; }
  const std::array<std::uint8_t, 6>& mac() const noexcept override { return mac_; }
  std::uint16_t mtu() const noexcept override { return mtu_; }
  Offloads offloads() const noexcept override { return off_; }
  DeviceCounters device_counters() const noexcept override {
    rte_eth_stats st{};
    if (rte_eth_stats_get(port_, &st) != 0) return {};
    return {st.imissed, st.rx_nombuf, st.ierrors, st.oerrors};
  }
  int rx_wait_fd() noexcept override { return wait_fd_; }

 private:
  static constexpr std::uint64_t kDriverEveryUs = 1000;
  std::uint16_t port_, queue_;
  rte_mempool* pool_;
  std::array<std::uint8_t, 6> mac_;
  std::uint16_t mtu_;
  Offloads off_;
  int wait_fd_;                       // net_af_xdp's socket of this queue, or -1
  std::unique_ptr<XskRxPeek> peek_;   // its rx ring's indices, or nullptr
  std::uint64_t driver_every_;        // TSC cycles between the driver's empty calls
  std::uint64_t driver_at_ = 0;
};

// net_memif's zero-copy client (DPDK 22.11) describes every buffer as an
// offset into region 1: the first memory list holding memory, which the server
// maps from its start for as many bytes as the list has allocated. A pool
// anywhere else would give ltran offsets outside its mapping.
struct MemifRegion {
  const rte_memseg_list* list = nullptr;
  std::size_t mapped = 0;
};

MemifRegion memif_region() {
  MemifRegion r;
  rte_memseg_walk(
      [](const rte_memseg_list* msl, const rte_memseg* ms, void* arg) -> int {
        auto* r = static_cast<MemifRegion*>(arg);
        if (r->list == nullptr) r->list = msl;
        if (msl == r->list) r->mapped += ms->len;
        return 0;
      },
      &r);
  return r;
}

bool pool_in_region(rte_mempool* pool, const MemifRegion& region) {
  struct Check {
    const MemifRegion* region;
    bool ok = true;
  } check{&region};
  rte_mempool_mem_iter(
      pool,
      [](rte_mempool*, void* arg, rte_mempool_memhdr* hdr, unsigned) {
        auto* c = static_cast<Check*>(arg);
        const auto* base = static_cast<const char*>(c->region->list->base_va);
        const auto* at = static_cast<const char*>(hdr->addr);
        if (at < base || at + hdr->len > base + c->region->mapped) c->ok = false;
      },
      &check);
  return check.ok;
}

}  // namespace

std::vector<PortSummary> Port::list() {
  std::vector<PortSummary> ports;
  std::uint16_t id;
  RTE_ETH_FOREACH_DEV(id) {
    rte_eth_dev_info info{};
    rte_ether_addr addr{};
    if (rte_eth_dev_info_get(id, &info) != 0 || rte_eth_macaddr_get(id, &addr) != 0) continue;
    PortSummary s{id, {}, info.max_rx_queues, info.max_tx_queues, info.driver_name ? info.driver_name : "?"};
    std::memcpy(s.mac.data(), addr.addr_bytes, 6);
    ports.push_back(s);
  }
  return ports;
}

Result<std::unique_ptr<Port>> Port::open(const Options& opts) {
  std::unique_ptr<Port> port(new Port());
  bool found = false;
  for (const auto& s : list()) {
    if (s.mac == opts.mac) {
      port->id_ = s.id;
      found = true;
      break;
    }
  }
  if (!found) return make_error(ENODEV, "no DPDK port has MAC " + conf::mac_text(opts.mac));
  port->mac_ = opts.mac;
  if (auto r = port->create_pools(opts); !r) return r.error();
  if (auto r = port->configure(opts); !r) return r.error();
  return port;
}

Result<void> Port::create_pools(const Options& opts) {
  const int port_node = rte_eth_dev_socket_id(id_);
  rte_eth_dev_info info{};
  const bool af_xdp = rte_eth_dev_info_get(id_, &info) == 0 && info.driver_name != nullptr &&
                      std::strcmp(info.driver_name, "net_af_xdp") == 0;
  for (std::uint16_t q = 0; q < opts.queues; ++q) {
    const int node = q < opts.numa_nodes.size() && opts.numa_nodes[q] >= 0 ? opts.numa_nodes[q] : port_node;
    const std::string name = "gz_p" + std::to_string(id_) + "_q" + std::to_string(q);
    const std::uint16_t room = opts.data_room != 0 ? opts.data_room : RTE_MBUF_DEFAULT_BUF_SIZE;
    // DPDK wants the per-lcore cache well below the pool size (n / 1.5).
    const unsigned cache = std::min(256u, opts.mbufs_per_queue / 8);
    rte_mempool* pool = rte_pktmbuf_pool_create(name.c_str(), opts.mbufs_per_queue, cache, kMbufPrivBytes, room,
                                                node < 0 ? SOCKET_ID_ANY : node);
    if (pool == nullptr) {
      return make_error(ENOMEM, "cannot create mbuf pool " + name + " of " + std::to_string(opts.mbufs_per_queue) +
                                    " mbufs: " + rte_strerror(rte_errno) + " (hugepages reserved and free?)");
    }
    pools_.push_back(pool);
    const unsigned lost = af_xdp ? set_aside_outside_af_xdp_umem(pool) : 0;
    if (lost > opts.mbufs_per_queue / 16) {  // a few on hugepages say nothing; many are worth knowing
      std::fprintf(stderr, "lstack: %u of the %u mbufs of %s lie outside net_af_xdp's umem (DPDK 22.11) and are set aside: "
                   "give dpdk_args hugepages\n", lost, opts.mbufs_per_queue, name.c_str());
    }
  }
  if (!opts.memif_zero_copy) return {};
  const MemifRegion region = memif_region();
  for (rte_mempool* pool : pools_) {
    if (region.list == nullptr || !pool_in_region(pool, region)) {
      return make_error(EFAULT, std::string("mbuf pool ") + pool->name +
                                    " lies outside the first DPDK memory list, which memif zero-copy shares with "
                                    "ltran: give dpdk_args --socket-mem (or -m) large enough for all pools");
    }
  }
  return {};
}

Result<void> Port::configure(const Options& opts) {
  rte_eth_dev_info info{};
  if (int rc = rte_eth_dev_info_get(id_, &info); rc != 0) return error_from_rc(rc, "rte_eth_dev_info_get");
  if (opts.queues > info.max_rx_queues || opts.queues > info.max_tx_queues) {
    return make_error(EINVAL, "port " + conf::mac_text(mac_) + " has " + std::to_string(info.max_rx_queues) +
                                  " queues, " + std::to_string(opts.queues) + " stack threads need one each");
  }
  rte_eth_conf conf{};
  const std::uint64_t want_tx = RTE_ETH_TX_OFFLOAD_IPV4_CKSUM | RTE_ETH_TX_OFFLOAD_TCP_CKSUM | RTE_ETH_TX_OFFLOAD_UDP_CKSUM;
  const std::uint64_t want_rx = RTE_ETH_RX_OFFLOAD_IPV4_CKSUM | RTE_ETH_RX_OFFLOAD_TCP_CKSUM | RTE_ETH_RX_OFFLOAD_UDP_CKSUM;
  conf.txmode.offloads = info.tx_offload_capa & want_tx;
  conf.rxmode.offloads = info.rx_offload_capa & want_rx;
  offloads_.tx_ip_cksum = conf.txmode.offloads & RTE_ETH_TX_OFFLOAD_IPV4_CKSUM;
  offloads_.tx_l4_cksum = (conf.txmode.offloads & (RTE_ETH_TX_OFFLOAD_TCP_CKSUM | RTE_ETH_TX_OFFLOAD_UDP_CKSUM)) ==
                          (RTE_ETH_TX_OFFLOAD_TCP_CKSUM | RTE_ETH_TX_OFFLOAD_UDP_CKSUM);
  offloads_.rx_ip_cksum = conf.rxmode.offloads & RTE_ETH_RX_OFFLOAD_IPV4_CKSUM;
  offloads_.rx_l4_cksum = (conf.rxmode.offloads & (RTE_ETH_RX_OFFLOAD_TCP_CKSUM | RTE_ETH_RX_OFFLOAD_UDP_CKSUM)) ==
                          (RTE_ETH_RX_OFFLOAD_TCP_CKSUM | RTE_ETH_RX_OFFLOAD_UDP_CKSUM);
  if (opts.queues > 1 && info.flow_type_rss_offloads != 0) {
    conf.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
    conf.rx_adv_conf.rss_conf.rss_hf = info.flow_type_rss_offloads & (RTE_ETH_RSS_IP | RTE_ETH_RSS_TCP | RTE_ETH_RSS_UDP);
  }
  if (int rc = rte_eth_dev_configure(id_, opts.queues, opts.queues, &conf); rc != 0) return error_from_rc(rc, "rte_eth_dev_configure");
  std::uint16_t rx_desc = 1024, tx_desc = 1024;
  rte_eth_dev_adjust_nb_rx_tx_desc(id_, &rx_desc, &tx_desc);
  const int node = rte_eth_dev_socket_id(id_);
  for (std::uint16_t q = 0; q < opts.queues; ++q) {
    if (int rc = rte_eth_rx_queue_setup(id_, q, rx_desc, node, nullptr, pools_[q]); rc != 0) return error_from_rc(rc, "rx queue setup");
    if (int rc = rte_eth_tx_queue_setup(id_, q, tx_desc, node, nullptr); rc != 0) return error_from_rc(rc, "tx queue setup");
  }
  if (int rc = rte_eth_dev_start(id_); rc != 0) return error_from_rc(rc, "rte_eth_dev_start");
  started_ = true;
  rte_eth_dev_get_mtu(id_, &mtu_);
  return {};
}

std::unique_ptr<NetDev> Port::queue(std::uint16_t q) {
  return std::make_unique<DpdkQueue>(id_, q, pools_.at(q), mac_, mtu_, offloads_);
}

int Port::xstats(std::vector<wire::CtlXstat>& out) const noexcept {
  const int n = rte_eth_xstats_get_names(id_, nullptr, 0);
  if (n <= 0) return n < 0 ? n : 0;
  try {
    std::vector<rte_eth_xstat_name> names(static_cast<std::size_t>(n));
    std::vector<rte_eth_xstat> values(static_cast<std::size_t>(n));
    const int got = std::min(rte_eth_xstats_get_names(id_, names.data(), static_cast<unsigned>(n)),
                             rte_eth_xstats_get(id_, values.data(), static_cast<unsigned>(n)));
    for (int i = 0; i < got; ++i) {
      if (values[i].id >= static_cast<std::uint64_t>(n)) continue;
      wire::CtlXstat x{};
      std::snprintf(x.name, sizeof x.name, "%s", names[values[i].id].name);
      x.value = values[i].value;
      out.push_back(x);
    }
  } catch (const std::bad_alloc&) {
    return -ENOMEM;
  }
  return 0;
}

Port::~Port() {
  if (started_) rte_eth_dev_stop(id_);
  rte_eth_dev_close(id_);
  for (rte_mempool* p : pools_) rte_mempool_free(p);
}

}  // namespace gz::stack
