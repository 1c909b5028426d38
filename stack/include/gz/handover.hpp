// Hand-overs of packets between threads through DPDK rings, declared to
// ThreadSanitizer: DPDK's rings synchronise with barriers and volatile
// accesses that TSan does not model, so without this every packet handed
// from one stack thread to another reads as a data race. Outside TSan builds
// both are nothing. (test/tsan.supp names the ring internals themselves.)
// Thread: any; release before the enqueue, acquire after the dequeue.
#pragma once

#if defined(__SANITIZE_THREAD__)
extern "C" void __tsan_acquire(void* addr);
extern "C" void __tsan_release(void* addr);
#endif

namespace gz {

inline void handover_release([[maybe_unused]] void* ring) noexcept {
#if defined(__SANITIZE_THREAD__)
  __tsan_release(ring);
#endif
}

inline void handover_acquire([[maybe_unused]] void* ring) noexcept {
#if defined(__SANITIZE_THREAD__)
  __tsan_acquire(ring);
#endif
}

}  // namespace gz
