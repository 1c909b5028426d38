// Small helpers shared by the socket implementations (internal).
// All return 0 or -errno, as the socket layer does.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/time.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstring>

namespace gz::stack {

// An AF_INET address from the caller. -EINVAL (short), -EAFNOSUPPORT (other family).
inline int sockaddr_in_from(const sockaddr* addr, socklen_t len, sockaddr_in& out) noexcept {
  if (addr == nullptr || len < static_cast<socklen_t>(sizeof(sockaddr_in))) return -EINVAL;
  if (addr->sa_family != AF_INET) return -EAFNOSUPPORT;
  std::memcpy(&out, addr, sizeof out);
  return 0;
}

// Copies in to the caller's buffer (truncated to *len), *len = the full size.
inline void sockaddr_in_to(const sockaddr_in& in, sockaddr* addr, socklen_t* len) noexcept {
  if (addr == nullptr || len == nullptr) return;
  std::memcpy(addr, &in, std::min<std::size_t>(*len, sizeof in));
  *len = sizeof in;
}

// SO_RCVTIMEO/SO_SNDTIMEO: a timeval to milliseconds, -1 for "no timeout" (zero).
inline int timeval_to_ms(const void* val, socklen_t len, long& ms) noexcept {
  if (val == nullptr || len < static_cast<socklen_t>(sizeof(timeval))) return -EINVAL;
  timeval tv;
  std::memcpy(&tv, val, sizeof tv);
  if (tv.tv_usec < 0 || tv.tv_usec >= 1000000) return -EDOM;
  ms = (tv.tv_sec == 0 && tv.tv_usec == 0) ? -1 : tv.tv_sec * 1000 + (tv.tv_usec + 999) / 1000;
  return 0;
}

inline int option_int(const void* val, socklen_t len, int& out) noexcept {
  if (val == nullptr || len < static_cast<socklen_t>(sizeof(int))) return -EINVAL;
  std::memcpy(&out, val, sizeof out);
  return 0;
}

inline int put_option_int(void* val, socklen_t* len, int v) noexcept {
  if (val == nullptr || len == nullptr || *len < static_cast<socklen_t>(sizeof(int))) return -EINVAL;
  std::memcpy(val, &v, sizeof v);
  *len = sizeof v;
  return 0;
}

// SO_SNDBUF/SO_RCVBUF: Linux clamps and reports twice what was asked.
inline int buffer_option(int asked) noexcept { return std::clamp(asked, 2048, 1 << 29) * 2; }

inline std::size_t iov_total(const iovec* iov, int n) noexcept {
  std::size_t t = 0;
  for (int i = 0; i < n; ++i) t += iov[i].iov_len;
  return t;
}

// What the iovecs hold from iov[i] at off on.
inline std::size_t iov_left(const iovec* iov, int n, int i, std::size_t off) noexcept {
  return i < n ? iov_total(iov + i, n - i) - off : 0;
}

// Copies len bytes from the iovecs at (i, off) to dst and moves (i, off) past them.
inline void gather(char* dst, std::size_t len, const iovec* iov, int n, int& i, std::size_t& off) noexcept {
  while (len > 0 && i < n) {
    const std::size_t k = std::min(len, iov[i].iov_len - off);
    std::memcpy(dst, static_cast<const char*>(iov[i].iov_base) + off, k);
    dst += k;
    len -= k;
    off += k;
    if (off == iov[i].iov_len) {
      ++i;
      off = 0;
    }
  }
}

}  // namespace gz::stack
