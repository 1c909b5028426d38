// CaptureSession: one running `gazellectl lstack capture`. Its thread takes
// the frames the stacks' taps hold, copies up to the snap length, runs the
// client's BPF filter (compiled by gazellectl with pcap_compile) and appends
// what matches to the pcap file gazellectl opened and passed over (so the file
// is the user's, and no frame travels through the control socket).
//
// Thread: created and destroyed by the control thread; runs its own thread,
// which calls the C library directly (nothing of it is served by lstack).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <thread>
#include <vector>

#include "gz/wire.hpp"
#include "stack_thread.hpp"

namespace gz::stack {

struct CaptureRecord;

// recv() of up to len bytes on a unix socket, and the fd an SCM_RIGHTS
// message carried with them (close-on-exec), or -1. Returns what recvmsg
// returns (errno set on -1). Any thread.
ssize_t recv_with_fd(int sock, void* buf, std::size_t len, int flags, int& fd) noexcept;
// Whether fd is a regular file: the capture writes nothing else, since a pipe,
// FIFO or socket could stall the writer (and the process at exit) or break.
bool is_regular_file(int fd) noexcept;

class CaptureSession {
 public:
  struct Params {
    std::uint32_t snaplen = 0;
    std::uint64_t max_frames = 0;  // 0: until the client stops it
    std::vector<wire::CtlBpfInsn> filter;  // empty: every frame
  };
  // Takes client (the control connection) and file (the pcap file, a regular
  // file, header written); writes until max_frames, the client's shutdown or
  // hang-up, or the session's destruction, then closes both. nullptr without
  // memory or a thread: both fds stay the caller's.
  static std::unique_ptr<CaptureSession> start(StackGroup& stacks, int client, int file, Params p) noexcept;
  ~CaptureSession();  // stops and joins the thread; closes both fds
  CaptureSession(const CaptureSession&) = delete;
  CaptureSession& operator=(const CaptureSession&) = delete;
  // Whether it ended (the session can be replaced).
  bool finished() const noexcept { return finished_.load(std::memory_order_acquire); }

 private:
  CaptureSession(StackGroup& stacks, Params p);
  void close_fds() noexcept;
  void run() noexcept;
  unsigned collect() noexcept;  // takes what the taps hold; returns the frames taken
  void add_frame(const CaptureRecord& r) noexcept;
  bool flush() noexcept;  // false: writing the file failed (error_ set)
  // Reads the client: false when it shut down; a rotation's new file is taken.
  bool serve_client(int wait_ms) noexcept;
  void report(std::uint32_t kind) noexcept;
  void set_taps(bool on) noexcept;
  // Frames the taps dropped since the session began (the last count once they are off).
  std::uint64_t drops() noexcept;

  StackGroup& stacks_;
  int client_ = -1;
  int file_ = -1;
  Params p_;
  std::unique_ptr<char[]> out_;  // pcap records waiting to be written (uninitialized memory)
  std::size_t out_len_ = 0, out_cap_ = 0;  // out_cap_: kFlushBytes and one frame more
  std::size_t taps_on_ = 0;             // stacks whose tap this session switched on
  std::uint64_t frames_ = 0, filtered_ = 0;  // frames_: written or buffered to be
  std::uint64_t drops_ = 0, drops_at_start_ = 0;  // the taps' counts when each was switched on
  std::size_t round_ = 0;
  int error_ = 0;
  std::uint64_t tsc0_ = 0, ns0_ = 0, hz_ = 1;
  std::atomic<bool> stop_{false};
  std::atomic<bool> finished_{false};
  std::thread thread_;
};

}  // namespace gz::stack
