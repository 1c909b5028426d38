/* lwIP architecture port for lstack: x86_64/aarch64 Linux, GCC or Clang. */
#ifndef GZ_ARCH_CC_H
#define GZ_ARCH_CC_H

#include <endian.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Qualifier our patch series puts on every mutable global and file-static of
 * lwIP: each stack thread owns an independent instance. liblstack is loaded at
 * program start (LD_PRELOAD or -llstack), so the initial-exec model applies and
 * an access costs one %fs-relative load. */
#define LWIP_PER_THREAD __thread

/* BYTE_ORDER comes from glibc's <endian.h>. */
#define lwip_htons(x) ((u16_t)__builtin_bswap16((u16_t)(x)))
#define lwip_htonl(x) ((u32_t)__builtin_bswap32((u32_t)(x)))

/* Diagnostics go to stderr; an assertion is reported and counted, never aborts
 * the host process (the library must not exit). */
void gz_lwip_diag(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void gz_lwip_assert(const char *msg, const char *file, int line);
#define LWIP_PLATFORM_DIAG(x) do { gz_lwip_diag x; } while (0)
#define LWIP_PLATFORM_ASSERT(x) gz_lwip_assert((x), __FILE__, __LINE__)

/* Per-thread xorshift: ISNs and ephemeral ports (RFC 6528 wants them hard to
 * guess; the generator is seeded from the kernel's getrandom per thread). */
uint32_t gz_lwip_rand(void);
#define LWIP_RAND() gz_lwip_rand()

/* RFC 1071 one's complement sum of len bytes at data (any alignment), not
 * inverted, in memory byte order: lwIP's LWIP_CHKSUM (lwipopts.h). Every
 * received TCP segment is summed in software where the device does not check
 * it (net_af_xdp, net_af_packet, memif): lwIP's own loop, 4 bytes a step, was
 * 8% of a receiving stack's CPU (perf, iperf3 upload). */
uint16_t gz_lwip_chksum(const void *data, int len);

/* Memory of the calling thread's arena (see lwipopts.h). */
void *gz_lwip_malloc(size_t size);
void *gz_lwip_calloc(size_t count, size_t size);
void gz_lwip_free(void *mem);

#ifdef __cplusplus
}
#endif

#endif /* GZ_ARCH_CC_H */
