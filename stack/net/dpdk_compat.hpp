// Workarounds for what Debian's DPDK 22.11 gets wrong, in one place.
// Thread: the control thread setting a port up, before the port starts.
#pragma once

#include <cstdint>

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

}  // namespace gz::stack
