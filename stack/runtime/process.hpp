// Process: lstack's one root in this process.
//
// It holds the config, parsed once from $LSTACK_CONF_PATH into an immutable
// struct, and the Runtime started from it on the first socket that needs the
// data path. Only the shim's entry points (sockets.cpp) reach it; below them
// the config and the runtime travel by reference (Runtime holds const Config&,
// each stack gets its options from it, a deferred socket holds its Process).
// Thread: any; the first caller of runtime() starts lstack, others wait.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <memory>
#include <mutex>

#include "gz/config.hpp"
#include "gz/result.hpp"

namespace gz::stack {

class Runtime;

class Process {
 public:
  // The process's root (created on first use, destroyed at exit).
  static Process& get() noexcept;

  // The config (read on the first call, without DPDK: routing decisions and
  // deferred sockets need it before lstack starts). Errors: the config's
  // one message, the same for every call.
  Result<const Config*> config();
  // The runtime, started on the first call. A failed start is remembered:
  // every later call returns the same error. After fork(), a child of a
  // process whose lstack runs gets EPERM: the parent keeps the port; the
  // child's sockets are the kernel's.
  Result<Runtime*> runtime();
  // Whether lstack has started (in this process or, after fork, the parent).
  bool started() const noexcept { return started_.load(std::memory_order_acquire); }
  // Whether it started in another process (we are a child of fork()).
  bool inherited() const noexcept;

 private:
  Process() = default;
  ~Process();
  void start() noexcept;

  std::once_flag config_once_, start_once_;
  std::unique_ptr<Result<Config>> config_;  // set once by config()
  std::unique_ptr<Runtime> runtime_;
  pid_t pid_ = 0;  // the process that started runtime_
  Error failure_;
  std::atomic<bool> started_{false};
};

}  // namespace gz::stack
