#include "process.hpp"
#include "signal_cleanup.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "gz/kernel.hpp"
#include "gz/socket.hpp"
#include "runtime.hpp"

namespace gz::stack {
namespace {

// The fds open right now (from /proc/self/fd).
std::vector<int> open_fds() {
  std::vector<int> fds;
  DIR* dir = opendir("/proc/self/fd");
  if (dir == nullptr) return fds;
  while (dirent* e = readdir(dir)) {
    if (e->d_name[0] != '.') fds.push_back(std::atoi(e->d_name));
  }
  closedir(dir);
  std::sort(fds.begin(), fds.end());
  return fds;
}

// Whether fd is of a kind starting lstack opens (sockets, eventfds, memfds,
// pipes, device and hugepage files), not a regular file another thread of
// the program may have opened meanwhile.
bool opened_by_start(int fd) {
  char link[64], target[256];
  std::snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
  const ssize_t n = readlink(link, target, sizeof target - 1);
  if (n <= 0) return false;
  target[n] = '\0';
  const std::string t = target;
  for (const char* kind : {"socket:", "anon_inode:", "pipe:", "/memfd:", "/dev/", "/sys/", "/run/", "/var/run/"}) {
    if (t.rfind(kind, 0) == 0) return true;
  }
  return false;
}

// What starting opened (the XDP socket, hugepage and memfd files, eventfds,
// the control socket) must not outlive an exec(): the new program, started
// again with LD_PRELOAD, would find the port's queue still taken.
void close_on_exec_since(const std::vector<int>& before) {
  for (int fd : open_fds()) {
    if (std::binary_search(before.begin(), before.end(), fd) || !opened_by_start(fd)) continue;
    const int flags = kernel().fcntl(fd, F_GETFD, 0UL);
    if (flags >= 0) kernel().fcntl(fd, F_SETFD, static_cast<unsigned long>(flags | FD_CLOEXEC));
  }
}

}  // namespace

Process& Process::get() noexcept {
  // Destroyed at exit, which stops lstack cleanly (stacks, port, EAL, files).
  static Process root;
  return root;
}

// A child of fork() inherits the memory but not the threads, the port or the
// right to drive them: it leaves the runtime alone, even at exit.
Process::~Process() {
  if (runtime_ && pid_ != getpid()) {
    (void)runtime_.release();
    return;
  }
  runtime_.reset();
  end_by_pending_signal();  // a SIGTERM whose end waited for an owner's rest that never came before exit
}

Result<const Config*> Process::config() {
  std::call_once(config_once_, [this] {
    try {
      config_ = std::make_unique<Result<Config>>(load_config_from_env());
    } catch (const std::bad_alloc&) {
      config_.reset();
    }
  });
  if (!config_) return make_error(ENOMEM, "out of memory while reading the lstack config");
  if (!*config_) return config_->error();
  return &config_->value();
}

bool Process::inherited() const noexcept { return started() && pid_ != getpid(); }

void Process::start() noexcept {
  KernelOnlyScope internal;  // DPDK opens sockets of its own while we start
  try {
    auto cfg = config();
    if (!cfg) {
      failure_ = cfg.error();
      return;
    }
    const std::vector<int> before = open_fds();
    auto r = Runtime::start(*cfg.value());
    close_on_exec_since(before);
    if (r) {
      runtime_ = std::move(r.value());
      pid_ = getpid();
    } else {
      failure_ = r.error();
    }
  } catch (const std::exception& e) {
    failure_ = make_error(ENOMEM, std::string("lstack start failed: ") + e.what());
  }
}

Result<Runtime*> Process::runtime() {
  std::call_once(start_once_, [this] {
    start();
    started_.store(runtime_ != nullptr, std::memory_order_release);
  });
  if (inherited()) return make_error(EPERM, "lstack runs in the parent process: after fork() the child uses the kernel");
  if (runtime_) return runtime_.get();
  return failure_;
}

}  // namespace gz::stack
