// The handler behind each trampoline of wrappers.cpp (one per gz/calls.def
// entry). Thread: any application thread. Return the C library's convention
// (-1 and errno on failure).
#pragma once

#include <poll.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/uio.h>

namespace gz::preload {
#define GZ_CALL(ret, name, params, args) ret on_##name params;
#define GZ_CALL_VA(ret, name, req, params, args) ret on_##name params;
#include "gz/calls.def"
#undef GZ_CALL
#undef GZ_CALL_VA
}  // namespace gz::preload
