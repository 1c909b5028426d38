#include "capture.hpp"

#include <poll.h>
#include <pthread.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <pcap/bpf.h>
#include <rte_cycles.h>
#include <rte_mbuf.h>

#include <cerrno>
#include <cstring>

#include "capture_tap.hpp"
#include "gz/handover.hpp"
#include "gz/kernel.hpp"
#include "gz/socket.hpp"

namespace gz::stack {
namespace {

constexpr unsigned kTakeBurst = 64;
constexpr std::size_t kFlushBytes = 256 * 1024;  // one write per this much, or per idle round
constexpr int kIdleWaitMs = 1;  // a tap holds 1024 frames: about 10 ms of a busy stack
constexpr std::uint64_t kReportsPerSecond = 4;

static_assert(sizeof(wire::CtlBpfInsn) == sizeof(bpf_insn), "the wire carries struct bpf_insn as it is");

// A record header of a nanosecond pcap file (magic 0xa1b23c4d), host order.
struct PcapRecord {
  std::uint32_t ts_sec, ts_nsec, caplen, len;
};

std::uint64_t realtime_ns() noexcept {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<std::uint64_t>(ts.tv_nsec);
}

// A one-byte message from the client, and the fd it carries (or -1).
// Returns the bytes read: 0 when the client shut down, -1 when nothing waits.
ssize_t recv_fd(int sock, int& fd) noexcept {
  char byte;
  iovec iov{&byte, 1};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))];
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  fd = -1;
  const ssize_t n = kernel().recvmsg(sock, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); n > 0 && c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) std::memcpy(&fd, CMSG_DATA(c), sizeof fd);
  }
  return n;
}

}  // namespace

CaptureSession::CaptureSession(StackGroup& stacks, int client, int file, Params p)
    : stacks_(stacks), client_(client), file_(file), p_(std::move(p)) {}

std::unique_ptr<CaptureSession> CaptureSession::start(StackGroup& stacks, int client, int file, Params p) noexcept {
  try {
    std::unique_ptr<CaptureSession> s(new CaptureSession(stacks, client, file, std::move(p)));
    s->out_.reserve(kFlushBytes + sizeof(PcapRecord) + s->p_.snaplen);
    s->scratch_.resize(s->p_.snaplen);
    s->thread_ = std::thread([raw = s.get()] { raw->run(); });
    return s;
  } catch (...) {  // bad_alloc, or no thread: the caller answers ENOMEM
    return nullptr;
  }
}

CaptureSession::~CaptureSession() {
  stop_.store(true);
  if (thread_.joinable()) thread_.join();
  kernel().close(client_);
  kernel().close(file_);
}

void CaptureSession::set_taps(bool on) noexcept {
  const std::size_t n = on ? stacks_.stack_count() : taps_on_;
  for (std::size_t i = on ? taps_on_ : 0; i < n; ++i) {
    CaptureTap* tap = stacks_.stack(i).tap();
    if (on) tap->discard();  // what an earlier capture left behind
    tap->set_active(on);
    if (!on) tap->discard();
  }
  taps_on_ = on ? n : 0;
}

std::uint64_t CaptureSession::tap_drops() const noexcept {
  std::uint64_t sum = 0;
  for (std::size_t i = 0; i < taps_on_; ++i) sum += stacks_.stack(i).tap()->dropped();
  return sum;
}

void CaptureSession::run() noexcept {
  KernelOnlyScope internal;
  pthread_setname_np(pthread_self(), "lstack_capture");
  hz_ = rte_get_tsc_hz();
  tsc0_ = rte_rdtsc();
  ns0_ = realtime_ns();
  set_taps(true);
  tap_drops_at_start_ = tap_drops();
  std::uint64_t last_report = tsc0_;
  while (!stop_.load(std::memory_order_relaxed) && error_ == 0) {
    set_taps(true);  // run to completion: stacks adopted since
    const unsigned got = collect();
    if (p_.max_frames != 0 && frames_ >= p_.max_frames) break;
    if (out_.size() >= kFlushBytes || (got == 0 && !out_.empty())) flush();
    if (got == 0 && !serve_client(kIdleWaitMs)) break;
    if (const std::uint64_t now = rte_rdtsc(); now - last_report > hz_ / kReportsPerSecond) {
      report(wire::kCaptureProgress);
      last_report = now;
    }
  }
  set_taps(false);
  flush();
  report(wire::kCaptureEnd);
  kernel().shutdown(client_, SHUT_RDWR);
  finished_.store(true, std::memory_order_release);
}

unsigned CaptureSession::collect() noexcept {
  CaptureRecord recs[kTakeBurst];
  unsigned total = 0;
  for (std::size_t i = 0; i < taps_on_ && out_.size() < kFlushBytes; ++i) {
    const unsigned n = stacks_.stack(i).tap()->take(recs, kTakeBurst);
    for (unsigned j = 0; j < n; ++j) {
      if (p_.max_frames == 0 || frames_ < p_.max_frames) add_frame(recs[j]);
      handover_release(recs[j].m->pool);
      rte_pktmbuf_free(recs[j].m);
    }
    total += n;
  }
  return total;
}

void CaptureSession::add_frame(const CaptureRecord& r) noexcept {
  const std::uint32_t len = r.m->pkt_len;
  const std::uint32_t caplen = len < p_.snaplen ? len : p_.snaplen;
  // The headers as received (the stack's copy), the rest from the mbuf.
  const std::uint32_t head = r.head_len < caplen ? r.head_len : caplen;
  std::memcpy(scratch_.data(), r.head, head);
  if (caplen > head) {
    // rte_pktmbuf_read copies a chain into the buffer, and points into a lone segment
    const void* rest = rte_pktmbuf_read(r.m, head, caplen - head, scratch_.data() + head);
    if (rest == nullptr) return;
    if (rest != scratch_.data() + head) std::memcpy(scratch_.data() + head, rest, caplen - head);
  }
  if (!p_.filter.empty() &&
      bpf_filter(reinterpret_cast<const bpf_insn*>(p_.filter.data()), scratch_.data(), len, caplen) == 0) {
    ++filtered_;
    return;
  }
  // Both clocks tick on: the TSC (invariant on the CPUs DPDK supports) gives
  // the offset from the realtime clock read when the capture began.
  const std::uint64_t ticks = r.tsc >= tsc0_ ? r.tsc - tsc0_ : 0;
  const std::uint64_t ns = ns0_ + ticks / hz_ * 1000000000ull + ticks % hz_ * 1000000000ull / hz_;
  const PcapRecord h{static_cast<std::uint32_t>(ns / 1000000000ull), static_cast<std::uint32_t>(ns % 1000000000ull),
                     caplen, len};
  // reserve()d in start(): below kFlushBytes plus one frame never reallocates
  out_.insert(out_.end(), reinterpret_cast<const char*>(&h), reinterpret_cast<const char*>(&h) + sizeof h);
  out_.insert(out_.end(), reinterpret_cast<const char*>(scratch_.data()), reinterpret_cast<const char*>(scratch_.data()) + caplen);
  ++frames_;
}

bool CaptureSession::flush() noexcept {
  std::size_t done = 0;
  while (done < out_.size() && error_ == 0) {
    const ssize_t n = kernel().write(file_, out_.data() + done, out_.size() - done);
    if (n > 0) {
      done += static_cast<std::size_t>(n);
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else {
      error_ = n < 0 ? errno : ENOSPC;  // the file is cut at a record: what came before stays readable
    }
  }
  out_.clear();
  return error_ == 0;
}

bool CaptureSession::serve_client(int wait_ms) noexcept {
  pollfd p{client_, POLLIN, 0};
  if (kernel().poll(&p, 1, wait_ms) <= 0) return true;
  int fd = -1;
  const ssize_t n = recv_fd(client_, fd);
  if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) return false;
  if (fd >= 0) {  // rotation: what is buffered belongs to the old file
    flush();
    kernel().close(file_);
    file_ = fd;
  }
  return true;
}

void CaptureSession::report(std::uint32_t kind) noexcept {
  const wire::CtlCaptureReport r{frames_, tap_drops() - tap_drops_at_start_, filtered_, kind, error_};
  (void)kernel().send(client_, &r, sizeof r, MSG_NOSIGNAL | MSG_DONTWAIT);  // a report the client misses is superseded
}

}  // namespace gz::stack
