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

#include "gz/cancel.hpp"
#include "gz/kernel.hpp"

namespace gz::preload {
// The C library's own call made for the application, when the fd is not
// lstack's: it runs with the application's cancellation state, for it is the
// cancellation point the program called (gz/cancel.hpp). lstack's internal
// calls use kernel() instead.
struct AppKernel {
#define GZ_CALL(ret, name, params, args) \
  static ret name params {               \
    KernelCall on;                       \
    return kernel().name args;           \
  }
#define GZ_CALL_VA(ret, name, req, params, args) GZ_CALL(ret, name, params, args)
#include "gz/calls.def"
#undef GZ_CALL
#undef GZ_CALL_VA
};

#define GZ_CALL(ret, name, params, args) ret on_##name params;
#define GZ_CALL_VA(ret, name, req, params, args) ret on_##name params;
#include "gz/calls.def"
#undef GZ_CALL
#undef GZ_CALL_VA
}  // namespace gz::preload
