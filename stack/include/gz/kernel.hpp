// The C library's own socket and fd functions, bypassing our wrappers.
//
// liblstack exports read, socket, epoll_wait... under their POSIX names, so a
// plain call from inside the library would land in our own wrapper. Everything
// in stack/ and preload/ that means "the kernel" calls through kernel().
// Thread: any. Resolved once (dlsym RTLD_NEXT); safe before main().
#pragma once

#include <poll.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cstddef>

namespace gz {

// One member per entry of gz/calls.def, named like the call.
struct KernelApi {
#define GZ_CALL(ret, name, params, args) ret(*name) params;
#define GZ_CALL_VA(ret, name, req, params, args) ret (*name)(int, req, ...);
#include "gz/calls.def"
#undef GZ_CALL
#undef GZ_CALL_VA
};

const KernelApi& kernel() noexcept;

// How many fd numbers lstack's per-fd tables cover (the shim's fd table, an
// epoll set's ready bitmap): the hard fd limit, at least 65,536, at most
// 2^20. Any thread; reads the limit each call.
std::size_t fd_slots() noexcept;

}  // namespace gz
