#include "dpdk_compat.hpp"

#include <rte_mempool.h>
#include <unistd.h>

#include <cstdint>
#include <new>
#include <vector>

namespace gz::stack {

unsigned set_aside_outside_af_xdp_umem(rte_mempool* pool) noexcept {
  const rte_mempool_memhdr* first = STAILQ_FIRST(&pool->mem_list);
  if (first == nullptr) return 0;
  // The umem as the driver computes it: from the first chunk's page, populated
  // objects long, plus the chunk's offset into that page.
  const auto page = static_cast<std::uintptr_t>(getpagesize());
  const auto chunk = reinterpret_cast<std::uintptr_t>(first->addr);
  const std::uintptr_t base = chunk & ~(page - 1);
  const std::size_t obj = rte_mempool_calc_obj_size(pool->elt_size, pool->flags, nullptr);
  const std::uintptr_t end = chunk + std::size_t{pool->populated_size} * obj;
  try {
    std::vector<void*> all(pool->populated_size), keep;
    keep.reserve(all.size());
    // No cache on either side: what goes back must be in the ring for every thread.
    if (rte_mempool_generic_get(pool, all.data(), static_cast<unsigned>(all.size()), nullptr) != 0) return 0;
    for (void* o : all) {
      const std::uintptr_t start = reinterpret_cast<std::uintptr_t>(o) - pool->header_size;  // the umem chunk
      if (start >= base && start + obj <= end) keep.push_back(o);
    }
    rte_mempool_generic_put(pool, keep.data(), static_cast<unsigned>(keep.size()), nullptr);
    return static_cast<unsigned>(all.size() - keep.size());
  } catch (const std::bad_alloc&) {
    return 0;  // the pool as it is: a few frames may be lost, as before
  }
}

}  // namespace gz::stack
