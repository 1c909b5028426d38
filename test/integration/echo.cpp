// gz-echo: a plain POSIX TCP program used by the integration tests. It knows
// nothing of lstack: the tests link it with liblstack (link mode) and run it
// against kernel peers in a network namespace.
//
//   gz-echo server PORT [close]         epoll echo server (non-blocking, level-triggered);
//                                        "close": each connection is closed by the server
//                                        once it has echoed what arrived (server closes first)
//   gz-echo udp-server PORT             blocking UDP echo (recvfrom/sendto)
//   gz-echo client HOST PORT CONNS BYTES  CONNS concurrent connections each send BYTES
//                                        of a pattern and check the echo byte for byte
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <unordered_map>
#include <vector>

namespace {

volatile sig_atomic_t g_stop = 0;
bool g_close_after_echo = false;

int fail(const char* what) {
  std::fprintf(stderr, "gz-echo: %s: %s\n", what, std::strerror(errno));
  return 1;
}

struct Conn {
  std::string pending;  // received, not yet echoed
};

void close_conn(int ep, int fd, std::unordered_map<int, Conn>& conns) {
  epoll_ctl(ep, EPOLL_CTL_DEL, fd, nullptr);
  close(fd);
  conns.erase(fd);
}

// Echo what can be echoed now; stop reading while output is pending.
void serve(int ep, int fd, std::uint32_t ev, std::unordered_map<int, Conn>& conns) {
  Conn& c = conns[fd];
  if (ev & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
    char buf[65536];
    const ssize_t n = read(fd, buf, sizeof buf);
    if (n == 0 || (n < 0 && errno != EAGAIN)) return close_conn(ep, fd, conns);
    if (n > 0) c.pending.append(buf, static_cast<std::size_t>(n));
  }
  while (!c.pending.empty()) {
    const ssize_t w = write(fd, c.pending.data(), c.pending.size());
    if (w < 0 && errno == EAGAIN) break;
    if (w < 0) return close_conn(ep, fd, conns);
    c.pending.erase(0, static_cast<std::size_t>(w));
  }
  if (g_close_after_echo && c.pending.empty()) return close_conn(ep, fd, conns);
  epoll_event e{};
  e.events = c.pending.empty() ? EPOLLIN : EPOLLOUT;
  e.data.fd = fd;
  epoll_ctl(ep, EPOLL_CTL_MOD, fd, &e);
}

int run_server(int port) {
  const int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  if (lfd < 0) return fail("socket");
  const int one = 1;
  setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  if (bind(lfd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) return fail("bind");
  if (listen(lfd, 1024) != 0) return fail("listen");
  const int ep = epoll_create1(EPOLL_CLOEXEC);
  epoll_event e{};
  e.events = EPOLLIN;
  e.data.fd = lfd;
  if (epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &e) != 0) return fail("epoll_ctl");
  std::printf("ready %d\n", port);
  std::fflush(stdout);
  std::unordered_map<int, Conn> conns;
  std::vector<epoll_event> evs(256);
  while (!g_stop) {
    const int n = epoll_wait(ep, evs.data(), static_cast<int>(evs.size()), 500);
    if (n < 0 && errno != EINTR) return fail("epoll_wait");
    for (int i = 0; i < n; ++i) {
      const int fd = evs[i].data.fd;
      if (fd != lfd) {
        serve(ep, fd, evs[i].events, conns);
        continue;
      }
      for (int c; (c = accept4(lfd, nullptr, nullptr, SOCK_NONBLOCK)) >= 0;) {
        epoll_event ce{};
        ce.events = EPOLLIN;
        ce.data.fd = c;
        epoll_ctl(ep, EPOLL_CTL_ADD, c, &ce);
        conns[c];
      }
    }
  }
  std::printf("stopped, %zu connections open\n", conns.size());
  return 0;
}

unsigned char pattern(std::size_t conn, std::size_t i) { return static_cast<unsigned char>((i * 131 + conn * 7 + (i >> 12)) & 0xff); }

struct ClientConn {
  int fd = -1;
  std::size_t sent = 0, got = 0;
  bool bad = false;
};

// All connections at once, poll-driven; every byte of every echo checked.
int run_client(const char* host, int port, std::size_t nconns, std::size_t bytes) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  if (inet_pton(AF_INET, host, &a.sin_addr) != 1) return fail("address");
  std::vector<ClientConn> cs(nconns);
  for (std::size_t k = 0; k < nconns; ++k) {
    cs[k].fd = socket(AF_INET, SOCK_STREAM, 0);
    if (cs[k].fd < 0) return fail("socket");
    if (connect(cs[k].fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) return fail("connect");
    fcntl(cs[k].fd, F_SETFL, O_NONBLOCK);
  }
  std::vector<unsigned char> buf(65536);
  std::size_t done = 0, rounds = 0;
  while (done < nconns && rounds++ < 10'000'000) {
    std::vector<pollfd> pf;
    for (auto& c : cs) {
      if (c.got < bytes && !c.bad) pf.push_back({c.fd, static_cast<short>(POLLIN | (c.sent < bytes ? POLLOUT : 0)), 0});
    }
    if (poll(pf.data(), pf.size(), 10000) <= 0) {
      for (std::size_t k = 0; k < nconns; ++k) {
        if (cs[k].got < bytes) std::fprintf(stderr, "conn %zu: sent %zu got %zu\n", k, cs[k].sent, cs[k].got);
      }
      return fail("poll (stalled 10 s)");
    }
    done = 0;
    for (std::size_t k = 0; k < nconns; ++k) {
      ClientConn& c = cs[k];
      if (c.sent < bytes) {
        const std::size_t n = std::min(buf.size(), bytes - c.sent);
        for (std::size_t i = 0; i < n; ++i) buf[i] = pattern(k, c.sent + i);
        const ssize_t w = write(c.fd, buf.data(), n);
        if (w > 0) c.sent += static_cast<std::size_t>(w);
      }
      const ssize_t r = read(c.fd, buf.data(), buf.size());
      for (ssize_t i = 0; i < r; ++i) c.bad |= buf[static_cast<std::size_t>(i)] != pattern(k, c.got + static_cast<std::size_t>(i));
      if (r > 0) c.got += static_cast<std::size_t>(r);
      if (r == 0 && c.got < bytes) c.bad = true;
      done += c.got >= bytes || c.bad;
    }
  }
  std::size_t bad = 0, complete = 0;
  for (auto& c : cs) {
    bad += c.bad;
    complete += c.got == bytes && !c.bad;
    close(c.fd);
  }
  std::printf("client: %zu/%zu connections echoed %zu bytes intact, %zu corrupt or short\n", complete, nconns, bytes, bad);
  return complete == nconns ? 0 : 1;
}

}  // namespace

// Echo every datagram back to its sender until SIGTERM.
int run_udp_server(int port) {
  const int fd = socket(AF_INET, SOCK_DGRAM, 0);
  if (fd < 0) return fail("socket");
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) return fail("bind");
  const timeval tv{0, 500000};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);  // wake up to notice SIGTERM
  char probe;
  (void)recv(fd, &probe, 1, MSG_DONTWAIT | MSG_PEEK);  // lstack starts at the first data call: before "ready"
  std::printf("ready udp %d\n", port);
  std::fflush(stdout);
  std::vector<char> buf(65536);
  std::size_t echoed = 0;
  while (!g_stop) {
    sockaddr_in from{};
    socklen_t flen = sizeof from;
    const ssize_t n = recvfrom(fd, buf.data(), buf.size(), 0, reinterpret_cast<sockaddr*>(&from), &flen);
    if (n < 0) continue;
    if (sendto(fd, buf.data(), static_cast<std::size_t>(n), 0, reinterpret_cast<sockaddr*>(&from), flen) == n) ++echoed;
  }
  std::printf("udp: echoed %zu datagrams\n", echoed);
  close(fd);
  return 0;
}

int main(int argc, char** argv) {
  signal(SIGPIPE, SIG_IGN);
  struct sigaction sa{};
  sa.sa_handler = [](int) { g_stop = 1; };
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);
  if ((argc == 3 || argc == 4) && std::strcmp(argv[1], "server") == 0) {
    g_close_after_echo = argc == 4 && std::strcmp(argv[3], "close") == 0;
    return run_server(std::atoi(argv[2]));
  }
  if (argc == 3 && std::strcmp(argv[1], "udp-server") == 0) return run_udp_server(std::atoi(argv[2]));
  if (argc == 6 && std::strcmp(argv[1], "client") == 0) {
    return run_client(argv[2], std::atoi(argv[3]), std::strtoul(argv[4], nullptr, 10), std::strtoul(argv[5], nullptr, 10));
  }
  std::fprintf(stderr, "usage: gz-echo server PORT [close] | udp-server PORT | client HOST PORT CONNS BYTES\n");
  return 2;
}
