// gazellectl's side of the control socket (gz/wire.hpp): finding lstack
// processes and asking them. One request per connection.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "gz/wire.hpp"

namespace gz::ctl {

// An lstack process as its control socket names it.
struct Target {
  std::string path;  // <run_dir>/<unix_prefix>lstack.<pid>.sock
  std::uint32_t pid = 0;
};

// $GAZELLE_RUN_DIR, default /var/run/gazelle.
std::string run_dir();

// The lstack processes whose control sockets are in the run directory (stale
// ones, whose process is gone, skipped), all of them or the one with pid.
std::vector<Target> find_targets(const std::string& prefix, std::uint32_t pid = 0);

// A reply: the header and what followed it.
struct Reply {
  wire::CtlReplyHeader head{};
  std::vector<wire::CtlStackStats> stacks;  // kCtlStats
  std::vector<wire::CtlConn> conns;         // kCtlConns
  std::vector<wire::CtlXstat> xstats;       // kCtlXstats
  std::vector<wire::CtlLatency> latency;    // kCtlLatencyRead
};

// Asks t; "" on success, else why not (in words for the user: permission
// denied, no answer, another protocol version ...).
std::string query(const Target& t, std::uint32_t command, Reply& out, std::uint32_t value = 0);

// For a request that keeps the connection (a capture): a connected socket,
// or -1 with err set as query() words it. The caller closes it.
int connect_control(const Target& t, std::string& err);
// The reply header on fd: "" when it says yes, else why not.
std::string read_header(int fd, wire::CtlReplyHeader& head);
// n bytes exactly; false at the end of the stream or on an error (EINTR included).
bool read_exactly(int fd, void* buf, std::size_t n);

// The processes target ("" every one, a pid or an IPv4 host_addr) names;
// prints why there are none (no such process, not an lstack process ...).
std::vector<Target> resolve(const std::string& target, const std::string& prefix);

}  // namespace gz::ctl
