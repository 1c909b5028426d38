// TcpSocket: a TCP socket served by one stack thread.
//
// Split between two threads:
// - the stack thread owns the lwIP pcb and runs every lwIP call (tasks posted
//   by the application, lwIP callbacks);
// - the application thread moves data through lock-free rings: received
//   pbuf chains come in on rx_ (zero copy: the app copies straight out of the
//   mbufs), consumed chains go back on rx_done_ to be freed and acknowledged
//   (tcp_recved opens the window again, RFC 9293 section 3.8.6.2.2); bytes to
//   send are copied once, into mbufs that become lwIP's segments (tx_).
#pragma once

#include <netinet/in.h>
#include <netinet/tcp.h>  // before lwIP: see TCP_MSS in lwipopts.h

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

#include "lwip/tcp.h"
#include "ring.hpp"
#include "stack_socket.hpp"

struct rte_mbuf;

namespace gz::stack {

class TcpSocket final : public StackSocket {
 public:
  // Creates the pcb on owner's thread. Errors: ENOBUFS when lwIP is out of memory.
  static Result<TcpSocket*> create(StackThread& owner);

  int bind(const sockaddr* addr, socklen_t len) noexcept override;
  int listen(int backlog) noexcept override;
  int accept(SocketBase** out, sockaddr* addr, socklen_t* len) override;
  int connect(const sockaddr* addr, socklen_t len) override;
  ssize_t recv(const iovec* iov, int iovcnt, int flags, sockaddr* from, socklen_t* fromlen) override;
  ssize_t send(const iovec* iov, int iovcnt, int flags, const sockaddr* to, socklen_t tolen) override;
  int shutdown(int how) noexcept override;
  void close() noexcept override;
  int getpeername(sockaddr* addr, socklen_t* len) noexcept override;
  int getsockopt(int level, int name, void* val, socklen_t* len) noexcept override;
  int setsockopt(int level, int name, const void* val, socklen_t len) noexcept override;
  int readable_bytes() noexcept override;

  // Stack thread, as the process exits: every TCP connection of this stack
  // the program left open closes as the kernel closes a process's
  // descriptors when it ends (see close_at_exit).
  static void close_left_open() noexcept;

 private:
  enum class State : std::uint8_t { Fresh, Bound, Listening, Connecting, Connected, Closed };
  static constexpr std::size_t kTxBatch = 32;        // mbufs given to lwIP at once
  static constexpr std::size_t kZeroCopyMin = 512;   // smaller ones are copied, for Nagle to merge
  static constexpr std::size_t kCopyRun = 4096;      // small ones copied into lwIP with one tcp_write
  static constexpr std::size_t kMaxSmallSegments = 64;  // TCP_NODELAY: small ones of their own up to this many queued
  static constexpr std::size_t kTxQueueLowBytes = 4096; // a socket's queue while the stack's tx budget is low
  struct Task;  // a control call run on the stack thread
  friend struct Task;

  TcpSocket(StackThread& owner, tcp_pcb* pcb);
  ~TcpSocket() override;

  // --- stack thread ---
  void attach_pcb(tcp_pcb* pcb) noexcept;
  void service() noexcept override;  // free consumed rx, push pending tx, finish close
  void push_tx() noexcept;
  rte_mbuf* next_tx() noexcept;
  void hold_tx(rte_mbuf* const* ms, std::size_t n) noexcept;
  bool tx_pending() const noexcept { return tx_held_ != nullptr || tx_charged_.load() != 0; }
  // Application thread: what the queue may take now (less while the stack's tx budget is low).
  std::size_t tx_room() const noexcept {
    const std::size_t cap = std::min(owner_.tx_budget_low() ? kTxQueueLowBytes : kTxQueueBytes,
                                     tx_queue_cap_.load(std::memory_order_relaxed));
    return cap - std::min(tx_charged_.load(std::memory_order_acquire), cap);
  }
  std::size_t write_copies(rte_mbuf* const* ms, std::size_t n, bool more) noexcept;
  std::size_t write_batch(rte_mbuf* const* ms, std::size_t n, bool more) noexcept;
  std::size_t take_for_lwip(std::array<rte_mbuf*, kTxBatch>& ms) noexcept;
  std::size_t write_to_lwip(rte_mbuf* const* ms, std::size_t n, bool more) noexcept;
  void note_tx_written() noexcept;
  void free_all_tx() noexcept;
  void set_segment_size() noexcept;
  void release_rx() noexcept;
  void finish_close() noexcept;
  void on_error(err_t err) noexcept;
  static err_t on_recv(void* arg, tcp_pcb* pcb, pbuf* p, err_t err);
  static err_t on_sent(void* arg, tcp_pcb* pcb, u16_t len);
  static err_t on_connected(void* arg, tcp_pcb* pcb, err_t err);
  static err_t on_accept(void* arg, tcp_pcb* pcb, err_t err);
  static std::uint32_t accept_queue_of(void* arg) noexcept;  // Stack::AcceptQueueProbe
  static void on_err(void* arg, err_t err);
  static err_t on_poll(void* arg, tcp_pcb* pcb);
  void cache_addresses() noexcept;
  int exec(Task& t) noexcept;  // a control call, on the stack thread
  int exec_setopt(int level, int name, int value) noexcept;
  void free_all_rx() noexcept;
  void abandon() noexcept;     // listener closing: drop a queued, never accepted child
  void hand_off() noexcept;    // listener closing behind ltran: the child goes to another process (else abandon)
  void release_claim() noexcept;  // ltran: the port is no longer ours (idempotent)
  void destroy() noexcept;     // stack thread: give the slot back and delete
  void close_at_exit() noexcept;  // stack thread: closed on the wire; the object stays

  // --- application thread ---
  int run(Task& t) noexcept;
  std::size_t copy_out(const iovec* iov, int iovcnt, bool peek) noexcept;
  std::size_t fill_tx(const iovec* iov, int iovcnt, int& i, std::size_t& off) noexcept;
  // Application thread, after a send that found the queue full (takes:
  // tx_takes_ before it looked): asks the stack for EPOLLOUT at its next
  // take. True when the stack took meanwhile (the caller writes on instead).
  bool want_room(std::uint32_t takes) noexcept;
  // Stack thread, having made room (and counted its take): whether to raise EPOLLOUT.
  bool room_wanted() noexcept;
  std::size_t queue_burst(std::size_t want, const iovec* iov, int iovcnt, int& i, std::size_t& off) noexcept;
  std::uint32_t take_tx_mbufs(rte_mbuf** ms, std::uint32_t n) noexcept;
  static std::size_t tx_charge(std::size_t bytes, std::size_t seg) noexcept;
  long timeout_ms(bool send_side) const noexcept;
  int take_error() noexcept;
  int listen_on_other_stacks(int backlog) noexcept;
  TcpSocket* pop_accepted() noexcept;
  void unlisten() noexcept;  // stack thread: the listening pcb goes
  int shutdown_listener() noexcept;
 public:
  void unaccept(SocketBase* child) noexcept override;

 private:
  bool any_accepted() const noexcept;
  // Linux's net.core.somaxconn default: listen() backlogs are clamped to it
  // (a negative one means it, as on Linux). kMinBacklog: see Op::Listen.
  static constexpr int kMaxBacklog = 4096;
  static constexpr int kMinBacklog = 256;

  tcp_pcb* pcb_;  // stack thread only
  std::atomic<State> state_{State::Fresh};
  std::atomic<int> error_{0};        // pending SO_ERROR / reason of a failed connection
  std::atomic<bool> rx_fin_{false};  // peer sent FIN
  std::atomic<bool> shut_rd_{false}, shut_wr_{false};

  // A window of segments (TCP_WND / TCP_MSS: 359) under bulk transfer, a few when idle.
  GrowingSpscQueue<pbuf*> rx_{16, 512};       // stack -> app: received chains
  GrowingSpscQueue<pbuf*> rx_done_{16, 512};  // app -> stack: consumed chains
  pbuf* rx_head_ = nullptr;        // app: chain being read
  pbuf* rx_seg_ = nullptr;         // app: segment within it
  std::uint16_t rx_off_ = 0;       // app: offset within the segment
  std::atomic<std::size_t> rx_bytes_{0};  // bytes in rx_ not yet read (FIONREAD)
  // One copy on send: the application writes straight into mbufs of the
  // stack's pool (tx_seg_ bytes each: the connection's MSS) and queues them;
  // the stack makes each a segment as it is (tcp_write_pbufs), copying only
  // small ones into lwIP's memory, where Nagle merges them. tx_charged_ is
  // what the queue holds, each mbuf charged at least kTxMinCharge: so the
  // queue never holds more than kTxQueueMax of them. 256 KiB: a program's
  // large writes (iperf3's 128 KiB) complete without waiting midway for the
  // stack, which on a shared CPU is a context switch each way; iperf3
  // download in the stack-thread layout, 64/128/256 KiB/1 MiB: 3.6/3.0/4.4/
  // 3.0 Gbit/s (1 MiB: the stack starves while the program copies).
  static constexpr std::size_t kTxQueueBytes = 256 * 1024;
  static constexpr std::size_t kTxMinCharge = 256;
  static constexpr std::size_t kTxQueueMax = kTxQueueBytes / kTxMinCharge;
  GrowingSpscQueue<rte_mbuf*> tx_{16, kTxQueueMax};
  std::atomic<std::size_t> tx_charged_{0};
  // A send came back short (queue full, or no mbufs): the stack's next take
  // raises EPOLLOUT. Not raised at every take otherwise (a program's every
  // write made room: a raise, an epoll wake-up and its look, for a socket
  // nobody waits on).
  std::atomic<bool> tx_wanted_{false};
  std::atomic<std::uint32_t> tx_takes_{0};  // stack: its takes from the queue so far (want_room)
  std::atomic<std::uint16_t> tx_seg_{536};     // RFC 9293 3.7.1's default until the stack knows the MSS
  std::size_t tx_written_ = 0;                 // app, under tx_mu_: bytes ever queued
  std::size_t tx_taken_ = 0;                   // stack: bytes ever given to lwIP
  rte_mbuf* tx_held_ = nullptr;                // stack: taken from tx_, not yet by lwIP (listed through mbuf->next)
  // Listener: stack -> app, connections waiting for accept(); sized by the
  // backlog at listen (a connection socket has none: 2 KiB less each).
  std::unique_ptr<SpscRing<TcpSocket*>> accepted_;
  // Several stacks: a listener has a shadow on every other stack (same address
  // and port), since connections arrive on whichever queue RSS picks. Accept
  // takes from all; a shadow's arrivals wake the primary's waiters.
  struct ListenGroup {                  // shared by a primary and its shadows
    std::mutex mu;
    TcpSocket* primary = nullptr;       // nulled (under mu) before the primary may go away
  };
  std::vector<TcpSocket*> shadows_;     // primary, application side
  std::shared_ptr<ListenGroup> group_;  // primary and shadows

  std::mutex rx_mu_, tx_mu_, accept_mu_;  // application threads sharing one socket
  // Listener: given back for want of an fd (set and taken under accept_mu_;
  // also taken by the stack at close, and counted by its listing).
  std::atomic<TcpSocket*> returned_{nullptr};

  // options (set by the app, applied on the stack where lwIP needs them)
  int sndbuf_ = 64 * 1024, rcvbuf_ = TCP_WND;  // reported as Linux does (doubled on get)
  // SO_SNDBUF, once set, bounds the send queue too (never above kTxQueueBytes).
  std::atomic<std::size_t> tx_queue_cap_{kTxQueueBytes};
  bool reuseport_ = false;    // app copies of what getsockopt reports
  int opt_reuseaddr_ = 0, opt_keepalive_ = 0, opt_nodelay_ = 0;
  int keepidle_ = 7200, keepintvl_ = 75, keepcnt_ = 9;
  bool nodelay_ = false;      // stack thread: inherited by accepted connections
  bool wr_shut_done_ = false; // stack thread: FIN sent after shutdown(SHUT_WR)
  bool tx_refused_ = false;   // stack thread: tcp_write said ERR_MEM; on_poll retries
  // Latency on: the write being timed (rte_rdtsc at write(), or 0) and the
  // stream position its last byte ends at; set by the writer under tx_mu_
  // (end first), cleared by the stack once it has consumed up to the end.
  std::atomic<std::uint64_t> tx_stamp_{0};
  std::atomic<std::size_t> tx_stamp_end_{0};
  std::uint16_t claimed_port_ = 0;  // stack thread: the listening port claimed with ltran (0: none)
  bool has_slot_ = false;     // stack thread: holds one of the stack's tcp_conn_count slots
  // Set by the stack thread in close_at_exit (not by the program): a send then
  // fails with EPIPE but raises no SIGPIPE (the process is ending, and the
  // kernel would not signal a thread it is about to end either).
  std::atomic<bool> exit_closed_{false};
  // A child in its listener's queue (or given back to it), not yet accepted:
  // set by the stack before it publishes the child, cleared by accept()'s pop.
  std::atomic<bool> queued_{false};
  std::atomic<int> linger_sec_{-1};  // -1: off; 0: close sends RST
};

}  // namespace gz::stack
