// The exported trampolines: one per entry of gz/calls.def. Each finds the fd's
// owner in the FdTable, dispatches to the lstack socket or to the C library,
// and turns a -errno result into -1/errno (errno untouched on success).
// No exception crosses the C ABI but a thread's cancellation (gz/cancel.hpp).

// Each trampoline must carry exactly its own name: with 64-bit file offsets
// requested, glibc's headers rename fcntl to fcntl64 (and sendfile to
// sendfile64), which would define one symbol twice and leave the other out.
#undef _FILE_OFFSET_BITS
#include <fcntl.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/select.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <exception>

#include "fd_table.hpp"
#include "gz/cancel.hpp"
#include "gz/event.hpp"
#include "gz/kernel.hpp"
#include "gz/socket.hpp"
#include "handlers.hpp"

#define GZ_EXPORT __attribute__((visibility("default")))

// Every trampoline keeps the C library's exception specification (noexcept
// for the calls glibc declares so, none for its cancellation points) and turns
// lstack's exceptions (all std::exception: bad_alloc...) into ENOMEM. Nothing
// else is caught, so a thread's cancellation (abi::__forced_unwind, a foreign
// exception) passes untouched; catching it by reference and rethrowing works
// too, but binds a reference to the null object glibc's unwinder hands over.
// Inside, cancellation is off but where gz/cancel.hpp says.
#define GZ_GUARDED(ret, body, cancellable)                                 \
  gz::CallScope scope(cancellable);                                        \
  try {                                                                    \
    return body;                                                           \
  } catch (const std::exception&) {                                        \
    errno = ENOMEM;                                                        \
    return static_cast<ret>(-1);                                           \
  }
// For the calls glibc declares noexcept no cancel can reach here: their
// CallScope keeps cancellation off throughout (sendfile may block, yet must
// not unwind through a noexcept frame).
// Fixed-argument calls.
#define GZ_CALL(ret, name, params, args)                                   \
  extern "C" GZ_EXPORT ret name params noexcept(noexcept(::name args)) {   \
    GZ_GUARDED(ret, gz::preload::on_##name args, !noexcept(::name args))   \
  }
// Variadic calls: the optional argument travels as one unsigned long.
#define GZ_CALL_VA(ret, name, req, params, args)                           \
  extern "C" GZ_EXPORT ret name(int fd, req r, ...) noexcept(noexcept(::name(fd, r))) { \
    va_list ap;                                                            \
    va_start(ap, r);                                                       \
    const unsigned long arg = va_arg(ap, unsigned long);                   \
    va_end(ap);                                                            \
    GZ_GUARDED(ret, gz::preload::on_##name(fd, r, arg), !noexcept(::name(fd, r))) \
  }
// glibc's _FORTIFY_SOURCE variants: the same checks glibc makes, then the call.
extern "C" [[noreturn]] void __chk_fail(void);
#define GZ_FORTIFIED(ret, name, params, n, limit, call)                   \
  extern "C" GZ_EXPORT ret name params {                                   \
    if ((n) > (limit)) __chk_fail();                                       \
    GZ_GUARDED(ret, gz::preload::call, true)                               \
  }
#include "gz/calls.def"
#undef GZ_CALL
#undef GZ_CALL_VA
#undef GZ_FORTIFIED
#undef GZ_GUARDED
