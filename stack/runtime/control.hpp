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

#include "capture.hpp"
#include "gz/result.hpp"
#include "gz/wire.hpp"

namespace gz::stack {

class Runtime;

class ControlServer {
 public:
  // Errors: the errno of mkdir/socket/bind/listen, with the path.
  static Result<std::unique_ptr<ControlServer>> start(Runtime& rt, const std::string& unix_prefix);
  ~ControlServer();  // stops the thread, removes the socket file
  ControlServer(const ControlServer&) = delete;
  ControlServer& operator=(const ControlServer&) = delete;
  const std::string& path() const noexcept { return path_; }
  // A reply being made: the header and the structs that follow it.
  struct Answer {
    wire::CtlReplyHeader head{};
    std::vector<char> body;
  };

 private:
  ControlServer(Runtime& rt, int fd, std::string path) : rt_(rt), fd_(fd), path_(std::move(path)) {}
  void serve() noexcept;
  // False when client was handed over (a capture streams on it).
  bool answer(int client) noexcept;
  // A reply's header with status 0: this process's pid and host_addr.
  wire::CtlReplyHeader reply_header() const noexcept;
  // Every command but kCtlCapture: fills a (status, counts, body).
  void dispatch(const wire::CtlRequest& req, Answer& a) noexcept;
  // kCtlCapture (file: the fd that came with the request, or -1; taken in
  // every case): reads the filter, answers and starts the session: 0 (it
  // owns client now), 1 (answered, but it could not start: close client), or
  // an error to answer: -EBUSY (one capture at a time), -EINVAL (a filter
  // libpcap's checker refuses), -EBADF (no file), -ENOMEM, -EPROTO.
  int start_capture(int client, std::uint32_t snaplen, int file) noexcept;
  int read_capture_params(int client, CaptureSession::Params& p) noexcept;
  // Every stack's sockets into out: 0 or -ENOMEM.
  int collect_connections(std::vector<wire::CtlConn>& out) noexcept;
  // kCtlSetLowPower / kCtlSetLogLevel: 0 or -EINVAL.
  int apply_setting(std::uint32_t command, std::uint32_t value) noexcept;

  Runtime& rt_;
  int fd_;
  std::string path_;
  std::atomic<bool> stop_{false};
  std::unique_ptr<CaptureSession> capture_;  // control thread only
  std::thread thread_;
};

}  // namespace gz::stack
