// MemoryLink: two NetDevs joined in memory, a cable between two stacks.
//
// Unit tests run Stack, the TCP and UDP sockets and epoll over it without a
// NIC, root or hugepages (EAL with --no-huge). The cable can be made bad:
// each frame is lost, held back behind the next one (reordered) or sent twice
// (duplicated) with the given probability, from a seeded generator.
// Thread: each end's NetDev is used by its own stack thread; set_faults and
// the counters from any thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "gz/result.hpp"
#include "netdev_source.hpp"

struct rte_ring;

namespace gz::stack {

struct LinkFaults {
  double loss = 0;       // probability a frame vanishes
  double reorder = 0;    // ... is held back and sent after the next frame
  double duplicate = 0;  // ... arrives twice
};

class MemoryLink final : public NetDevSource {
 public:
  // name: unique among DPDK objects of the process; mbufs per end.
  // Errors: ENOMEM (pools, rings).
  static Result<std::unique_ptr<MemoryLink>> create(const std::string& name, std::uint32_t mbufs);
  ~MemoryLink() override;
  MemoryLink(const MemoryLink&) = delete;
  MemoryLink& operator=(const MemoryLink&) = delete;

  std::size_t count() const noexcept override { return 2; }
  // End 0 or 1 (MAC 02:00:00:00:00:01 / :02); the link must outlive both.
  std::unique_ptr<NetDev> take(std::size_t i) override;

  void set_faults(const LinkFaults& f) noexcept;
  std::uint64_t lost() const noexcept { return lost_.load(std::memory_order_relaxed); }
  std::uint64_t reordered() const noexcept { return reordered_.load(std::memory_order_relaxed); }
  std::uint64_t duplicated() const noexcept { return duplicated_.load(std::memory_order_relaxed); }

 private:
  class End;
  friend class End;
  MemoryLink() = default;
  // Per million, so that ends read them without a lock.
  std::atomic<std::uint32_t> loss_ppm_{0}, reorder_ppm_{0}, duplicate_ppm_{0};
  std::atomic<std::uint64_t> lost_{0}, reordered_{0}, duplicated_{0};
  rte_ring* wire_[2] = {nullptr, nullptr};     // wire_[i]: frames travelling to end i
  rte_ring* returns_[2] = {nullptr, nullptr};  // returns_[i]: end i's mbufs, copied, to free
  struct rte_mempool* pool_[2] = {nullptr, nullptr};
};

}  // namespace gz::stack
