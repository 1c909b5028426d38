/* lwIP hooks of lstack (included by lwIP's sources through LWIP_HOOK_FILENAME). */
#ifndef GZ_LWIP_HOOKS_H
#define GZ_LWIP_HOOKS_H

#include "lwip/ip_addr.h"

#ifdef __cplusplus
extern "C" {
#endif

/* RFC 6528 section 3: ISN = M + F(localip, localport, remoteip, remoteport,
 * secretkey), M a 4 microsecond clock, F a keyed hash with a per-process key. */
u32_t gz_lwip_tcp_isn(const ip_addr_t *local_ip, u16_t local_port, const ip_addr_t *remote_ip, u16_t remote_port);

#ifdef __cplusplus
}
#endif

#endif
