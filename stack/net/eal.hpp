// RAII owner of DPDK's EAL for this process.
// Thread: create once, from any thread; destroyed at process end (rte_eal_cleanup).
// A primary leaves nothing behind: DPDK keeps its hugepage files and runtime
// directory after rte_eal_cleanup (for secondaries that may come); the last
// user of the file prefix removes them, so the hugepages are free again.
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

 public:
  // DPDK's runtime directory; whether this process owns all of it (a primary
  // with files under its own prefix), else which files in it are its own.
  // All of that is removed at the end.
  const std::string& runtime_dir() const noexcept { return runtime_dir_; }
  bool owns_runtime_dir() const noexcept { return primary_; }
  const std::vector<std::string>& own_files() const noexcept { return own_files_; }

 private:
  Eal() = default;
  bool primary_ = false;  // and owner of the prefix's files
  std::string prefix_;       // --file-prefix (DPDK's default "rte")
  std::string runtime_dir_;  // /var/run/dpdk/<prefix>
  std::vector<std::string> own_files_;
};

}  // namespace gz::stack
