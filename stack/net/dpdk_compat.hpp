// Workarounds for what Debian's DPDK 22.11 gets wrong, in one place.
// Thread: the control thread setting a port up, before the port starts.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

struct rte_mempool;

namespace gz::stack {

// net_af_xdp (22.11) registers a pool as one umem: populated_size objects of
// rte_mempool_calc_obj_size() bytes from the page of the pool's first memory
// chunk (rte_eth_af_xdp.c, xdp_umem_configure). A pool keeps each object
// inside a page, so it has gaps that count leaves out: its last mbufs lie
// past the umem's end (5 of 24,000 on 2 MiB pages, far more on 4 KiB ones,
// any in a second chunk), and the kernel drops the frames sent from them
// and the fills into them without a word. Measured: redis' first replies
// lost, a 3 s stall until lwIP's first retransmission timeout. Those mbufs
// are taken out of the pool for good. Call it while the pool is whole.
// Returns how many were taken out.
unsigned set_aside_outside_af_xdp_umem(rte_mempool* pool) noexcept;

// net_af_xdp (22.11) offers no rx interrupts, but each of its queues is an
// AF_XDP socket of this process, readable while its rx ring holds frames: a
// sleeping stack polls it to wake for the next frame. Returns the fd, or -1:
// another driver, or more than one AF_XDP socket in the process (several
// queues or ports: which is whose cannot be told; those stacks sleep for a
// time, up to 1 ms, as before). Any thread, after the port started.
int af_xdp_queue_fd(std::uint16_t port, std::uint16_t queue) noexcept;

// net_af_xdp (22.11) makes a system call on every receive that finds its rx
// ring empty: recvfrom() with busy_budget (its default, preferred busy
// polling), poll() when the fill ring asks to be woken. A stack polling on
// pays it each idle round (python's http.server: about 90 per GET). The
// rx ring's indices and the fill ring's flags are memory shared with the
// kernel, so a read-only mapping of them tells "nothing came, nothing to
// wake" without the call.
// Thread: the one stack thread that owns the queue (the driver writes the
// consumer index from that thread too).
class XskRxPeek {
 public:
  // Maps the heads of AF_XDP socket fd's rx and fill rings read-only;
  // nullptr when the kernel refuses either (then ask the driver every time).
  static std::unique_ptr<XskRxPeek> map(int fd) noexcept;
  ~XskRxPeek();
  XskRxPeek(const XskRxPeek&) = delete;
  XskRxPeek& operator=(const XskRxPeek&) = delete;

  // True when the rx ring holds nothing the driver has not taken and the
  // fill ring does not ask for a wake-up: the driver's rx_burst would only
  // make its system call.
  bool idle() const noexcept {
    return __atomic_load_n(rx_producer_, __ATOMIC_ACQUIRE) == __atomic_load_n(rx_consumer_, __ATOMIC_RELAXED) &&
           (__atomic_load_n(fill_flags_, __ATOMIC_RELAXED) & kNeedWakeup) == 0;
  }

 private:
  static constexpr std::uint32_t kNeedWakeup = 1;  // XDP_RING_NEED_WAKEUP (linux/if_xdp.h)
  struct Mapping {
    void* at = nullptr;
    std::size_t len = 0;
  };
  XskRxPeek() = default;
  Mapping rx_, fill_;
  const std::uint32_t* rx_producer_ = nullptr;
  const std::uint32_t* rx_consumer_ = nullptr;
  const std::uint32_t* fill_flags_ = nullptr;
};

}  // namespace gz::stack
