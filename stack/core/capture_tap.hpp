// CaptureTap: a stack's side of a packet capture (gazellectl lstack capture).
//
// While a capture runs, the stack thread hands every frame it receives and
// sends to the tap by reference (one more mbuf reference); a writer thread
// takes them out, copies and filters them and returns the reference. Only
// the headers of a received frame are copied on the stack thread: lwIP
// rewrites them in place (tcp_input turns the TCP header to host order, an
// ICMP echo is answered in its own buffer, fragments carry reassembly state
// over the IP header); the payload it only reads. With no capture running
// the stack pays one branch (active()).
//
// Thread: offer_*() on the owning stack thread only (single producer);
// take() and set_active() on one writer thread at a time (single consumer).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>

struct rte_mbuf;
struct rte_ring;

namespace gz::stack {

enum class CaptureDir : std::uint32_t { kRx = 0, kTx = 1 };

// Ethernet + the longest IPv4 and TCP headers (60 bytes each, RFC 791 and 9293).
inline constexpr std::uint32_t kCaptureHead = 136;

struct CaptureRecord {
  rte_mbuf* m;        // a reference the taker must free (rte_pktmbuf_free)
  std::uint64_t tsc;  // rte_rdtsc() when the stack saw the frame
  std::uint32_t dir;  // CaptureDir
  std::uint32_t head_len;  // the frame's first head_len bytes are in head, as offered
  std::uint8_t head[kCaptureHead];
};

class CaptureTap {
 public:
  // A tap holding up to slots frames in flight (a power of two). nullptr
  // without memory.
  static std::unique_ptr<CaptureTap> create(unsigned slots) noexcept;
  ~CaptureTap();  // frees the frames still held
  CaptureTap(const CaptureTap&) = delete;
  CaptureTap& operator=(const CaptureTap&) = delete;

  bool active() const noexcept { return active_.load(std::memory_order_relaxed); }
  void set_active(bool on) noexcept { active_.store(on, std::memory_order_release); }

  // Stack thread: frames it received (before lwIP) or is about to send, all
  // stamped with one rte_rdtsc(). A full ring drops the frame from the
  // capture and counts it; the stack's own frame is untouched either way.
  void offer(rte_mbuf* const* pkts, std::uint16_t n, CaptureDir dir) noexcept;

  // Stack thread: n frames kept out of the capture (the pool runs low).
  void count_dropped(std::uint64_t n) noexcept {
    dropped_.store(dropped_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  // Writer: up to max records; returns how many.
  unsigned take(CaptureRecord* out, unsigned max) noexcept;
  // Writer: frees whatever is queued (a capture that ended).
  void discard() noexcept;
  // Writer: gives back the references of n records taken (in one bulk free:
  // the writer has no mempool cache, so each free alone would be a ring operation).
  static void release(const CaptureRecord* r, unsigned n) noexcept;
  // Frames kept out of the capture: a full ring, no mbuf for a copy, the pool low.
  std::uint64_t dropped() const noexcept { return dropped_.load(std::memory_order_relaxed); }

 private:
  CaptureTap(rte_ring* ring, void* mem) : ring_(ring), mem_(mem) {}
  void offer_one(rte_mbuf* m, std::uint64_t tsc, CaptureDir dir) noexcept;

  rte_ring* ring_;
  void* mem_;
  std::atomic<bool> active_{false};
  std::atomic<std::uint64_t> dropped_{0};  // written by the stack thread only
};

}  // namespace gz::stack
