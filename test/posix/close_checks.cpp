// close() and shutdown() from one thread while another is blocked on the fd
// (Linux: the blocked call holds the open file; close() neither wakes it nor
// frees the socket under it, shutdown() wakes it). Under ASan these would show
// a socket or epoll set freed under a running call.
#include "close_checks.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>

namespace {

struct Blocked {
  int fd = -1;
  int (*call)(int fd) = nullptr;
  std::atomic<int> started{0};
  std::atomic<int> rc{-2};
  std::atomic<int> err{0};
  std::atomic<pid_t> tid{0};
  std::atomic<bool> finished{false};  // the call returned (rc and err are set)
  pthread_t thread{};
};

void* run_blocked(void* arg) {
  auto* b = static_cast<Blocked*>(arg);
  b->tid = gettid();
  b->started = 1;
  const int rc = b->call(b->fd);
  b->err = errno;
  b->rc = rc;
  b->finished = true;
  return nullptr;
}

void sleep_ms(long ms) {
  timespec ts{ms / 1000, (ms % 1000) * 1000000L};
  nanosleep(&ts, nullptr);
}

bool start(Blocked& b) {
  if (pthread_create(&b.thread, nullptr, run_blocked, &b) != 0) return false;
  for (int i = 0; i < 300 && !b.started; ++i) sleep_ms(10);
  sleep_ms(100);  // into the call and asleep in it
  return true;
}

// The first line of /proc/self/task/TID/WHAT ("" when it cannot be read).
std::string task_line(pid_t tid, const char* what) {
  const std::string path = "/proc/self/task/" + std::to_string(tid) + "/" + what;
  char buf[512] = {};
  FILE* f = std::fopen(path.c_str(), "r");
  if (f == nullptr) return {};
  const std::size_t n = std::fread(buf, 1, sizeof buf - 1, f);
  std::fclose(f);
  std::string text(buf, n);
  if (const auto nl = text.find('\n'); nl != std::string::npos) text.resize(nl);
  return text;
}

// Waits (at most limit_ms) until the thread sleeps, in its call by then: the
// flag it sets comes just before the call, and a close before the call would
// test nothing (the call would meet a closed or another fd).
void wait_asleep(const Blocked& b, long limit_ms) {
  for (long waited = 0; waited < limit_ms; ++waited) {
    const std::string stat = task_line(b.tid.load(), "stat");
    if (stat.empty()) return;
    const auto state = stat.rfind(')');  // "pid (comm) S ..."
    if (state != std::string::npos && stat.compare(state, 3, ") S") == 0) return;
    sleep_ms(1);
  }
}

// What the kernel says a thread is doing: its state, the syscall it is in
// (number and arguments) and where it sleeps; for a call that did not end.
std::string whereabouts(pid_t tid) {
  std::string out;
  for (const char* what : {"stat", "syscall", "wchan"}) out += std::string(" ") + what + ": " + task_line(tid, what) + ";";
  return out;
}

// Joins within limit_ms (the monotonic clock: a step of the wall clock must
// neither cut the wait short nor stretch it); a thread still in its call is
// reported (where it is) and cancelled so the run goes on.
bool joined(Blocked& b, long limit_ms) {
  timespec start{}, now{};
  clock_gettime(CLOCK_MONOTONIC, &start);
  for (long waited = 0; !b.finished && waited < limit_ms;) {
    sleep_ms(2);
    clock_gettime(CLOCK_MONOTONIC, &now);
    waited = (now.tv_sec - start.tv_sec) * 1000L + (now.tv_nsec - start.tv_nsec) / 1000000L;
  }
  if (b.finished) {
    pthread_join(b.thread, nullptr);
    return true;
  }
  std::fprintf(stderr, "posix-check: thread %d still in its call after %ld ms:%s\n", static_cast<int>(b.tid.load()),
               limit_ms, whereabouts(b.tid.load()).c_str());
  pthread_cancel(b.thread);
  pthread_join(b.thread, nullptr);
  return false;
}

// As joined(), while this thread keeps calling poll() on fd: in run to
// completion (stack_mode_rtc) the socket's stack runs inside its owner
// thread's calls, so the owner must keep calling for packets to move.
bool joined_polling(Blocked& b, int fd, long limit_ms) {
  for (long waited = 0; waited < limit_ms && !b.finished; waited += 10) {
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, 10) > 0) sleep_ms(10);
  }
  return joined(b, 1000);
}

char g_buf[64];
int do_recv(int fd) { return static_cast<int>(recv(fd, g_buf, sizeof g_buf, 0)); }
int do_accept(int fd) { return accept(fd, nullptr, nullptr); }
int do_epoll_wait(int fd) {
  epoll_event ev[2];
  return epoll_wait(fd, ev, 2, 500);
}

int connect_echo(const char* peer, int port) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<std::uint16_t>(port));
  inet_pton(AF_INET, peer, &a.sin_addr);
  if (fd >= 0 && connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

void close_then_dup_sends(const char* peer, int port, const Check& check) {
  Blocked b;
  b.fd = connect_echo(peer, port);
  const int twin = b.fd >= 0 ? dup(b.fd) : -1;
  b.call = do_recv;
  if (twin < 0 || !start(b)) return check(false, "close-while-blocked: connect, dup and start a recv");
  close(b.fd);  // the recv keeps the socket: the dup still names it
  const bool sent = send(twin, "abc", 3, 0) == 3;
  const bool done = joined_polling(b, twin, 3000);
  check(done && sent && b.rc == 3 && std::memcmp(g_buf, "abc", 3) == 0,
        "a recv blocked on an fd another thread closed gets the echo sent through its dup (rc " +
            std::to_string(b.rc.load()) + ")");
  close(twin);
}

void shutdown_wakes_recv(const char* peer, int port, const Check& check) {
  Blocked b;
  b.fd = connect_echo(peer, port);
  b.call = do_recv;
  if (b.fd < 0 || !start(b)) return check(false, "shutdown-wakes: connect and start a recv");
  check(shutdown(b.fd, SHUT_RDWR) == 0, "shutdown(SHUT_RDWR) while another thread is in recv");
  const bool done = joined(b, 3000);
  check(done && b.rc == 0, "... wakes that recv, which reads 0 (rc " + std::to_string(b.rc.load()) + ")");
  close(b.fd);
}

void shutdown_wakes_accept(const char* local, const Check& check) {
  Blocked b;
  b.fd = socket(AF_INET, SOCK_STREAM, 0);
  const int one = 1;
  setsockopt(b.fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(7500);
  inet_pton(AF_INET, local, &a.sin_addr);
  b.call = do_accept;
  if (bind(b.fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || listen(b.fd, 4) != 0 || !start(b)) {
    close(b.fd);
    return check(false, "shutdown-wakes-accept: listen on 7500 and start an accept");
  }
  check(shutdown(b.fd, SHUT_RD) == 0, "shutdown(SHUT_RD) of a listener another thread accepts on");
  const bool done = joined(b, 3000);
  check(done && b.rc == -1 && b.err == EINVAL,
        std::string("... wakes that accept with EINVAL (") + (b.rc == -1 ? std::strerror(b.err) : "no error") + ")");
  close(b.fd);
}

void close_epoll_while_waiting(const char* peer, int port, const Check& check) {
  Blocked b;
  const int s = connect_echo(peer, port);
  b.fd = epoll_create1(0);
  epoll_event ev{};
  ev.events = EPOLLIN;
  epoll_ctl(b.fd, EPOLL_CTL_ADD, s, &ev);
  b.call = do_epoll_wait;
  if (s < 0 || !start(b)) return check(false, "close-epoll: connect and start an epoll_wait");
  close(b.fd);
  const bool done = joined(b, 3000);
  check(done && b.rc == 0, "an epoll_wait whose epoll fd another thread closed times out as usual (rc " +
                                          std::to_string(b.rc.load()) + ")");
  close(s);
}

// Each round: a recv with a 50 ms SO_RCVTIMEO; the fd is closed under it and
// its number reused at once by a new socket. The recv ends by its timeout.
void close_and_reuse_rounds(const char* peer, int port, const Check& check) {
  int good = 0;
  std::string bad;
  constexpr int kRounds = 40;
  for (int i = 0; i < kRounds; ++i) {
    Blocked b;
    b.fd = connect_echo(peer, port);
    timeval tv{0, 50000};
    setsockopt(b.fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    b.call = do_recv;
    if (b.fd < 0 || pthread_create(&b.thread, nullptr, run_blocked, &b) != 0) break;
    for (int w = 0; w < 3000 && !b.started; ++w) sleep_ms(1);
    wait_asleep(b, 30);
    close(b.fd);
    const int reuse = socket(AF_INET, SOCK_STREAM, 0);  // most likely the same number
    if (joined(b, 3000) && b.rc == -1 && (b.err == EAGAIN || b.err == EWOULDBLOCK)) {
      ++good;
    } else if (bad.size() < 200) {
      bad += " round " + std::to_string(i) + ": rc " + std::to_string(b.rc.load()) + " " + std::strerror(b.err) + ";";
    }
    close(reuse);
  }
  check(good == kRounds, "close under a recv with SO_RCVTIMEO, fd reused at once: " + std::to_string(good) + "/" +
                             std::to_string(kRounds) + " recvs end by their timeout" + bad);
}

}  // namespace

void close_checks(const char* peer, const char* local, int echo_port, const Check& check) {
  close_then_dup_sends(peer, echo_port, check);
  shutdown_wakes_recv(peer, echo_port, check);
  shutdown_wakes_accept(local, check);
  close_epoll_while_waiting(peer, echo_port, check);
  close_and_reuse_rounds(peer, echo_port, check);
}
