#include "instance.hpp"

#include <fcntl.h>
#include <rte_bus_vdev.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>

namespace gz::ltran {
namespace {

Error dpdk_error(int rc, const std::string& what) {
  const int e = rc < 0 ? -rc : EIO;
  return make_error(e, what + ": " + std::strerror(e));
}

void random_secret(std::array<char, 24>& out) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::uint8_t raw[11] = {};
  if (getrandom(raw, sizeof raw, 0) != static_cast<ssize_t>(sizeof raw)) {
    for (auto& b : raw) b = static_cast<std::uint8_t>(rte_rand());
  }
  for (std::size_t i = 0; i < sizeof raw; ++i) {
    out[2 * i] = kDigits[raw[i] >> 4];
    out[2 * i + 1] = kDigits[raw[i] & 15];
  }
  out[22] = '\0';
}

Result<void> start_port(Instance& inst, rte_mempool* pool) {
  rte_eth_conf conf{};
  if (int rc = rte_eth_dev_configure(inst.port, inst.queues, inst.queues, &conf); rc != 0) {
    return dpdk_error(rc, "configuring " + inst.vdev);
  }
  const int node = rte_eth_dev_socket_id(inst.port);
  for (std::uint16_t q = 0; q < inst.queues; ++q) {
    if (int rc = rte_eth_rx_queue_setup(inst.port, q, 1024, node, nullptr, pool); rc != 0) return dpdk_error(rc, "memif rx queue");
    if (int rc = rte_eth_tx_queue_setup(inst.port, q, 1024, node, nullptr); rc != 0) return dpdk_error(rc, "memif tx queue");
  }
  if (int rc = rte_eth_dev_start(inst.port); rc != 0) return dpdk_error(rc, "starting " + inst.vdev);
  return {};
}

}  // namespace

bool TxLimit::admit(std::uint32_t len, std::uint64_t now, std::uint64_t hz) noexcept {
  if (pps == 0 && bps == 0) return true;
  const double dt = last_tsc == 0 ? 0.1 : static_cast<double>(now - last_tsc) / static_cast<double>(hz);
  last_tsc = now;
  // Budgets refill continuously, up to a tenth of a second's worth (the burst).
  if (pps != 0) pkt_tokens = std::min(pkt_tokens + dt * static_cast<double>(pps), std::max(1.0, pps / 10.0));
  if (bps != 0) byte_tokens = std::min(byte_tokens + dt * static_cast<double>(bps), std::max(16384.0, bps / 10.0));
  if ((pps != 0 && pkt_tokens < 1) || (bps != 0 && byte_tokens < len)) return false;
  if (pps != 0) pkt_tokens -= 1;
  if (bps != 0) byte_tokens -= len;
  return true;
}

Result<void> open_memif(Instance& inst, const std::string& run_dir, const std::string& prefix, rte_mempool* pool,
                        std::array<char, 24>& secret) {
  random_secret(secret);
  inst.vdev = "net_memif_ltran" + std::to_string(inst.slot) + "_" + std::to_string(inst.pid);
  inst.socket_path = run_dir + "/" + prefix + "ltran." + std::to_string(inst.slot) + ".memif";
  unlink(inst.socket_path.c_str());
  // rsize 10: 1024 slots a ring, as a NIC queue; the secret keeps any other
  // local process that reaches the socket from posing as the instance.
  const std::string args = "role=server,id=0,socket-abstract=no,rsize=10,socket=" + inst.socket_path +
                           ",secret=" + secret.data();
  if (int rc = rte_vdev_init(inst.vdev.c_str(), args.c_str()); rc != 0) return dpdk_error(rc, "creating " + inst.vdev);
  if (rte_eth_dev_get_port_by_name(inst.vdev.c_str(), &inst.port) != 0) {
    rte_vdev_uninit(inst.vdev.c_str());
    return make_error(ENODEV, inst.vdev + ": no port after creation");
  }
  if (auto ok = start_port(inst, pool); !ok) {
    close_memif(inst);
    return ok.error();
  }
  // The socket exists once the port does: only the instance's uid may connect.
  if (chown(inst.socket_path.c_str(), inst.uid, inst.gid) != 0 || chmod(inst.socket_path.c_str(), 0600) != 0) {
    const int e = errno;
    close_memif(inst);
    return make_error(e, "cannot hand " + inst.socket_path + " to uid " + std::to_string(inst.uid) + ": " + std::strerror(e));
  }
  inst.pending.assign(inst.queues, {});
  inst.pending_count.assign(inst.queues, 0);
  return {};
}

void close_memif(Instance& inst) noexcept {
  for (std::size_t q = 0; q < inst.pending_count.size(); ++q) {
    rte_pktmbuf_free_bulk(inst.pending[q].data(), inst.pending_count[q]);
    inst.pending_count[q] = 0;
  }
  if (inst.port != kNoPort) {
    rte_eth_dev_stop(inst.port);
    rte_eth_dev_close(inst.port);
    inst.port = kNoPort;
  }
  if (!inst.vdev.empty()) rte_vdev_uninit(inst.vdev.c_str());
  if (!inst.socket_path.empty()) unlink(inst.socket_path.c_str());
  inst.vdev.clear();
  inst.socket_path.clear();
}

}  // namespace gz::ltran
