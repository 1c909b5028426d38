// LtranLink: this process's registration with ltran (use_ltran = 1).
//
// Registers on <run_dir>/<unix_prefix>ltran.sock before DPDK starts: ltran
// checks who we are (SO_PEERCRED), makes a net_memif port for us and answers
// with its socket, secret and our local port range. The memif client vdev
// (memif_vdev()) then joins EAL's arguments, and the port opens by MAC as any
// other. The connection stays open: it carries the port claims of listen()
// and bind(), and our exit (or death) is ltran's notice to drop our flows.
// Thread: connect() from the thread starting lstack; claim()/release() from
// any thread (one mutex: a round trip per listen or bind, never per packet).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "gz/result.hpp"
#include "gz/wire.hpp"
#include "netdev.hpp"

namespace gz::stack {

class LtranLink final : public PortClaims {
 public:
  // Errors: ECONNREFUSED/ENOENT (no ltran on socket_path, with a hint),
  // EPERM (ltran does not allow our uid), EACCES/EINVAL/EUSERS (ltran's
  // reason in the message), EPROTO (another version of ltran).
  static Result<std::unique_ptr<LtranLink>> connect(const std::string& socket_path, const wire::LtranRegister& req);
  ~LtranLink() override;
  LtranLink(const LtranLink&) = delete;
  LtranLink& operator=(const LtranLink&) = delete;

  const wire::LtranRegistered& registered() const noexcept { return reg_; }
  // "--vdev=net_memif...,role=client,...": the port ltran made for us. With
  // zero_copy our mbufs are memif's buffers (ltran copies once each way);
  // it needs every mbuf in the first DPDK memory list (Port checks that).
  // pool_mbufs (one queue's pool) sizes the rings: see memif_log2_ring.
  std::string memif_vdev(bool zero_copy, std::size_t pool_mbufs) const;
  // Starts a thread (lstack_ltran) that waits for ltran to hang up (it
  // stopped or died) and then calls lost once. Errors: EAGAIN (no thread).
  Result<void> watch(std::function<void()> lost);
  // Stops and joins the watcher (lost is not called after). Idempotent.
  void stop_watch() noexcept;
  int claim(std::uint8_t proto, std::uint16_t port) noexcept override;
  void release(std::uint8_t proto, std::uint16_t port) noexcept override;
  int hand_off(const void* handoff, std::uint32_t len) noexcept override;

 private:
  LtranLink() = default;
  // One request and its answer; the answer's status (0 or -errno).
  int call(std::uint32_t type, const void* body, std::uint32_t len, void* out, std::uint32_t out_len,
           std::string* why) noexcept;
  int fd_ = -1;
  int stop_fd_ = -1;  // eventfd: ends the watcher
  std::thread watcher_;
  std::mutex mu_;
  bool down_ = false;  // ltran hung up: every claim fails with ENETDOWN
  wire::LtranRegistered reg_{};
};

}  // namespace gz::stack
