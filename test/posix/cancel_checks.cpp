// pthread_cancel of a thread blocked in a socket call (POSIX XSH 2.9.5.2: each
// of these is a cancellation point): the thread unwinds, its cleanup handler
// runs, it is joinable, and the process carries on. Then a thread still blocked
// in recv when main() returns: exit must not hang.
#include "cancel_checks.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <string>

namespace {

struct Case {
  const char* what;
  int fd;
  int (*block)(int fd);  // the blocking call; returns only if it was not cancelled
  std::atomic<int> started{0};
  std::atomic<int> cleaned{0};
  std::atomic<int> returned{0};
};

void cleanup(void* arg) { static_cast<Case*>(arg)->cleaned = 1; }

void* blocker(void* arg) {
  auto* c = static_cast<Case*>(arg);
  pthread_cleanup_push(cleanup, c);
  c->started = 1;
  c->block(c->fd);
  c->returned = 1;
  pthread_cleanup_pop(0);
  return nullptr;
}

char g_buf[64];
sockaddr_in g_nowhere{};  // an address of the peer's subnet that nobody answers

int do_recv(int fd) { return static_cast<int>(recv(fd, g_buf, sizeof g_buf, 0)); }
int do_read(int fd) { return static_cast<int>(read(fd, g_buf, sizeof g_buf)); }
int do_recvmsg(int fd) {
  iovec iov{g_buf, sizeof g_buf};
  msghdr m{};
  m.msg_iov = &iov;
  m.msg_iovlen = 1;
  return static_cast<int>(recvmsg(fd, &m, 0));
}
int do_accept(int fd) { return accept(fd, nullptr, nullptr); }
// Never reading the echo: both ends' buffers fill up (their sizes vary with the
// kernel's autotuning, so it keeps sending until a send blocks) and send blocks.
int do_send(int fd) {
  static char big[4 << 20];
  for (;;) {
    if (send(fd, big, sizeof big, MSG_NOSIGNAL) < 0) return -1;
  }
}
int do_connect(int fd) { return connect(fd, reinterpret_cast<sockaddr*>(&g_nowhere), sizeof g_nowhere); }
int do_poll(int fd) {
  pollfd p{fd, POLLIN, 0};
  return poll(&p, 1, -1);
}
int do_select(int fd) {
  fd_set rd;
  FD_ZERO(&rd);
  FD_SET(fd, &rd);
  return select(fd + 1, &rd, nullptr, nullptr, nullptr);
}
int do_epoll_wait(int fd) {
  const int ep = epoll_create1(EPOLL_CLOEXEC);
  epoll_event ev{};
  ev.events = EPOLLIN;
  epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
  epoll_event out[1];
  pthread_cleanup_push([](void* p) { close(*static_cast<int*>(p)); }, const_cast<int*>(&ep));
  epoll_wait(ep, out, 1, -1);
  pthread_cleanup_pop(1);
  return 0;
}

double now_s() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

// Waits for the thread, at most 5 s. Main polls one of its sockets meanwhile:
// in run-to-completion mode that is what drives the stack the sockets live on
// (as a real program's event loop does).
bool join_within(pthread_t t, int drive_fd, void** rv) {
  const double end = now_s() + 5;
  while (now_s() < end) {
    if (pthread_tryjoin_np(t, rv) == 0) return true;
    pollfd p{drive_fd, POLLIN, 0};
    poll(&p, 1, 10);
  }
  return false;
}

void run_case(Case& c, int drive_fd, const Check& check) {
  pthread_t t;
  if (pthread_create(&t, nullptr, blocker, &c) != 0) {
    check(false, std::string("pthread_create for the ") + c.what + " case");
    return;
  }
  for (int i = 0; i < 500 && !c.started; ++i) usleep(1000);
  // Give the call time to block, then cancel it (driving the stack meanwhile).
  const double until = now_s() + 0.3;
  while (now_s() < until) {
    pollfd p{drive_fd, POLLIN, 0};
    poll(&p, 1, 10);
  }
  pthread_cancel(t);
  void* rv = nullptr;
  const bool joined = join_within(t, drive_fd, &rv);
  check(joined && rv == PTHREAD_CANCELED && c.cleaned && !c.returned,
        std::string("pthread_cancel of a thread blocked in ") + c.what + ": " +
            (!joined ? "not joinable within 5 s" : c.returned ? "the call returned instead" :
             !c.cleaned ? "cleanup handler did not run" : rv != PTHREAD_CANCELED ? "not PTHREAD_CANCELED" : "cancelled, cleaned up, joined"));
  if (!joined) pthread_detach(t);
}

sockaddr_in ipv4(const char* ip, int port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  inet_pton(AF_INET, ip, &a.sin_addr);
  return a;
}

int connect_tcp(const sockaddr_in& a) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  return connect(fd, reinterpret_cast<const sockaddr*>(&a), sizeof a) == 0 ? fd : (close(fd), -1);
}

}  // namespace

void cancel_checks(const char* peer, const char* local, int echo_port, const Check& check) {
  const sockaddr_in echo = ipv4(peer, echo_port);
  const int quiet = connect_tcp(echo);  // the echo server's: silent unless we send
  check(quiet >= 0, "a silent connection to the echo server for the cancel checks");
  if (quiet < 0) return;
  const int l = socket(AF_INET, SOCK_STREAM, 0);
  const int one = 1;
  setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in la = ipv4(local, 7600);
  check(bind(l, reinterpret_cast<sockaddr*>(&la), sizeof la) == 0 && listen(l, 4) == 0, "listen on 7600 (nobody dials)");
  g_nowhere = ipv4(peer, 9100);
  g_nowhere.sin_addr.s_addr = htonl((ntohl(g_nowhere.sin_addr.s_addr) & ~0xffU) | 0xfe);  // .254: no host there
  const int pending = socket(AF_INET, SOCK_STREAM, 0);
  const int flood = connect_tcp(echo);  // its own: the stream is left half-sent
  Case cases[] = {{"recv", quiet, do_recv},       {"read", quiet, do_read},   {"recvmsg", quiet, do_recvmsg},
                  {"accept", l, do_accept},       {"poll", quiet, do_poll},   {"select", quiet, do_select},
                  {"epoll_wait", quiet, do_epoll_wait}, {"connect (no answer)", pending, do_connect},
                  {"send (buffers full)", flood, do_send}};
  for (Case& c : cases) run_case(c, quiet, check);
  // The process carries on: the same connection still echoes.
  char buf[8] = {};
  check(send(quiet, "alive", 5, 0) == 5 && recv(quiet, buf, 5, MSG_WAITALL) == 5 && std::memcmp(buf, "alive", 5) == 0,
        "after the cancels, the connection they blocked on still echoes");
  close(pending);
  close(flood);
  close(l);
  close(quiet);
}

void leave_thread_blocked(const char* peer, int echo_port) {
  static int fd = connect_tcp(ipv4(peer, echo_port));
  pthread_t t;
  pthread_create(
      &t, nullptr,
      [](void*) -> void* {
        char b[8];
        recv(fd, b, sizeof b, 0);
        return nullptr;
      },
      nullptr);
  usleep(100000);
}
