#include "memory_link.hpp"

#include <rte_errno.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include <cerrno>
#include <algorithm>
#include <random>
#include <vector>

// Under ThreadSanitizer: DPDK's rings synchronise through barriers TSan does
// not model, so the hand-over of a frame is declared to it (release before the
// enqueue, acquire after the dequeue).
#if defined(__SANITIZE_THREAD__)
extern "C" void __tsan_acquire(void* addr);
extern "C" void __tsan_release(void* addr);
#define GZ_HANDOVER_RELEASE(r) __tsan_release(r)
#define GZ_HANDOVER_ACQUIRE(r) __tsan_acquire(r)
#else
#define GZ_HANDOVER_RELEASE(r) static_cast<void>(r)
#define GZ_HANDOVER_ACQUIRE(r) static_cast<void>(r)
#endif

namespace gz::stack {

// One end: sends into the other end's wire, receives from its own.
class MemoryLink::End final : public NetDev {
  static constexpr std::size_t kBurst = 128;

 public:
  End(MemoryLink& link, int side) : link_(link), side_(side), rng_(0x9e3779b9u + side) {
    mac_ = {0x02, 0, 0, 0, 0, static_cast<std::uint8_t>(side + 1)};
  }
  ~End() override {
    if (held_ != nullptr) rte_pktmbuf_free(held_);
    free_returned();
  }

  // Each frame is copied into this end's pool and the sender's mbuf goes back
  // to the sender to free: a pool is only ever used by its own end's thread,
  // as a NIC's rx pool is by its queue's.
  std::uint16_t rx_burst(std::span<rte_mbuf*> out) noexcept override {
    release_held();  // a frame held back is not held forever
    free_returned();
    rte_mbuf* got[kBurst];
    const unsigned n = rte_ring_dequeue_burst(link_.wire_[side_], reinterpret_cast<void**>(got),
                                              std::min<std::size_t>(out.size(), kBurst), nullptr);
    GZ_HANDOVER_ACQUIRE(link_.wire_[side_]);
    std::uint16_t k = 0;
    for (unsigned i = 0; i < n; ++i) {
      rte_mbuf* copy = rte_pktmbuf_copy(got[i], link_.pool_[side_], 0, UINT32_MAX);
      if (copy != nullptr) {
        out[k++] = copy;
      } else {
        link_.lost_.fetch_add(1, std::memory_order_relaxed);  // no mbuf: as a NIC's rx_nombuf
      }
    }
    GZ_HANDOVER_RELEASE(link_.returns_[1 - side_]);
    const unsigned back = rte_ring_enqueue_burst(link_.returns_[1 - side_], reinterpret_cast<void**>(got), n, nullptr);
    for (unsigned i = back; i < n; ++i) leftover_.push_back(got[i]);  // returns full: kept for the next round
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

  rte_mempool* tx_pool() noexcept override { return link_.pool_[side_]; }
  const std::array<std::uint8_t, 6>& mac() const noexcept override { return mac_; }
  std::uint16_t mtu() const noexcept override { return 1500; }
  Offloads offloads() const noexcept override { return {}; }  // lwIP computes every checksum
  DeviceCounters device_counters() const noexcept override { return {}; }

 private:
  bool chance(const std::atomic<std::uint32_t>& ppm) noexcept {
    const std::uint32_t p = ppm.load(std::memory_order_relaxed);
    return p != 0 && std::uniform_int_distribution<std::uint32_t>(0, 999999)(rng_) < p;
  }
  bool put(rte_mbuf* m) noexcept {
    GZ_HANDOVER_RELEASE(link_.wire_[1 - side_]);
    return rte_ring_enqueue(link_.wire_[1 - side_], m) == 0;
  }

  // This end's mbufs the other end has copied: freed here, on their pool's thread.
  void free_returned() noexcept {
    void* m[64];
    unsigned n;
    while ((n = rte_ring_dequeue_burst(link_.returns_[side_], m, 64, nullptr)) > 0) {
      GZ_HANDOVER_ACQUIRE(link_.returns_[side_]);
      for (unsigned i = 0; i < n; ++i) rte_pktmbuf_free(static_cast<rte_mbuf*>(m[i]));
    }
    while (!leftover_.empty() && rte_ring_enqueue(link_.returns_[1 - side_], leftover_.back()) == 0) {
      leftover_.pop_back();
    }
  }

  // False when the wire is full (the caller keeps m, as a full NIC queue).
  bool send_one(rte_mbuf* m) noexcept {
    if (chance(link_.loss_ppm_)) {
      link_.lost_.fetch_add(1, std::memory_order_relaxed);
      rte_pktmbuf_free(m);
      return true;
    }
    if (held_ == nullptr && chance(link_.reorder_ppm_)) {
      link_.reordered_.fetch_add(1, std::memory_order_relaxed);
      held_ = m;  // goes out after the next frame
      return true;
    }
    if (chance(link_.duplicate_ppm_)) {
      // A copy of its own: the receiver turns each mbuf into a pbuf in place.
      if (rte_mbuf* twin = rte_pktmbuf_copy(m, link_.pool_[side_], 0, UINT32_MAX)) {
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
  const int side_;
  std::array<std::uint8_t, 6> mac_;
  std::minstd_rand rng_;
  rte_mbuf* held_ = nullptr;
  std::vector<rte_mbuf*> leftover_;  // the other end's, to hand back
};

Result<std::unique_ptr<MemoryLink>> MemoryLink::create(const std::string& name, std::uint32_t mbufs) {
  std::unique_ptr<MemoryLink> link(new MemoryLink());
  for (int i = 0; i < 2; ++i) {
    const std::string n = name + std::to_string(i);
    link->pool_[i] = rte_pktmbuf_pool_create(("p" + n).c_str(), mbufs, 0, kMbufPrivBytes, RTE_MBUF_DEFAULT_BUF_SIZE,
                                             SOCKET_ID_ANY);
    // Single producer (the other end's stack) and single consumer (this end's).
    link->wire_[i] = rte_ring_create(("w" + n).c_str(), 4096, SOCKET_ID_ANY, RING_F_SP_ENQ | RING_F_SC_DEQ);
    link->returns_[i] = rte_ring_create(("r" + n).c_str(), 8192, SOCKET_ID_ANY, RING_F_SP_ENQ | RING_F_SC_DEQ);
    if (link->pool_[i] == nullptr || link->wire_[i] == nullptr || link->returns_[i] == nullptr) {
      return make_error(ENOMEM, "memory link " + n + ": " + rte_strerror(rte_errno));
    }
  }
  return link;
}

MemoryLink::~MemoryLink() {
  for (rte_ring* r : {wire_[0], wire_[1], returns_[0], returns_[1]}) {
    void* m;
    if (r == nullptr) continue;
    while (rte_ring_dequeue(r, &m) == 0) rte_pktmbuf_free(static_cast<rte_mbuf*>(m));
    rte_ring_free(r);
  }
  for (rte_mempool* p : pool_) rte_mempool_free(p);
}

std::unique_ptr<NetDev> MemoryLink::take(std::size_t i) { return std::make_unique<End>(*this, static_cast<int>(i & 1)); }

void MemoryLink::set_faults(const LinkFaults& f) noexcept {
  auto ppm = [](double p) { return static_cast<std::uint32_t>(p <= 0 ? 0 : p >= 1 ? 1000000 : p * 1e6); };
  loss_ppm_.store(ppm(f.loss), std::memory_order_relaxed);
  reorder_ppm_.store(ppm(f.reorder), std::memory_order_relaxed);
  duplicate_ppm_.store(ppm(f.duplicate), std::memory_order_relaxed);
}

}  // namespace gz::stack
