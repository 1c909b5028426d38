#include "pbuf_mbuf.hpp"

#include <netinet/in.h>
#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_tcp.h>
#include <rte_udp.h>

#include "gz/handover.hpp"
#include "gz/thread_state.hpp"
#include "lwip/pbuf.h"
#include "lwip/prot/tcp.h"
#include "netdev.hpp"

namespace gz::stack {
namespace {

static_assert(sizeof(pbuf_custom) <= kMbufPrivBytes, "pbuf_custom must fit the mbuf private area");
// lwIP's own bound on headers added in place is the pbuf struct (in the
// private area), not the buffer: the headroom must hold the longest headers.
static_assert(kTxHeadroom >= PBUF_LINK_ENCAPSULATION_HLEN + PBUF_LINK_HLEN + PBUF_IP_HLEN + TCP_HLEN + 40,
              "the headroom of a transmit mbuf must hold every header lwIP adds");
// The rx stamp follows the pbuf_custom in the private area.
constexpr std::size_t kStampOffset = (sizeof(pbuf_custom) + 7) & ~std::size_t{7};
static_assert(kStampOffset + sizeof(std::uint64_t) <= kMbufPrivBytes, "the rx stamp must fit the mbuf private area");

rte_mbuf* mbuf_of(pbuf* p) noexcept {
  return reinterpret_cast<rte_mbuf*>(reinterpret_cast<char*>(p) - sizeof(rte_mbuf));
}

// A received mbuf may go back to its pool from another stack's thread than
// the one that will take it out again (frames handed over between stacks).
void free_mbuf_pbuf(pbuf* p) noexcept {
  rte_mbuf* m = mbuf_of(p);
  handover_release(m->pool);
  rte_pktmbuf_free_seg(m);
}

// lwIP is done with an application-filled segment (acknowledged, or the
// connection went): the stack thread gives it back to the tx budget.
void free_tx_pbuf(pbuf* p) noexcept {
  ++this_thread_state().tx_mbufs_freed;
  rte_mbuf* m = mbuf_of(p);
  handover_release(m->pool);  // an application thread fills it next (ThreadSanitizer)
  rte_pktmbuf_free_seg(m);    // a transmission still queued keeps it until the driver is done
}

pbuf* wrap_segment(rte_mbuf* seg) noexcept {
  auto* pc = static_cast<pbuf_custom*>(rte_mbuf_to_priv(seg));
  pc->custom_free_function = free_mbuf_pbuf;
  // PBUF_POOL: struct and payload live in one buffer (the mbuf), so lwIP may
  // grow headers into the headroom (e.g. an ICMP echo reply in place).
  return pbuf_alloced_custom(PBUF_RAW, seg->data_len, PBUF_POOL, pc, rte_pktmbuf_mtod(seg, void*), seg->data_len);
}

pbuf* wrap_tx_segment(rte_mbuf* seg) noexcept {
  auto* pc = static_cast<pbuf_custom*>(rte_mbuf_to_priv(seg));
  pc->custom_free_function = free_tx_pbuf;
  // PBUF_RAM: struct and payload count as one buffer, so lwIP adds headers in
  // place (pbuf_add_header); custom, so it never trims it with mem_trim.
  return pbuf_alloced_custom(PBUF_RAW, seg->data_len, PBUF_RAM, pc, rte_pktmbuf_mtod(seg, void*), seg->data_len);
}

// An mbuf chain as a pbuf chain, a pbuf per segment made by wrap.
pbuf* chain_of(rte_mbuf* m, pbuf* (*wrap)(rte_mbuf*)) noexcept {
  pbuf* head = nullptr;
  while (m != nullptr) {
    rte_mbuf* next = m->next;
    if (next != nullptr) {  // each segment is freed on its own by its pbuf
      m->next = nullptr;    // (a lone segment is left unwritten: a capture may be reading it)
      m->nb_segs = 1;
      m->pkt_len = m->data_len;
    }
    pbuf* p = wrap(m);
    if (head == nullptr) {
      head = p;
    } else {
      pbuf_cat(head, p);
    }
    m = next;
  }
  return head;
}

}  // namespace

void set_rx_stamp(rte_mbuf* m, std::uint64_t tsc) noexcept {
  for (; m != nullptr; m = m->next) {  // every segment becomes a pbuf of its own
    *reinterpret_cast<std::uint64_t*>(static_cast<char*>(rte_mbuf_to_priv(m)) + kStampOffset) = tsc;
  }
}

std::uint64_t rx_stamp(const pbuf* p) noexcept {
  if ((p->flags & PBUF_FLAG_IS_CUSTOM) == 0 ||
      reinterpret_cast<const pbuf_custom*>(p)->custom_free_function != free_mbuf_pbuf) {
    return 0;
  }
  return *reinterpret_cast<const std::uint64_t*>(reinterpret_cast<const char*>(p) + kStampOffset);
}

pbuf* pbuf_from_mbuf(rte_mbuf* m) noexcept { return chain_of(m, wrap_segment); }

pbuf* pbuf_from_tx_mbuf(rte_mbuf* m) noexcept { return chain_of(m, wrap_tx_segment); }

namespace {

struct Ipv4View {
  rte_ipv4_hdr* ip = nullptr;
  std::uint32_t l3_len = 0;
};

// The IPv4 header right after an untagged Ethernet header, if it is one.
Ipv4View ipv4_of(rte_mbuf* m) noexcept {
  if (m->data_len < sizeof(rte_ether_hdr) + sizeof(rte_ipv4_hdr)) return {};
  auto* eth = rte_pktmbuf_mtod(m, rte_ether_hdr*);
  if (eth->ether_type != rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4)) return {};
  auto* ip = reinterpret_cast<rte_ipv4_hdr*>(eth + 1);
  const std::uint32_t l3 = rte_ipv4_hdr_len(ip);
  if (l3 < sizeof(rte_ipv4_hdr) || m->data_len < sizeof(rte_ether_hdr) + l3) return {};
  return {ip, l3};
}

void request_tx_offloads(rte_mbuf* m, const Offloads& off) noexcept {
  const Ipv4View v = ipv4_of(m);
  if (v.ip == nullptr) return;
  m->l2_len = sizeof(rte_ether_hdr);
  m->l3_len = v.l3_len;
  m->ol_flags |= RTE_MBUF_F_TX_IPV4;
  if (off.tx_ip_cksum) {
    v.ip->hdr_checksum = 0;
    m->ol_flags |= RTE_MBUF_F_TX_IP_CKSUM;
  }
  const bool fragment = (rte_be_to_cpu_16(v.ip->fragment_offset) & (RTE_IPV4_HDR_MF_FLAG | RTE_IPV4_HDR_OFFSET_MASK)) != 0;
  if (off.tx_l4_cksum && !fragment && v.ip->next_proto_id == IPPROTO_TCP &&
      m->data_len >= sizeof(rte_ether_hdr) + v.l3_len + sizeof(rte_tcp_hdr)) {
    auto* tcp = reinterpret_cast<rte_tcp_hdr*>(reinterpret_cast<char*>(v.ip) + v.l3_len);
    m->ol_flags |= RTE_MBUF_F_TX_TCP_CKSUM;
    tcp->cksum = rte_ipv4_phdr_cksum(v.ip, m->ol_flags);
  }
}

}  // namespace

bool is_arp(const rte_mbuf* m) noexcept {
  return m->data_len >= sizeof(rte_ether_hdr) &&
         rte_pktmbuf_mtod(m, const rte_ether_hdr*)->ether_type == rte_cpu_to_be_16(RTE_ETHER_TYPE_ARP);
}

FlowTuple flow_tuple(rte_mbuf* m) noexcept {
  const Ipv4View v = ipv4_of(m);
  if (v.ip == nullptr || (v.ip->next_proto_id != IPPROTO_TCP && v.ip->next_proto_id != IPPROTO_UDP)) return {};
  if ((rte_be_to_cpu_16(v.ip->fragment_offset) & (RTE_IPV4_HDR_MF_FLAG | RTE_IPV4_HDR_OFFSET_MASK)) != 0) return {};
  // Both headers start with the source and destination ports (RFC 793, RFC 768).
  if (m->data_len < sizeof(rte_ether_hdr) + v.l3_len + sizeof(rte_udp_hdr)) return {};
  const auto* ports = reinterpret_cast<const rte_udp_hdr*>(reinterpret_cast<const char*>(v.ip) + v.l3_len);
  FlowTuple t;
  t.valid = true;
  t.udp = v.ip->next_proto_id == IPPROTO_UDP;
  t.local_port = rte_be_to_cpu_16(ports->dst_port);
  if (!t.udp) {
    t.remote_ip = v.ip->src_addr;
    t.remote_port = rte_be_to_cpu_16(ports->src_port);
  }
  return t;
}

bool rx_checksums_ok(rte_mbuf* m) noexcept {
  const std::uint64_t ip = m->ol_flags & RTE_MBUF_F_RX_IP_CKSUM_MASK;
  const std::uint64_t l4 = m->ol_flags & RTE_MBUF_F_RX_L4_CKSUM_MASK;
  if (ip == RTE_MBUF_F_RX_IP_CKSUM_BAD || l4 == RTE_MBUF_F_RX_L4_CKSUM_BAD) return false;
  const Ipv4View v = ipv4_of(m);
  if (v.ip == nullptr) return true;  // not IPv4: lwIP's ARP path needs no sum
  // rte_ipv4_cksum() sums the header with its stored checksum: a good one gives 0.
  if (ip != RTE_MBUF_F_RX_IP_CKSUM_GOOD && rte_ipv4_cksum(v.ip) != 0) return false;
  const bool fragment = (rte_be_to_cpu_16(v.ip->fragment_offset) & (RTE_IPV4_HDR_MF_FLAG | RTE_IPV4_HDR_OFFSET_MASK)) != 0;
  const std::uint8_t proto = v.ip->next_proto_id;
  if (l4 == RTE_MBUF_F_RX_L4_CKSUM_GOOD || fragment || (proto != IPPROTO_TCP && proto != IPPROTO_UDP)) return true;
  if (m->nb_segs != 1) return true;  // lwIP's reassembly path checks the whole datagram
  const void* l4hdr = reinterpret_cast<char*>(v.ip) + v.l3_len;
  if (proto == IPPROTO_UDP && static_cast<const rte_udp_hdr*>(l4hdr)->dgram_cksum == 0) return true;  // no UDP sum
  const std::uint32_t l4_len = rte_be_to_cpu_16(v.ip->total_length) - v.l3_len;
  if (sizeof(rte_ether_hdr) + v.l3_len + l4_len > m->data_len) return true;  // short: lwIP drops it by length
  // One's complement sum over pseudo header and segment, stored sum included: 0xffff when right.
  std::uint32_t sum = rte_raw_cksum(l4hdr, l4_len) + rte_ipv4_phdr_cksum(v.ip, 0);
  sum = (sum & 0xffff) + (sum >> 16);
  sum = (sum & 0xffff) + (sum >> 16);
  return sum == 0xffff;
}

rte_mbuf* tx_mbuf_of(pbuf* p, const Offloads& off) noexcept {
  if (p->next != nullptr || (p->flags & PBUF_FLAG_IS_CUSTOM) == 0 ||
      reinterpret_cast<const pbuf_custom*>(p)->custom_free_function != free_tx_pbuf) {
    return nullptr;
  }
  rte_mbuf* m = mbuf_of(p);
  // Still held by the device, the wire or a capture from an earlier
  // transmission: this one goes as a copy, leaving that one's fields alone.
  // (lwIP has rewritten the headers in place already: a frame still being
  // read then may go out torn, fails its checksum and is sent again.)
  if (rte_mbuf_refcnt_read(m) != 1) return nullptr;
  m->data_off = static_cast<std::uint16_t>(static_cast<char*>(p->payload) - static_cast<char*>(m->buf_addr));
  m->data_len = p->len;
  m->pkt_len = p->len;
  m->ol_flags = 0;
  if (off.tx_ip_cksum || off.tx_l4_cksum) request_tx_offloads(m, off);
  rte_mbuf_refcnt_update(m, 1);  // lwIP keeps its reference until the data is acknowledged
  return m;
}

rte_mbuf* mbuf_from_pbuf(rte_mempool* pool, const pbuf* p, const Offloads& off) noexcept {
  rte_mbuf* m = rte_pktmbuf_alloc(pool);
  if (m == nullptr) return nullptr;
  if (p->tot_len > rte_pktmbuf_tailroom(m)) {
    rte_pktmbuf_free(m);
    return nullptr;
  }
  pbuf_copy_partial(p, rte_pktmbuf_mtod(m, void*), p->tot_len, 0);
  m->data_len = p->tot_len;
  m->pkt_len = p->tot_len;
  if (off.tx_ip_cksum || off.tx_l4_cksum) request_tx_offloads(m, off);
  return m;
}

}  // namespace gz::stack
