// UdpSocket: a UDP socket served by one stack thread.
// A datagram to send is written by the application straight into mbufs of
// the stack's pool (the one copy; senders share the stack's tx budget with
// TCP's) and queued; the stack makes them a pbuf chain for udp_sendto, and
// the device sends that very mbuf when the datagram fits one frame (lwIP
// fragments larger ones, copying each fragment once more).
// Received datagrams come back as (pbuf, source) records, zero copy; the
// application hands consumed pbufs back to be freed on the stack thread.
// Receive overflow drops the datagram and counts it, as UDP does.
#pragma once

#include <netinet/in.h>

#include <atomic>
#include <cstdint>
#include <mutex>

#include "lwip/udp.h"

struct rte_mbuf;
#include "ring.hpp"
#include "stack_socket.hpp"

namespace gz::stack {

class UdpSocket final : public StackSocket {
 public:
  static Result<UdpSocket*> create(StackThread& owner);

  int bind(const sockaddr* addr, socklen_t len) noexcept override;
  int listen(int) noexcept override { return -EOPNOTSUPP; }
  int accept(SocketBase**, sockaddr*, socklen_t*) override { return -EOPNOTSUPP; }
  int connect(const sockaddr* addr, socklen_t len) override;
  ssize_t recv(const iovec* iov, int iovcnt, int flags, sockaddr* from, socklen_t* fromlen) override;
  ssize_t send(const iovec* iov, int iovcnt, int flags, const sockaddr* to, socklen_t tolen) override;
  int shutdown(int how) noexcept override;
  void close() noexcept override;
  int getpeername(sockaddr* addr, socklen_t* len) noexcept override;
  int getsockopt(int level, int name, void* val, socklen_t* len) noexcept override;
  int setsockopt(int level, int name, const void* val, socklen_t len) noexcept override;
  int readable_bytes() noexcept override;

  static constexpr std::size_t kMaxDatagram = 65507;  // RFC 768 over IPv4

 private:
  err_t bind_on_stack(const ip_addr_t& a, std::uint16_t port) noexcept;
  err_t bind_ephemeral() noexcept;
  std::uint16_t claimed_port_ = 0;  // stack thread: the bound port claimed with ltran (0: none)
  bool holds_port_ = false;  // stack thread: this socket entered its port in the flow directory
  struct Datagram {
    pbuf* p;
    sockaddr_in from;
  };
  struct Outgoing {      // a datagram in tx_
    rte_mbuf* m;         // its first mbuf, the rest linked by next (pkt_len: the datagram's)
    std::uint32_t addr;  // network order; 0 with port 0: the connected peer
    std::uint16_t port;  // network order
  };
  struct Task;
  static constexpr std::uint32_t kMaxSegs = 64;  // mbufs of one datagram, at most
  static constexpr std::size_t kTxMinCharge = 256;  // SO_SNDBUF bytes a datagram counts at least

  explicit UdpSocket(StackThread& owner);
  ~UdpSocket() override = default;
  static void on_recv(void* arg, udp_pcb* pcb, pbuf* p, const ip_addr_t* addr, u16_t port);
  void service() noexcept override;  // free consumed, send queued, finish close
  int run(Task& t) noexcept;
  // Application thread, under tx_mu_: total bytes of the iovecs into a chain
  // of mbufs with their budget; false (tx_starved_ set) when none are to be had.
  bool fill_tx(const iovec* iov, int iovcnt, std::size_t total, Outgoing& out) noexcept;
  bool queue_datagram(const iovec* iov, int iovcnt, std::size_t total, Outgoing& o) noexcept;
  int destination(const sockaddr* to, socklen_t tolen, Outgoing& o) const noexcept;
  static std::size_t tx_charge(std::size_t bytes) noexcept;
  void send_queued() noexcept;  // stack thread: every queued datagram to lwIP
  void free_queued() noexcept;  // stack thread, closing: the queue's mbufs back

  udp_pcb* pcb_ = nullptr;  // stack thread only
  std::atomic<bool> connected_{false};
  SpscRing<Datagram> rx_{1024};
  SpscRing<pbuf*> rx_done_{1024};
  GrowingSpscQueue<Outgoing> tx_{16, 4096};
  std::atomic<std::size_t> tx_queued_{0};  // tx_charge of what is in tx_: at most sndbuf_ (or one datagram)
  std::atomic<std::uint64_t> rx_dropped_{0};
  std::mutex rx_mu_, tx_mu_;
  int rcvbuf_ = 212992, sndbuf_ = 212992, broadcast_ = 0, reuseaddr_ = 0;
};

}  // namespace gz::stack
