// The rest of lwIP's arch port: clock, random numbers, diagnostics.
#include <sys/random.h>
#include <time.h>

#include <atomic>
#include <cstdarg>
#include <cstdint>
#include <cstring>
#include <cstdio>

#include "arch/cc.h"
#include "gz_lwip_hooks.h"
#include "lwip/sys.h"
#include "lwip_instance.hpp"
#include "gz/thread_state.hpp"

namespace {

std::atomic<std::uint64_t> g_assert_count{0};  // rare path: an lwIP bug or misuse

std::uint64_t seed() noexcept {
  std::uint64_t s = 0;
  if (getrandom(&s, sizeof s, GRND_NONBLOCK) != static_cast<ssize_t>(sizeof s)) {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    s = static_cast<std::uint64_t>(ts.tv_nsec) * 0x9e3779b97f4a7c15ULL ^ reinterpret_cast<std::uintptr_t>(&ts);
  }
  return s | 1;  // xorshift must not start at 0
}

}  // namespace

// Milliseconds for lwIP's timers; CLOCK_MONOTONIC is read through the vDSO (no syscall).
extern "C" u32_t sys_now(void) {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<u32_t>(static_cast<std::uint64_t>(ts.tv_sec) * 1000U + static_cast<std::uint64_t>(ts.tv_nsec) / 1000000U);
}

extern "C" uint32_t gz_lwip_rand(void) {
  std::uint64_t& state = gz::this_thread_state().rand_state;
  if (state == 0) state = seed();
  std::uint64_t x = state;  // xorshift64*
  x ^= x >> 12;
  x ^= x << 25;
  x ^= x >> 27;
  state = x;
  return static_cast<uint32_t>((x * 0x2545F4914F6CDD1DULL) >> 32);
}

namespace {
// SipHash-style mixing is more than RFC 6528 asks; a keyed 64-bit finalizer
// (splitmix64) over the 4-tuple is unpredictable without the key, and cheap.
std::uint64_t mix(std::uint64_t x) noexcept {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}
const std::uint64_t g_isn_key = seed() * 0x9e3779b97f4a7c15ULL;  // per process
}  // namespace

extern "C" u32_t gz_lwip_tcp_isn(const ip_addr_t* local_ip, u16_t local_port, const ip_addr_t* remote_ip,
                                 u16_t remote_port) {
  const std::uint64_t tuple = (static_cast<std::uint64_t>(ip_2_ip4(local_ip)->addr) << 32 | ip_2_ip4(remote_ip)->addr);
  const std::uint64_t ports = static_cast<std::uint64_t>(local_port) << 16 | remote_port;
  const std::uint64_t f = mix(mix(tuple ^ g_isn_key) ^ ports);
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  const std::uint64_t m = (static_cast<std::uint64_t>(ts.tv_sec) * 1000000U + static_cast<std::uint64_t>(ts.tv_nsec) / 1000U) / 4;
  return static_cast<u32_t>(m + f);
}

extern "C" uint16_t gz_lwip_chksum(const void* data, int len) {
  // 32-bit words into 64-bit sums: a carry out of bit 31 stays in the sum
  // (2^32 = 1 modulo 0xffff after folding), and 2^31 words cannot overflow
  // it. Two sums, 16 bytes a step, keep two adds in flight.
  const auto* p = static_cast<const unsigned char*>(data);
  std::size_t n = len > 0 ? static_cast<std::size_t>(len) : 0;
  std::uint64_t a = 0, b = 0;
  for (; n >= 16; p += 16, n -= 16) {
    std::uint64_t x, y;
    std::memcpy(&x, p, 8);
    std::memcpy(&y, p + 8, 8);
    a += (x & 0xffffffffu) + (x >> 32);
    b += (y & 0xffffffffu) + (y >> 32);
  }
  for (; n >= 4; p += 4, n -= 4) {
    std::uint32_t x;
    std::memcpy(&x, p, 4);
    a += x;
  }
  std::uint16_t tail[2] = {0, 0};  // up to 3 bytes, zero padded as RFC 1071 pads the odd byte
  std::memcpy(tail, p, n);
  a += static_cast<std::uint64_t>(tail[0]) + tail[1] + b;
  while ((a >> 16) != 0) a = (a & 0xffff) + (a >> 16);
  return static_cast<std::uint16_t>(a);
}

extern "C" void gz_lwip_diag(const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  std::vfprintf(stderr, fmt, ap);
  va_end(ap);
}

extern "C" void gz_lwip_assert(const char* msg, const char* file, int line) {
  g_assert_count.fetch_add(1, std::memory_order_relaxed);
  std::fprintf(stderr, "lstack: lwIP assertion \"%s\" failed at %s:%d\n", msg, file, line);
}

namespace gz::stack {
std::uint64_t lwip_assert_count() noexcept { return g_assert_count.load(std::memory_order_relaxed); }
}  // namespace gz::stack
