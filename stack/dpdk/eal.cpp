#include "eal.hpp"

#include <pthread.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <sched.h>

#include <atomic>
#include <cerrno>
#include <cstring>

namespace gz::stack {
namespace {
std::atomic<bool> g_eal_up{false};  // EAL can be initialized once per process
}

Result<std::unique_ptr<Eal>> Eal::init(const std::vector<std::string>& args) {
  if (g_eal_up.exchange(true)) return make_error(EALREADY, "DPDK EAL is already initialized in this process");
  std::vector<std::string> owned{"lstack"};
  owned.insert(owned.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : owned) argv.push_back(a.data());
  argv.push_back(nullptr);

  cpu_set_t saved;
  const bool have_affinity = pthread_getaffinity_np(pthread_self(), sizeof saved, &saved) == 0;
  const int rc = rte_eal_init(static_cast<int>(argv.size() - 1), argv.data());
  if (have_affinity) pthread_setaffinity_np(pthread_self(), sizeof saved, &saved);
  if (rc < 0) {
    const int err = rte_errno;
    g_eal_up = false;
    std::string joined;
    for (const auto& a : args) joined += " " + a;
    return make_error(err != 0 ? err : EINVAL,
                      "DPDK EAL init failed (" + std::string(rte_strerror(err)) + ") with dpdk_args:" + joined);
  }
  return std::unique_ptr<Eal>(new Eal());
}

Eal::~Eal() {
  rte_eal_cleanup();
  g_eal_up = false;
}

}  // namespace gz::stack
