// TcpSocket, application-thread half: POSIX semantics over the rings.
#include "tcp_socket.hpp"

#include <netinet/tcp.h>
#include <sched.h>
#include <signal.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <new>
#include <utility>

#include <rte_cycles.h>
#include <rte_mbuf.h>

#include "gz/handover.hpp"
#include "pbuf_mbuf.hpp"
#include "sock_util.hpp"
#include "stack.hpp"
#include "tcp_socket_task.hpp"

namespace gz::stack {

Result<TcpSocket*> TcpSocket::create(StackThread& owner) {
  auto* s = new (std::nothrow) TcpSocket(owner, nullptr);
  if (s == nullptr) return make_error(ENOMEM, "no memory for a socket");
  struct NewPcb : StackTask {
    TcpSocket* s;
    bool ok = false;
  } t;
  t.s = s;
  t.fn = [](StackTask* x) {
    auto* n = static_cast<NewPcb*>(x);
    Stack* stack = Stack::current();
    if (stack->take_tcp_slot()) {
      if (tcp_pcb* pcb = tcp_new_ip_type(IPADDR_TYPE_V4)) {
        n->s->attach_pcb(pcb);
        n->s->has_slot_ = true;
        n->ok = true;
      } else {
        stack->release_tcp_slot();
      }
    }
    StackThread::complete(x);
  };
  owner.run_sync(&t);
  if (!t.ok) {
    delete s;
    return make_error(ENOBUFS, "no TCP socket left on this stack (tcp_conn_count, or lwIP memory)");
  }
  return s;
}

int TcpSocket::run(Task& t) noexcept {
  t.self = this;
  t.fn = Task::run_on_stack;
  owner_.run_sync(&t);
  return t.result;
}

long TcpSocket::timeout_ms(bool send_side) const noexcept { return send_side ? sndtimeo_ms_ : rcvtimeo_ms_; }

int TcpSocket::take_error() noexcept { return error_.exchange(0); }

int TcpSocket::bind(const sockaddr* addr, socklen_t len) noexcept {
  Task t;
  t.op = Task::Op::Bind;
  if (int e = sockaddr_in_from(addr, len, t.addr); e != 0) return e;
  if (state_.load() != State::Fresh) return -EINVAL;
  return run(t);
}

int TcpSocket::listen(int backlog) noexcept {
  const State s = state_.load();
  if (s == State::Listening) return 0;
  if (s != State::Fresh && s != State::Bound) return -EINVAL;
  Task t;
  t.op = Task::Op::Listen;
  t.value = backlog < 0 ? kMaxBacklog : backlog;  // clamped on the stack (Op::Listen)
  if (int rc = run(t); rc != 0) return rc;
  return listen_on_other_stacks(t.value);
}

// Stack threads only: in run to completion every thread listens on its own stack.
int TcpSocket::listen_on_other_stacks(int backlog) noexcept {
  if (group_) return 0;  // a shadow itself
  StackGroup* all = owner_.group();
  if (all == nullptr || owner_.rtc() || all->stack_count() < 2) return 0;
  try {  // out of memory is ENOMEM here, never std::terminate
    group_ = std::make_shared<ListenGroup>();
    shadows_.reserve(all->stack_count());
  } catch (const std::bad_alloc&) {
    group_.reset();
    return -ENOMEM;
  }
  group_->primary = this;
  for (std::size_t i = 0; i < all->stack_count(); ++i) {
    StackThread& other = all->stack(i);
    if (&other == &owner_) continue;
    auto shadow = TcpSocket::create(other);
    int rc = shadow ? 0 : -shadow.error().code;
    if (rc == 0) {
      shadow.value()->group_ = group_;
      shadows_.push_back(shadow.value());
      if (opt_reuseaddr_) rc = shadow.value()->setsockopt(SOL_SOCKET, SO_REUSEADDR, &opt_reuseaddr_, sizeof(int));
      if (rc == 0) rc = shadow.value()->bind(reinterpret_cast<const sockaddr*>(&local_), sizeof local_);
      if (rc == 0) rc = shadow.value()->listen(backlog);
    }
    if (rc != 0) {
      for (TcpSocket* s : shadows_) s->close();
      shadows_.clear();
      group_.reset();
      return rc;
    }
  }
  return 0;
}

void TcpSocket::unaccept(SocketBase* child) noexcept {
  std::lock_guard lock(accept_mu_);
  if (returned_.load() != nullptr || state_.load() != State::Listening) {
    child->close();  // two at once: the second is reset, as before
    return;
  }
  auto* back = static_cast<TcpSocket*>(child);
  back->queued_.store(true);
  returned_.store(back);
  owner_.count_accept_fd_limit();
  raise(EPOLLIN);
}

TcpSocket* TcpSocket::pop_accepted() noexcept {
  TcpSocket* child = returned_.exchange(nullptr);
  if (child == nullptr && accepted_ != nullptr) (void)accepted_->pop(child);
  for (std::size_t i = 0; child == nullptr && i < shadows_.size(); ++i) {
    if (shadows_[i]->accepted_ != nullptr) (void)shadows_[i]->accepted_->pop(child);
  }
  if (child != nullptr) child->queued_.store(false);
  return child;
}

bool TcpSocket::any_accepted() const noexcept {
  if (returned_.load() != nullptr || (accepted_ != nullptr && !accepted_->empty())) return true;
  for (const TcpSocket* s : shadows_) {
    if (s->accepted_ != nullptr && !s->accepted_->empty()) return true;
  }
  return false;
}

int TcpSocket::accept(SocketBase** out, sockaddr* addr, socklen_t* len) {
  drive_if_owner();
  std::lock_guard lock(accept_mu_);
  for (;;) {
    const std::uint32_t seen = edge_seq();
    if (state_.load() != State::Listening) return -EINVAL;  // also once shutdown() woke us
    if (TcpSocket* child = pop_accepted()) {
      sockaddr_in_to(child->peer_, addr, len);
      *out = child;
      if (!any_accepted()) {
        clear(EPOLLIN);
        if (any_accepted()) raise(EPOLLIN);  // (raise: epoll's ready list hears of it)
      }
      return 0;
    }
    if (nonblocking()) return -EAGAIN;
    if (!wait_event(seen, rcvtimeo_ms_, EPOLLIN)) return -EAGAIN;
  }
}

int TcpSocket::connect(const sockaddr* addr, socklen_t len) {
  Task t;
  t.op = Task::Op::Connect;
  if (int e = sockaddr_in_from(addr, len, t.addr); e != 0) return e;
  switch (state_.load()) {
    case State::Connecting: return -EALREADY;
    case State::Connected: return -EISCONN;
    case State::Listening: return -EISCONN;
    case State::Closed: return error_.load() ? -take_error() : -EBADFD;
    default: break;
  }
  if (int rc = run(t); rc != 0) return rc;
  if (nonblocking()) return -EINPROGRESS;
  for (;;) {
    const std::uint32_t seen = edge_seq();
    const State s = state_.load();
    if (s == State::Connected) return 0;
    if (s == State::Closed) {
      const int e = take_error();
      return -(e != 0 ? e : ECONNREFUSED);
    }
    if (!wait_event(seen, sndtimeo_ms_, EPOLLOUT)) return -EINPROGRESS;
  }
}

std::size_t TcpSocket::copy_out(const iovec* iov, int iovcnt, bool peek) noexcept {
  std::size_t total = 0, ioff = 0;
  int i = 0;
  pbuf* seg = rx_seg_;
  std::uint16_t off = rx_off_;
  bool freed = false;
  LatencyStats* const latency = owner_.latency();
  while (i < iovcnt) {
    if (seg == nullptr) {
      if (rx_head_ != nullptr || !rx_.pop(rx_head_)) break;  // peek stays within one chain
      seg = rx_seg_ = rx_head_;
      off = rx_off_ = 0;
    }
    const std::size_t n = std::min<std::size_t>(seg->len - off, iov[i].iov_len - ioff);
    std::memcpy(static_cast<char*>(iov[i].iov_base) + ioff, static_cast<const char*>(seg->payload) + off, n);
    total += n;
    ioff += n;
    off = static_cast<std::uint16_t>(off + n);
    if (ioff == iov[i].iov_len) {
      ++i;
      ioff = 0;
    }
    if (off == seg->len) {
      if (!peek && latency->on()) latency->record_rx(rx_stamp(seg));
      seg = seg->next;
      off = 0;
      if (seg == nullptr && !peek) {
        while (!rx_done_.push(rx_head_)) {  // the stack drains it: wait a moment
          schedule_service();
          sched_yield();
        }
        rx_head_ = rx_seg_ = nullptr;
        freed = true;
      } else if (seg == nullptr) {
        break;
      }
    }
  }
  if (!peek) {
    rx_seg_ = seg;
    rx_off_ = off;
    rx_bytes_.fetch_sub(total, std::memory_order_seq_cst);
  }
  if (freed) schedule_service();
  return total;
}

ssize_t TcpSocket::recv(const iovec* iov, int iovcnt, int flags, sockaddr* from, socklen_t* fromlen) {
  bool driven = drive_if_stale();  // run to completion: a round, if the last is stale
  std::lock_guard lock(rx_mu_);
  const std::size_t want = iov_total(iov, iovcnt);
  for (;;) {
    const std::uint32_t seen = edge_seq();
    const bool fin = rx_fin_.load() || shut_rd_.load();  // read before the data: FIN comes after it
    const std::size_t n = want == 0 ? 0 : copy_out(iov, iovcnt, flags & MSG_PEEK);
    if (n > 0 || want == 0) {
      if (rx_bytes_.load() == 0 && !fin) {
        clear(EPOLLIN);
        if (rx_bytes_.load() != 0 || rx_fin_.load()) raise(EPOLLIN);
      }
      if (from != nullptr) sockaddr_in_to(peer_, from, fromlen);
      return static_cast<ssize_t>(n);
    }
    if (fin) return 0;
    const State s = state_.load();
    if (s == State::Closed) return error_.load() != 0 ? -take_error() : 0;
    if (s != State::Connected && s != State::Connecting) return -ENOTCONN;
    if (drive_once(driven)) continue;  // run to completion: what came in since the last round
    if (nonblocking() || (flags & MSG_DONTWAIT)) return -EAGAIN;
    if (!wait_event(seen, rcvtimeo_ms_, EPOLLIN)) return -EAGAIN;
  }
}

ssize_t TcpSocket::send(const iovec* iov, int iovcnt, int flags, const sockaddr*, socklen_t) {
  bool driven = drive_if_stale();  // run to completion: a round, if the last is stale
  std::lock_guard lock(tx_mu_);
  const std::size_t total = iov_total(iov, iovcnt);
  std::size_t written = 0, ioff = 0;
  int i = 0;
  for (;;) {
    const std::uint32_t seen = edge_seq();
    const std::uint32_t takes = tx_takes_.load(std::memory_order_acquire);  // before the look at the room
    const State s = state_.load();
    if (s == State::Closed || shut_wr_.load()) {
      const int e = take_error();
      if (e != 0 && written == 0) return -e;
      if (!(flags & MSG_NOSIGNAL) && written == 0 && !exit_closed_.load(std::memory_order_relaxed)) ::raise(SIGPIPE);
      return written != 0 ? static_cast<ssize_t>(written) : -EPIPE;
    }
    if (s == State::Connected) {
      // Latency on and no write being timed: this one is, up to its last byte.
      const bool timed = written == 0 && owner_.latency()->on() && tx_stamp_.load(std::memory_order_acquire) == 0;
      const std::uint64_t t0 = timed ? rte_rdtsc() : 0;
      written += fill_tx(iov, iovcnt, i, ioff);
      if (written != 0) {
        if (timed) {
          tx_stamp_end_.store(tx_written_, std::memory_order_relaxed);
          tx_stamp_.store(t0, std::memory_order_release);  // the end is seen with it
        }
        schedule_service();
      }
      if (written == total) return static_cast<ssize_t>(written);
      if (want_room(takes)) continue;
    } else if (s != State::Connecting) {
      return -ENOTCONN;
    }
    if (drive_once(driven)) continue;  // run to completion: the round may make room (or connect)
    if (nonblocking() || (flags & MSG_DONTWAIT)) {
      if (written != 0) return static_cast<ssize_t>(written);
      clear(EPOLLOUT);  // then look again: the stack may have made room meanwhile
      // Store then load against room_wanted's fence and look at EPOLLOUT:
      // either it sees EPOLLOUT clear and raises, or we see its room.
      std::atomic_thread_fence(std::memory_order_seq_cst);
      if (tx_room() != 0 && !tx_starved_.load() && s == State::Connected) raise(EPOLLOUT);
      return -EAGAIN;
    }
    if (!wait_event(seen, sndtimeo_ms_, EPOLLOUT)) return written != 0 ? static_cast<ssize_t>(written) : -EAGAIN;
  }
}

// Application thread, under tx_mu_: copies what fits from the iovecs at
// (i, off) into mbufs of the stack's pool and queues them: the one copy of a
// send. Returns the bytes queued, fewer than there are when the queue is
// full or no mbufs are to be had (the stack's tx budget is spent, or its
// pool short); then tx_starved_ is set and the stack raises EPOLLOUT later.
std::size_t TcpSocket::fill_tx(const iovec* iov, int iovcnt, int& i, std::size_t& off) noexcept {
  std::size_t done = 0;
  for (;;) {
    const std::size_t want = std::min(tx_room(), iov_left(iov, iovcnt, i, off));
    const std::size_t n = want != 0 ? queue_burst(want, iov, iovcnt, i, off) : 0;
    if (n == 0) return done;
    done += n;
  }
}

// Against push_tx's room_wanted, store then load on both sides (seq_cst):
// either the stack sees the flag after its take, or we see its count of
// takes move (a take before our look at the room, the send saw).
bool TcpSocket::want_room(std::uint32_t takes) noexcept {
  tx_wanted_.store(true, std::memory_order_seq_cst);
  return tx_takes_.load(std::memory_order_seq_cst) != takes;
}

// What the stack takes off tx_charged_ for the mbufs of `bytes` at seg each.
std::size_t TcpSocket::tx_charge(std::size_t bytes, std::size_t seg) noexcept {
  const std::size_t rest = bytes % seg;
  return bytes / seg * std::max(seg, kTxMinCharge) + (rest != 0 ? std::max(rest, kTxMinCharge) : 0);
}

// Up to want bytes in one burst of mbufs (a segment each); returns the bytes queued.
std::size_t TcpSocket::queue_burst(std::size_t want, const iovec* iov, int iovcnt, int& i, std::size_t& off) noexcept {
  const std::size_t seg = std::min<std::size_t>(tx_seg_.load(std::memory_order_relaxed),
                                                rte_pktmbuf_data_room_size(owner_.tx_pool()) - kTxHeadroom);
  std::array<rte_mbuf*, kTxBatch> ms;
  const std::uint32_t got = take_tx_mbufs(ms.data(), static_cast<std::uint32_t>(std::min((want + seg - 1) / seg, kTxBatch)));
  if (got == 0) {
    tx_starved_.store(true);
    schedule_service();
    return 0;
  }
  if (tx_starved_.load(std::memory_order_relaxed)) tx_starved_.store(false);  // EPOLLOUT need not wait for the stack
  want = std::min(want, got * seg);
  const std::size_t charge = tx_charge(want, seg);
  tx_charged_.fetch_add(charge, std::memory_order_release);  // before the stack can take one off
  std::size_t bytes = 0;
  std::uint32_t used = 0;
  for (; used < got && bytes < want; ++used) {
    const std::size_t len = std::min(seg, want - bytes);
    const int at_i = i;
    const std::size_t at_off = off;
    rte_mbuf* m = ms[used];
    m->data_off = kTxHeadroom;
    gather(rte_pktmbuf_mtod(m, char*), len, iov, iovcnt, i, off);
    m->data_len = static_cast<std::uint16_t>(len);
    m->pkt_len = static_cast<std::uint32_t>(len);
    if (!tx_.push(m)) {  // no memory to grow the queue: this one stays ours
      i = at_i;
      off = at_off;
      break;
    }
    bytes += len;
  }
  if (used < got) {
    handover_release(owner_.tx_pool());
    rte_pktmbuf_free_bulk(ms.data() + used, got - used);
    owner_.give_tx_budget(got - used);
    tx_charged_.fetch_sub(charge - tx_charge(bytes, seg), std::memory_order_release);
  }
  tx_written_ += bytes;
  return bytes;
}

// Budget and mbufs for up to n segments; how many it got (0: none to be had now).
std::uint32_t TcpSocket::take_tx_mbufs(rte_mbuf** ms, std::uint32_t n) noexcept {
  rte_mempool* pool = owner_.tx_pool();
  std::uint32_t got = owner_.take_tx_budget(n);
  if (got == 0) return 0;
  if (rte_pktmbuf_alloc_bulk(pool, ms, got) != 0) {  // all or nothing: the pool may hold fewer
    owner_.give_tx_budget(got - 1);
    got = 1;
    ms[0] = rte_pktmbuf_alloc(pool);
    if (ms[0] == nullptr) {
      owner_.give_tx_budget(1);
      return 0;
    }
  }
  handover_acquire(pool);  // freed by the stack's thread (ThreadSanitizer)
  return got;
}

int TcpSocket::shutdown(int how) noexcept {
  if (how != SHUT_RD && how != SHUT_WR && how != SHUT_RDWR) return -EINVAL;
  const State s = state_.load();
  if (s == State::Listening) return how == SHUT_WR ? 0 : shutdown_listener();
  if (s != State::Connected && s != State::Connecting) return -ENOTCONN;
  if (how != SHUT_WR) {
    shut_rd_.store(true);
    raise(EPOLLIN | EPOLLRDHUP);
  }
  if (how != SHUT_RD) {
    shut_wr_.store(true);
    Task t;
    t.op = Task::Op::Shutdown;
    const int rc = run(t);
    raise(EPOLLOUT);  // as Linux's tcp_poll after SEND_SHUTDOWN; a blocked send() wakes to EPIPE
    return rc;
  }
  return 0;
}

// Linux (inet_shutdown): SHUT_RD of a listener disconnects it; a blocked
// accept() wakes with EINVAL and new SYNs are refused.
int TcpSocket::shutdown_listener() noexcept {
  for (TcpSocket* s : shadows_) s->shutdown(SHUT_RD);
  Task t;
  t.op = Task::Op::Unlisten;
  const int rc = run(t);
  raise(EPOLLIN | EPOLLHUP);
  return rc;
}

void TcpSocket::close() noexcept {
  if (group_) {
    std::lock_guard lock(group_->mu);  // no shadow announces to us from now on
    group_->primary = nullptr;
  }
  for (TcpSocket* s : shadows_) s->close();
  shadows_.clear();
  request_close();  // the stack deletes this object
}

int TcpSocket::getpeername(sockaddr* addr, socklen_t* len) noexcept {
  if (state_.load() != State::Connected) return -ENOTCONN;
  sockaddr_in_to(peer_, addr, len);
  return 0;
}

int TcpSocket::readable_bytes() noexcept { return static_cast<int>(rx_bytes_.load()); }

}  // namespace gz::stack
