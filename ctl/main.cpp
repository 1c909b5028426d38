// gazellectl: shows what lstack processes and ltran are doing, through their
// control sockets (<run_dir>/<unix_prefix>lstack.<pid>.sock and
// <run_dir>/<unix_prefix>ltran.sock, gz/wire.hpp).
//
//   gazellectl lstack show [PID|IP] [-r [SECONDS] | -c] [--json] [-u PREFIX]
//   gazellectl lstack set PID|IP lowpower {0|1} | loglevel {error|info|debug} [-u PREFIX]
//   gazellectl lstack capture PID|IP -w FILE [-f FILTER] [-c COUNT] [-G SECONDS] [-s SNAPLEN] [-u PREFIX]
//   gazellectl ltran show [-r [SECONDS] | -b [SECONDS] | -l [SECONDS] | -i] [--json] [-u PREFIX]
//   gazellectl ltran quit [-u PREFIX]
//   gazellectl --version | --help
#include <arpa/inet.h>
#include <time.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "capture.hpp"
#include "control_client.hpp"
#include "gz/version.hpp"
#include "ltran.hpp"
#include "show.hpp"

namespace gz::ctl {
namespace {

struct Options {
  std::string target;  // "", a pid or an IPv4 address
  std::string prefix;  // unix_prefix
  char mode = 0;       // 0 counters, 'r' rates, 'c' connections, 's' SNMP, 'k' features, 'a' all, 'l' latency, 'x' xstats
  double secs = 1;     // -r's interval
  bool json = false;
};

int usage(FILE* out, int status) {
  std::fprintf(out,
               "usage: gazellectl lstack show [PID|IP] [-r [SECONDS] | -l [SECONDS] | -c | -s | -k | -x | -a] [--json] [-u UNIX_PREFIX]\n"
               "         no option  every counter, per stack and in total\n"
               "         -r         rates per second over SECONDS (default 1)\n"
               "         -c         the socket table, as ss -tuanp shows it\n"
               "         -s         MIB-II counters (Ip, Icmp, Tcp, Udp) with nstat's names\n"
               "         -k         the device's features and offloads, as ethtool -k words them\n"
               "         -x         the device's DPDK extended statistics (xstats)\n"
               "         -l         latency histograms (p50/p99/p99.9) recorded over SECONDS (default 1): receive,\n"
               "                    the stack's rx burst to the program's read; send, write() to the tx burst (TCP);\n"
               "                    device, each tx burst's call into the driver\n"
               "         -a         every counter summed over every process named (all by default)\n"
               "         --json     one JSON object per process, for scripts\n"
               "         PID|IP     the process with that pid, or serving that host_addr (default: every lstack process)\n"
               "       gazellectl lstack set PID|IP lowpower {0|1}            idle stacks sleep (1) or poll (0), at once\n"
               "       gazellectl lstack set PID|IP loglevel {error|info|debug}  DPDK's and lstack's log level\n"
               "       gazellectl lstack capture PID|IP -w FILE [-f 'BPF filter'] [-c COUNT] [-G SECONDS] [-s SNAPLEN]\n"
               "                  the frames the stacks receive and send, to a pcap file (tcpdump -r reads it);\n"
               "                  -c stops after COUNT, -G starts a new FILE (through strftime) every SECONDS,\n"
               "                  SIGINT/SIGTERM stop it\n"
               "       gazellectl ltran show [-r [SECONDS] | -b [SECONDS] | -l [SECONDS] | -i] [--json] [-u UNIX_PREFIX]\n"
               "         no option  ltran's totals: packets and bytes each way, drops by reason, flows, the bond\n"
               "         -i         one line per lstack process registered with ltran, with its claimed ports\n"
               "         -r         rates per second over SECONDS (default 1), in total and per process\n"
               "         -b         per second over SECONDS (default 1): rx and tx bursts by frames in the burst\n"
               "                    (and their mean), frames from the wire by length\n"
               "         -l         time frames spent inside ltran over SECONDS (default 1), p50/p99/p99.9/max:\n"
               "                    wire -> process (rx burst to memif queue), process -> wire (memif burst to tx queue)\n"
               "         --json     one JSON object: the totals by name and \"instances\": [...], or what -r, -b or -l show\n"
               "       gazellectl ltran quit [-u UNIX_PREFIX]                  stops ltran (root or ltran's user)\n"
               "       gazellectl --version | --help\n"
               "control sockets are looked up in $GAZELLE_RUN_DIR (default /var/run/gazelle), ltran's as <UNIX_PREFIX>ltran.sock\n");
  return status;
}

bool is_number(const std::string& s) { return !s.empty() && s.find_first_not_of("0123456789.") == std::string::npos; }

// Returns 0, or the exit status of a usage error (printed).
int parse(const std::vector<std::string>& args, Options& o) {
  for (std::size_t i = 2; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "-u" && i + 1 < args.size()) {
      o.prefix = args[++i];
    } else if (a == "--json") {
      o.json = true;
    } else if (a == "-r" || a == "-c" || a == "-s" || a == "-k" || a == "-a" || a == "-x" || a == "-l") {
      o.mode = a[1];
    } else if ((args[i - 1] == "-r" || args[i - 1] == "-l") && is_number(a) && a.find('.') == a.rfind('.')) {
      o.secs = std::atof(a.c_str());  // [time], as Gazelle's `show {ip|pid} -r|-l [time]`
    } else if (o.target.empty() && is_number(a)) {
      o.target = a;
    } else {
      std::fprintf(stderr, "gazellectl: unexpected argument '%s'\n", a.c_str());
      return usage(stderr, 2);
    }
  }
  if (o.secs <= 0 || o.secs > 3600) {
    std::fprintf(stderr, "gazellectl: -r and -l take 1 to 3600 seconds\n");
    return 2;
  }
  return 0;
}

// gazellectl lstack set TARGET lowpower|loglevel VALUE [-u PREFIX]
int set(const std::vector<std::string>& args) {
  if (args.size() != 5 && !(args.size() == 7 && args[5] == "-u")) return usage(stderr, 2);
  Options o;
  o.target = args[2];
  if (args.size() == 7) o.prefix = args[6];
  std::uint32_t command = 0, value = 0;
  const std::string& what = args[3];
  const std::string& v = args[4];
  if (what == "lowpower" && (v == "0" || v == "1")) {
    command = wire::kCtlSetLowPower;
    value = v == "1";
  } else if (what == "loglevel" && (v == "error" || v == "info" || v == "debug")) {
    command = wire::kCtlSetLogLevel;
    value = v == "error" ? wire::kLogError : v == "info" ? wire::kLogInfo : wire::kLogDebug;
  } else {
    std::fprintf(stderr, "gazellectl: set takes lowpower {0|1} or loglevel {error|info|debug}, not '%s %s'\n",
                 what.c_str(), v.c_str());
    return 2;
  }
  const std::vector<Target> targets = resolve(o.target, o.prefix);
  if (targets.empty()) return 1;
  int status = 0;
  for (const Target& t : targets) {
    Reply r;
    if (std::string err = query(t, command, r, value); !err.empty()) {
      std::fprintf(stderr, "gazellectl: lstack pid %u: %s\n", t.pid, err.c_str());
      status = 1;
    } else {
      std::printf("lstack pid %u: %s %s\n", t.pid, what.c_str(), v.c_str());
    }
  }
  return status;
}

bool show_one(const Target& t, const Options& o) {
  Reply a, b;
  const std::uint32_t command = o.mode == 'c' ? wire::kCtlConns : o.mode == 'x' ? wire::kCtlXstats : wire::kCtlStats;
  const std::uint32_t first = o.mode == 'l' ? wire::kCtlLatencyStart : command;
  // -l: the recording stops by itself a little after [time], should we not come back.
  std::string err = query(t, first, a, o.mode == 'l' ? static_cast<std::uint32_t>(o.secs) + 3 : 0);
  if (err.empty() && (o.mode == 'r' || o.mode == 'l')) {  // the second look, [time] later
    const timespec ts{static_cast<time_t>(o.secs), static_cast<long>((o.secs - static_cast<time_t>(o.secs)) * 1e9)};
    nanosleep(&ts, nullptr);
    err = query(t, o.mode == 'l' ? wire::kCtlLatencyRead : wire::kCtlStats, b);
  }
  if (!err.empty()) {
    std::fprintf(stderr, "gazellectl: lstack pid %u (%s): %s\n", t.pid, t.path.c_str(), err.c_str());
    return false;
  }
  if (o.mode == 'c') {
    print_connections(a, o.json);
  } else if (o.mode == 'r') {
    print_rates(a, b, o.secs, o.json);
  } else if (o.mode == 's') {
    print_snmp(a, o.json);
  } else if (o.mode == 'k') {
    print_features(a, o.json);
  } else if (o.mode == 'x') {
    print_xstats(a, o.json);
  } else if (o.mode == 'l') {
    print_latency(b, o.json);
  } else {
    print_counters(a, o.json);
  }
  return true;
}

}  // namespace
}  // namespace gz::ctl

int main(int argc, char** argv) {
  using namespace gz::ctl;
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty()) return usage(stderr, 2);
  if (args[0] == "--version" || args[0] == "-v") {
    std::printf("gazellectl %s\n", gz::kVersion);
    return 0;
  }
  if (args[0] == "--help" || args[0] == "-h") return usage(stdout, 0);
  if (args[0] == "ltran") return ltran_command(args);
  if (args.size() >= 2 && args[0] == "lstack" && args[1] == "set") return set(args);
  if (args.size() >= 2 && args[0] == "lstack" && args[1] == "capture") return capture(args);
  if (args.size() < 2 || args[0] != "lstack" || args[1] != "show") {
    std::fprintf(stderr, "gazellectl: unknown command '%s'\n", args[0].c_str());
    return usage(stderr, 2);
  }
  Options o;
  if (int rc = parse(args, o); rc != 0) return rc;
  const std::vector<Target> targets = resolve(o.target, o.prefix);
  if (targets.empty()) return 1;
  int status = 0;
  if (o.mode == 'a') {  // one sum over every process named
    std::vector<Reply> replies;
    for (const Target& t : targets) {
      Reply r;
      if (std::string err = query(t, gz::wire::kCtlStats, r); !err.empty()) {
        std::fprintf(stderr, "gazellectl: lstack pid %u: %s\n", t.pid, err.c_str());
        status = 1;
      } else {
        replies.push_back(std::move(r));
      }
    }
    print_all(replies, o.json);
    return status;
  }
  for (const Target& t : targets) status |= show_one(t, o) ? 0 : 1;
  return status;
}
