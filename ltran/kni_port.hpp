// KniPort: the exception path to the host's kernel (kni_switch = 1). DPDK
// 22.11 has no KNI, so a net_tap port stands in: a kernel interface named
// kni0 in ltran's network namespace, with the bond's MAC. Frames from the
// wire that no process claims go to it (the kernel answers for its own
// addresses: ssh keeps working); what the kernel sends through it goes out.
// RAII: the port and the interface go with the object.
// Thread: the dispatch thread.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>

#include "gz/result.hpp"

struct rte_mempool;

namespace gz::ltran {

class KniPort {
 public:
  // Errors: the vdev's or the port's errno (EEXIST: an interface kni0 exists).
  static Result<std::unique_ptr<KniPort>> open(const std::array<std::uint8_t, 6>& mac, rte_mempool* pool);
  ~KniPort();
  KniPort(const KniPort&) = delete;
  KniPort& operator=(const KniPort&) = delete;
  std::uint16_t id() const noexcept { return id_; }
  static constexpr const char* kIface = "kni0";

 private:
  KniPort() = default;
  std::uint16_t id_ = 0;
  bool made_ = false, started_ = false;
};

}  // namespace gz::ltran
