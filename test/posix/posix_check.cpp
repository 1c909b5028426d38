// One black-box program, run twice by posix.sh: on the kernel stack and linked
// with liblstack. It checks the socket semantics a server or client relies on
// (errno values, blocking and non-blocking behaviour, options, readiness);
// both runs must give the same, Linux, answers.
//   posix-check PEER_IP LOCAL_IP
// The peer (peer.py posix-peer) echoes on 9000, closes at once on 9002, dials
// back on 9003, and nothing listens on 9001.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/select.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>

#include "cancel_checks.hpp"
#include "close_checks.hpp"

namespace {

int g_passed = 0, g_failed = 0;
volatile sig_atomic_t g_sigpipe = 0;
const char* g_peer;
const char* g_local;

// Sockets used before main() (a library's constructor): under lstack this
// runs before the program has even parsed its arguments, and must just work.
int g_early_rc = -1;
__attribute__((constructor)) void before_main() {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  const int one = 1;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(7500);
  int type = 0;
  socklen_t len = sizeof type;
  const bool ok = fd >= 0 && setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) == 0 &&
                  bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 && listen(fd, 4) == 0 &&
                  getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) == 0 && type == SOCK_STREAM;
  g_early_rc = ok && close(fd) == 0 ? 0 : 1;
}

void check(bool ok, const std::string& what) {
  std::printf("%s: %s\n", ok ? "ok" : "FAIL", what.c_str());
  (ok ? g_passed : g_failed)++;
}

void check_errno(int rc, int want, const std::string& what) {
  const int got = errno;
  check(rc == -1 && got == want, what + " -> " + (rc == -1 ? std::strerror(got) : "success") + " (want " + std::strerror(want) + ")");
}

sockaddr_in addr(const char* ip, int port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  inet_pton(AF_INET, ip, &a.sin_addr);
  return a;
}

int tcp() { return socket(AF_INET, SOCK_STREAM, 0); }

int connect_to(int port) {
  const int fd = tcp();
  sockaddr_in a = addr(g_peer, port);
  return connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 ? fd : (close(fd), -1);
}

bool wait_for(int fd, short ev, int ms) {
  pollfd p{fd, ev, 0};
  return poll(&p, 1, ms) == 1 && (p.revents & ev);
}

void connect_checks() {
  const int fd = tcp();
  sockaddr_in closed = addr(g_peer, 9001);
  check_errno(connect(fd, reinterpret_cast<sockaddr*>(&closed), sizeof closed), ECONNREFUSED, "connect to a closed port");
  close(fd);

  const int nb = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  sockaddr_in echo = addr(g_peer, 9000);
  check_errno(connect(nb, reinterpret_cast<sockaddr*>(&echo), sizeof echo), EINPROGRESS, "non-blocking connect");
  check(wait_for(nb, POLLOUT, 3000), "poll POLLOUT once connected");
  int err = -1;
  socklen_t len = sizeof err;
  check(getsockopt(nb, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err == 0, "SO_ERROR is 0 after connecting");
  sockaddr_in me{}, them{};
  socklen_t ml = sizeof me, tl = sizeof them;
  getsockname(nb, reinterpret_cast<sockaddr*>(&me), &ml);
  getpeername(nb, reinterpret_cast<sockaddr*>(&them), &tl);
  char ip[32];
  inet_ntop(AF_INET, &me.sin_addr, ip, sizeof ip);
  check(std::string(ip) == g_local && me.sin_port != 0, std::string("getsockname is ") + ip + ", an ephemeral port");
  check(ntohs(them.sin_port) == 9000, "getpeername gives the peer's port");
  char buf[64];
  check_errno(static_cast<int>(recv(nb, buf, sizeof buf, 0)), EAGAIN, "recv with nothing to read (non-blocking)");
  check(send(nb, "hello", 5, 0) == 5, "send 5 bytes");
  check(wait_for(nb, POLLIN, 3000), "poll POLLIN for the echo");
  int avail = 0;
  ioctl(nb, FIONREAD, &avail);
  check(avail == 5, "FIONREAD is 5, got " + std::to_string(avail));
  check(recv(nb, buf, sizeof buf, 0) == 5 && std::memcmp(buf, "hello", 5) == 0, "the echo comes back");
  check(shutdown(nb, SHUT_WR) == 0, "shutdown(SHUT_WR)");
  check(wait_for(nb, POLLIN, 3000) && recv(nb, buf, sizeof buf, 0) == 0, "the peer's FIN reads as 0");
  close(nb);
}

void timeout_and_option_checks() {
  const int fd = connect_to(9000);
  check(fd >= 0, "blocking connect");
  timeval tv{0, 200000};
  check(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) == 0, "SO_RCVTIMEO 200 ms");
  char buf[16];
  const auto t0 = std::chrono::steady_clock::now();
  check_errno(static_cast<int>(recv(fd, buf, sizeof buf, 0)), EAGAIN, "blocking recv times out");
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count();
  check(ms >= 150 && ms < 2000, "... after about 200 ms (" + std::to_string(ms) + " ms)");
  int one = 1, v = 0;
  socklen_t len = sizeof v;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  check(getsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &v, &len) == 0 && v == 1, "TCP_NODELAY reads back 1");
  setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one);
  v = 0;
  check(getsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &v, &len) == 0 && v == 1, "SO_KEEPALIVE reads back 1");
  check(getsockopt(fd, SOL_SOCKET, SO_TYPE, &v, &len) == 0 && v == SOCK_STREAM, "SO_TYPE is SOCK_STREAM");
  tcp_info info{};
  socklen_t il = sizeof info;
  check(getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &il) == 0 && info.tcpi_state == TCP_ESTABLISHED,
        "TCP_INFO says ESTABLISHED");
  check_errno(setsockopt(fd, SOL_SOCKET, 0x7777, &one, sizeof one), ENOPROTOOPT, "unknown option");
  close(fd);
  check_errno(static_cast<int>(recv(fd, buf, sizeof buf, MSG_DONTWAIT)), EBADF, "recv on a closed fd");
}

void listener_checks() {
  const int fresh = tcp();
  sockaddr_in peer{};
  socklen_t len = sizeof peer;
  check_errno(getpeername(fresh, reinterpret_cast<sockaddr*>(&peer), &len), ENOTCONN, "getpeername unconnected");
  char c;
  check_errno(static_cast<int>(recv(fresh, &c, 1, 0)), ENOTCONN, "recv unconnected");
  close(fresh);
  const int l = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  sockaddr_in a = addr(g_local, 7000);
  check(bind(l, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 && listen(l, 16) == 0, "bind + listen on 7000");
  const int l2 = tcp();
  check_errno(bind(l2, reinterpret_cast<sockaddr*>(&a), sizeof a), EADDRINUSE, "second bind to the same port");
  close(l2);
  check_errno(accept(l, nullptr, nullptr), EAGAIN, "accept with nobody waiting (non-blocking)");
  int v = 0;
  len = sizeof v;
  check(getsockopt(l, SOL_SOCKET, SO_ACCEPTCONN, &v, reinterpret_cast<socklen_t*>(&len)) == 0 && v == 1,
        "SO_ACCEPTCONN on a listener");
  close(l);
}

void blocking_accept_check() {
  const int l = tcp();
  sockaddr_in a = addr(g_local, 7100);
  const int one = 1;
  setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  check(bind(l, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 && listen(l, 4) == 0, "listen on 7100");
  const int ask = connect_to(9003);  // the peer connects back to 7100
  send(ask, "7100", 4, 0);
  sockaddr_in from{};
  socklen_t fl = sizeof from;
  const int c = accept(l, reinterpret_cast<sockaddr*>(&from), &fl);  // blocks until the peer dials in
  char ip[32] = "";
  inet_ntop(AF_INET, &from.sin_addr, ip, sizeof ip);
  check(c >= 0 && std::string(ip) == g_peer, std::string("blocking accept returns the peer's connection from ") + ip);
  char buf[4] = {};
  check(c >= 0 && recv(c, buf, 2, MSG_WAITALL) == 2 && std::memcmp(buf, "hi", 2) == 0, "blocking recv of its greeting");
  if (c >= 0) close(c);
  close(ask);
  close(l);
}

// Loopback is the kernel's (under lstack the shim hands such sockets back).
void loopback_checks() {
  const int l = tcp();
  const int one = 1;
  setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in lo = addr("127.0.0.1", 7200);
  check(bind(l, reinterpret_cast<sockaddr*>(&lo), sizeof lo) == 0 && listen(l, 4) == 0, "listen on 127.0.0.1:7200");
  const int c = tcp();
  check(connect(c, reinterpret_cast<sockaddr*>(&lo), sizeof lo) == 0, "connect to 127.0.0.1:7200");
  const int a = accept(l, nullptr, nullptr);
  char buf[8] = {};
  check(a >= 0 && send(c, "lo", 2, 0) == 2 && recv(a, buf, 2, MSG_WAITALL) == 2 && std::memcmp(buf, "lo", 2) == 0,
        "bytes cross loopback");
  int v = 0;
  socklen_t vl = sizeof v;
  check(getsockopt(l, SOL_SOCKET, SO_REUSEADDR, &v, &vl) == 0 && v != 0, "SO_REUSEADDR set before bind is kept");
  if (a >= 0) close(a);
  close(c);
  close(l);
}

void readiness_checks() {
  const int fd = connect_to(9000);
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
  check((fcntl(fd, F_GETFL) & O_NONBLOCK) != 0, "F_GETFL shows O_NONBLOCK");
  const int ep = epoll_create1(0);
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLET;
  ev.data.u64 = 42;
  check(epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) == 0, "epoll_ctl ADD (EPOLLET)");
  check_errno(epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev), EEXIST, "epoll_ctl ADD twice");
  send(fd, "ping", 4, 0);
  epoll_event out[4];
  check(epoll_wait(ep, out, 4, 3000) == 1 && out[0].data.u64 == 42 && (out[0].events & EPOLLIN), "epoll_wait: EPOLLIN");
  char buf[16];
  while (recv(fd, buf, sizeof buf, 0) > 0) {
  }
  check(epoll_wait(ep, out, 4, 100) == 0, "EPOLLET: nothing more until new data");
  send(fd, "pong", 4, 0);
  fd_set rd;
  FD_ZERO(&rd);
  FD_SET(fd, &rd);
  timeval tv{3, 0};
  check(select(fd + 1, &rd, nullptr, nullptr, &tv) == 1 && FD_ISSET(fd, &rd), "select: readable");
  check(epoll_ctl(ep, EPOLL_CTL_DEL, fd, nullptr) == 0, "epoll_ctl DEL");
  // One set holding a socket and a pipe (a kernel fd): both kinds report.
  int pipefd[2];
  check(pipe(pipefd) == 0, "pipe");
  epoll_event pe{};
  pe.events = EPOLLIN;
  pe.data.u64 = 7;
  epoll_ctl(ep, EPOLL_CTL_ADD, pipefd[0], &pe);
  ev.events = EPOLLIN;
  ev.data.u64 = 42;
  epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
  check(write(pipefd[1], "p", 1) == 1 && epoll_wait(ep, out, 4, 3000) >= 1, "mixed set: the pipe wakes epoll_wait");
  bool pipe_seen = false, sock_seen = false;
  send(fd, "s", 1, 0);
  for (int round = 0; round < 30 && !(pipe_seen && sock_seen); ++round) {
    const int n = epoll_wait(ep, out, 4, 100);
    for (int i = 0; i < n; ++i) {
      pipe_seen |= out[i].data.u64 == 7;
      sock_seen |= out[i].data.u64 == 42;
    }
  }
  check(pipe_seen && sock_seen, "mixed set: the socket and the pipe both report EPOLLIN");
  close(pipefd[0]);
  close(pipefd[1]);
  close(ep);
  close(fd);
}

void oneshot_and_rdhup_checks() {
  const int fd = connect_to(9000);
  const int ep = epoll_create1(0);
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLONESHOT;
  epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
  send(fd, "a", 1, 0);
  epoll_event out[2];
  check(epoll_wait(ep, out, 2, 3000) == 1, "EPOLLONESHOT: the first event comes");
  check(epoll_wait(ep, out, 2, 100) == 0, "EPOLLONESHOT: then none, though data is still unread");
  ev.events = EPOLLIN | EPOLLONESHOT;
  check(epoll_ctl(ep, EPOLL_CTL_MOD, fd, &ev) == 0 && epoll_wait(ep, out, 2, 3000) == 1,
        "EPOLLONESHOT: EPOLL_CTL_MOD re-arms it");
  close(fd);
  const int closing = connect_to(9002);  // the peer closes at once
  epoll_event rd{};
  rd.events = EPOLLRDHUP;
  epoll_ctl(ep, EPOLL_CTL_ADD, closing, &rd);
  check(epoll_wait(ep, out, 2, 3000) == 1 && (out[0].events & EPOLLRDHUP), "EPOLLRDHUP when the peer closes");
  close(closing);
  close(ep);
}

void epipe_checks() {
  const int fd = connect_to(9002);  // the peer closes at once
  check(fd >= 0, "connect to the closing peer");
  char buf[16];
  check(wait_for(fd, POLLIN, 3000) && recv(fd, buf, sizeof buf, 0) == 0, "its FIN reads as 0");
  int err = 0;
  for (int i = 0; i < 200 && err == 0; ++i) {  // the first sends may still be taken, then RST arrives
    if (send(fd, "x", 1, MSG_NOSIGNAL) < 0) err = errno;
    usleep(10000);
  }
  check(err == EPIPE || err == ECONNRESET, std::string("send after the peer closed fails: ") + std::strerror(err));
  g_sigpipe = 0;
  const int rc = static_cast<int>(send(fd, "x", 1, 0));
  check(rc == -1 && errno == EPIPE && g_sigpipe == 1, "then EPIPE, and SIGPIPE without MSG_NOSIGNAL");
  close(fd);
}

// fcntl (glibc links it as fcntl64), dup, dup2, F_DUPFD_CLOEXEC: every fd
// names the same connection; it lives until the last of them is closed.
void fd_checks() {
  const int fd = connect_to(9000);
  check(fd >= 0 && fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) == 0, "fcntl F_SETFL O_NONBLOCK");
  char buf[64];
  check_errno(static_cast<int>(recv(fd, buf, sizeof buf, 0)), EAGAIN, "recv after fcntl(O_NONBLOCK)");
  const int d = dup(fd);
  check(d >= 0 && d != fd && send(d, "dup", 3, 0) == 3, "dup, then send through the copy");
  check(wait_for(fd, POLLIN, 3000) && recv(fd, buf, sizeof buf, 0) == 3, "the echo reads through the original");
  close(fd);
  check(send(d, "again", 5, 0) == 5 && wait_for(d, POLLIN, 3000) && recv(d, buf, sizeof buf, 0) == 5,
        "closing the original leaves the copy connected");
  const int high = dup2(d, 200);
  check(high == 200 && send(200, "d2", 2, 0) == 2 && wait_for(200, POLLIN, 3000) && recv(200, buf, sizeof buf, 0) == 2,
        "dup2 onto fd 200 works the same");
  const int cx = fcntl(d, F_DUPFD_CLOEXEC, 300);
  check(cx >= 300 && (fcntl(cx, F_GETFD) & FD_CLOEXEC) != 0, "F_DUPFD_CLOEXEC gives fd >= 300 with FD_CLOEXEC");
  close(d);
  close(200);
  check(send(cx, "x", 1, 0) == 1 && wait_for(cx, POLLIN, 3000) && recv(cx, buf, sizeof buf, 0) == 1,
        "the last copy still works");
  close(cx);
}

// Built with _FORTIFY_SOURCE=2, lengths unknown at compile time make these
// __recv_chk, __read_chk, __recvfrom_chk and __poll_chk (the shim serves them too).
void fortified_checks() {
  const int fd = connect_to(9000);
  volatile std::size_t n = 4;
  volatile nfds_t one = 1;
  char buf[16];
  pollfd p[1] = {{fd, POLLIN, 0}};
  check(send(fd, "chk1chk2chk3", 12, 0) == 12 && poll(p, one, 3000) == 1, "__poll_chk sees the echo");
  check(recv(fd, buf, n, MSG_WAITALL) == 4 && read(fd, buf + 4, n) == 4, "__recv_chk and __read_chk read it");
  check(recvfrom(fd, buf + 8, n, MSG_WAITALL, nullptr, nullptr) == 4 && std::memcmp(buf, "chk1chk2chk3", 12) == 0,
        "__recvfrom_chk reads the rest");
  close(fd);
}

// sendfile from a file to a socket (nginx): with an offset, the file position
// stays; without, it moves by what was sent.
void sendfile_checks() {
  char path[] = "/tmp/posix-check-XXXXXX";
  const int file = mkstemp(path);
  unlink(path);
  std::string data(200000, '\0');
  for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>('a' + (i * 7) % 26);
  check(file >= 0 && write(file, data.data(), data.size()) == static_cast<ssize_t>(data.size()), "a 200 kB file");
  const int fd = connect_to(9000);
  off_t off = 0;
  ssize_t total = 0, got = 0;
  while (total < 150000) {
    const ssize_t n = sendfile(fd, file, &off, 150000 - total);
    if (n <= 0) break;
    total += n;
  }
  check(total == 150000 && off == 150000 && lseek(file, 0, SEEK_CUR) == static_cast<off_t>(data.size()),
        "sendfile with an offset: 150000 bytes, offset moved, file position not");
  lseek(file, 150000, SEEK_SET);
  const ssize_t rest = sendfile(fd, file, nullptr, 100000);
  check(rest == 50000 && lseek(file, 0, SEEK_CUR) == static_cast<off_t>(data.size()),
        "sendfile without an offset sends the rest (" + std::to_string(rest) + ") and moves the file position");
  std::string back(data.size(), '\0');
  while (got < static_cast<ssize_t>(back.size())) {
    const ssize_t n = recv(fd, &back[got], back.size() - got, 0);
    if (n <= 0) break;
    got += n;
  }
  check(back == data, "the echo returns the file byte for byte");
  close(fd);
  close(file);
}

// fork: a child that closes its copies (or execs) leaves the parent's
// connection alone.
void fork_checks() {
  const int fd = connect_to(9000);
  const pid_t child = fork();
  if (child == 0) {
    close(fd);
    _exit(0);
  }
  int st = -1;
  check(child > 0 && waitpid(child, &st, 0) == child && WIFEXITED(st) && WEXITSTATUS(st) == 0,
        "a forked child closes the socket and exits 0");
  char buf[8];
  check(send(fd, "fk", 2, 0) == 2 && wait_for(fd, POLLIN, 3000) && recv(fd, buf, sizeof buf, 0) == 2,
        "the parent's connection still works");
  // vfork shares memory with the parent (Python's subprocess uses it): the
  // child's close and close_range must still only close the child's fds.
  const pid_t vchild = vfork();
  if (vchild == 0) {
    close(fd);
    close_range(3, ~0U, 0);
    _exit(0);
  }
  check(vchild > 0 && waitpid(vchild, &st, 0) == vchild && WIFEXITED(st) && WEXITSTATUS(st) == 0,
        "a vfork child closes the socket and every fd from 3 up, and exits 0");
  check(send(fd, "vf", 2, 0) == 2 && wait_for(fd, POLLIN, 3000) && recv(fd, buf, sizeof buf, 0) == 2,
        "the parent's connection still works after the vfork child");
  const pid_t execer = fork();
  if (execer == 0) {
    execl("/bin/true", "true", static_cast<char*>(nullptr));
    _exit(127);
  }
  check(execer > 0 && waitpid(execer, &st, 0) == execer && WIFEXITED(st) && WEXITSTATUS(st) == 0,
        "a forked child that execs /bin/true exits 0");
  close(fd);
}

// A listener on INADDR_ANY is also reachable over loopback (under lstack its
// kernel fd listens too), through epoll and accept.
void any_address_checks() {
  const int l = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  const int one = 1;
  setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in any = addr("0.0.0.0", 7400);
  check(bind(l, reinterpret_cast<sockaddr*>(&any), sizeof any) == 0 && listen(l, 8) == 0, "listen on 0.0.0.0:7400");
  const int ep = epoll_create1(0);
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = 7;
  epoll_ctl(ep, EPOLL_CTL_ADD, l, &ev);
  const int c = tcp();
  sockaddr_in lo = addr("127.0.0.1", 7400);
  check(connect(c, reinterpret_cast<sockaddr*>(&lo), sizeof lo) == 0, "connect to 127.0.0.1:7400");
  epoll_event out[2];
  check(epoll_wait(ep, out, 2, 3000) >= 1 && out[0].data.u64 == 7, "epoll_wait sees the loopback client");
  const int a = accept(l, nullptr, nullptr);
  char buf[4] = {};
  check(a >= 0 && send(c, "any", 3, 0) == 3 && recv(a, buf, 3, MSG_WAITALL) == 3 && std::memcmp(buf, "any", 3) == 0,
        "accept returns it and bytes cross");
  check_errno(accept(l, nullptr, nullptr), EAGAIN, "then accept has nothing more");
  if (a >= 0) close(a);
  close(c);
  close(ep);
  close(l);
  // The same with a blocking listener: accept waits for the loopback client.
  const int bl = tcp();
  setsockopt(bl, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in any2 = addr("0.0.0.0", 7401);
  check(bind(bl, reinterpret_cast<sockaddr*>(&any2), sizeof any2) == 0 && listen(bl, 8) == 0, "blocking listen on 0.0.0.0:7401");
  const int c2 = tcp();
  sockaddr_in lo2 = addr("127.0.0.1", 7401);
  check(connect(c2, reinterpret_cast<sockaddr*>(&lo2), sizeof lo2) == 0, "connect to 127.0.0.1:7401");
  const int a2 = accept(bl, nullptr, nullptr);
  check(a2 >= 0 && send(a2, "ok", 2, 0) == 2 && recv(c2, buf, 2, MSG_WAITALL) == 2, "blocking accept returns the loopback client");
  if (a2 >= 0) close(a2);
  close(c2);
  close(bl);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: posix-check PEER_IP LOCAL_IP\n");
    return 2;
  }
  g_peer = argv[1];
  g_local = argv[2];
  signal(SIGPIPE, [](int) { g_sigpipe = 1; });
  check(g_early_rc == 0, "before main(): socket, setsockopt, bind, listen, getsockopt, close");
  connect_checks();
  timeout_and_option_checks();
  listener_checks();
  readiness_checks();
  blocking_accept_check();
  loopback_checks();
  oneshot_and_rdhup_checks();
  epipe_checks();
  fd_checks();
  fortified_checks();
  sendfile_checks();
  fork_checks();
  any_address_checks();
#ifdef __SANITIZE_ADDRESS__
  // ASan's runtime aborts in the forced unwind of a cancelled thread (its
  // sigaltstack interceptor, asan_thread.cpp:371), on the kernel as on lstack:
  // the normal build runs these checks.
  std::printf("posix-check: cancel checks not run under AddressSanitizer\n");
#else
  cancel_checks(g_peer, g_local, 9000, check);
#endif
  close_checks(g_peer, g_local, 9000, check);
  std::printf("posix-check: %d passed, %d failed\n", g_passed, g_failed);
  std::fflush(stdout);
  leave_thread_blocked(g_peer, 9000);  // returning from main with it blocked must not hang
  return g_failed == 0 ? 0 : 1;
}
