/* lwIP build options for lstack (lwIP 2.1.3, raw API, NO_SYS).
 *
 * Every stack thread runs its own lwIP instance: all of lwIP's mutable state is
 * thread-local (see subprojects/packagefiles/lwip-patches), and memory comes
 * from the calling thread's arena (stack/lwip_port/arena.hpp) instead of static
 * pools, so an application thread that never runs a stack pays only for a few
 * list heads in TLS. Sized for servers: thousands of PCBs, windows of hundreds
 * of KiB with window scaling (RFC 7323 section 2).
 */
#ifndef GZ_LWIPOPTS_H
#define GZ_LWIPOPTS_H

/* --- system: no OS layer, one thread owns each instance --- */
#define NO_SYS                       1
#define SYS_LIGHTWEIGHT_PROT         0
#define LWIP_TIMERS                  1
#define LWIP_SOCKET                  0
#define LWIP_NETCONN                 0
#define LWIP_RAW                     0
#define LWIP_CALLBACK_API            1

/* --- memory: per-thread arena behind lwIP's libc-malloc hooks --- */
#define MEM_LIBC_MALLOC              1
#define MEMP_MEM_MALLOC              1
#define MEM_ALIGNMENT                8
#define mem_clib_malloc              gz_lwip_malloc
#define mem_clib_free                gz_lwip_free
#define mem_clib_calloc              gz_lwip_calloc
#define LWIP_SUPPORT_CUSTOM_PBUF     1   /* rte_mbuf wrapped as a pbuf, no copy */
#define PBUF_POOL_BUFSIZE            1536
#define ETH_PAD_SIZE                 0

/* --- link and network layers --- */
#define LWIP_ARP                     1
#define LWIP_ETHERNET                1
#define ARP_TABLE_SIZE               64  /* lwIP keeps indices in s8_t */
#define ARP_QUEUEING                 1
#define ARP_QUEUE_LEN                64
#define ETHARP_SUPPORT_VLAN          0
#define LWIP_IPV4                    1
#define LWIP_IPV6                    0
#define IP_FORWARD                   0
#define IP_REASSEMBLY                1
#define IP_FRAG                      1
#define IP_REASS_MAX_PBUFS           256
#define IP_DEFAULT_TTL               64
#define LWIP_ICMP                    1
#define LWIP_BROADCAST_PING          0
#define LWIP_DHCP                    0
#define LWIP_AUTOIP                  0
#define LWIP_IGMP                    0
#define LWIP_DNS                     0
#define LWIP_HAVE_LOOPIF             0
#define LWIP_NETIF_LOOPBACK          0
#define LWIP_NETIF_STATUS_CALLBACK   0
#define LWIP_NETIF_LINK_CALLBACK     0
#define LWIP_NUM_NETIF_CLIENT_DATA   1
#define LWIP_CHECKSUM_CTRL_PER_NETIF 1   /* offload decided per port at runtime */

/* --- transport --- */
#define LWIP_UDP                     1
#define LWIP_TCP                     1
#define SO_REUSE                     1
#define LWIP_TCP_KEEPALIVE           1
/* One extension argument per pcb: its flow directory entry, dropped when lwIP
 * frees the pcb (after TIME-WAIT), not when the application closes. */
#define LWIP_TCP_PCB_NUM_EXT_ARGS    1
/* <netinet/tcp.h> also defines TCP_MSS (512, for user code); lstack code
 * includes it before lwIP's headers, and lwIP's value must win. */
#undef TCP_MSS
#define TCP_MSS                      1460
#define LWIP_WND_SCALE               1
#define TCP_RCV_SCALE                4   /* 0xffff << 4 allows 1 MiB */
#define TCP_WND                      (512 * 1024)
#define TCP_SND_BUF                  (512 * 1024)
#define TCP_SND_QUEUELEN             ((4 * TCP_SND_BUF + TCP_MSS - 1) / TCP_MSS)
#define TCP_SNDLOWAT                 (32 * 1024)  /* lwIP keeps it below 0xffff - 4 MSS */
#define TCP_OVERSIZE                 TCP_MSS
#define TCP_QUEUE_OOSEQ              1
/* Patch 0012: in-order data is acknowledged once per receive burst and
 * connection (Stack::poll_once brackets the burst), as a receiver with GRO
 * does: over veth each ACK costs the sending kernel a run of its TCP input. */
#define LWIP_TCP_ACK_PER_BURST       1
#define LWIP_TCP_SACK_OUT            1   /* RFC 2018: the peer resends just the holes */
#define LWIP_TCP_MAX_SACK_NUM        4
#define TCP_OOSEQ_MAX_PBUFS          64   /* per pcb: each pins an rx mbuf */
#define TCP_LISTEN_BACKLOG           1
#define TCP_DEFAULT_LISTEN_BACKLOG   0xff
/* Counters the stack keeps of what lwIP does (weak: lwIP alone, as in the unit
 * tests, links without them). */
#ifdef __cplusplus
#define GZ_LWIP_COUNTER_HOOK(fn) extern "C" void fn(void) __attribute__((weak))
#else
#define GZ_LWIP_COUNTER_HOOK(fn) void fn(void) __attribute__((weak))
#endif
#define GZ_LWIP_COUNT(fn) \
  do {                    \
    if (fn) fn();         \
  } while (0)
/* Patch 0007: a listener whose half-open slots are full evicts the oldest. */
GZ_LWIP_COUNTER_HOOK(gz_lwip_syn_evicted);
#define LWIP_HOOK_TCP_SYN_EVICTED() GZ_LWIP_COUNT(gz_lwip_syn_evicted)
/* TIME-WAIT lasts 2 MSL = 60 s, as Linux's (TCP_TIMEWAIT_LEN); lwIP's default
 * MSL of 60 s held it 120 s. Patch 0014: at most TCP_TW_MAX pcbs per stack in
 * TIME-WAIT, the oldest going beyond (Linux: tcp_max_tw_buckets, 131,072 on the
 * test machine, per host). A pcb takes 512 bytes of the 64 MiB arena, so these
 * take at most 16 MiB; a server closing first sustains 546 new connections a
 * second from distinct client ports before any leaves TIME-WAIT early. */
#define TCP_MSL                      30000UL
#define TCP_TW_MAX                   32768
GZ_LWIP_COUNTER_HOOK(gz_lwip_tw_recycled);
#define LWIP_HOOK_TCP_TW_RECYCLED() GZ_LWIP_COUNT(gz_lwip_tw_recycled)
#define LWIP_TCP_TIMESTAMPS          0
/* RFC 6528 initial sequence numbers (lwIP's own are a guessable counter). */
#define LWIP_HOOK_FILENAME           "gz_lwip_hooks.h"
#define LWIP_HOOK_TCP_ISN(lip, lport, rip, rport) gz_lwip_tcp_isn((lip), (lport), (rip), (rport))
#define TCP_TTL                      64
#define UDP_TTL                      64
/* With MEMP_MEM_MALLOC these only feed lwIP's sanity checks; the real limits
 * are the arena size and the socket layer's tcp_conn_count. */
#define MEMP_NUM_TCP_PCB             65535
#define MEMP_NUM_TCP_PCB_LISTEN      4096
#define MEMP_NUM_UDP_PCB             4096
#define MEMP_NUM_TCP_SEG             65535

/* --- statistics: per-thread lwip_stats, read by the control thread --- */
#define LWIP_STATS                   1
/* MIB-II counters (RFC 1213): gazellectl lstack show -s, with nstat's names. */
#define MIB2_STATS                   1
#define LWIP_STATS_DISPLAY           0
#define MEM_STATS                    0
#define MEMP_STATS                   0
#define SYS_STATS                    0
#define LINK_STATS                   1
#define ETHARP_STATS                 1
#define IP_STATS                     1
#define IPFRAG_STATS                 1
#define ICMP_STATS                   1
#define UDP_STATS                    1
#define TCP_STATS                    1

/* --- checksums: software by default, switched per netif --- */
#define CHECKSUM_GEN_IP              1
#define CHECKSUM_GEN_UDP             1
#define CHECKSUM_GEN_TCP             1
#define CHECKSUM_GEN_ICMP            1
#define CHECKSUM_CHECK_IP            1
#define CHECKSUM_CHECK_UDP           1
#define CHECKSUM_CHECK_TCP           1
#define CHECKSUM_CHECK_ICMP          1
/* gz_lwip_chksum (arch/cc.h, 16 bytes a step); lwIP's algorithm 3 stays
 * compiled as lwip_standard_chksum, the reference the unit test holds it to. */
#define LWIP_CHKSUM                  gz_lwip_chksum
#define LWIP_CHKSUM_ALGORITHM        3

#define LWIP_DEBUG_TIMERNAMES        0
#define LWIP_DONT_PROVIDE_BYTEORDER_FUNCTIONS 1  /* no htons() macros over the C library's */

/* lwIP's static heap and static pools would be one process-global (or, made
 * per-thread, one huge TLS) block: lstack never builds them. */
#if !MEM_LIBC_MALLOC || !MEMP_MEM_MALLOC
#error "lstack needs MEM_LIBC_MALLOC and MEMP_MEM_MALLOC (per-thread arenas)"
#endif

#endif /* GZ_LWIPOPTS_H */
