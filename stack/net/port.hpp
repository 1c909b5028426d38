// RAII owner of one DPDK port, its queue pairs and their mbuf pools.
// Thread: open/close from one control thread; each queue's NetDev is then used
// by exactly one stack thread.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "gz/result.hpp"
#include "netdev.hpp"
#include "netdev_source.hpp"

namespace gz::stack {

// What the config check needs to know about a port (see gz/config.hpp).
struct PortSummary {
  std::uint16_t id;
  std::array<std::uint8_t, 6> mac;
  std::uint16_t max_rx_queues;
  std::uint16_t max_tx_queues;
  std::string driver;
};

class Port final : public NetDevSource {
 public:
  struct Options {
    std::array<std::uint8_t, 6> mac;
    std::uint16_t queues = 1;           // one rx/tx pair per stack thread
    std::uint32_t mbufs_per_queue = 8192;
    std::vector<int> numa_nodes;        // NUMA node per queue's pool (-1: the port's)
    std::uint16_t data_room = 0;        // mbuf data room, headroom included (gz::stack::mbuf_data_room); 0: DPDK's default
    bool memif_zero_copy = false;       // the port is a zero-copy memif client: pools must lie in its region
  };

  static std::vector<PortSummary> list();
  // Finds the port whose MAC equals opts.mac, configures opts.queues queue pairs
  // (RSS when there are several), creates a pool per queue and starts the port.
  // Errors: ENODEV no such MAC, EINVAL too many queues, ENOMEM pool creation,
  // EFAULT a pool outside a zero-copy memif's region, else the negative DPDK
  // return as errno.
  static Result<std::unique_ptr<Port>> open(const Options& opts);
  ~Port();
  Port(const Port&) = delete;
  Port& operator=(const Port&) = delete;

  // The NetDev for queue pair q (0 <= q < queues); the Port must outlive it.
  std::unique_ptr<NetDev> queue(std::uint16_t q);
  std::size_t count() const noexcept override { return pools_.size(); }
  std::unique_ptr<NetDev> take(std::size_t i) override { return queue(static_cast<std::uint16_t>(i)); }
  int xstats(std::vector<wire::CtlXstat>& out) const noexcept override;
  std::uint16_t id() const noexcept { return id_; }
  Offloads offloads() const noexcept { return offloads_; }

 private:
  Port() = default;
  Result<void> configure(const Options& opts);
  Result<void> create_pools(const Options& opts);

  std::uint16_t id_ = 0;
  bool started_ = false;
  std::array<std::uint8_t, 6> mac_{};
  std::uint16_t mtu_ = 1500;
  Offloads offloads_;
  std::vector<rte_mempool*> pools_;
};

}  // namespace gz::stack
