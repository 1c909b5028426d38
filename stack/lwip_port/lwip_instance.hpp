// One lwIP instance, owned by the thread that created it.
//
// All of lwIP's state is thread-local (our patch series), so an instance is
// simply "lwip_init() on this thread, with this thread's arena installed".
// Thread: create, use and destroy on the same thread. A thread hosts at most
// one instance in its lifetime: lwIP has no de-init that resets its
// thread-local lists, so a second instance on the same thread is refused.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

#include "arena.hpp"
#include "gz/result.hpp"

namespace gz::stack {

class LwipInstance {
 public:
  // Creates the instance on the calling thread. Errors: EBUSY when the thread
  // already hosted one, ENOMEM when lwIP cannot allocate its timers.
  static Result<std::unique_ptr<LwipInstance>> create(std::size_t arena_limit_bytes,
                                                      LwipArena::ChunkSource source = LwipArena::heap_source());
  ~LwipInstance();
  LwipInstance(const LwipInstance&) = delete;
  LwipInstance& operator=(const LwipInstance&) = delete;

  // Runs lwIP's due timers (TCP fast/slow, ARP, reassembly). Cheap when none is due.
  void run_timers() noexcept;
  LwipArena& arena() noexcept { return arena_; }

 private:
  LwipInstance(std::size_t arena_limit_bytes, LwipArena::ChunkSource source) noexcept;
  LwipArena arena_;
};

// Number of lwIP assertions hit in this process (tests expect 0).
std::uint64_t lwip_assert_count() noexcept;

}  // namespace gz::stack
