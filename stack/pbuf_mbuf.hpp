// The glue between DPDK mbufs and lwIP pbufs.
// rx: an mbuf (chain) becomes a pbuf (chain) in place: the pbuf_custom lives in
//     the mbuf's private area, the payload is the mbuf's data. No copy, no alloc.
// tx: a pbuf chain is copied into one mbuf from the queue's pool.
// Thread: the stack thread that owns the pbufs.
#pragma once

#include <cstdint>

struct pbuf;
struct rte_mbuf;
struct rte_mempool;

namespace gz::stack {

// Never fails; freeing the pbuf (pbuf_free) returns the mbuf to its pool.
pbuf* pbuf_from_mbuf(rte_mbuf* m) noexcept;

// nullptr when the pool is empty or the frame does not fit one mbuf.
rte_mbuf* mbuf_from_pbuf(rte_mempool* pool, const pbuf* p) noexcept;

}  // namespace gz::stack
