// TcpSocket, stack-thread half: lwIP callbacks, control calls, data pumping.
#include "tcp_socket.hpp"  // first: it orders <netinet/tcp.h> before lwIP

#include <netinet/tcp.h>

#include <cerrno>
#include <cstring>
#include <algorithm>
#include <array>
#include <span>
#include <new>
#include <utility>

#include <rte_mbuf.h>

#include "gz/handover.hpp"
#include "gz/thread_state.hpp"
#include "lwip/priv/tcp_priv.h"
#include "pbuf_mbuf.hpp"
#include "stack.hpp"
#include "tcp_socket_task.hpp"

namespace gz::stack {
namespace {
constexpr u8_t kPollTicks = 1;  // lwIP's slow timer: 500 ms
}  // namespace

TcpSocket::TcpSocket(StackThread& owner, tcp_pcb* pcb) : StackSocket(owner), pcb_(pcb) {}

TcpSocket::~TcpSocket() = default;

void TcpSocket::attach_pcb(tcp_pcb* pcb) noexcept {
  pcb_ = pcb;
  tcp_arg(pcb, this);
  tcp_recv(pcb, on_recv);
  tcp_sent(pcb, on_sent);
  tcp_err(pcb, on_err);
  tcp_poll(pcb, on_poll, kPollTicks);
}

// lwIP's slow timer (every kPollTicks x 500 ms): data that tcp_write refused
// for lack of memory goes out without waiting for the application's next call
// or an ACK that may never come (nothing in flight).
err_t TcpSocket::on_poll(void* arg, tcp_pcb*) {
  auto* self = static_cast<TcpSocket*>(arg);
  if (self == nullptr || !self->tx_refused_) return ERR_OK;
  self->tx_refused_ = false;
  Stack::current()->count_tx_retry();
  self->push_tx();
  if (self->closing_.load()) self->schedule_service();
  return ERR_OK;
}

void TcpSocket::cache_addresses() noexcept {
  if (pcb_ == nullptr) return;
  local_.sin_family = AF_INET;
  local_.sin_addr.s_addr = ip_2_ip4(&pcb_->local_ip)->addr;
  local_.sin_port = lwip_htons(pcb_->local_port);
  if (state_.load() == State::Listening) return;
  peer_.sin_family = AF_INET;
  peer_.sin_addr.s_addr = ip_2_ip4(&pcb_->remote_ip)->addr;
  peer_.sin_port = lwip_htons(pcb_->remote_port);
}

err_t TcpSocket::on_recv(void* arg, tcp_pcb* pcb, pbuf* p, err_t) {
  auto* self = static_cast<TcpSocket*>(arg);
  if (p == nullptr) {  // FIN: RFC 9293 section 3.10.7.4, CLOSE-WAIT
    self->rx_fin_.store(true);
    self->raise(EPOLLIN | EPOLLRDHUP);
    return ERR_OK;
  }
  if (self->shut_rd_.load(std::memory_order_relaxed)) {
    tcp_recved(pcb, p->tot_len);
    pbuf_free(p);
    return ERR_OK;
  }
  const u16_t len = p->tot_len;
  // The pool runs low: a reader that lags must not pin the mbufs every other
  // connection needs to receive. Its data moves to lwIP's own memory.
  if (Stack* stack = Stack::current(); stack->rx_pressure()) {
    if (pbuf* copy = pbuf_clone(PBUF_RAW, PBUF_RAM, p)) {
      pbuf_free(p);
      p = copy;
      stack->count_rx_copy();
    }
  }
  if (!self->rx_.push(p)) return ERR_MEM;  // lwIP keeps it and offers it again
  self->rx_bytes_.fetch_add(len, std::memory_order_seq_cst);
  self->raise(EPOLLIN);
  return ERR_OK;
}

err_t TcpSocket::on_sent(void* arg, tcp_pcb*, u16_t) {
  auto* self = static_cast<TcpSocket*>(arg);
  self->push_tx();
  // Only service() may delete the socket: a queued service node must not outlive it.
  if (self->closing_.load()) self->schedule_service();
  return ERR_OK;
}

err_t TcpSocket::on_connected(void* arg, tcp_pcb*, err_t) {
  auto* self = static_cast<TcpSocket*>(arg);
  self->set_segment_size();
  self->cache_addresses();  // before the state: a connect() that sees Connected returns and may read them
  self->state_.store(State::Connected);
  self->raise(EPOLLOUT);
  return ERR_OK;
}

std::uint32_t TcpSocket::accept_queue_of(void* arg) noexcept {
  const auto* listener = static_cast<const TcpSocket*>(arg);
  if (listener == nullptr || !listener->accepted_) return 0;
  // Also the one accept() gave back for want of an fd: it waits as they do.
  return static_cast<std::uint32_t>(listener->accepted_->size()) + (listener->returned_.load() != nullptr ? 1 : 0);
}

err_t TcpSocket::on_accept(void* arg, tcp_pcb* pcb, err_t err) {
  auto* listener = static_cast<TcpSocket*>(arg);
  if (err != ERR_OK || pcb == nullptr) return ERR_VAL;
  if (!Stack::current()->take_tcp_slot()) {
    tcp_abort(pcb);  // over tcp_conn_count: the peer sees a reset
    return ERR_ABRT;
  }
  // The stack is the ring's only producer: room seen now is room at the push.
  const bool room = listener->accepted_->size() < listener->accepted_->capacity();
  auto* child = room ? new (std::nothrow) TcpSocket(listener->owner_, nullptr) : nullptr;
  if (child == nullptr) {
    Stack::current()->release_tcp_slot();
    tcp_abort(pcb);  // backlog full or no memory: the peer sees a reset
    return ERR_ABRT;
  }
  child->has_slot_ = true;
  Stack::current()->hold_flow(pcb);
  child->attach_pcb(pcb);
  if (listener->nodelay_) tcp_nagle_disable(pcb);
  child->set_segment_size();
  child->state_.store(State::Connected);
  child->cache_addresses();
  child->events_.store(EPOLLOUT);
  // Published only once set up: another thread's accept() may take it at once
  // and must see its state and peer address (no 0.0.0.0, no ENOTCONN).
  child->queued_.store(true);
  listener->accepted_->push(child);
  listener->raise(EPOLLIN);
  if (listener->group_) {  // several stacks: the primary's accept() also takes from its shadows
    std::lock_guard lock(listener->group_->mu);
    TcpSocket* primary = listener->group_->primary;
    if (primary != nullptr && primary != listener) primary->raise(EPOLLIN);
  }
  return ERR_OK;
}

void TcpSocket::on_err(void* arg, err_t err) {
  static_cast<TcpSocket*>(arg)->on_error(err);
}

// lwIP has already freed the pcb (RFC 9293 section 3.10.7: reset or abort).
void TcpSocket::on_error(err_t err) noexcept {
  pcb_ = nullptr;
  const State was = state_.exchange(State::Closed);
  int code = ECONNRESET;
  if (was == State::Connecting) {
    code = err == ERR_RST ? ECONNREFUSED : ETIMEDOUT;
  } else if (err == ERR_ABRT && !exit_closed_.load(std::memory_order_relaxed)) {  // at exit: reset by us
    const Stack* stack = Stack::current();
    code = stack != nullptr && stack->gone() ? ENETDOWN : ETIMEDOUT;  // the device went for good (ltran stopped)
  }
  error_.store(code);
  free_all_tx();  // unsendable now: its mbufs go back, not when the application closes
  raise(EPOLLIN | EPOLLOUT | EPOLLERR | EPOLLHUP);
  if (closing_.load()) schedule_service();
}

void TcpSocket::service() noexcept {
  service_started();
  release_rx();
  push_tx();
  if (pcb_ == nullptr && state_.load() == State::Closed) free_all_tx();  // queued after the reset: unsendable
  if (tx_starved_.load()) note_tx_starved();
  if (closing_.load()) finish_close();
}

void TcpSocket::release_rx() noexcept {
  std::uint32_t len = 0;
  pbuf* p;
  while (rx_done_.pop(p)) {
    len += p->tot_len;
    pbuf_free(p);
  }
  // A listening pcb is a tcp_pcb_listen: it has no receive state at all.
  if (pcb_ == nullptr || state_.load() == State::Listening) return;
  while (len > 0) {  // RFC 9293 3.8.6.2.2: reopen the window as the app reads
    const u16_t n = static_cast<u16_t>(std::min<std::uint32_t>(len, 0xffff));
    tcp_recved(pcb_, n);
    len -= n;
  }
  if (pcb_->refused_data != nullptr) tcp_process_refused_data(pcb_);
}

// The next mbuf to send: one lwIP refused before, else the queue's next.
rte_mbuf* TcpSocket::next_tx() noexcept {
  if (rte_mbuf* m = tx_held_) {
    tx_held_ = m->next;
    m->next = nullptr;
    return m;
  }
  rte_mbuf* m = nullptr;
  if (!tx_.pop(m)) return nullptr;
  tx_charged_.fetch_sub(std::max<std::size_t>(m->data_len, kTxMinCharge), std::memory_order_release);
  return m;
}

// ms[0..n), in order, go back in front of what is held.
void TcpSocket::hold_tx(rte_mbuf* const* ms, std::size_t n) noexcept {
  for (std::size_t k = n; k-- > 0;) {
    ms[k]->next = tx_held_;
    tx_held_ = ms[k];
  }
}

// Segments of their own, not copied: returns how many lwIP took.
std::size_t TcpSocket::write_batch(rte_mbuf* const* ms, std::size_t n, bool more) noexcept {
  std::array<pbuf*, kTxBatch> ps;
  std::array<std::uint16_t, kTxBatch> lens;  // read before lwIP owns them
  for (std::size_t k = 0; k < n; ++k) {
    lens[k] = ms[k]->data_len;
    ps[k] = pbuf_from_tx_mbuf(ms[k]);
  }
  err_t err = ERR_OK;
  const std::size_t took = tcp_write_pbufs(pcb_, ps.data(), static_cast<u16_t>(n), more ? TCP_WRITE_FLAG_MORE : 0, &err);
  for (std::size_t k = 0; k < took; ++k) tx_taken_ += lens[k];
  return took;
}

// Small ones (or one lwIP would not take as a segment of its own, larger than
// its segments now): copied into lwIP's memory as one write, where they fill
// whole segments and Nagle may merge them (RFC 9293 3.7.4). Returns how many
// of ms[0..n) went (0: lwIP refused the data).
std::size_t TcpSocket::write_copies(rte_mbuf* const* ms, std::size_t n, bool more) noexcept {
  std::array<char, kCopyRun> buf;  // on the caller's stack: in run to completion, the application's
  const char* data = rte_pktmbuf_mtod(ms[0], const char*);
  std::size_t len = ms[0]->data_len, k = 1;
  if (n > 1 && len + ms[1]->data_len <= buf.size()) {
    for (len = 0, k = 0; k < n && len + ms[k]->data_len <= buf.size(); ++k) {
      std::memcpy(buf.data() + len, rte_pktmbuf_mtod(ms[k], const void*), ms[k]->data_len);
      len += ms[k]->data_len;
    }
    data = buf.data();
  }
  const u8_t flags = TCP_WRITE_FLAG_COPY | (more || k < n ? TCP_WRITE_FLAG_MORE : 0);
  if (tcp_write(pcb_, data, static_cast<u16_t>(len), flags) != ERR_OK) return 0;
  tx_taken_ += len;
  handover_release(owner_.tx_pool());
  for (std::size_t i = 0; i < k; ++i) rte_pktmbuf_free(ms[i]);
  this_thread_state().tx_mbufs_freed += static_cast<std::uint32_t>(k);
  return k;
}

// As many queued mbufs as lwIP has room for (its send buffer and queue), in order.
std::size_t TcpSocket::take_for_lwip(std::array<rte_mbuf*, kTxBatch>& ms) noexcept {
  std::size_t n = 0, bytes = 0;
  const std::size_t room = tcp_sndbuf(pcb_);
  const std::size_t slots = TCP_SND_QUEUELEN - std::min<std::size_t>(tcp_sndqueuelen(pcb_) + 2, TCP_SND_QUEUELEN);
  while (n < std::min(ms.size(), slots)) {
    rte_mbuf* m = next_tx();
    if (m == nullptr) break;
    if (bytes + m->data_len > room) {
      hold_tx(&m, 1);
      break;
    }
    ms[n++] = m;
    bytes += m->data_len;
  }
  return n;
}

// Gives ms[0..n) to lwIP, in order: each a segment of its own, or copied.
// Copied: small ones (Nagle merges them), unless TCP_NODELAY leaves nothing
// to merge and the connection holds few segments (a peer that stops reading
// must not pin an mbuf per small write); all while the stack's tx budget is
// low. Returns how many went.
std::size_t TcpSocket::write_to_lwip(rte_mbuf* const* ms, std::size_t n, bool more) noexcept {
  std::size_t own_min = kZeroCopyMin;
  if (tcp_nagle_disabled(pcb_) && tcp_sndqueuelen(pcb_) < kMaxSmallSegments) own_min = 1;
  if (owner_.tx_budget_low()) own_min = SIZE_MAX;
  std::size_t done = 0;
  while (done < n) {
    std::size_t run = 0;  // segments of their own from here, else ones to copy
    while (done + run < n && ms[done + run]->data_len >= own_min) ++run;
    if (run != 0) {
      const std::size_t took = write_batch(&ms[done], run, more || done + run < n);
      done += took;
      if (took == run) continue;
      run = 1;  // lwIP did not take ms[done] as it is: perhaps as a copy
    } else {
      while (done + run < n && ms[done + run]->data_len < own_min) ++run;
    }
    const std::size_t k = write_copies(&ms[done], run, more || done + run < n);
    if (k == 0) break;
    done += k;
  }
  return done;
}

void TcpSocket::push_tx() noexcept {
  if (pcb_ == nullptr || state_.load() != State::Connected) return;
  bool wrote = false, took = false;
  for (;;) {
    std::array<rte_mbuf*, kTxBatch> ms;
    const std::size_t n = take_for_lwip(ms);
    if (n == 0) break;
    took = true;
    const std::size_t done = write_to_lwip(ms.data(), n, tx_pending());
    wrote |= done != 0;
    if (done < n) {
      hold_tx(&ms[done], n - done);
      tx_refused_ = true;  // ERR_MEM: on_poll tries again
      break;
    }
  }
  if (shut_wr_.load() && !wr_shut_done_ && !tx_pending()) {
    tcp_shutdown(pcb_, 0, 1);
    wr_shut_done_ = true;
    wrote = true;
  }
  if (wrote) tcp_output(pcb_);
  // Ours alone; release: a send that reads the new count sees the room the takes made (want_room).
  if (took) tx_takes_.store(tx_takes_.load(std::memory_order_relaxed) + 1, std::memory_order_release);
  // Room made (the queue's, or lwIP's for what it held): a starved writer hears of it with the budget.
  if ((took || wrote) && !tx_starved_.load(std::memory_order_relaxed) && room_wanted()) raise(EPOLLOUT);
  note_tx_written();
}

// EPOLLOUT after a take: for a writer whose send came back short (want_room:
// the queue full, or no mbufs), or when it is clear (a send's EAGAIN cleared
// it). Otherwise it is set and nobody waits for room: Linux too wakes writers
// only after one ran out of space (SOCK_NOSPACE, tcp_check_space; it then
// waits for a third of the buffer, we raise at the first take).
bool TcpSocket::room_wanted() noexcept {
  std::atomic_thread_fence(std::memory_order_seq_cst);  // the take and its count before the looks below
  if (tx_wanted_.load(std::memory_order_relaxed) && tx_wanted_.exchange(false)) return true;
  return (events() & EPOLLOUT) == 0;
}

// The timed write's last byte is lwIP's now: its latency ends with the next
// burst. Looked at even when this round wrote nothing: an earlier round may
// have taken the bytes before the writer set the stamp.
void TcpSocket::note_tx_written() noexcept {
  if (const std::uint64_t t0 = tx_stamp_.load(std::memory_order_acquire);
      t0 != 0 && tx_taken_ >= tx_stamp_end_.load(std::memory_order_relaxed)) {
    tx_stamp_.store(0, std::memory_order_relaxed);
    if (Stack* s = Stack::current()) s->note_tx_write(t0);
  }
}

// The application's queued data goes with the socket (stack thread, the end).
void TcpSocket::free_all_tx() noexcept {
  std::uint32_t n = 0;
  handover_release(owner_.tx_pool());
  for (rte_mbuf* m; (m = next_tx()) != nullptr; ++n) rte_pktmbuf_free(m);
  this_thread_state().tx_mbufs_freed += n;
  forget_tx_wait();
}

// Stack thread, once the handshake is done: the application fills its mbufs
// a segment each (RFC 9293 3.7.1: the MSS the peer announced, lwIP's own at most).
// Never under RFC 9293's default of 536: a peer announcing a tiny MSS would
// make an mbuf per few bytes (lwIP refuses such mbufs as segments; they are
// copied and cut to the peer's size).
void TcpSocket::set_segment_size() noexcept {
  tx_seg_.store(std::max<u16_t>(tcp_mss(pcb_), 536), std::memory_order_relaxed);
}

void TcpSocket::free_all_rx() noexcept {
  pbuf* p;
  while (rx_.pop(p)) pbuf_free(p);
  while (rx_done_.pop(p)) pbuf_free(p);
  if (rx_head_ != nullptr) pbuf_free(rx_head_);  // the app closed: it no longer reads
  rx_head_ = rx_seg_ = nullptr;
}

void TcpSocket::abandon() noexcept {
  if (pcb_ != nullptr) {
    tcp_arg(pcb_, nullptr);
    tcp_err(pcb_, nullptr);
    tcp_abort(pcb_);
  }
  free_all_rx();
  destroy();
}

void TcpSocket::destroy() noexcept {
  free_all_tx();
  if (has_slot_) Stack::current()->release_tcp_slot();
  delete this;
}

// A never accepted child of a closing listener, behind ltran with another
// process listening on the port: it goes there with what it received.
void TcpSocket::hand_off() noexcept {
  std::array<pbuf*, 8> unread{};
  std::size_t n = 0;
  bool fits = pcb_ != nullptr && pcb_->refused_data == nullptr && rx_head_ == nullptr;
  for (pbuf* p; fits && rx_.pop(p);) {
    if (n == unread.size()) {
      pbuf_free(p);
      fits = false;
    } else {
      unread[n++] = p;
    }
  }
  if (fits && Stack::current()->hand_off(pcb_, std::span<pbuf* const>(unread.data(), n), rx_fin_.load())) {
    pcb_ = nullptr;  // freed without a reset
  } else {
    Stack::current()->count_handoff_reset();
  }
  for (std::size_t i = 0; i < n; ++i) pbuf_free(unread[i]);
  abandon();
}

void TcpSocket::release_claim() noexcept {
  if (claimed_port_ != 0) Stack::current()->release_port(wire::kProtoTcp, std::exchange(claimed_port_, 0));
}

void TcpSocket::unlisten() noexcept {
  release_claim();
  tcp_arg(pcb_, nullptr);
  tcp_accept(pcb_, nullptr);
  tcp_close(pcb_);
  pcb_ = nullptr;
}

void TcpSocket::finish_close() noexcept {
  // A listener's (also one shut down) queued connections: the app is done with
  // us. Behind ltran the port's other (or next) listening process takes them
  // and the half-open ones, as the workers sharing a kernel listener would:
  // the claim goes first, so that no new SYN comes here meanwhile. Otherwise
  // they are reset. The one given back may be another stack's (a shadow's):
  // closed through its own stack.
  const bool hand = pcb_ != nullptr && state_.load() == State::Listening && Stack::current()->behind_ltran();
  if (hand) release_claim();
  TcpSocket* child;
  while (accepted_ != nullptr && accepted_->pop(child)) {
    if (hand) {
      child->hand_off();
    } else {
      child->abandon();
    }
  }
  if (hand) Stack::current()->hand_off_half_open(reinterpret_cast<tcp_pcb_listen*>(pcb_));
  if (TcpSocket* back = returned_.exchange(nullptr)) back->close();
  if (pcb_ != nullptr && state_.load() == State::Listening) {
    unlisten();
  } else if (pcb_ != nullptr && linger_sec_.load() == 0) {
    tcp_arg(pcb_, nullptr);
    tcp_err(pcb_, nullptr);
    tcp_abort(pcb_);  // SO_LINGER 0: RFC 9293 3.10.5 ABORT, send RST
  } else if (pcb_ != nullptr) {
    push_tx();
    if (tx_pending() && state_.load() == State::Connected) return;  // on_sent comes back here
    tcp_arg(pcb_, nullptr);  // lwIP takes the rest of the conversation (FIN-WAIT, TIME-WAIT)
    tcp_recv(pcb_, nullptr);  // data after close: a reset (tcp_close's TF_RXCLOSED, RFC 1122 4.2.2.13)
    tcp_sent(pcb_, nullptr);
    tcp_err(pcb_, nullptr);
    if (tcp_close(pcb_) != ERR_OK) tcp_abort(pcb_);
  }
  pcb_ = nullptr;
  if (exit_closed_.load(std::memory_order_relaxed)) {  // the program may still hold us (and read: its rx state stays)
    state_.store(State::Closed);
    return;
  }
  free_all_rx();
  destroy();
}

// The process ends with this connection open. The kernel would close its
// descriptor: what was written goes out first, then FIN (with data the program
// never read, a reset instead: lwIP's tcp_close, RFC 2525 2.17). Before, the
// stack went with the process and the peer heard nothing, waiting for ever.
// The object stays for the program's other threads, which may still hold it.
void TcpSocket::close_at_exit() noexcept {
  if (closing_.load() || pcb_ == nullptr) return;  // the program closed it, or the connection is over
  exit_closed_.store(true, std::memory_order_relaxed);
  if (queued_.load()) {
    // Never accepted: Linux resets these as the listener goes (inet_csk_listen_stop,
    // tcp_disconnect). on_error closes it; not closing_, so the object stays
    // in the queue for an accept() that may still take it.
    tcp_abort(pcb_);
    return;
  }
  closing_.store(true);
  release_rx();    // what the program read is acknowledged: only unread data makes it a reset
  finish_close();  // may wait for on_sent to push the rest, as after close()
}

// Connections only. Listeners stay as before (their port goes with the
// process): a program's thread may be taking from their queue this moment
// (accept() holds accept_mu_ while it waits), which closing them here would
// race. Their queued, never accepted connections are reset, as the kernel
// does (close_at_exit), and stay in the queue. Half-open ones (SYN-RCVD) are
// reset too: Linux drops them with the listener and resets the peer's ACK
// that follows; ours would answer nothing once the process is gone (run to
// completion: a SYN taken in only by the exit's last round got its SYN-ACK
// there). Their callback_arg is the listener's, which after its close()
// names a deleted socket: it is cleared, never followed. A close frees at
// most its own pcb (a reset, or a SYN-SENT one): the walk keeps the next before it.
void TcpSocket::close_left_open() noexcept {
  // From now on (the stack still runs while finish_sends waits for the
  // peers) a handshake a listener completes is reset, not queued: nobody
  // would accept it. lwIP aborts a connection whose accept callback fails.
  for (tcp_pcb_listen* l = tcp_listen_pcbs.listen_pcbs; l != nullptr; l = l->next) {
    tcp_accept(reinterpret_cast<tcp_pcb*>(l), [](void*, tcp_pcb*, err_t) -> err_t { return ERR_VAL; });
  }
  for (tcp_pcb *p = tcp_active_pcbs, *next = nullptr; p != nullptr; p = next) {
    next = p->next;
    if (p->state == SYN_RCVD) {
      tcp_arg(p, nullptr);
      tcp_err(p, nullptr);
      tcp_abort(p);  // RFC 9293 3.10.5 ABORT: RST
    } else if (p->callback_arg != nullptr) {
      static_cast<TcpSocket*>(p->callback_arg)->close_at_exit();
    }
  }
}

int TcpSocket::exec_setopt(int level, int name, int value) noexcept {
  if (pcb_ == nullptr) return 0;
  if (level == SOL_SOCKET && name == SO_REUSEADDR) {
    if (value) {
      ip_set_option(pcb_, SOF_REUSEADDR);
    } else {
      ip_reset_option(pcb_, SOF_REUSEADDR);
    }
  } else if (level == SOL_SOCKET && name == SO_KEEPALIVE) {
    if (value) {
      ip_set_option(pcb_, SOF_KEEPALIVE);
    } else {
      ip_reset_option(pcb_, SOF_KEEPALIVE);
    }
  } else if (level == IPPROTO_TCP && name == TCP_NODELAY) {
    nodelay_ = value != 0;
    if (value) {
      tcp_nagle_disable(pcb_);
    } else {
      tcp_nagle_enable(pcb_);
    }
  } else if (state_.load() != State::Listening && level == IPPROTO_TCP && name == TCP_KEEPIDLE) {
    pcb_->keep_idle = static_cast<u32_t>(value) * 1000U;
  } else if (state_.load() != State::Listening && level == IPPROTO_TCP && name == TCP_KEEPINTVL) {
    pcb_->keep_intvl = static_cast<u32_t>(value) * 1000U;
  } else if (state_.load() != State::Listening && level == IPPROTO_TCP && name == TCP_KEEPCNT) {
    pcb_->keep_cnt = static_cast<u32_t>(value);
  }
  return 0;
}

}  // namespace gz::stack
