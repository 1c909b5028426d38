// FlowDirectory: which stack holds each TCP connection and each bound UDP
// port, when several stacks share one port. The queue a packet arrives on
// (RSS, af_packet's fanout hash, a peer that re-hashes its flow after a
// retransmission) need not be the queue of the stack that holds the pcb; the
// receiving stack then hands the packet over instead of answering with a reset.
// Thread: owner() is lock-free (every stack, per packet); insert and erase
// take a mutex (once per connection or bound port, never per packet) so that
// a key is in the table at most once. Open addressing with tombstones, which
// insert reuses; never allocates after construction.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>

namespace gz::stack {

class FlowDirectory {
 public:
  // capacity: rounded up to a power of two; keep it well above the flows alive.
  // ports: the local ports next_ephemeral() hands out (with ltran, this
  // process's share of them; processes sharing an address must not collide).
  explicit FlowDirectory(std::size_t capacity, std::uint16_t first_port = 49152, std::uint16_t last_port = 65535);

  // Ports in host order, the remote IPv4 address as on the wire.
  static std::uint64_t key(std::uint16_t local_port, std::uint32_t remote_ip, std::uint16_t remote_port) noexcept {
    return static_cast<std::uint64_t>(local_port) << 48 | static_cast<std::uint64_t>(remote_port) << 32 | remote_ip;
  }
  // A bound UDP port: datagrams to it go to its stack, whoever sent them.
  static std::uint64_t udp_key(std::uint16_t local_port) noexcept { return key(local_port, 0, 0); }

  enum class Insert { kNew, kAlreadyMine, kTaken, kFull };
  // An entry is never taken from its owner: kTaken when another stack holds
  // the key, kFull when there is no room (the flow then stays unsteered).
  // Only the caller that got kNew may erase it.
  Insert insert(std::uint64_t key, int owner) noexcept;
  // Removes key if owner holds it (a stale erase cannot remove a later owner's).
  void erase(std::uint64_t key, int owner) noexcept;
  // The owning stack, or -1.
  int owner(std::uint64_t key) const noexcept;
  // The next local port to try for a connection or an unbound UDP socket:
  // one sequence for every stack, so that their choices spread and any
  // collision is seen by insert() (49152..65535, RFC 6335 section 6, or the
  // range given at construction).
  std::uint16_t next_ephemeral() noexcept;

 private:
  static constexpr std::uint64_t kEmpty = 0;
  static constexpr std::uint64_t kErased = ~std::uint64_t{0};  // port 65535 -> 65535 from 255.255.255.255: never a flow
  std::size_t slot(std::uint64_t key) const noexcept;

  std::size_t mask_;
  std::atomic<std::uint32_t> next_port_;
  std::uint32_t first_port_, port_count_;
  std::mutex write_mu_;
  std::unique_ptr<std::atomic<std::uint64_t>[]> keys_;
  std::unique_ptr<std::atomic<std::int32_t>[]> owners_;
};

}  // namespace gz::stack
