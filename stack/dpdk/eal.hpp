// RAII owner of DPDK's EAL for this process.
// Thread: create once, from any thread; destroyed at process end (rte_eal_cleanup).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "gz/result.hpp"

namespace gz::stack {

class Eal {
 public:
  // Runs rte_eal_init with args (argv[0] is supplied). The calling thread's CPU
  // affinity is restored afterwards: EAL pins its main lcore, but the caller is
  // an application thread that must keep the affinity the application gave it.
  // Errors: EALREADY if EAL is up in this process, else rte_errno with EAL's reason.
  static Result<std::unique_ptr<Eal>> init(const std::vector<std::string>& args);
  ~Eal();
  Eal(const Eal&) = delete;
  Eal& operator=(const Eal&) = delete;

 private:
  Eal() = default;
};

}  // namespace gz::stack
