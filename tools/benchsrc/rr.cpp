// gz-rr: request/response load generator for tools/bench (runs on the kernel
// stack, in the peer namespace). CONNS connections, each with one request of
// SIZE bytes outstanding; every answer must echo the request. Prints one line:
//   conns=N size=B secs=S requests=R rps=X p50_us=A p99_us=B errors=E
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

struct Conn {
  int fd = -1;
  std::size_t got = 0;
  Clock::time_point sent_at;
};

int connect_to(const char* host, int port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  inet_pton(AF_INET, host, &a.sin_addr);
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  const int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    std::perror("gz-rr: connect");
    std::exit(1);
  }
  return fd;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 6) {
    std::fprintf(stderr, "usage: gz-rr HOST PORT CONNS SIZE SECONDS\n");
    return 2;
  }
  const int conns = std::atoi(argv[3]);
  const std::size_t size = std::strtoul(argv[4], nullptr, 10);
  const double secs = std::atof(argv[5]);
  std::vector<Conn> cs(static_cast<std::size_t>(conns));
  const int ep = epoll_create1(0);
  std::vector<char> req(size, 'x'), buf(65536);
  for (int i = 0; i < conns; ++i) {
    cs[i].fd = connect_to(argv[1], std::atoi(argv[2]));
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u32 = static_cast<uint32_t>(i);
    epoll_ctl(ep, EPOLL_CTL_ADD, cs[i].fd, &ev);
  }
  std::vector<double> lat;
  lat.reserve(1 << 22);
  long errors = 0;
  const auto start = Clock::now();
  const auto end = start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(secs));
  for (auto& c : cs) {
    c.sent_at = Clock::now();
    if (write(c.fd, req.data(), size) != static_cast<ssize_t>(size)) ++errors;
  }
  std::vector<epoll_event> evs(256);
  while (Clock::now() < end) {
    const int n = epoll_wait(ep, evs.data(), static_cast<int>(evs.size()), 1000);
    for (int i = 0; i < n; ++i) {
      Conn& c = cs[evs[i].data.u32];
      const ssize_t r = read(c.fd, buf.data(), buf.size());
      if (r <= 0) {
        ++errors;
        continue;
      }
      c.got += static_cast<std::size_t>(r);
      if (c.got < size) continue;
      const auto now = Clock::now();
      lat.push_back(std::chrono::duration<double, std::micro>(now - c.sent_at).count());
      c.got -= size;
      c.sent_at = now;
      if (write(c.fd, req.data(), size) != static_cast<ssize_t>(size)) ++errors;
    }
  }
  const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  std::sort(lat.begin(), lat.end());
  auto pct = [&](double p) { return lat.empty() ? 0.0 : lat[std::min(lat.size() - 1, static_cast<std::size_t>(p * lat.size()))]; };
  std::printf("conns=%d size=%zu secs=%.1f requests=%zu rps=%.0f p50_us=%.1f p99_us=%.1f errors=%ld\n", conns, size,
              elapsed, lat.size(), lat.size() / elapsed, pct(0.50), pct(0.99), errors);
  for (auto& c : cs) close(c.fd);
  return errors == 0 ? 0 : 1;
}
