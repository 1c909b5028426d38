#include "lwip_instance.hpp"

#include <cerrno>

#include "lwip/init.h"
#include "lwip/netif.h"
#include "lwip/timeouts.h"
#include "gz/thread_state.hpp"

namespace gz::stack {

LwipInstance::LwipInstance(std::size_t arena_limit_bytes, LwipArena::ChunkSource source) noexcept
    : arena_(arena_limit_bytes, source) {}

Result<std::unique_ptr<LwipInstance>> LwipInstance::create(std::size_t arena_limit_bytes,
                                                           LwipArena::ChunkSource source) {
  if (gz::this_thread_state().hosted_lwip) return make_error(EBUSY, "this thread already hosted an lwIP instance");
  std::unique_ptr<LwipInstance> inst(new LwipInstance(arena_limit_bytes, source));
  gz::this_thread_state().hosted_lwip = true;
  set_thread_arena(&inst->arena_);
  lwip_init();
  if (inst->arena_.usage().failures != 0) {
    return make_error(ENOMEM, "lwIP could not allocate its timers from the arena");
  }
  return inst;
}

LwipInstance::~LwipInstance() {
  // PCBs, segments and timeouts all live in the arena, which is returned whole;
  // only the netif list points outside it (netifs belong to their owners).
  while (netif_list != nullptr) netif_remove(netif_list);
  set_thread_arena(nullptr);
}

void LwipInstance::run_timers() noexcept { sys_check_timeouts(); }

}  // namespace gz::stack
