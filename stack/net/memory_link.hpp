// MemoryLink: NetDevs joined in memory, a cable between two hosts.
//
// Unit tests run Stack, the TCP and UDP sockets and epoll over it without a
// NIC, root or hugepages (EAL with --no-huge). Host 0 may have several queues
// (several stacks of one process sharing its MAC and address, as a port's
// queue pairs); frames for it land on a queue picked at random, never by
// flow, so every wrong-queue path runs. Host 1 has one queue. The cable can
// be made bad: each frame is lost, held back behind the next one (reordered)
// or sent twice (duplicated) with the given probability.
// Thread: each NetDev is used by its own stack thread; set_faults and the
// counters from any thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "gz/result.hpp"
#include "netdev_source.hpp"

struct rte_ring;
struct rte_mempool;

namespace gz::stack {

struct LinkFaults {
  double loss = 0;       // probability a frame vanishes
  double reorder = 0;    // ... is held back and sent after the next frame
  double duplicate = 0;  // ... arrives twice
};

class MemoryLink final : public NetDevSource {
 public:
  // name: unique among DPDK objects of the process; mbufs per queue;
  // host0_queues: queues (stacks) of host 0. Errors: ENOMEM (pools, rings).
  static Result<std::unique_ptr<MemoryLink>> create(const std::string& name, std::uint32_t mbufs,
                                                    unsigned host0_queues = 1);
  ~MemoryLink() override;
  MemoryLink(const MemoryLink&) = delete;
  MemoryLink& operator=(const MemoryLink&) = delete;

  // host0_queues + 1: take(i) for i < host0_queues is host 0's queue i (MAC
  // 02:00:00:00:00:01); the last is host 1 (02:00:00:00:00:02). The link must
  // outlive them all.
  std::size_t count() const noexcept override { return queues_.size(); }
  std::unique_ptr<NetDev> take(std::size_t i) override;

  void set_faults(const LinkFaults& f) noexcept;
  std::uint64_t lost() const noexcept { return lost_.load(std::memory_order_relaxed); }
  std::uint64_t reordered() const noexcept { return reordered_.load(std::memory_order_relaxed); }
  std::uint64_t duplicated() const noexcept { return duplicated_.load(std::memory_order_relaxed); }

 private:
  class End;
  friend class End;
  struct Queue {
    rte_mempool* pool = nullptr;  // this queue's mbufs (used by its own thread only)
    rte_ring* wire = nullptr;     // frames travelling to this queue
    rte_ring* returns = nullptr;  // this queue's mbufs the receiver copied, to free
  };
  MemoryLink() = default;
  std::size_t owner_of(const rte_mempool* pool) const noexcept;

  std::vector<Queue> queues_;
  // Per million, so that ends read them without a lock.
  std::atomic<std::uint32_t> loss_ppm_{0}, reorder_ppm_{0}, duplicate_ppm_{0};
  std::atomic<std::uint64_t> lost_{0}, reordered_{0}, duplicated_{0};
};

}  // namespace gz::stack
