// TcpSocket options: what Linux reports, applied to lwIP where it has a knob.
#include <netinet/tcp.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "tcp_socket.hpp"
#include "sock_util.hpp"
#include "tcp_socket_task.hpp"

namespace gz::stack {
namespace {

int put_timeval(void* val, socklen_t* len, long ms) {
  if (val == nullptr || len == nullptr || *len < static_cast<socklen_t>(sizeof(timeval))) return -EINVAL;
  timeval tv{ms < 0 ? 0 : ms / 1000, ms < 0 ? 0 : (ms % 1000) * 1000};
  std::memcpy(val, &tv, sizeof tv);
  *len = sizeof tv;
  return 0;
}

int put_int(void* val, socklen_t* len, int v) { return put_option_int(val, len, v); }

}  // namespace

int TcpSocket::getsockopt(int level, int name, void* val, socklen_t* len) noexcept {
  if (level == SOL_SOCKET) {
    switch (name) {
      case SO_ERROR: return put_int(val, len, take_error());
      case SO_TYPE: return put_int(val, len, SOCK_STREAM);
      case SO_DOMAIN: return put_int(val, len, AF_INET);
      case SO_PROTOCOL: return put_int(val, len, IPPROTO_TCP);
      case SO_ACCEPTCONN: return put_int(val, len, state_.load() == State::Listening);
      case SO_REUSEADDR: return put_int(val, len, opt_reuseaddr_);
      case SO_REUSEPORT: return put_int(val, len, reuseport_);
      case SO_KEEPALIVE: return put_int(val, len, opt_keepalive_);
      case SO_SNDBUF: return put_int(val, len, sndbuf_);
      case SO_RCVBUF: return put_int(val, len, rcvbuf_);
      case SO_RCVTIMEO: return put_timeval(val, len, rcvtimeo_ms_);
      case SO_SNDTIMEO: return put_timeval(val, len, sndtimeo_ms_);
      case SO_LINGER: {
        if (val == nullptr || len == nullptr || *len < static_cast<socklen_t>(sizeof(linger))) return -EINVAL;
        const int sec = linger_sec_.load();
        linger l{sec >= 0 ? 1 : 0, sec >= 0 ? sec : 0};
        std::memcpy(val, &l, sizeof l);
        *len = sizeof l;
        return 0;
      }
      default: return -ENOPROTOOPT;
    }
  }
  if (level == IPPROTO_TCP) {
    switch (name) {
      case TCP_NODELAY: return put_int(val, len, opt_nodelay_);
      case TCP_KEEPIDLE: return put_int(val, len, keepidle_);
      case TCP_KEEPINTVL: return put_int(val, len, keepintvl_);
      case TCP_KEEPCNT: return put_int(val, len, keepcnt_);
      case TCP_MAXSEG: return put_int(val, len, TCP_MSS);
      case TCP_INFO: {
        if (val == nullptr || len == nullptr) return -EFAULT;
        tcp_info info{};
        Task t;
        t.op = Task::Op::Info;
        t.info = &info;
        if (int rc = run(t); rc != 0) return rc;
        if (state_.load() == State::Listening) info.tcpi_state = TCP_LISTEN;
        const socklen_t n = std::min<socklen_t>(*len, sizeof info);
        std::memcpy(val, &info, n);
        *len = n;
        return 0;
      }
      default: return -ENOPROTOOPT;
    }
  }
  return -ENOPROTOOPT;
}

int TcpSocket::setsockopt(int level, int name, const void* val, socklen_t len) noexcept {
  int v = 0;
  if (level == SOL_SOCKET && (name == SO_RCVTIMEO || name == SO_SNDTIMEO)) {
    return timeval_to_ms(val, len, name == SO_RCVTIMEO ? rcvtimeo_ms_ : sndtimeo_ms_);
  }
  if (level == SOL_SOCKET && name == SO_LINGER) {
    if (val == nullptr || len < static_cast<socklen_t>(sizeof(linger))) return -EINVAL;
    linger l;
    std::memcpy(&l, val, sizeof l);
    linger_sec_.store(l.l_onoff ? std::max(0, l.l_linger) : -1);
    return 0;
  }
  if (int rc = option_int(val, len, v); rc != 0) return rc;
  bool to_stack = false;
  if (level == SOL_SOCKET) {
    switch (name) {
      case SO_REUSEADDR: opt_reuseaddr_ = v != 0; to_stack = true; break;
      case SO_REUSEPORT: reuseport_ = v != 0; break;  // one lwIP per stack: ports are not shared
      case SO_KEEPALIVE: opt_keepalive_ = v != 0; to_stack = true; break;
      case SO_SNDBUF:
        sndbuf_ = buffer_option(v);
        tx_queue_cap_.store(std::min<std::size_t>(kTxQueueBytes, static_cast<std::size_t>(sndbuf_)));
        break;
      case SO_RCVBUF: rcvbuf_ = buffer_option(v); break;
      default: return -ENOPROTOOPT;
    }
  } else if (level == IPPROTO_TCP) {
    switch (name) {
      case TCP_NODELAY: opt_nodelay_ = v != 0; to_stack = true; break;
      case TCP_KEEPIDLE: if (v < 1 || v > 32767) return -EINVAL; keepidle_ = v; to_stack = true; break;
      case TCP_KEEPINTVL: if (v < 1 || v > 32767) return -EINVAL; keepintvl_ = v; to_stack = true; break;
      case TCP_KEEPCNT: if (v < 1 || v > 127) return -EINVAL; keepcnt_ = v; to_stack = true; break;
      case TCP_MAXSEG: case TCP_QUICKACK: case TCP_DEFER_ACCEPT: case TCP_FASTOPEN: break;  // accepted, no lwIP knob
      default: return -ENOPROTOOPT;
    }
  } else if (level == IPPROTO_IP && (name == IP_TOS || name == IP_TTL)) {
    return 0;  // accepted; lwIP keeps its own defaults
  } else {
    return -ENOPROTOOPT;
  }
  if (!to_stack) return 0;
  Task t;
  t.op = Task::Op::SetOpt;
  t.level = level;
  t.name = name;
  t.value = v;
  return run(t);
}

}  // namespace gz::stack
