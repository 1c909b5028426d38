#include "capture.hpp"

#include <poll.h>
#include <pthread.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <pcap/bpf.h>
#include <rte_cycles.h>
#include <rte_mbuf.h>

#include <cerrno>
#include <cstring>
#include <system_error>
#include <utility>

#include "capture_tap.hpp"
#include "gz/kernel.hpp"
#include "gz/signals.hpp"
#include "gz/socket.hpp"

namespace gz::stack {
namespace {

constexpr unsigned kTakeBurst = 64;
constexpr std::size_t kFlushBytes = 256 * 1024;  // one write per this much, or per idle round
constexpr int kIdleWaitMs = 1;  // a tap holds 1024 frames: about 10 ms of a busy stack
constexpr std::uint64_t kReportsPerSecond = 4;
constexpr std::uint64_t kBusyLooksPerSecond = 200;

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


}  // namespace

ssize_t recv_with_fd(int sock, void* buf, std::size_t len, int flags, int& fd) noexcept {
  iovec iov{buf, len};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))];
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  fd = -1;
  const ssize_t n = kernel().recvmsg(sock, &msg, flags | MSG_CMSG_CLOEXEC);
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); n > 0 && c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) std::memcpy(&fd, CMSG_DATA(c), sizeof fd);
  }
  return n;
}

bool is_regular_file(int fd) noexcept {
  struct stat st{};
  return fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
}

CaptureSession::CaptureSession(StackGroup& stacks, Params p) : stacks_(stacks), p_(std::move(p)) {}

std::unique_ptr<CaptureSession> CaptureSession::start(StackGroup& stacks, int client, int file, Params p) noexcept {
  std::unique_ptr<CaptureSession> s;
  try {
    s.reset(new CaptureSession(stacks, std::move(p)));
    s->out_cap_ = kFlushBytes + sizeof(PcapRecord) + s->p_.snaplen;
    s->out_.reset(new char[s->out_cap_]);
  } catch (const std::bad_alloc&) {
    return nullptr;  // the fds stay the caller's
  }
  s->client_ = client;
  s->file_ = file;
  // No signal of the program's on it: a write that breaks (EPIPE) or fills the
  // disk is an errno, never SIGPIPE.
  try {
    s->thread_ = start_thread_without_signals([raw = s.get()] { raw->run(); });
  } catch (...) {  // no thread (EAGAIN) or no memory: the fds go back to the caller
    s->client_ = s->file_ = -1;
    s.reset();
  }
  return s;
}

CaptureSession::~CaptureSession() {
  stop_.store(true);
  if (thread_.joinable()) thread_.join();
  close_fds();
}

void CaptureSession::close_fds() noexcept {
  if (client_ >= 0) kernel().close(std::exchange(client_, -1));
  if (file_ >= 0) kernel().close(std::exchange(file_, -1));
}

void CaptureSession::set_taps(bool on) noexcept {
  const std::size_t n = on ? stacks_.stack_count() : taps_on_;
  for (std::size_t i = on ? taps_on_ : 0; i < n; ++i) {
    CaptureTap* tap = stacks_.stack(i).tap();
    if (on) {
      tap->discard();  // what an earlier capture left behind
      drops_at_start_ += tap->dropped();  // its count so far is not this capture's
    }
    tap->set_active(on);
    if (!on) tap->discard();
  }
  taps_on_ = on ? n : 0;
}

std::uint64_t CaptureSession::drops() noexcept {
  if (taps_on_ == 0) return drops_;  // the taps are off: what they had counted at the end
  std::uint64_t sum = 0;
  for (std::size_t i = 0; i < taps_on_; ++i) sum += stacks_.stack(i).tap()->dropped();
  drops_ = sum - drops_at_start_;
  return drops_;
}

void CaptureSession::run() noexcept {
  KernelOnlyScope internal;
  pthread_setname_np(pthread_self(), "lstack_capture");
  hz_ = rte_get_tsc_hz();
  tsc0_ = rte_rdtsc();
  ns0_ = realtime_ns();
  set_taps(true);
  std::uint64_t last_report = tsc0_, last_look = tsc0_;
  while (!stop_.load(std::memory_order_relaxed) && error_ == 0) {
    set_taps(true);  // run to completion: stacks adopted since
    const unsigned got = collect();
    if (p_.max_frames != 0 && frames_ >= p_.max_frames) break;
    if (got == 0 && out_len_ != 0) flush();
    const std::uint64_t now = rte_rdtsc();
    // Idle: wait for the client a little. Busy: look at it every few ms all
    // the same (a stop, a hang-up or a rotation must not wait for quiet), not
    // every round (a syscall per burst would cost the program's CPU).
    if (got == 0 || now - last_look > hz_ / kBusyLooksPerSecond) {
      if (!serve_client(got == 0 ? kIdleWaitMs : 0)) break;
      last_look = now;
    }
    if (now - last_report > hz_ / kReportsPerSecond) {
      report(wire::kCaptureProgress);
      last_report = now;
    }
  }
  (void)drops();  // counted while the taps are still on
  set_taps(false);
  flush();
  report(wire::kCaptureEnd);
  close_fds();  // the file is complete: a reader sees its end, its space can go
  finished_.store(true, std::memory_order_release);
}

unsigned CaptureSession::collect() noexcept {
  CaptureRecord recs[kTakeBurst];
  unsigned total = 0;
  // Each round begins at another stack: none waits behind a busy one.
  const std::size_t first = taps_on_ != 0 ? round_++ % taps_on_ : 0;
  for (std::size_t k = 0; k < taps_on_; ++k) {
    const std::size_t i = (first + k) % taps_on_;
    const unsigned n = stacks_.stack(i).tap()->take(recs, kTakeBurst);
    for (unsigned j = 0; j < n; ++j) {
      if (p_.max_frames == 0 || frames_ < p_.max_frames) add_frame(recs[j]);
    }
    CaptureTap::release(recs, n);
    total += n;
  }
  return total;
}

void CaptureSession::add_frame(const CaptureRecord& r) noexcept {
  const std::uint32_t len = r.m->pkt_len;
  const std::uint32_t caplen = len < p_.snaplen ? len : p_.snaplen;
  if (out_len_ + sizeof(PcapRecord) + caplen > out_cap_) flush();
  // Assembled in place, after its record header: the headers as received
  // (the stack's copy), the rest from the mbuf. One copy of the frame here.
  char* const frame = out_.get() + out_len_ + sizeof(PcapRecord);
  const std::uint32_t head = r.head_len < caplen ? r.head_len : caplen;
  std::memcpy(frame, r.head, head);
  if (caplen > head) {
    // rte_pktmbuf_read copies a chain into the buffer, and points into a lone segment
    const void* rest = rte_pktmbuf_read(r.m, head, caplen - head, frame + head);
    if (rest == nullptr) return;
    if (rest != frame + head) std::memcpy(frame + head, rest, caplen - head);
  }
  if (!p_.filter.empty() && bpf_filter(reinterpret_cast<const bpf_insn*>(p_.filter.data()),
                                       reinterpret_cast<const u_char*>(frame), len, caplen) == 0) {
    ++filtered_;
    return;  // not appended: out_len_ stays
  }
  // Both clocks tick on: the TSC (invariant on the CPUs DPDK supports) gives
  // the offset from the realtime clock read when the capture began.
  const std::uint64_t ticks = r.tsc >= tsc0_ ? r.tsc - tsc0_ : 0;
  const std::uint64_t ns = ns0_ + ticks / hz_ * 1000000000ull + ticks % hz_ * 1000000000ull / hz_;
  const PcapRecord h{static_cast<std::uint32_t>(ns / 1000000000ull), static_cast<std::uint32_t>(ns % 1000000000ull),
                     caplen, len};
  std::memcpy(out_.get() + out_len_, &h, sizeof h);
  out_len_ += sizeof h + caplen;
  ++frames_;
}

bool CaptureSession::flush() noexcept {
  // A failed write (disk full) cuts the file back to the last whole batch:
  // what it holds stays readable.
  const off_t start = error_ == 0 && out_len_ != 0 ? lseek(file_, 0, SEEK_CUR) : -1;
  std::size_t done = 0;
  while (done < out_len_ && error_ == 0) {
    const ssize_t n = kernel().write(file_, out_.get() + done, out_len_ - done);
    if (n > 0) {
      done += static_cast<std::size_t>(n);
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else {
      error_ = n < 0 ? errno : ENOSPC;
      if (start >= 0 && ftruncate(file_, start) == 0) lseek(file_, start, SEEK_SET);
    }
  }
  out_len_ = 0;
  return error_ == 0;
}

bool CaptureSession::serve_client(int wait_ms) noexcept {
  pollfd p{client_, POLLIN, 0};
  if (kernel().poll(&p, 1, wait_ms) <= 0) return true;
  int fd = -1;
  char byte;  // a rotation: one byte, the new file with it
  const ssize_t n = recv_with_fd(client_, &byte, 1, MSG_DONTWAIT, fd);
  if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) return false;
  if (fd >= 0 && !is_regular_file(fd)) {  // as start_capture
    kernel().close(fd);
    error_ = EINVAL;
    return false;
  }
  if (fd >= 0) {  // rotation: what is buffered belongs to the old file
    flush();
    kernel().close(file_);
    file_ = fd;
  }
  return true;
}

void CaptureSession::report(std::uint32_t kind) noexcept {
  const wire::CtlCaptureReport r{frames_, drops(), filtered_, kind, error_};
  (void)kernel().send(client_, &r, sizeof r, MSG_NOSIGNAL | MSG_DONTWAIT);  // a report the client misses is superseded
}

}  // namespace gz::stack
