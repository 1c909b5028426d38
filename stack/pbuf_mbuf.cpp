#include "pbuf_mbuf.hpp"

#include <rte_mbuf.h>

#include "dpdk/port.hpp"
#include "lwip/pbuf.h"

namespace gz::stack {
namespace {

static_assert(sizeof(pbuf_custom) <= kMbufPrivBytes, "pbuf_custom must fit the mbuf private area");

rte_mbuf* mbuf_of(pbuf* p) noexcept {
  return reinterpret_cast<rte_mbuf*>(reinterpret_cast<char*>(p) - sizeof(rte_mbuf));
}

void free_mbuf_pbuf(pbuf* p) noexcept { rte_pktmbuf_free_seg(mbuf_of(p)); }

pbuf* wrap_segment(rte_mbuf* seg) noexcept {
  auto* pc = static_cast<pbuf_custom*>(rte_mbuf_to_priv(seg));
  pc->custom_free_function = free_mbuf_pbuf;
  // PBUF_POOL: struct and payload live in one buffer (the mbuf), so lwIP may
  // grow headers into the headroom (e.g. an ICMP echo reply in place).
  return pbuf_alloced_custom(PBUF_RAW, seg->data_len, PBUF_POOL, pc, rte_pktmbuf_mtod(seg, void*), seg->data_len);
}

}  // namespace

pbuf* pbuf_from_mbuf(rte_mbuf* m) noexcept {
  pbuf* head = nullptr;
  while (m != nullptr) {
    rte_mbuf* next = m->next;
    m->next = nullptr;  // each segment is freed on its own by its pbuf
    m->nb_segs = 1;
    pbuf* p = wrap_segment(m);
    if (head == nullptr) {
      head = p;
    } else {
      pbuf_cat(head, p);
    }
    m = next;
  }
  return head;
}

rte_mbuf* mbuf_from_pbuf(rte_mempool* pool, const pbuf* p) noexcept {
  rte_mbuf* m = rte_pktmbuf_alloc(pool);
  if (m == nullptr) return nullptr;
  if (p->tot_len > rte_pktmbuf_tailroom(m)) {
    rte_pktmbuf_free(m);
    return nullptr;
  }
  pbuf_copy_partial(p, rte_pktmbuf_mtod(m, void*), p->tot_len, 0);
  m->data_len = p->tot_len;
  m->pkt_len = p->tot_len;
  return m;
}

}  // namespace gz::stack
