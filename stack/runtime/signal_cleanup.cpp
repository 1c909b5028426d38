#include "signal_cleanup.hpp"

#include <fcntl.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <ctime>
#include <iterator>

#include "gz/kernel.hpp"

namespace gz::stack {
namespace {

constexpr int kMaxIfaces = 8;
constexpr int kMaxFiles = 4;
constexpr int kSignals[] = {SIGTERM, SIGINT, SIGHUP};

// Prepared at install: the handler reads only these.
struct Prepared {
  pid_t owner = 0;
  char runtime_dir[256] = {};
  char runtime_parent[256] = {};  // /var/run/dpdk: removed if that leaves it empty
  bool owns_runtime_dir = false;
  char files[kMaxFiles][256] = {};
  int n_files = 0;
  char control_socket[256] = {};
  int ifindex[kMaxIfaces] = {};
  int n_ifaces = 0;
  void (*flush)(void*) noexcept = nullptr;
  bool (*defer)(void*, int) noexcept = nullptr;
  std::atomic<void*> flush_ctx{nullptr};
  // One per signal of kSignals: re-sends it if a deferred end (defer_end)
  // finds no owner at rest in time.
  timer_t timers[std::size(kSignals)] = {};
  bool has_timer[std::size(kSignals)] = {};
  std::atomic<int> pending{0};  // the signal whose end was deferred
};
Prepared g_prep;

// How long a deferred end waits for a run-to-completion owner to come to rest
// before the signal is sent again and ends the process without it.
constexpr long kDeferNs = 200'000'000;

int slot_of(int sig) noexcept {
  for (std::size_t i = 0; i < std::size(kSignals); ++i) {
    if (kSignals[i] == sig) return static_cast<int>(i);
  }
  return -1;
}

void arm_timer(int slot, long ns) noexcept {
  if (slot < 0 || !g_prep.has_timer[slot]) return;
  const itimerspec its{{0, 0}, {ns / 1'000'000'000, ns % 1'000'000'000}};
  timer_settime(g_prep.timers[slot], 0, &its, nullptr);  // async-signal-safe (POSIX)
}

void disarm_timers() noexcept {
  for (int i = 0; i < static_cast<int>(std::size(kSignals)); ++i) arm_timer(i, 0);
}

void copy_path(char (&dst)[256], const std::string& src) {
  if (src.size() < sizeof dst) std::memcpy(dst, src.c_str(), src.size() + 1);
}

// Every entry of dir, then dir itself: open, getdents64, unlinkat, rmdir only.
void remove_dir(const char* dir) noexcept {
  // Raw system calls: open/close would be liblstack's own interposed ones.
  const int fd = static_cast<int>(syscall(SYS_openat, AT_FDCWD, dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (fd < 0) return;
  alignas(8) char buf[4096];
  for (;;) {
    const long n = syscall(SYS_getdents64, fd, buf, sizeof buf);
    if (n <= 0) break;
    for (long off = 0; off < n;) {
      struct Dirent64 {
        unsigned long long ino;
        long long off;
        unsigned short reclen;
        unsigned char type;
        char name[1];
      };
      const auto* d = reinterpret_cast<const Dirent64*>(buf + off);
      if (std::strcmp(d->name, ".") != 0 && std::strcmp(d->name, "..") != 0) unlinkat(fd, d->name, 0);
      off += d->reclen;
    }
  }
  syscall(SYS_close, fd);
  rmdir(dir);
}

// RTM_SETLINK with IFLA_XDP { FD = -1, FLAGS = mode }: detaches the program
// attached in that mode (rtnetlink(7); the af_xdp PMD attaches in one of them).
void detach_xdp(int ifindex, unsigned mode) noexcept {
  struct {
    nlmsghdr nh;
    ifinfomsg ifi;
    char attrs[64];
  } req{};
  req.nh.nlmsg_type = RTM_SETLINK;
  req.nh.nlmsg_flags = NLM_F_REQUEST;
  req.ifi.ifi_family = AF_UNSPEC;
  req.ifi.ifi_index = ifindex;
  auto* xdp = reinterpret_cast<rtattr*>(req.attrs);
  xdp->rta_type = IFLA_XDP | NLA_F_NESTED;
  auto* fd = reinterpret_cast<rtattr*>(reinterpret_cast<char*>(xdp) + RTA_LENGTH(0));
  fd->rta_type = IFLA_XDP_FD;
  fd->rta_len = RTA_LENGTH(sizeof(int));
  *static_cast<int*>(RTA_DATA(fd)) = -1;
  auto* flags = reinterpret_cast<rtattr*>(reinterpret_cast<char*>(fd) + RTA_ALIGN(fd->rta_len));
  flags->rta_type = IFLA_XDP_FLAGS;
  flags->rta_len = RTA_LENGTH(sizeof(unsigned));
  *static_cast<unsigned*>(RTA_DATA(flags)) = mode;
  xdp->rta_len = static_cast<unsigned short>(RTA_LENGTH(0) + RTA_ALIGN(fd->rta_len) + RTA_ALIGN(flags->rta_len));
  req.nh.nlmsg_len = NLMSG_LENGTH(sizeof req.ifi) + RTA_ALIGN(xdp->rta_len);
  const int s = static_cast<int>(syscall(SYS_socket, AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE));
  if (s < 0) return;
  sockaddr_nl to{};
  to.nl_family = AF_NETLINK;
  syscall(SYS_sendto, s, &req, req.nh.nlmsg_len, 0, &to, sizeof to);
  syscall(SYS_close, s);
}

void on_fatal_signal(int sig);

void set_handler(int sig, void (*fn)(int)) noexcept {
  struct sigaction sa {};
  sa.sa_handler = fn;
  sigemptyset(&sa.sa_mask);
  // SA_RESTART: a system call the signal interrupted restarts when the end is deferred.
  sa.sa_flags = fn == SIG_DFL ? 0 : SA_RESETHAND | SA_NODEFER | SA_RESTART;
  sigaction(sig, &sa, nullptr);
}

// The first of these signals finds a run-to-completion owner busy (inside
// lwIP, or in the program's own code): the end waits for its next rest
// (Runtime::defer_signal), for kDeferNs at most. True: deferred, the handler
// returns. The handler goes back in first, for the owner's raise.
bool defer_end(int sig) noexcept {
  const int slot = slot_of(sig);
  void* ctx = g_prep.flush_ctx.load();
  int none = 0;
  if (slot < 0 || !g_prep.has_timer[slot] || ctx == nullptr || g_prep.defer == nullptr ||
      !g_prep.pending.compare_exchange_strong(none, sig)) {
    return false;  // a second signal, or the timer's: the end is now
  }
  set_handler(sig, on_fatal_signal);
  arm_timer(slot, kDeferNs);
  if (g_prep.defer(ctx, sig)) return true;
  arm_timer(slot, 0);
  g_prep.pending.store(0);
  return false;
}

void on_fatal_signal(int sig) {
  const int saved = errno;
  if (getpid() == g_prep.owner) {  // not in a fork child: the files are its parent's
    if (defer_end(sig)) {
      errno = saved;
      return;
    }
    disarm_timers();
    if (void* ctx = g_prep.flush_ctx.exchange(nullptr); ctx != nullptr) g_prep.flush(ctx);
    for (int i = 0; i < g_prep.n_files; ++i) unlink(g_prep.files[i]);
    if (g_prep.owns_runtime_dir) remove_dir(g_prep.runtime_dir);
    if (g_prep.runtime_dir[0] != '\0') rmdir(g_prep.runtime_dir);  // shared: only once empty
    if (g_prep.runtime_parent[0] != '\0') rmdir(g_prep.runtime_parent);
    if (g_prep.control_socket[0] != '\0') unlink(g_prep.control_socket);
    for (int i = 0; i < g_prep.n_ifaces; ++i) {
      detach_xdp(g_prep.ifindex[i], XDP_FLAGS_DRV_MODE);
      detach_xdp(g_prep.ifindex[i], XDP_FLAGS_SKB_MODE);
    }
  }
  errno = saved;
  set_handler(sig, SIG_DFL);  // (SA_RESETHAND did, unless a deferral put the handler back)
  raise(sig);                 // SA_NODEFER: the default action now ends the process
}

}  // namespace

std::vector<std::string> af_xdp_ifaces(const std::vector<std::string>& dpdk_args) {
  std::vector<std::string> out;
  for (const std::string& a : dpdk_args) {
    if (a.find("net_af_xdp") == std::string::npos) continue;
    const auto at = a.find("iface=");
    if (at == std::string::npos) continue;
    out.push_back(a.substr(at + 6, a.find(',', at) == std::string::npos ? std::string::npos : a.find(',', at) - at - 6));
  }
  return out;
}

void install_signal_cleanup(const Leftovers& what) noexcept {
  g_prep.owner = getpid();
  copy_path(g_prep.runtime_dir, what.runtime_dir);
  copy_path(g_prep.runtime_parent, what.runtime_dir.substr(0, what.runtime_dir.rfind('/')));
  g_prep.owns_runtime_dir = what.owns_runtime_dir;
  for (const std::string& f : what.own_files) {
    if (g_prep.n_files < kMaxFiles) copy_path(g_prep.files[g_prep.n_files++], f);
  }
  copy_path(g_prep.control_socket, what.control_socket);
  g_prep.flush = what.flush;
  g_prep.defer = what.defer;
  g_prep.flush_ctx.store(what.flush != nullptr ? what.flush_ctx : nullptr);
  for (const std::string& name : what.xdp_ifaces) {
    const unsigned idx = if_nametoindex(name.c_str());
    if (idx != 0 && g_prep.n_ifaces < kMaxIfaces) g_prep.ifindex[g_prep.n_ifaces++] = static_cast<int>(idx);
  }
  for (std::size_t i = 0; i < std::size(kSignals); ++i) {
    const int sig = kSignals[i];
    struct sigaction old {};
    if (sigaction(sig, nullptr, &old) != 0 || old.sa_handler != SIG_DFL || (old.sa_flags & SA_SIGINFO)) continue;
    sigevent ev{};
    ev.sigev_notify = SIGEV_SIGNAL;
    ev.sigev_signo = sig;
    g_prep.has_timer[i] = timer_create(CLOCK_MONOTONIC, &ev, &g_prep.timers[i]) == 0;
    set_handler(sig, on_fatal_signal);
  }
}

void forget_signal_flush() noexcept {
  g_prep.flush_ctx.store(nullptr);
  disarm_timers();  // a deferred end is the exit's now (end_by_pending_signal): no re-sent signal in its flush
}

void end_by_pending_signal() noexcept {
  const int sig = g_prep.pending.load();
  if (sig == 0 || getpid() != g_prep.owner) return;
  struct sigaction now {};
  // A handler (or SIG_IGN) the program set since is its say: the exit stands.
  if (sigaction(sig, nullptr, &now) != 0 || now.sa_handler != on_fatal_signal) return;
  set_handler(sig, SIG_DFL);
  sigset_t one;
  sigemptyset(&one);
  sigaddset(&one, sig);
  pthread_sigmask(SIG_UNBLOCK, &one, nullptr);  // the exiting thread may block it: the signal came to another
  raise(sig);
}

}  // namespace gz::stack
