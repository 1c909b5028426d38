#include "capture_tap.hpp"

#include <rte_cycles.h>
#include <rte_mbuf.h>
#include <rte_ring.h>
#include <rte_ring_elem.h>

#include <cstdlib>
#include <cstring>

#include "gz/handover.hpp"

namespace gz::stack {

static_assert(sizeof(CaptureRecord) % 4 == 0, "rte_ring elements are multiples of 4 bytes");

std::unique_ptr<CaptureTap> CaptureTap::create(unsigned slots) noexcept {
  const ssize_t bytes = rte_ring_get_memsize_elem(sizeof(CaptureRecord), slots);
  if (bytes <= 0) return nullptr;
  // Plain process memory: the ring never leaves this process, so it needs no
  // memzone (and no name unique across the file prefix).
  void* mem = std::aligned_alloc(RTE_CACHE_LINE_SIZE, RTE_ALIGN_CEIL(static_cast<std::size_t>(bytes), RTE_CACHE_LINE_SIZE));
  if (mem == nullptr) return nullptr;
  auto* ring = static_cast<rte_ring*>(mem);
  if (rte_ring_init(ring, "gz_capture", slots, RING_F_SP_ENQ | RING_F_SC_DEQ) != 0) {
    std::free(mem);
    return nullptr;
  }
  std::unique_ptr<CaptureTap> tap(new (std::nothrow) CaptureTap(ring, mem));
  if (tap == nullptr) std::free(mem);
  return tap;
}

CaptureTap::~CaptureTap() {
  discard();
  std::free(mem_);
}

void CaptureTap::offer_one(rte_mbuf* m, std::uint64_t tsc, CaptureDir dir) noexcept {
  CaptureRecord r;
  r.m = m;
  r.tsc = tsc;
  r.dir = static_cast<std::uint32_t>(dir);
  r.head_len = 0;
  if (m->nb_segs != 1) {
    // lwIP unlinks a chain's segments (pbuf_from_mbuf): these rare frames are copied whole.
    r.m = rte_pktmbuf_copy(m, m->pool, 0, UINT32_MAX);
    if (r.m == nullptr) {
      count_dropped(1);
      return;
    }
  } else {
    // lwIP may rewrite a frame's headers later: a received one in place (an
    // ICMP reply), a sent segment the application filled (its mbuf is
    // shared with lwIP until acknowledged) when it is retransmitted.
    if (dir == CaptureDir::kRx || rte_mbuf_refcnt_read(m) > 1) {
      r.head_len = m->data_len < kCaptureHead ? m->data_len : kCaptureHead;
      std::memcpy(r.head, rte_pktmbuf_mtod(m, const void*), r.head_len);
    }
    rte_mbuf_refcnt_update(m, 1);
  }
  handover_release(ring_);
  if (rte_ring_sp_enqueue_elem(ring_, &r, sizeof r) != 0) {
    rte_pktmbuf_free(r.m);
    count_dropped(1);
  }
}

void CaptureTap::offer(rte_mbuf* const* pkts, std::uint16_t n, CaptureDir dir) noexcept {
  const std::uint64_t now = rte_rdtsc();
  for (std::uint16_t i = 0; i < n; ++i) offer_one(pkts[i], now, dir);
}

unsigned CaptureTap::take(CaptureRecord* out, unsigned max) noexcept {
  const unsigned n = rte_ring_sc_dequeue_burst_elem(ring_, out, sizeof(CaptureRecord), max, nullptr);
  handover_acquire(ring_);
  return n;
}

void CaptureTap::discard() noexcept {
  CaptureRecord r[32];
  for (unsigned n; (n = take(r, 32)) != 0;) release(r, n);
}

void CaptureTap::release(const CaptureRecord* r, unsigned n) noexcept {
  rte_mbuf* m[64];
  for (unsigned done = 0; done < n;) {
    const unsigned k = n - done < 64 ? n - done : 64;
    for (unsigned i = 0; i < k; ++i) {
      m[i] = r[done + i].m;
      handover_release(m[i]->pool);
    }
    rte_pktmbuf_free_bulk(m, k);
    done += k;
  }
}

}  // namespace gz::stack
