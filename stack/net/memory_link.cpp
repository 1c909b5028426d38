#include "memory_link.hpp"

#include <rte_errno.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include <algorithm>
#include <cerrno>
#include <random>

#include "gz/handover.hpp"

namespace gz::stack {

// One queue of a host: sends onto the other host's wire(s), receives from its
// own. Each received frame is copied into this queue's pool and the sender's
// mbuf goes back to the sender to free, so a pool is only ever used by its
// own queue's thread, as a NIC's rx pool is.
class MemoryLink::End final : public NetDev {
  static constexpr std::size_t kBurst = 128;

 public:
  End(MemoryLink& link, std::size_t q) : link_(link), q_(q), rng_(0x9e3779b9u + static_cast<unsigned>(q)) {
    const bool host1 = q + 1 == link.queues_.size();
    mac_ = {0x02, 0, 0, 0, 0, static_cast<std::uint8_t>(host1 ? 2 : 1)};
    if (host1) {
      for (std::size_t i = 0; i + 1 < link.queues_.size(); ++i) peers_.push_back(i);
    } else {
      peers_.push_back(link.queues_.size() - 1);
    }
  }
  ~End() override {
    if (held_ != nullptr) rte_pktmbuf_free(held_);
    free_returned();
    for (rte_mbuf* m : leftover_) hand_back(m);  // best effort at teardown
  }

  std::uint16_t rx_burst(std::span<rte_mbuf*> out) noexcept override {
    release_held();  // a frame held back is not held forever
    free_returned();
    rte_mbuf* got[kBurst];
    rte_ring* wire = link_.queues_[q_].wire;
    const unsigned n = rte_ring_dequeue_burst(wire, reinterpret_cast<void**>(got), std::min(out.size(), kBurst), nullptr);
    handover_acquire(wire);
    std::uint16_t k = 0;
    for (unsigned i = 0; i < n; ++i) {
      handover_acquire(link_.queues_[q_].pool);  // its mbufs may have been freed by other stacks' threads
      rte_mbuf* copy = rte_pktmbuf_copy(got[i], link_.queues_[q_].pool, 0, UINT32_MAX);
      if (copy != nullptr) {
        out[k++] = copy;
      } else {
        link_.lost_.fetch_add(1, std::memory_order_relaxed);  // no mbuf: as a NIC's rx_nombuf
      }
      if (!hand_back(got[i])) leftover_.push_back(got[i]);
    }
    return k;
  }

  std::uint16_t tx_burst(std::span<rte_mbuf*> pkts) noexcept override {
    free_returned();
    std::uint16_t taken = 0;
    for (rte_mbuf* m : pkts) {
      if (!send_one(m)) break;
      ++taken;
    }
    return taken;
  }

  rte_mempool* tx_pool() noexcept override { return link_.queues_[q_].pool; }
  const std::array<std::uint8_t, 6>& mac() const noexcept override { return mac_; }
  std::uint16_t mtu() const noexcept override { return 1500; }
  Offloads offloads() const noexcept override { return {}; }  // lwIP computes every checksum
  DeviceCounters device_counters() const noexcept override { return {}; }

 private:
  bool chance(const std::atomic<std::uint32_t>& ppm) noexcept {
    const std::uint32_t p = ppm.load(std::memory_order_relaxed);
    return p != 0 && std::uniform_int_distribution<std::uint32_t>(0, 999999)(rng_) < p;
  }
  // Onto the wire of one of the other host's queues, picked at random.
  bool put(rte_mbuf* m) noexcept {
    const std::size_t to = peers_[peers_.size() == 1 ? 0 : rng_() % peers_.size()];
    rte_ring* wire = link_.queues_[to].wire;
    handover_release(wire);
    return rte_ring_enqueue(wire, m) == 0;
  }
  bool hand_back(rte_mbuf* m) noexcept {
    rte_ring* r = link_.queues_[link_.owner_of(m->pool)].returns;
    handover_release(r);
    return rte_ring_enqueue(r, m) == 0;
  }

  // This queue's mbufs the other side has copied: freed here, on their pool's thread.
  void free_returned() noexcept {
    void* m[64];
    unsigned n;
    rte_ring* r = link_.queues_[q_].returns;
    while ((n = rte_ring_dequeue_burst(r, m, 64, nullptr)) > 0) {
      handover_acquire(r);
      handover_release(link_.queues_[q_].pool);  // application threads fill transmit mbufs from it
      for (unsigned i = 0; i < n; ++i) rte_pktmbuf_free(static_cast<rte_mbuf*>(m[i]));
    }
    while (!leftover_.empty() && hand_back(leftover_.back())) leftover_.pop_back();
  }

  // False when the wire is full (the caller keeps m, as a full NIC queue).
  bool send_one(rte_mbuf* m) noexcept {
    if (chance(link_.loss_ppm_)) {
      link_.lost_.fetch_add(1, std::memory_order_relaxed);
      handover_release(m->pool);
      rte_pktmbuf_free(m);
      return true;
    }
    if (held_ == nullptr && chance(link_.reorder_ppm_)) {
      link_.reordered_.fetch_add(1, std::memory_order_relaxed);
      held_ = m;  // goes out after the next frame
      return true;
    }
    if (chance(link_.duplicate_ppm_)) {
      if (rte_mbuf* twin = rte_pktmbuf_copy(m, link_.queues_[q_].pool, 0, UINT32_MAX)) {
        if (put(twin)) {
          link_.duplicated_.fetch_add(1, std::memory_order_relaxed);
        } else {
          rte_pktmbuf_free(twin);
        }
      }
    }
    if (!put(m)) return false;
    release_held();
    return true;
  }

  void release_held() noexcept {
    if (held_ != nullptr && put(held_)) held_ = nullptr;
  }

  MemoryLink& link_;
  const std::size_t q_;
  std::vector<std::size_t> peers_;  // the other host's queues
  std::array<std::uint8_t, 6> mac_;
  std::minstd_rand rng_;
  rte_mbuf* held_ = nullptr;
  std::vector<rte_mbuf*> leftover_;  // copied mbufs whose owner's returns ring was full
};

Result<std::unique_ptr<MemoryLink>> MemoryLink::create(const std::string& name, std::uint32_t mbufs,
                                                       unsigned host0_queues) {
  if (host0_queues == 0) return make_error(EINVAL, "memory link: host 0 needs a queue");
  std::unique_ptr<MemoryLink> link(new MemoryLink());
  link->queues_.resize(host0_queues + 1);
  for (std::size_t i = 0; i < link->queues_.size(); ++i) {
    Queue& q = link->queues_[i];
    const std::string n = name + std::to_string(i);
    q.pool = rte_pktmbuf_pool_create(("p" + n).c_str(), mbufs, 0, kMbufPrivBytes, RTE_MBUF_DEFAULT_BUF_SIZE,
                                     SOCKET_ID_ANY);
    // Several senders (host 0's queues share host 1's wire), one receiver.
    q.wire = rte_ring_create(("w" + n).c_str(), 4096, SOCKET_ID_ANY, RING_F_SC_DEQ);
    q.returns = rte_ring_create(("r" + n).c_str(), 8192, SOCKET_ID_ANY, RING_F_SC_DEQ);
    if (q.pool == nullptr || q.wire == nullptr || q.returns == nullptr) {
      return make_error(ENOMEM, "memory link " + n + ": " + rte_strerror(rte_errno));
    }
  }
  return link;
}

MemoryLink::~MemoryLink() {
  for (Queue& q : queues_) {
    for (rte_ring* r : {q.wire, q.returns}) {
      void* m;
      if (r == nullptr) continue;
      while (rte_ring_dequeue(r, &m) == 0) rte_pktmbuf_free(static_cast<rte_mbuf*>(m));
      rte_ring_free(r);
    }
  }
  for (Queue& q : queues_) rte_mempool_free(q.pool);
}

std::size_t MemoryLink::owner_of(const rte_mempool* pool) const noexcept {
  for (std::size_t i = 0; i < queues_.size(); ++i) {
    if (queues_[i].pool == pool) return i;
  }
  return 0;  // not ours: cannot happen (every mbuf on the link comes from a queue's pool)
}

std::unique_ptr<NetDev> MemoryLink::take(std::size_t i) {
  return std::make_unique<End>(*this, std::min(i, queues_.size() - 1));
}

void MemoryLink::set_faults(const LinkFaults& f) noexcept {
  auto ppm = [](double p) { return static_cast<std::uint32_t>(p <= 0 ? 0 : p >= 1 ? 1000000 : p * 1e6); };
  loss_ppm_.store(ppm(f.loss), std::memory_order_relaxed);
  reorder_ppm_.store(ppm(f.reorder), std::memory_order_relaxed);
  duplicate_ppm_.store(ppm(f.duplicate), std::memory_order_relaxed);
}

}  // namespace gz::stack
