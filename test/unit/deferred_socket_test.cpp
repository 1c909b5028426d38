// DeferredSocket before lstack starts: what it records and answers (no DPDK,
// no hugepages), and a start that fails on a missing config.
#include "deferred_socket.hpp"
#include "process.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>

#include <cstdlib>

namespace gz::stack {
namespace {

sockaddr_in any_port(int port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  return a;
}

int int_option(SocketBase& s, int level, int name) {
  int v = -1;
  socklen_t len = sizeof v;
  const int rc = s.getsockopt(level, name, &v, &len);
  return rc < 0 ? rc : v;
}

TEST(DeferredSocket, RecordsBindListenAndAnswersBeforeStart) {
  auto* s = new DeferredSocket(Process::get(), SOCK_STREAM, 0);
  EXPECT_TRUE(s->deferred());
  EXPECT_EQ(s->real(), nullptr);
  sockaddr_in a = any_port(7000);
  EXPECT_EQ(s->bind(reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  EXPECT_EQ(s->bind(reinterpret_cast<sockaddr*>(&a), sizeof a), -EINVAL) << "bound twice";
  sockaddr_in got{};
  socklen_t len = sizeof got;
  ASSERT_EQ(s->getsockname(reinterpret_cast<sockaddr*>(&got), &len), 0);
  EXPECT_EQ(ntohs(got.sin_port), 7000);
  EXPECT_EQ(got.sin_family, AF_INET);
  EXPECT_EQ(int_option(*s, SOL_SOCKET, SO_ACCEPTCONN), 0);
  EXPECT_EQ(s->listen(16), 0);
  EXPECT_EQ(s->listen(128), 0) << "a second listen only changes the backlog";
  EXPECT_EQ(int_option(*s, SOL_SOCKET, SO_ACCEPTCONN), 1);
  EXPECT_EQ(int_option(*s, SOL_SOCKET, SO_TYPE), SOCK_STREAM);
  EXPECT_EQ(int_option(*s, SOL_SOCKET, SO_PROTOCOL), IPPROTO_TCP);
  EXPECT_EQ(int_option(*s, SOL_SOCKET, SO_ERROR), 0);
  EXPECT_EQ(int_option(*s, SOL_SOCKET, SO_RCVBUF), -ENOPROTOOPT) << "the shim asks the kernel fd for the rest";
  const int one = 1;
  EXPECT_EQ(s->setsockopt(SOL_SOCKET, SO_REUSEADDR, &one, sizeof one), 0);
  EXPECT_EQ(s->getpeername(reinterpret_cast<sockaddr*>(&got), &len), -ENOTCONN);
  EXPECT_EQ(s->shutdown(SHUT_RDWR), -ENOTCONN);
  EXPECT_EQ(s->shutdown(42), -EINVAL);
  EXPECT_EQ(s->readable_bytes(), 0);
  EXPECT_EQ(s->real(), nullptr) << "nothing above starts lstack";
  s->close();  // never started: deletes itself (ASan checks)
}

TEST(DeferredSocket, RejectsBadAddressesAndUdpListen) {
  auto* u = new DeferredSocket(Process::get(), SOCK_DGRAM, 0);
  EXPECT_EQ(u->listen(1), -EOPNOTSUPP);
  EXPECT_EQ(int_option(*u, SOL_SOCKET, SO_TYPE), SOCK_DGRAM);
  sockaddr_in6 six{};
  six.sin6_family = AF_INET6;
  EXPECT_EQ(u->bind(reinterpret_cast<sockaddr*>(&six), sizeof six), -EAFNOSUPPORT);
  sockaddr_in a = any_port(53);
  EXPECT_EQ(u->bind(reinterpret_cast<sockaddr*>(&a), 4), -EINVAL);
  EXPECT_EQ(u->bind(nullptr, sizeof a), -EINVAL);
  u->close();
}

// Starting reads the config first: a missing file is an error naming it, and
// the socket stays deferred (nothing of DPDK is touched).
TEST(DeferredSocket, StartWithoutConfigFailsWithItsMessage) {
  setenv("LSTACK_CONF_PATH", "/nonexistent/gz-unit/lstack.conf", 1);
  auto* s = new DeferredSocket(Process::get(), SOCK_STREAM, 0);
  auto r = s->start();
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("/nonexistent/gz-unit/lstack.conf"), std::string::npos) << r.error().message;
  EXPECT_EQ(s->real(), nullptr);
  char byte = 0;
  iovec iov{&byte, 1};
  EXPECT_LT(s->recv(&iov, 1, 0, nullptr, nullptr), 0) << "data calls return the start error";
  s->close();
}

}  // namespace
}  // namespace gz::stack
