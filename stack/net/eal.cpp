#include "eal.hpp"

#include "gz/conf_text.hpp"

#include <pthread.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <sched.h>
#include <dirent.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

namespace gz::stack {
namespace {
std::atomic<bool> g_eal_up{false};  // EAL can be initialized once per process

std::string file_prefix(const std::vector<std::string>& args) {
  std::string prefix = "rte";
  for (std::size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--file-prefix" && i + 1 < args.size()) prefix = args[i + 1];
    if (args[i].rfind("--file-prefix=", 0) == 0) prefix = args[i].substr(14);
  }
  return prefix;
}

// Every hugetlbfs mount point (DPDK picks its --huge-dir among them).
std::vector<std::string> hugetlbfs_mounts() {
  std::vector<std::string> dirs;
  std::ifstream mounts("/proc/mounts");
  std::string dev, dir, type, rest;
  while (mounts >> dev >> dir >> type && std::getline(mounts, rest)) {
    if (type == "hugetlbfs") dirs.push_back(dir);
  }
  return dirs;
}

std::vector<std::string> entries(const std::string& dir) {
  std::vector<std::string> out;
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) return out;
  while (dirent* e = readdir(d)) {
    if (std::strcmp(e->d_name, ".") != 0 && std::strcmp(e->d_name, "..") != 0) out.emplace_back(e->d_name);
  }
  closedir(d);
  return out;
}

// The unix sockets this process listens on inside dir (its telemetry socket,
// dpdk_telemetry.v2 or .v2:N beside other processes'): /proc/net/unix names
// each bound socket's path and inode, /proc/self/fd our sockets' inodes.
std::vector<std::string> own_unix_sockets(const std::string& dir) {
  std::vector<std::string> inodes;
  for (const std::string& fd : entries("/proc/self/fd")) {
    char target[64];
    const ssize_t n = readlink(("/proc/self/fd/" + fd).c_str(), target, sizeof target - 1);
    if (n > 8 && std::strncmp(target, "socket:[", 8) == 0) inodes.emplace_back(target + 8, target + n - 1);
  }
  std::vector<std::string> out;
  std::ifstream table("/proc/net/unix");
  std::string line;
  std::getline(table, line);  // header
  while (std::getline(table, line)) {
    std::istringstream fields(line);
    std::string num, refs, proto, flags, type, st, inode, path;
    if (!(fields >> num >> refs >> proto >> flags >> type >> st >> inode >> path)) continue;
    if (path.rfind(dir + "/", 0) == 0 && std::find(inodes.begin(), inodes.end(), inode) != inodes.end()) {
      out.push_back(path);
    }
  }
  return out;
}

// Removes the entries of dir whose names start with prefix (all: "").
void remove_entries(const std::string& dir, const std::string& prefix) {
  for (const std::string& name : entries(dir)) {
    if (name.rfind(prefix, 0) == 0) unlink((dir + "/" + name).c_str());
  }
}
}  // namespace

Result<std::unique_ptr<Eal>> Eal::init(const std::vector<std::string>& args) {
  if (g_eal_up.exchange(true)) return make_error(EALREADY, "DPDK EAL is already initialized in this process");
  std::vector<std::string> owned{"lstack"};
  owned.insert(owned.end(), args.begin(), args.end());
  // With single-file segments (memif zero-copy shares a list by its open fd)
  // EAL refuses --huge-unlink: the files go right after init instead.
  const bool unlink_files = conf::should_unlink_hugepages(args);
  const bool unlink_after_init = unlink_files && conf::has_eal_arg(args, "--single-file-segments");
  if (unlink_files && !unlink_after_init) owned.emplace_back("--huge-unlink");
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
  std::unique_ptr<Eal> eal(new Eal());
  // In memory (or without shared config) several processes share one runtime
  // directory for their telemetry sockets: it is not ours to remove.
  eal->primary_ = rte_eal_process_type() == RTE_PROC_PRIMARY && !conf::has_eal_arg(args, "--in-memory") &&
                  !conf::has_eal_arg(args, "--no-shconf");
  eal->prefix_ = file_prefix(args);
  if (unlink_after_init) {
    for (const std::string& dir : hugetlbfs_mounts()) remove_entries(dir, eal->prefix_ + "map_");
  }
  eal->runtime_dir_ = rte_eal_get_runtime_dir();
  // In a shared runtime directory (in memory), ours are the sockets we listen on.
  if (!eal->primary_) eal->own_files_ = own_unix_sockets(eal->runtime_dir_);
  return eal;
}

Eal::~Eal() {
  rte_eal_cleanup();
  g_eal_up = false;
  if (runtime_dir_.empty()) return;
  if (primary_) {
    // A second primary on one prefix cannot start (DPDK locks its config), so
    // these files are ours: "<prefix>map_<n>" in the hugetlbfs mounts (left
    // when dpdk_args keep them), and the runtime directory (config, fbarrays,
    // mp and telemetry sockets).
    for (const std::string& dir : hugetlbfs_mounts()) remove_entries(dir, prefix_ + "map_");
    remove_entries(runtime_dir_, "");
  }
  for (const std::string& f : own_files_) unlink(f.c_str());
  rmdir(runtime_dir_.c_str());  // shared (in memory): only once empty
  rmdir(runtime_dir_.substr(0, runtime_dir_.rfind('/')).c_str());  // /var/run/dpdk, if we made it and it is empty
}

}  // namespace gz::stack
