#include "ltran.hpp"

#include <arpa/inet.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <type_traits>
#include <utility>

#include "control_client.hpp"
#include "latency.hpp"
#include "gz/wire.hpp"

namespace gz::ctl {
namespace {

using wire::LtranInstanceInfo;
using wire::LtranTotals;

struct LtranOptions {
  std::string prefix;  // unix_prefix
  char mode = 0;       // 0 totals, 'i' instances, 'r' rates, 'b' bursts and lengths, 'l' latency
  unsigned secs = 1;   // -r, -b and -l's interval
  bool json = false;
};

// One answer on one connection.
struct Answer {
  wire::LtranReply head{};
  std::string body;
  std::uint32_t pid = 0;  // ltran's, from SO_PEERCRED: a quit reply names no pid
};

// One answer to kLtranShow.
struct Snapshot {
  LtranTotals totals{};
  std::vector<LtranInstanceInfo> instances;
};

// The counters of the totals, in the order show prints them. flows is a
// gauge, not a counter: shown beside them, never as a rate.
struct TotalsCounter {
  const char* name;
  std::uint64_t LtranTotals::*field;
};
constexpr TotalsCounter kTotals[] = {
    {"rx_packets", &LtranTotals::rx_packets},     {"rx_bytes", &LtranTotals::rx_bytes},
    {"tx_packets", &LtranTotals::tx_packets},     {"tx_bytes", &LtranTotals::tx_bytes},
    {"rx_unclaimed", &LtranTotals::rx_unclaimed}, {"rx_to_kernel", &LtranTotals::rx_to_kernel},
    {"rx_malformed", &LtranTotals::rx_malformed}, {"rx_dropped", &LtranTotals::rx_dropped},
    {"tx_dropped", &LtranTotals::tx_dropped},     {"arp_replies", &LtranTotals::arp_replies},
    {"tcp_handoffs", &LtranTotals::tcp_handoffs}, {"tcp_handoffs_dropped", &LtranTotals::tcp_handoffs_dropped},
    {"tcp_syn_held", &LtranTotals::tcp_syn_held}, {"tcp_orphan_probes", &LtranTotals::tcp_orphan_probes},
    {"tcp_orphan_resets", &LtranTotals::tcp_orphan_resets},
};

// An instance's counters, with their column width in -i and -r's tables.
struct InstanceCounter {
  const char* name;
  std::uint64_t LtranInstanceInfo::*field;
  int width;
};
constexpr InstanceCounter kInstance[] = {
    {"rx_packets", &LtranInstanceInfo::rx_packets, 12}, {"rx_bytes", &LtranInstanceInfo::rx_bytes, 14},
    {"tx_packets", &LtranInstanceInfo::tx_packets, 12}, {"tx_bytes", &LtranInstanceInfo::tx_bytes, 14},
    {"rx_dropped", &LtranInstanceInfo::rx_dropped, 12}, {"tx_limited", &LtranInstanceInfo::tx_limited, 12},
    {"tx_refused", &LtranInstanceInfo::tx_refused, 12},
};

// More than any real answer (a few thousand instances): a confused peer must
// not make us allocate gigabytes.
constexpr std::uint32_t kMaxBody = 1u << 24;
constexpr std::size_t kMaxMembers = std::extent_v<decltype(LtranTotals::port_ids)>;
constexpr std::size_t kMaxPorts = std::extent_v<decltype(LtranInstanceInfo::ports)>;
constexpr std::size_t kBurstSizes = std::extent_v<decltype(LtranTotals::rx_bursts)>;
constexpr std::size_t kLengths = std::extent_v<decltype(LtranTotals::rx_lengths)>;
static_assert(kLengths == std::size(wire::kLtranLengths));

int ltran_usage() {
  std::fprintf(stderr,
               "usage: gazellectl ltran show [-r [SECONDS] | -b [SECONDS] | -l [SECONDS] | -i] [--json] [-u UNIX_PREFIX]\n"
               "       gazellectl ltran quit [-u UNIX_PREFIX]\n");
  return 2;
}

std::string socket_path(const std::string& prefix) { return run_dir() + "/" + prefix + "ltran.sock"; }

std::string who(const std::string& path, std::uint32_t pid) {
  return pid != 0 ? "ltran pid " + std::to_string(pid) : "ltran (" + path + ")";
}

// A connected socket, or -1 with err the whole message for the user. Not
// control_client's connect_control: "no ltran at all" needs connect's errno.
int connect_ltran(const std::string& path, std::string& err) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) {
    err = who(path, 0) + ": the path is too long for a unix socket";
    return -1;
  }
  std::memcpy(addr.sun_path, path.data(), path.size());
  const int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    err = std::string("socket: ") + std::strerror(errno);
    return -1;
  }
  // ltran answers between bursts of its dispatch loop: 5 s of silence is a hung ltran.
  const timeval tv{5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  if (connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0) return fd;
  const int e = errno;
  close(fd);
  if (e == ENOENT || e == ECONNREFUSED) {  // no socket file, or one nobody listens on (ltran killed)
    err = "no ltran answers on " + path + " (is ltran running? same -u prefix?)";
  } else if (e == EACCES) {
    err = who(path, 0) + ": permission denied (run gazellectl as root or as ltran's user)";
  } else {
    err = who(path, 0) + ": cannot connect: " + std::strerror(e);
  }
  return -1;
}

// The reply header and its body; "" or why not.
std::string read_answer(int fd, Answer& out) {
  const wire::LtranReply& h = out.head;
  if (!read_exactly(fd, &out.head, sizeof out.head)) return "no answer";
  if (h.magic != wire::kLtranMagic) return "not ltran's socket (another protocol answers)";
  if (h.version != wire::kWireVersion) {
    return "ltran speaks wire version " + std::to_string(h.version) + ", this gazellectl " +
           std::to_string(wire::kWireVersion) + " (they come from different builds)";
  }
  if (h.status != 0) {
    const std::string message(h.message, strnlen(h.message, sizeof h.message));
    return message.empty() ? std::strerror(-h.status) : message;
  }
  if (h.length > kMaxBody) return "an answer of " + std::to_string(h.length) + " bytes, too long to be ltran's";
  out.body.resize(h.length);
  if (!read_exactly(fd, out.body.data(), out.body.size())) return "short answer";
  return "";
}

// Sends one request of type on a new connection; "" or the whole message.
std::string ask(const std::string& path, std::uint32_t type, Answer& out) {
  std::string err;
  const int fd = connect_ltran(path, err);
  if (fd < 0) return err;
  ucred cred{};
  socklen_t len = sizeof cred;
  if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0) out.pid = static_cast<std::uint32_t>(cred.pid);
  const wire::LtranRequest req{wire::kLtranMagic, wire::kWireVersion, type, 0};
  // MSG_NOSIGNAL: an ltran that hangs up at once is an error to report, not a SIGPIPE.
  if (send(fd, &req, sizeof req, MSG_NOSIGNAL) != static_cast<ssize_t>(sizeof req)) {
    err = "no answer";
  } else {
    err = read_answer(fd, out);
  }
  close(fd);
  return err.empty() ? "" : who(path, out.pid) + ": " + err;
}

std::string take_snapshot(const std::string& path, Snapshot& s) {
  Answer a;
  if (std::string err = ask(path, wire::kLtranShow, a); !err.empty()) return err;
  const std::size_t want = sizeof(LtranTotals) + std::size_t{a.head.items} * sizeof(LtranInstanceInfo);
  if (a.body.size() != want) {
    return who(path, a.pid) + ": an answer of " + std::to_string(a.body.size()) + " bytes for " +
           std::to_string(a.head.items) + " instances, not " + std::to_string(want) + " (another build?)";
  }
  std::memcpy(&s.totals, a.body.data(), sizeof s.totals);
  s.instances.resize(a.head.items);
  std::memcpy(s.instances.data(), a.body.data() + sizeof s.totals, s.instances.size() * sizeof(LtranInstanceInfo));
  return "";
}

// --- words --------------------------------------------------------------------

std::string ip_text(std::uint32_t net_order) {
  char buf[INET_ADDRSTRLEN] = "?";
  const in_addr a{net_order};
  inet_ntop(AF_INET, &a, buf, sizeof buf);
  return buf;
}

// The program's name as the process set it (comm): anything, so printable
// ASCII only, safe for a terminal and for JSON once quotes are escaped.
std::string name_of(const LtranInstanceInfo& i) {
  std::string s(i.name, strnlen(i.name, sizeof i.name));
  for (char& c : s) {
    if (c < 0x20 || c > 0x7e) c = '?';
  }
  return s.empty() ? "?" : s;
}

std::string json_text(const std::string& s) {
  std::string out = "\"";
  for (const char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

const char* proto_name(std::uint8_t proto) {
  return proto == wire::kProtoTcp ? "tcp" : proto == wire::kProtoUdp ? "udp" : "?";
}

// "tcp:6379,udp:53"; ltran sends the first 16 of `claims` ports.
std::string ports_text(const LtranInstanceInfo& i) {
  const std::size_t n = std::min<std::size_t>(i.claims, kMaxPorts);
  std::string s;
  for (std::size_t k = 0; k < n; ++k) {
    s += (k ? "," : "") + std::string(proto_name(i.protos[k])) + ":" + std::to_string(i.ports[k]);
  }
  if (i.claims > n) s += ",+" + std::to_string(i.claims - n) + " more";
  return s.empty() ? "-" : s;
}

// DPDK's bonding modes (rte_eth_bond.h), in ltran.conf's words.
const char* bond_mode_name(std::uint32_t mode) {
  static const char* const kNames[] = {"round-robin", "active-backup", "balance-xor", "broadcast",
                                       "802.3ad",     "tlb",           "alb"};
  return mode < std::size(kNames) ? kNames[mode] : "unknown";
}

bool has_active(const LtranTotals& t) { return t.ports != 0 && t.active_port != ~0u; }

std::string uptime_text(std::uint64_t ns) {
  const std::uint64_t s = ns / 1000000000;
  char buf[48];
  if (s >= 86400) {
    std::snprintf(buf, sizeof buf, "%" PRIu64 "d %02u:%02u:%02u", s / 86400, static_cast<unsigned>(s % 86400 / 3600),
                  static_cast<unsigned>(s % 3600 / 60), static_cast<unsigned>(s % 60));
  } else {
    std::snprintf(buf, sizeof buf, "%02u:%02u:%02u", static_cast<unsigned>(s / 3600), static_cast<unsigned>(s % 3600 / 60),
                  static_cast<unsigned>(s % 60));
  }
  return buf;
}

// --- show ---------------------------------------------------------------------

void print_bond(const LtranTotals& t) {
  std::printf("  bond: mode %u (%s), active member: ", t.bond_mode, bond_mode_name(t.bond_mode));
  if (has_active(t)) {
    std::printf("port %u\n", t.active_port);
  } else {
    std::printf("none\n");
  }
  const std::size_t n = std::min<std::size_t>(t.ports, kMaxMembers);
  std::printf("  members:%s", n == 0 ? " none reported" : "");
  for (std::size_t k = 0; k < n; ++k) {
    std::printf("%s port %u (link %s%s)", k ? "," : "", t.port_ids[k], t.link_up[k] ? "up" : "down",
                has_active(t) && t.port_ids[k] == t.active_port ? ", active" : "");
  }
  std::printf("\n");
}

void print_totals(const LtranTotals& t) {
  std::printf("ltran pid %u, up %s: %u instance%s, %" PRIu64 " flow%s\n", t.pid, uptime_text(t.uptime_ns).c_str(),
              t.instances, t.instances == 1 ? "" : "s", t.flows, t.flows == 1 ? "" : "s");
  int col = 0;
  for (const TotalsCounter& c : kTotals) {
    std::printf("%s%-20s %14" PRIu64, col == 0 ? "  " : "   ", c.name, t.*c.field);
    if (++col == 3) {
      std::printf("\n");
      col = 0;
    }
  }
  if (col != 0) std::printf("\n");
  print_bond(t);
}

// -i and -r's table: the columns before the counters.
void instance_head(bool full) {
  std::printf("%4s %8s ", "id", "pid");
  if (full) std::printf("%6s %6s ", "uid", "gid");
  std::printf("%-16s", "name");
  if (full) std::printf(" %-15s %6s", "address", "queues");
  for (const InstanceCounter& c : kInstance) std::printf(" %*s%s", c.width - (full ? 0 : 2), c.name, full ? "" : "/s");
  if (full) std::printf(" %8s %s", "flows", "ports");
  std::printf("\n");
}

void print_instances(const Snapshot& s) {
  instance_head(true);
  for (const LtranInstanceInfo& i : s.instances) {
    std::printf("%4u %8u %6u %6u %-16s %-15s %6u", i.instance, i.pid, i.uid, i.gid, name_of(i).c_str(),
                ip_text(i.addr).c_str(), i.queues);
    for (const InstanceCounter& c : kInstance) std::printf(" %*" PRIu64, c.width, i.*c.field);
    std::printf(" %8u %s\n", i.flows, ports_text(i).c_str());
  }
}

void totals_json(const LtranTotals& t) {
  std::printf("\"pid\": %u, \"uptime_ns\": %" PRIu64, t.pid, t.uptime_ns);
  for (const TotalsCounter& c : kTotals) std::printf(", \"%s\": %" PRIu64, c.name, t.*c.field);
  std::printf(", \"flows\": %" PRIu64 ", \"instance_count\": %u, \"bond_mode\": %u, \"bond_mode_name\": \"%s\"", t.flows,
              t.instances, t.bond_mode, bond_mode_name(t.bond_mode));
  if (has_active(t)) {
    std::printf(", \"active_port\": %u", t.active_port);
  } else {
    std::printf(", \"active_port\": null");
  }
  std::printf(", \"members\": [");
  for (std::size_t k = 0; k < std::min<std::size_t>(t.ports, kMaxMembers); ++k) {
    std::printf("%s{\"port\": %u, \"link_up\": %s, \"active\": %s}", k ? ", " : "", t.port_ids[k],
                t.link_up[k] ? "true" : "false", has_active(t) && t.port_ids[k] == t.active_port ? "true" : "false");
  }
  std::printf("]");
}

void instance_json(const LtranInstanceInfo& i) {
  std::printf("{\"instance\": %u, \"pid\": %u, \"uid\": %u, \"gid\": %u, \"name\": %s, \"addr\": \"%s\", \"queues\": %u",
              i.instance, i.pid, i.uid, i.gid, json_text(name_of(i)).c_str(), ip_text(i.addr).c_str(), i.queues);
  for (const InstanceCounter& c : kInstance) std::printf(", \"%s\": %" PRIu64, c.name, i.*c.field);
  std::printf(", \"flows\": %u, \"claims\": %u, \"ports\": [", i.flows, i.claims);
  for (std::size_t k = 0; k < std::min<std::size_t>(i.claims, kMaxPorts); ++k) {
    std::printf("%s{\"proto\": \"%s\", \"port\": %u}", k ? ", " : "", proto_name(i.protos[k]), i.ports[k]);
  }
  std::printf("]}");
}

void print_json(const Snapshot& s) {
  std::printf("{");
  totals_json(s.totals);
  std::printf(", \"instances\": [");
  for (std::size_t k = 0; k < s.instances.size(); ++k) {
    if (k) std::printf(", ");
    instance_json(s.instances[k]);
  }
  std::printf("]}\n");
}

// --- -r -----------------------------------------------------------------------

// The instance of b that a was: same id and pid (an id is reused once its
// process is gone). nullptr when it came or went in between.
const LtranInstanceInfo* before_of(const Snapshot& a, const LtranInstanceInfo& b) {
  for (const LtranInstanceInfo& i : a.instances) {
    if (i.instance == b.instance && i.pid == b.pid) return &i;
  }
  return nullptr;
}

void instance_rates(const LtranInstanceInfo& a, const LtranInstanceInfo& b, double secs, bool json, bool first) {
  const auto rate = [&](const InstanceCounter& c) { return static_cast<double>(b.*c.field - a.*c.field) / secs; };
  if (json) {
    std::printf("%s{\"instance\": %u, \"pid\": %u, \"name\": %s", first ? "" : ", ", b.instance, b.pid,
                json_text(name_of(b)).c_str());
    for (const InstanceCounter& c : kInstance) std::printf(", \"%s\": %.1f", c.name, rate(c));
    std::printf("}");
    return;
  }
  std::printf("%4u %8u %-16s", b.instance, b.pid, name_of(b).c_str());
  for (const InstanceCounter& c : kInstance) std::printf(" %*.0f", c.width, rate(c));
  std::printf("\n");
}

// The totals' rates, and for text the instance table's head.
void totals_rates(const LtranTotals& a, const LtranTotals& b, double secs, bool json) {
  const auto rate = [&](const TotalsCounter& c) { return static_cast<double>(b.*c.field - a.*c.field) / secs; };
  if (json) {
    std::printf("{\"pid\": %u, \"interval_s\": %.3f", b.pid, secs);
    for (const TotalsCounter& c : kTotals) std::printf(", \"%s\": %.1f", c.name, rate(c));
    std::printf(", \"flows\": %" PRIu64, b.flows);
    return;
  }
  std::printf("ltran pid %u: per second over %.1f s (%" PRIu64 " flows now)\n", b.pid, secs, b.flows);
  int col = 0;
  for (const TotalsCounter& c : kTotals) {
    std::printf("%s%-20s %14.0f", col == 0 ? "  " : "   ", c.name, rate(c));
    if (++col == 3) {
      std::printf("\n");
      col = 0;
    }
  }
  if (col != 0) std::printf("\n");
  instance_head(false);
}

void print_rates(const Snapshot& a, const Snapshot& b, double secs, bool json) {
  totals_rates(a.totals, b.totals, secs, json);
  if (json) std::printf(", \"instances\": [");
  bool first = true;
  for (const LtranInstanceInfo& i : b.instances) {
    if (const LtranInstanceInfo* before = before_of(a, i)) instance_rates(*before, i, secs, json, std::exchange(first, false));
  }
  if (json) std::printf("]}\n");
}

// --- -b -----------------------------------------------------------------------

// The frame lengths of rx_lengths[k], from kLtranLengths' upper bounds: "<=64", "65-128", ..., ">9018".
std::string length_label(std::size_t k) {
  const std::uint32_t hi = wire::kLtranLengths[k];
  if (k == 0) return "<=" + std::to_string(hi);
  const std::uint32_t lo = wire::kLtranLengths[k - 1] + 1;
  return hi == UINT32_MAX ? ">" + std::to_string(lo - 1) : std::to_string(lo) + "-" + std::to_string(hi);
}

using Cells = std::vector<std::pair<std::string, double>>;

// A label row over a rate row, eight cells a line: 33 burst sizes do not fit across.
void print_cells(const Cells& cells) {
  constexpr std::size_t kPerLine = 8;
  for (std::size_t first = 0; first < cells.size(); first += kPerLine) {
    const std::size_t end = std::min(cells.size(), first + kPerLine);
    std::printf("    ");
    for (std::size_t k = first; k < end; ++k) std::printf(" %10s", cells[k].first.c_str());
    std::printf("\n    ");
    for (std::size_t k = first; k < end; ++k) std::printf(" %10.1f", cells[k].second);
    std::printf("\n");
  }
}

void print_cells_json(const Cells& cells) {
  std::printf("{");
  for (std::size_t k = 0; k < cells.size(); ++k) {
    std::printf("%s\"%s\": %.1f", k ? ", " : "", cells[k].first.c_str(), cells[k].second);
  }
  std::printf("}");
}

// One direction of -b. frames: the packets counter of that direction, which
// counts exactly the frames of these bursts (the mean is exact though tx's
// last size counts larger flushes too). tx: label the last size "32+" in text.
void burst_direction(const char* key, const char* what, const std::uint64_t* a, const std::uint64_t* b,
                     std::uint64_t frames, double secs, bool json, bool tx) {
  Cells cells;
  std::uint64_t bursts = 0;
  for (std::size_t n = 0; n < kBurstSizes; ++n) {
    if (b[n] == a[n]) continue;
    bursts += b[n] - a[n];
    const bool more = tx && !json && n + 1 == kBurstSizes;
    cells.emplace_back(std::to_string(n) + (more ? "+" : ""), static_cast<double>(b[n] - a[n]) / secs);
  }
  const double mean = bursts ? static_cast<double>(frames) / static_cast<double>(bursts) : 0;
  if (json) {
    std::printf(", \"%s\": {\"per_s\": %.1f, \"mean_frames\": ", key, static_cast<double>(bursts) / secs);
    if (bursts) {
      std::printf("%.2f", mean);
    } else {
      std::printf("null");
    }
    std::printf(", \"by_size\": ");
    print_cells_json(cells);
    std::printf("}");
    return;
  }
  if (bursts == 0) {
    std::printf("  %s: none\n", what);
    return;
  }
  std::printf("  %s: %.1f/s, %.2f frames a burst on average; by frames in the burst%s:\n", what,
              static_cast<double>(bursts) / secs, mean, tx ? " (0: the port took none; 32+: 32 or more)" : "");
  print_cells(cells);
}

void print_bursts(const LtranTotals& a, const LtranTotals& b, double secs, bool json) {
  if (json) {
    std::printf("{\"pid\": %u, \"interval_s\": %.3f", b.pid, secs);
  } else {
    std::printf("ltran pid %u: per second over %.1f s\n", b.pid, secs);
  }
  burst_direction("rx_bursts", "rx bursts from the wire", a.rx_bursts, b.rx_bursts, b.rx_packets - a.rx_packets, secs,
                  json, false);
  burst_direction("tx_bursts", "tx bursts to the wire", a.tx_bursts, b.tx_bursts, b.tx_packets - a.tx_packets, secs,
                  json, true);
  Cells lengths;
  for (std::size_t k = 0; k < kLengths; ++k) {
    lengths.emplace_back(length_label(k), static_cast<double>(b.rx_lengths[k] - a.rx_lengths[k]) / secs);
  }
  if (json) {
    std::printf(", \"rx_lengths\": ");
    print_cells_json(lengths);
    std::printf("}\n");
    return;
  }
  std::printf("  frames from the wire by length in bytes, per second:\n");
  print_cells(lengths);
}

// --- -l -----------------------------------------------------------------------

// "0.45", "12.3": microseconds with 2 decimals below 10, 1 above, since
// ltran's own latencies are mostly below a microsecond.
std::string us_text(double us) {
  char buf[32];
  std::snprintf(buf, sizeof buf, us < 10 ? "%.2f" : "%.1f", us);
  return buf;
}

// A bucket's upper edge: the next bucket's low edge (the last one has none).
double bucket_high_us(int i) {
  return static_cast<double>(wire::latency_bucket_low(i + 1 < wire::kLatencyBuckets ? i + 1 : i)) / 1000;
}

using Histogram = std::array<std::uint64_t, wire::kLatencyBuckets>;

struct LatencySummary {
  std::uint64_t samples = 0;
  double p50_us = 0, p99_us = 0, p999_us = 0, max_us = 0;
};

LatencySummary summarize(const Histogram& h) {
  LatencySummary s;
  int top = 0;
  for (int i = 0; i < wire::kLatencyBuckets; ++i) {
    s.samples += h[i];
    if (h[i] != 0) top = i;
  }
  if (s.samples == 0) return s;
  s.p50_us = latency_percentile_us(h.data(), s.samples, 0.50);
  s.p99_us = latency_percentile_us(h.data(), s.samples, 0.99);
  s.p999_us = latency_percentile_us(h.data(), s.samples, 0.999);
  // ltran keeps no largest sample: the top bucket's upper edge bounds it.
  s.max_us = bucket_high_us(top);
  return s;
}

void latency_json(const char* key, const Histogram& h, const LatencySummary& s) {
  std::printf(", \"%s\": {\"samples\": %" PRIu64, key, s.samples);
  if (s.samples == 0) {
    std::printf(", \"p50_us\": null, \"p99_us\": null, \"p99.9_us\": null, \"max_us\": null");
  } else {
    std::printf(", \"p50_us\": %.3f, \"p99_us\": %.3f, \"p99.9_us\": %.3f, \"max_us\": %.3f", s.p50_us, s.p99_us,
                s.p999_us, s.max_us);
  }
  std::printf(", \"histogram\": [");
  bool first = true;
  for (int i = 0; i < wire::kLatencyBuckets; ++i) {
    if (h[i] == 0) continue;
    std::printf("%s[%" PRIu64 ", %" PRIu64 "]", std::exchange(first, false) ? "" : ", ", wire::latency_bucket_low(i), h[i]);
  }
  std::printf("]}");
}

// As lstack show -l prints its histograms: the percentiles, then a bar per bucket.
void latency_text(const char* name, const char* what, const Histogram& h, const LatencySummary& s) {
  if (s.samples == 0) {
    std::printf("  %s (%s): no samples (no frames this way in the interval)\n", name, what);
    return;
  }
  std::printf("  %s (%s): %" PRIu64 " frames, p50 %s us, p99 %s us, p99.9 %s us, max %s us\n", name, what, s.samples,
              us_text(s.p50_us).c_str(), us_text(s.p99_us).c_str(), us_text(s.p999_us).c_str(),
              us_text(s.max_us).c_str());
  const std::uint64_t peak = *std::max_element(h.begin(), h.end());
  for (int i = 0; i < wire::kLatencyBuckets; ++i) {
    if (h[i] == 0) continue;
    const int bar = static_cast<int>(40 * h[i] / peak);
    std::printf("    >= %8s us %12" PRIu64 " %.*s\n", us_text(static_cast<double>(wire::latency_bucket_low(i)) / 1000).c_str(),
                h[i], bar > 0 ? bar : 1, "########################################");
  }
}

void latency_direction(const char* key, const char* name, const char* what, const std::uint64_t* a,
                       const std::uint64_t* b, bool json) {
  Histogram h{};
  for (int i = 0; i < wire::kLatencyBuckets; ++i) h[i] = b[i] - a[i];
  const LatencySummary s = summarize(h);
  if (json) {
    latency_json(key, h, s);
  } else {
    latency_text(name, what, h, s);
  }
}

void print_time_inside(const LtranTotals& a, const LtranTotals& b, double secs, bool json) {
  if (json) {
    std::printf("{\"pid\": %u, \"interval_s\": %.3f", b.pid, secs);
  } else {
    std::printf("ltran pid %u: time frames spent inside ltran over %.1f s\n", b.pid, secs);
  }
  latency_direction("wire_to_process", "wire -> process", "the wire's rx burst to the process's memif queue",
                    a.latency_in, b.latency_in, json);
  latency_direction("process_to_wire", "process -> wire", "the process's memif burst to the wire's tx queue",
                    a.latency_out, b.latency_out, json);
  if (json) std::printf("}\n");
}

// --- commands -----------------------------------------------------------------

bool to_seconds(const std::string& s, unsigned& out) {
  if (s.empty() || s.size() > 4 || s.find_first_not_of("0123456789") != std::string::npos) return false;
  out = static_cast<unsigned>(std::strtoul(s.c_str(), nullptr, 10));
  return true;
}

bool is_mode(const std::string& a) { return a == "-r" || a == "-i" || a == "-b" || a == "-l"; }

// The modes that compare two snapshots taken SECONDS apart.
bool over_interval(char mode) { return mode == 'r' || mode == 'b' || mode == 'l'; }

// Returns 0, or the exit status of a usage error (printed).
int parse_show(const std::vector<std::string>& args, LtranOptions& o) {
  for (std::size_t i = 2; i < args.size(); ++i) {
    const std::string& a = args[i];
    const bool after_mode = over_interval(o.mode) && args[i - 1] == std::string{'-', o.mode};
    if (a == "-u" && i + 1 < args.size()) {
      o.prefix = args[++i];
    } else if (a == "--json") {
      o.json = true;
    } else if (is_mode(a) && o.mode == 0) {
      o.mode = a[1];
    } else if (after_mode && to_seconds(a, o.secs)) {
      // [SECONDS], as lstack show -r [SECONDS] and Gazelle's ltran show -r|-b|-l [time]
    } else {
      std::fprintf(stderr, "gazellectl: unexpected argument '%s'%s\n", a.c_str(),
                   is_mode(a) ? " (-r, -b, -l and -i go alone)" : "");
      return ltran_usage();
    }
  }
  if (o.secs < 1 || o.secs > 3600) {
    std::fprintf(stderr, "gazellectl: -%c takes 1 to 3600 seconds\n", o.mode);
    return 2;
  }
  return 0;
}

// The second snapshot of -r, -b and -l, secs after a.
std::string later_snapshot(const std::string& path, unsigned secs, const Snapshot& a, Snapshot& b) {
  const timespec ts{static_cast<time_t>(secs), 0};
  nanosleep(&ts, nullptr);
  if (std::string err = take_snapshot(path, b); !err.empty()) return err;
  if (b.totals.pid != a.totals.pid) {
    return "ltran restarted in the interval (pid " + std::to_string(a.totals.pid) + ", then " +
           std::to_string(b.totals.pid) + "): nothing to compare";
  }
  return "";
}

int show(const std::vector<std::string>& args) {
  LtranOptions o;
  if (int rc = parse_show(args, o); rc != 0) return rc;
  const std::string path = socket_path(o.prefix);
  Snapshot a, b;
  std::string err = take_snapshot(path, a);
  if (err.empty() && over_interval(o.mode)) err = later_snapshot(path, o.secs, a, b);
  if (!err.empty()) {
    std::fprintf(stderr, "gazellectl: %s\n", err.c_str());
    return 1;
  }
  // ltran's own clock: the interval without our connects and the wait for its loop.
  const std::uint64_t ns = b.totals.uptime_ns - a.totals.uptime_ns;
  const double secs = b.totals.uptime_ns > a.totals.uptime_ns ? static_cast<double>(ns) / 1e9 : o.secs;
  if (o.mode == 'r') {
    print_rates(a, b, secs, o.json);
  } else if (o.mode == 'b') {
    print_bursts(a.totals, b.totals, secs, o.json);
  } else if (o.mode == 'l') {
    print_time_inside(a.totals, b.totals, secs, o.json);
  } else if (o.json) {
    print_json(a);
  } else if (o.mode == 'i') {
    print_instances(a);
  } else {
    print_totals(a.totals);
  }
  return 0;
}

int quit(const std::vector<std::string>& args) {
  std::string prefix;
  if (args.size() == 4 && args[2] == "-u") {
    prefix = args[3];
  } else if (args.size() != 2) {
    return ltran_usage();
  }
  Answer a;
  if (std::string err = ask(socket_path(prefix), wire::kLtranQuit, a); !err.empty()) {
    std::fprintf(stderr, "gazellectl: %s\n", err.c_str());
    return 1;
  }
  std::printf("ltran pid %u: stopping\n", a.pid);
  return 0;
}

}  // namespace

int ltran_command(const std::vector<std::string>& args) {
  if (args.size() >= 2 && args[1] == "show") return show(args);
  if (args.size() >= 2 && args[1] == "quit") return quit(args);
  if (args.size() >= 2) std::fprintf(stderr, "gazellectl: ltran takes show or quit, not '%s'\n", args[1].c_str());
  return ltran_usage();
}

}  // namespace gz::ctl
