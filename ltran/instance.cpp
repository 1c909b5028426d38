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

#include "memif_guard.hpp"

namespace gz::ltran {
namespace {

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

// (Re)configured for this process's queue count: the slot's last one may have had another.
Result<void> start_port(Instance& inst, const std::string& vdev, rte_mempool* pool) {
  rte_eth_conf conf{};
  if (int rc = rte_eth_dev_configure(inst.port, inst.queues, inst.queues, &conf); rc != 0) {
    return error_from_rc(rc, "configuring " + vdev);
  }
  const int node = rte_eth_dev_socket_id(inst.port);
  for (std::uint16_t q = 0; q < inst.queues; ++q) {
    if (int rc = rte_eth_rx_queue_setup(inst.port, q, 1024, node, nullptr, pool); rc != 0) return error_from_rc(rc, "memif rx queue");
    if (int rc = rte_eth_tx_queue_setup(inst.port, q, 1024, node, nullptr); rc != 0) return error_from_rc(rc, "memif tx queue");
  }
  if (int rc = rte_eth_dev_start(inst.port); rc != 0) return error_from_rc(rc, "starting " + vdev);
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

// The port of the slot, made once: rsize 10 is 1024 slots a ring, as a NIC
// queue; the secret keeps any other local process that reaches the socket
// from posing as the slot's process.
Result<void> make_port(MemifPort& m, std::uint16_t slot, const std::string& run_dir, const std::string& prefix) {
  random_secret(m.secret);
  m.vdev = "net_memif_ltran" + std::to_string(slot);
  m.socket_path = run_dir + "/" + prefix + "ltran." + std::to_string(slot) + ".memif";
  unlink(m.socket_path.c_str());  // a killed ltran's
  const std::string args = "role=server,id=0,socket-abstract=no,rsize=10,socket=" + m.socket_path +
                           ",secret=" + m.secret.data();
  if (int rc = rte_vdev_init(m.vdev.c_str(), args.c_str()); rc != 0) return error_from_rc(rc, "creating " + m.vdev);
  if (rte_eth_dev_get_port_by_name(m.vdev.c_str(), &m.port) != 0) return make_error(ENODEV, m.vdev + ": no port after creation");
  return {};
}

Result<void> attach_memif(MemifPort& m, Instance& inst, const std::string& run_dir, const std::string& prefix,
                          rte_mempool* pool) {
  if (m.unusable) return make_error(EBUSY, "the memif port of slot " + std::to_string(inst.slot) + " could not be stopped");
  if (m.port == kNoPort) {
    if (auto ok = make_port(m, inst.slot, run_dir, prefix); !ok) return ok.error();
  }
  inst.port = m.port;
  if (auto ok = start_port(inst, m.vdev, pool); !ok) {
    inst.port = kNoPort;
    return ok.error();
  }
  // Only the process's uid may connect.
  if (chown(m.socket_path.c_str(), inst.uid, inst.gid) != 0 || chmod(m.socket_path.c_str(), 0600) != 0) {
    const int e = errno;
    detach_memif(m, inst);
    return make_error(e, "cannot hand " + m.socket_path + " to uid " + std::to_string(inst.uid) + ": " + std::strerror(e));
  }
  inst.pending.assign(inst.queues, {});
  inst.pending_count.assign(inst.queues, 0);
  return {};
}

void detach_memif(MemifPort& m, Instance& inst) noexcept {
  for (std::size_t q = 0; q < inst.pending_count.size(); ++q) {
    rte_pktmbuf_free_bulk(inst.pending[q].data(), inst.pending_count[q]);
    inst.pending_count[q] = 0;
  }
  if (inst.port != kNoPort && !stop_memif_port(inst.port)) m.unusable = true;  // never beside memif's own disconnect
  inst.port = kNoPort;
  if (!m.socket_path.empty() && chown(m.socket_path.c_str(), 0, 0) == 0) chmod(m.socket_path.c_str(), 0600);
}

void forget_memif(MemifPort& m) noexcept {
  if (!m.socket_path.empty()) unlink(m.socket_path.c_str());
}

}  // namespace gz::ltran
