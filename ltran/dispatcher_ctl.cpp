// The Dispatcher's bookkeeping: processes joining and leaving, ports claimed.
#include <arpa/inet.h>
#include <rte_cycles.h>
#include <rte_ethdev.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "dispatcher.hpp"
#include "gz/conf_text.hpp"

namespace gz::ltran {
namespace {

std::string ip_text(std::uint32_t addr) {
  char buf[INET_ADDRSTRLEN] = {};
  inet_ntop(AF_INET, &addr, buf, sizeof buf);
  return buf;
}

constexpr std::uint32_t kEphemeralFirst = 49152, kEphemeralCount = 65536 - kEphemeralFirst;

}  // namespace

Instance* Dispatcher::find_fd(int fd) const noexcept {
  for (const Instance& inst : slots_) {
    if (inst.live && inst.fd == fd) return const_cast<Instance*>(&inst);
  }
  return nullptr;
}

Result<wire::LtranRegistered> Dispatcher::add(int fd, const ucred& who, const wire::LtranRegister& req) {
  if ((req.addr & opts_.subnet_mask) != opts_.subnet) {
    return make_error(EACCES, "host_addr " + ip_text(req.addr) + " is outside ltran's dispatch_subnet " +
                                  ip_text(opts_.subnet) + " (ltran.conf's dispatch_subnet, dispatch_subnet_length)");
  }
  if (std::memcmp(req.mac, opts_.mac.data(), 6) != 0) {
    return make_error(EACCES, "devices = " + conf::mac_text(req.mac) + " is not the MAC of ltran's bond (" +
                                  conf::mac_text(opts_.mac.data()) + ", ltran.conf's bond_macs)");
  }
  if (req.queues == 0 || req.queues > 32) return make_error(EINVAL, "num_cpus: 1 to 32 stack threads with ltran");
  auto free_slot = std::find_if(slots_.begin(), slots_.end(), [](const Instance& i) { return !i.live; });
  if (free_slot == slots_.end()) {
    return make_error(EUSERS, "ltran serves dispatch_max_clients = " + std::to_string(slots_.size()) +
                                  " processes already");
  }
  Instance& inst = *free_slot;
  const std::uint16_t slot = inst.slot;
  inst = Instance{};
  inst.slot = slot;
  inst.fd = fd;
  inst.pid = who.pid;
  inst.uid = who.uid;
  inst.gid = who.gid;
  inst.addr = req.addr;
  inst.queues = static_cast<std::uint16_t>(req.queues);
  std::memcpy(inst.name.data(), req.name, sizeof req.name);
  inst.name.back() = '\0';
  const std::uint32_t width = kEphemeralCount / static_cast<std::uint32_t>(slots_.size());
  inst.port_lo = static_cast<std::uint16_t>(kEphemeralFirst + slot * width);
  inst.port_hi = static_cast<std::uint16_t>(inst.port_lo + width - 1);
  inst.limit.pps = opts_.tx_pps;
  inst.limit.bps = opts_.tx_bps;
  MemifPort& memif = memifs_[slot];
  if (auto ok = attach_memif(memif, inst, opts_.run_dir, opts_.prefix, opts_.pool); !ok) return ok.error();
  inst.live = true;
  inst.up = false;
  ++connecting_;
  ++totals_.instances;
  wire::LtranRegistered out{};
  out.instance = slot;
  out.mtu = opts_.mtu;
  out.port_lo = inst.port_lo;
  out.port_hi = inst.port_hi;
  std::memcpy(out.mac, opts_.mac.data(), 6);
  std::snprintf(out.memif_socket, sizeof out.memif_socket, "%s", memif.socket_path.c_str());
  std::memcpy(out.memif_secret, memif.secret.data(), sizeof out.memif_secret);
  return out;
}

void Dispatcher::remove(int fd) noexcept {
  Instance* inst = find_fd(fd);
  if (inst == nullptr) return;
  const std::uint16_t slot = inst->slot;
  flush_wire();
  repark(slot);  // connections handed to it that it never took
  detach_memif(memifs_[slot], *inst);
  std::vector<Claim> gone;
  std::erase_if(claims_, [&](const Claim& c) {
    if (c.slot == slot) gone.push_back(c);
    return c.slot == slot;
  });
  for (const Claim& c : gone) {
    if (c.proto == wire::kProtoTcp) note_released(c.addr, c.port);
  }
  orphan_flows(slot);
  if (!inst->up) --connecting_;
  inst->live = false;
  inst->up = false;
  inst->fd = -1;
  --totals_.instances;
}

int Dispatcher::claim(int fd, const wire::LtranClaim& c, std::string& why) {
  Instance* inst = find_fd(fd);
  if (inst == nullptr) return -ENOTCONN;
  const std::uint32_t addr = c.addr == 0 ? inst->addr : c.addr;
  if (addr != inst->addr || (c.proto != wire::kProtoTcp && c.proto != wire::kProtoUdp) || c.port == 0) {
    why = ip_text(addr) + " is not this process's address";
    return -EACCES;
  }
  for (Claim& held : claims_) {
    if (held.proto != c.proto || held.addr != addr || held.port != c.port) continue;
    if (held.uid != inst->uid) {
      why = "port " + std::to_string(c.port) + " is held by a process of uid " + std::to_string(held.uid);
      return -EADDRINUSE;
    }
    if (held.slot == inst->slot) {
      ++held.refs;
      return 0;
    }
  }
  if (claims_.size() >= 4096) {
    why = "ltran holds 4096 claimed ports";
    return -ENOSPC;
  }
  claims_.push_back(Claim{c.proto, addr, c.port, inst->slot, inst->uid, 1});
  ++inst->counters.claims;
  return 0;
}

void Dispatcher::release(int fd, const wire::LtranClaim& c) noexcept {
  Instance* inst = find_fd(fd);
  if (inst == nullptr) return;
  const std::uint32_t addr = c.addr == 0 ? inst->addr : c.addr;
  for (auto it = claims_.begin(); it != claims_.end(); ++it) {
    if (it->slot == inst->slot && it->proto == c.proto && it->addr == addr && it->port == c.port) {
      if (--it->refs == 0) {
        claims_.erase(it);
        --inst->counters.claims;
        if (c.proto == wire::kProtoTcp) note_released(addr, c.port);
      }
      return;
    }
  }
}

wire::LtranTotals Dispatcher::totals() const noexcept {
  wire::LtranTotals t = totals_;
  t.flows = flows_.size();
  t.bond_mode = opts_.bond_mode;
  t.active_port = ~0u;
  if (opts_.wire != nullptr) {
    const std::uint16_t active = opts_.wire->active();
    t.active_port = active == 0xffff ? ~0u : active;
    const auto& members = opts_.wire->members();
    t.ports = static_cast<std::uint32_t>(std::min<std::size_t>(members.size(), 8));
    for (std::uint32_t i = 0; i < t.ports; ++i) {
      t.port_ids[i] = members[i];
      t.link_up[i] = opts_.wire->link_up(members[i]) ? 1 : 0;
    }
  }
  t.uptime_ns = static_cast<std::uint64_t>(static_cast<double>(rte_rdtsc() - started_) * 1e9 / static_cast<double>(hz_));
  return t;
}

std::vector<wire::LtranInstanceInfo> Dispatcher::infos() const {
  std::vector<wire::LtranInstanceInfo> out;
  std::vector<std::uint32_t> flows(slots_.size(), 0);
  flows_.for_each([&](const Flow& f) {
    if (f.instance < flows.size()) ++flows[f.instance];  // not a parked connection's
  });
  for (const Instance& inst : slots_) {
    if (!inst.live) continue;
    wire::LtranInstanceInfo i = inst.counters;
    i.instance = inst.slot;
    i.pid = static_cast<std::uint32_t>(inst.pid);
    i.uid = inst.uid;
    i.gid = inst.gid;
    i.addr = inst.addr;
    i.queues = inst.queues;
    i.flows = flows[inst.slot];
    std::uint32_t n = 0;
    for (const Claim& c : claims_) {
      if (c.slot != inst.slot) continue;
      if (n < 16) {
        i.ports[n] = c.port;
        i.protos[n] = c.proto;
      }
      ++n;
    }
    i.claims = n;
    std::memcpy(i.name, inst.name.data(), sizeof i.name);
    out.push_back(i);
  }
  return out;
}

std::vector<int> Dispatcher::fds() const {
  std::vector<int> out;
  for (const Instance& inst : slots_) {
    if (inst.live) out.push_back(inst.fd);
  }
  return out;
}

}  // namespace gz::ltran
