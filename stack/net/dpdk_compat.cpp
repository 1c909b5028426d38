#include "dpdk_compat.hpp"

#include <dirent.h>
#include <linux/if_xdp.h>
#include <rte_ethdev.h>
#include <rte_mempool.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <new>
#include <utility>
#include <vector>

#include "gz/kernel.hpp"  // the C library's getsockopt: liblstack's own would start lstack (RTC: we are starting it)


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

int af_xdp_queue_fd(std::uint16_t port, std::uint16_t queue) noexcept {
  rte_eth_dev_info info{};
  if (rte_eth_dev_info_get(port, &info) != 0 || info.driver_name == nullptr ||
      std::strcmp(info.driver_name, "net_af_xdp") != 0) {
    return -1;
  }
  DIR* dir = opendir("/proc/self/fd");
  if (dir == nullptr) return -1;
  std::vector<std::pair<ino_t, int>> found;  // (inode, fd) of the process's AF_XDP sockets
  try {
    while (const dirent* e = readdir(dir)) {
      if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
      const int fd = std::atoi(e->d_name);
      int domain = 0;
      socklen_t len = sizeof domain;
      struct stat st{};
      if (fd == dirfd(dir) || kernel().getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) != 0 || domain != AF_XDP ||
          fstat(fd, &st) != 0) {
        continue;
      }
      found.emplace_back(st.st_ino, fd);
    }
  } catch (const std::bad_alloc&) {
    found.clear();
  }
  closedir(dir);
  // One queue, one socket: it is ours. With more, or sockets of another
  // port, which is whose cannot be told (AF_XDP answers no getsockname, and
  // inode order need not be creation order across CPUs): none, rather than
  // another queue's socket, which would wake us for its frames only.
  if (found.size() != 1 || info.nb_rx_queues != 1 || queue != 0) return -1;
  return found[0].second;
}

namespace {
// The first page(s) of one of an AF_XDP socket's rings, up to `need` bytes:
// its indices and flags lie before the descriptors.
void* map_ring_head(int fd, off_t pgoff, std::size_t need, std::size_t& len) noexcept {
  const auto page = static_cast<std::size_t>(getpagesize());
  len = (need + page - 1) / page * page;
  void* m = mmap(nullptr, len, PROT_READ, MAP_SHARED | MAP_POPULATE, fd, pgoff);
  return m == MAP_FAILED ? nullptr : m;
}
}  // namespace

std::unique_ptr<XskRxPeek> XskRxPeek::map(int fd) noexcept {
  if (fd < 0) return nullptr;
  xdp_mmap_offsets off{};
  socklen_t len = sizeof off;
  if (kernel().getsockopt(fd, SOL_XDP, XDP_MMAP_OFFSETS, &off, &len) != 0 || len != sizeof off) return nullptr;
  std::unique_ptr<XskRxPeek> p(new (std::nothrow) XskRxPeek());
  if (p == nullptr) return nullptr;
  const std::size_t word = sizeof(std::uint32_t);
  p->rx_.at = map_ring_head(fd, XDP_PGOFF_RX_RING, std::max(off.rx.producer, off.rx.consumer) + word, p->rx_.len);
  p->fill_.at = map_ring_head(fd, static_cast<off_t>(XDP_UMEM_PGOFF_FILL_RING), off.fr.flags + word, p->fill_.len);
  if (p->rx_.at == nullptr || p->fill_.at == nullptr) return nullptr;  // the destructor unmaps what was mapped
  const auto at = [](const Mapping& m, std::uint64_t o) {
    return reinterpret_cast<const std::uint32_t*>(static_cast<const char*>(m.at) + o);
  };
  p->rx_producer_ = at(p->rx_, off.rx.producer);
  p->rx_consumer_ = at(p->rx_, off.rx.consumer);
  p->fill_flags_ = at(p->fill_, off.fr.flags);
  return p;
}

XskRxPeek::~XskRxPeek() {
  if (rx_.at != nullptr) munmap(rx_.at, rx_.len);
  if (fill_.at != nullptr) munmap(fill_.at, fill_.len);
}

}  // namespace gz::stack

