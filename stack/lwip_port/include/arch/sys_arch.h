/* NO_SYS=1: lwIP needs no semaphores, mailboxes or threads from us, only
 * sys_now() (declared by lwip/sys.h, defined in sys_arch.cpp). */
#ifndef GZ_ARCH_SYS_ARCH_H
#define GZ_ARCH_SYS_ARCH_H
#endif
