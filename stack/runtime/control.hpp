// ControlServer: lstack's unix control socket, read by gazellectl.
// <run_dir>/<unix_prefix>lstack.<pid>.sock, one request per connection
// (gz/wire.hpp). Thread: its own, blocking in accept; the stacks are asked
// through StackThread::snapshot, so nothing on the hot path waits for it.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <vector>
#include <thread>

#include "gz/result.hpp"
#include "gz/wire.hpp"

namespace gz::stack {

class Runtime;

// The directory holding control sockets: $GAZELLE_RUN_DIR or /var/run/gazelle.
std::string run_dir();

class ControlServer {
 public:
  // Errors: the errno of mkdir/socket/bind/listen, with the path.
  static Result<std::unique_ptr<ControlServer>> start(Runtime& rt, const std::string& unix_prefix);
  ~ControlServer();  // stops the thread, removes the socket file
  ControlServer(const ControlServer&) = delete;
  ControlServer& operator=(const ControlServer&) = delete;
  const std::string& path() const noexcept { return path_; }

 private:
  ControlServer(Runtime& rt, int fd, std::string path) : rt_(rt), fd_(fd), path_(std::move(path)) {}
  void serve() noexcept;
  void answer(int client) noexcept;
  // Every stack's sockets into out: 0 or -ENOMEM.
  int collect_connections(std::vector<wire::CtlConn>& out) noexcept;
  // kCtlSetLowPower / kCtlSetLogLevel: 0 or -EINVAL.
  int apply_setting(std::uint32_t command, std::uint32_t value) noexcept;

  Runtime& rt_;
  int fd_;
  std::string path_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace gz::stack
