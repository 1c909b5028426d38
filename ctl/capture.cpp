#include "capture.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <signal.h>
#include <unistd.h>

#include <pcap/pcap.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>

#include "control_client.hpp"

namespace gz::ctl {
namespace {

volatile sig_atomic_t g_stop = 0;
void on_signal(int) { g_stop = 1; }

struct CaptureOptions {
  std::string target, prefix, file, filter;
  unsigned long count = 0;    // 0: until stopped
  unsigned long rotate = 0;   // -G: seconds, 0: one file
  unsigned long snaplen = 262144;  // tcpdump's default
};

int capture_usage() {
  std::fprintf(stderr,
               "usage: gazellectl lstack capture PID|IP -w FILE [-f 'BPF filter'] [-c COUNT] [-G SECONDS] [-s SNAPLEN] "
               "[-u UNIX_PREFIX]\n");
  return 2;
}

bool to_ulong(const std::string& s, unsigned long& out) {
  if (s.empty() || s.find_first_not_of("0123456789") != std::string::npos || s.size() > 9) return false;
  out = std::strtoul(s.c_str(), nullptr, 10);
  return true;
}

int parse_capture(const std::vector<std::string>& args, CaptureOptions& o) {
  bool has_count = false;
  for (std::size_t i = 2; i < args.size(); ++i) {
    const std::string& a = args[i];
    const bool has_value = i + 1 < args.size();
    if (a == "-w" && has_value) {
      o.file = args[++i];
    } else if (a == "-f" && has_value) {
      o.filter = args[++i];
    } else if (a == "-u" && has_value) {
      o.prefix = args[++i];
    } else if ((a == "-c" && has_value && to_ulong(args[i + 1], o.count) && (has_count = true)) ||
               (a == "-G" && has_value && to_ulong(args[i + 1], o.rotate)) ||
               (a == "-s" && has_value && to_ulong(args[i + 1], o.snaplen))) {
      ++i;
    } else if (o.target.empty() && a[0] != '-') {
      o.target = a;
    } else {
      std::fprintf(stderr, "gazellectl: capture: unexpected argument '%s'\n", a.c_str());
      return capture_usage();
    }
  }
  if (o.snaplen == 0) o.snaplen = 262144;  // tcpdump: -s 0 means the default
  if (o.target.empty() || o.file.empty()) return capture_usage();
  const char* bad = o.file == "-" ? "-w -: the capture writes regular files only (lstack writes them itself)"
                    : o.rotate != 0 && o.file.find('%') == std::string::npos
                        ? "-G needs a FILE with strftime codes (like x-%H%M%S.pcap): each rotation starts a new file"
                    : has_count && o.count == 0 ? "-c takes 1 or more packets"
                                                : nullptr;
  if (bad != nullptr) {
    std::fprintf(stderr, "gazellectl: capture: %s\n", bad);
    return 2;
  }
  if (o.snaplen < 14 || o.snaplen > 262144) {
    std::fprintf(stderr, "gazellectl: capture: -s takes 14 to 262144 bytes\n");
    return 2;
  }
  return 0;
}

// FILE through strftime when rotating (tcpdump -G names files so).
std::string file_name(const CaptureOptions& o) {
  if (o.rotate == 0) return o.file;
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  localtime_r(&now, &tm);
  char buf[4096];
  const std::size_t n = std::strftime(buf, sizeof buf, o.file.c_str(), &tm);
  return n != 0 ? std::string(buf, n) : o.file;
}

// The pcap file gazellectl opens (its header written) and passes to lstack,
// which appends the frames; and the rotation (-G) to the next one.
class Dumper {
 public:
  Dumper(pcap_t* dead, const CaptureOptions& o) : dead_(dead), o_(o) {}
  ~Dumper() { close(); }
  bool open() {
    close();
    const std::string name = file_name(o_);
    d_ = pcap_dump_open(dead_, name.c_str());
    if (d_ == nullptr) {
      std::fprintf(stderr, "gazellectl: capture: %s\n", pcap_geterr(dead_));
      return false;
    }
    if (pcap_dump_flush(d_) != 0) {
      std::fprintf(stderr, "gazellectl: capture: %s: %s\n", name.c_str(), std::strerror(errno));
      return false;
    }
    struct stat st{};
    if (fstat(fd(), &st) != 0 || !S_ISREG(st.st_mode)) {
      std::fprintf(stderr, "gazellectl: capture: %s: not a regular file (the capture writes regular files only)\n", name.c_str());
      return false;
    }
    opened_ = std::time(nullptr);
    return true;
  }
  // lstack's writes go on from the header (one shared file offset).
  int fd() const { return fileno(pcap_dump_file(d_)); }
  void close() {
    if (d_ != nullptr) pcap_dump_close(d_);
    d_ = nullptr;
  }
  bool rotation_due() const {
    return o_.rotate != 0 && std::time(nullptr) - opened_ >= static_cast<std::time_t>(o_.rotate);
  }

 private:
  pcap_t* dead_;
  const CaptureOptions& o_;
  pcap_dumper_t* d_ = nullptr;
  std::time_t opened_ = 0;
};

// len bytes from buf with fd attached (SCM_RIGHTS).
bool send_with_fd(int sock, const void* buf, std::size_t len, int fd) {
  iovec iov{const_cast<void*>(buf), len};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  cmsghdr* c = CMSG_FIRSTHDR(&msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  std::memcpy(CMSG_DATA(c), &fd, sizeof fd);
  return sendmsg(sock, &msg, MSG_NOSIGNAL) == static_cast<ssize_t>(len);
}

// Sends the request with the file, and the compiled filter; "" or why lstack said no.
std::string request(int sock, const CaptureOptions& o, const bpf_program& prog, int file) {
  const wire::CtlRequest req{wire::kCtlMagic, wire::kWireVersion, wire::kCtlCapture,
                             static_cast<std::uint32_t>(o.snaplen)};
  const wire::CtlCaptureFilter f{prog.bf_len, 0, o.count};
  const std::size_t bytes = prog.bf_len * sizeof(bpf_insn);
  static_assert(sizeof(bpf_insn) == sizeof(wire::CtlBpfInsn));
  if (!send_with_fd(sock, &req, sizeof req, file) || send(sock, &f, sizeof f, MSG_NOSIGNAL) != sizeof f ||
      (bytes != 0 && send(sock, prog.bf_insns, bytes, MSG_NOSIGNAL) != static_cast<ssize_t>(bytes))) {
    return "no answer";
  }
  wire::CtlReplyHeader head{};
  std::string err = read_header(sock, head);
  if (err.find(std::strerror(EBUSY)) != std::string::npos) err = "another capture is running on it";
  return err;
}

struct Tally {
  wire::CtlCaptureReport last{};
  bool ended = false;  // lstack sent its last report
};

// Follows lstack's reports until its last one: COUNT reached, or after a
// signal (then our side is shut down and lstack finishes the file), or the
// process ending. Rotates the file when due.
Tally follow(int sock, Dumper& out) {
  Tally t;
  bool asked_to_stop = false;
  std::time_t stop_deadline = 0;
  for (;;) {
    if (g_stop != 0 && !asked_to_stop) {
      shutdown(sock, SHUT_WR);  // lstack writes what it holds and answers with its last report
      asked_to_stop = true;
      stop_deadline = std::time(nullptr) + 10;
    }
    if (asked_to_stop && std::time(nullptr) > stop_deadline) break;
    if (!asked_to_stop && out.rotation_due()) {  // lstack moves on to the new file at a record's end
      const char byte = 'R';
      if (!out.open() || !send_with_fd(sock, &byte, 1, out.fd())) break;
    }
    pollfd p{sock, POLLIN, 0};
    const int ready = poll(&p, 1, 200);
    if (ready < 0 && errno != EINTR) break;
    if (ready <= 0) continue;
    wire::CtlCaptureReport r{};
    if (!read_exactly(sock, &r, sizeof r)) break;
    t.last = r;
    if (r.kind == wire::kCaptureEnd) {
      t.ended = true;
      break;
    }
  }
  return t;
}

// The capture lstack runs: followed until its end; prints what tcpdump prints. Exit status.
int run_capture(int sock, std::uint32_t pid, const CaptureOptions& o, Dumper& out) {
  struct sigaction sa{};
  sa.sa_handler = on_signal;  // no SA_RESTART: poll returns at once
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  std::fprintf(stderr, "gazellectl: capturing lstack pid %u to %s, snaplen %lu%s%s\n", pid, o.file.c_str(), o.snaplen,
               o.filter.empty() ? "" : ", filter: ", o.filter.c_str());
  const Tally t = follow(sock, out);
  if (!t.ended) std::fprintf(stderr, "gazellectl: lstack pid %u ended the capture (the file holds what came before)\n", pid);
  if (t.last.error != 0) std::fprintf(stderr, "gazellectl: capture: writing the file failed: %s\n", std::strerror(t.last.error));
  std::fprintf(stderr, "%llu packets captured\n%llu packets dropped by lstack\n%llu packets refused by the filter\n",
               static_cast<unsigned long long>(t.last.frames), static_cast<unsigned long long>(t.last.dropped),
               static_cast<unsigned long long>(t.last.filtered));
  return t.last.error == 0 ? 0 : 1;
}

}  // namespace

int capture(const std::vector<std::string>& args) {
  CaptureOptions o;
  if (int rc = parse_capture(args, o); rc != 0) return rc;
  pcap_t* dead = pcap_open_dead_with_tstamp_precision(DLT_EN10MB, static_cast<int>(o.snaplen), PCAP_TSTAMP_PRECISION_NANO);
  bpf_program prog{};
  if (dead == nullptr) return 1;
  if (pcap_compile(dead, &prog, o.filter.c_str(), 1, PCAP_NETMASK_UNKNOWN) != 0 || prog.bf_len > wire::kCaptureMaxInsns) {
    std::fprintf(stderr, "gazellectl: capture: bad filter '%s': %s\n", o.filter.c_str(),
                 prog.bf_len > wire::kCaptureMaxInsns ? "more than 4096 BPF instructions" : pcap_geterr(dead));
    pcap_freecode(&prog);
    pcap_close(dead);
    return 2;
  }
  signal(SIGPIPE, SIG_IGN);  // lstack going away is an error return, not our death
  int status = 1;
  const std::vector<Target> targets = resolve(o.target, o.prefix);
  std::string err;
  Dumper out(dead, o);
  const int sock = targets.size() == 1 ? connect_control(targets[0], err) : -1;
  if (targets.size() > 1) {
    std::fprintf(stderr, "gazellectl: capture: %s names %zu processes; name one by its pid\n", o.target.c_str(), targets.size());
  } else if (sock < 0) {
    if (!targets.empty()) std::fprintf(stderr, "gazellectl: lstack pid %u: %s\n", targets[0].pid, err.c_str());
  } else if (!out.open()) {
    // said why
  } else if (err = request(sock, o, prog, out.fd()); !err.empty()) {
    std::fprintf(stderr, "gazellectl: lstack pid %u: capture: %s\n", targets[0].pid, err.c_str());
  } else {
    status = run_capture(sock, targets[0].pid, o, out);
  }
  if (sock >= 0) close(sock);
  pcap_freecode(&prog);
  out.close();
  pcap_close(dead);
  return status;
}

}  // namespace gz::ctl
