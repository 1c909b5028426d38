// Server: ltran's unix socket, <run_dir>/<unix_prefix>ltran.sock (gz/wire.hpp's
// Ltran* requests): lstack processes register on it and stay connected;
// gazellectl asks for counters or a stop. Who asks is known from
// SO_PEERCRED, never from what the client says (a pid in a request can lie).
// Thread: the dispatch thread (the same loop serves packets and requests).
#pragma once

#include <sys/socket.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "dispatcher.hpp"
#include "gz/result.hpp"

namespace gz::ltran {

class Server {
 public:
  struct Options {
    std::string run_dir, prefix;
    std::vector<std::uint32_t> allow_uids, allow_gids;
    std::string config_path;  // named in refusals
  };
  // Makes run_dir (mode 1777: unprivileged lstack processes put their own
  // control sockets there) and listens. Errors: errno of mkdir/bind/listen;
  // EADDRINUSE when another ltran answers on the socket.
  static Result<std::unique_ptr<Server>> start(Options opts);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Serves what is ready, waiting up to timeout_ns for it (0: no wait).
  void serve(Dispatcher& d, long timeout_ns);
  bool quit_requested() const noexcept { return quit_; }
  const std::string& path() const noexcept { return path_; }

 private:
  struct Conn {
    ucred who{};
    std::string in;
  };
  Server() = default;
  void accept_all();
  void read_conn(Dispatcher& d, int fd);
  // Handles the request at the front of c.in; false to hang up.
  bool handle(Dispatcher& d, int fd, Conn& c, const wire::LtranRequest& req, const char* body);
  bool allowed(const ucred& who) const;
  void hang_up(Dispatcher& d, int fd);

  Options opts_;
  std::string path_;
  int listen_fd_ = -1, epoll_fd_ = -1;
  bool quit_ = false;
  std::map<int, Conn> conns_;
};

}  // namespace gz::ltran
