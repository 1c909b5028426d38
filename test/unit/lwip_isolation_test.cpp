// Proves that lwIP's state is per-thread: four threads each run their own lwIP
// instance with the SAME addresses, MACs and ports, each with two netifs linked
// in memory, and move 1 MiB each way over TCP at the same time. Shared state
// would show up as a failed bind (the port is taken), a listen list holding
// another thread's PCB, or bytes of another thread's stream (checksum mismatch).
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <barrier>
#include <chrono>
#include <cstdint>
#include <deque>
#include <random>
#include <set>
#include <thread>
#include <vector>

#include "lwip/etharp.h"
#include "lwip/inet_chksum.h"
#include "lwip/netif.h"
#include "lwip/priv/tcp_priv.h"
#include "lwip/stats.h"
#include "lwip/tcp.h"
#include "lwip_instance.hpp"
#include "netif/ethernet.h"

extern "C" u16_t lwip_standard_chksum(const void* dataptr, int len);  // lwIP's algorithm 3, the reference

namespace gz::stack {
namespace {

constexpr std::size_t kBytes = 1 << 20;
constexpr std::uint16_t kPort = 5001;
constexpr int kThreads = 4;

using Frames = std::deque<std::vector<std::uint8_t>>;

// A reproducible byte stream; each thread and direction has its own seed.
struct Stream {
  std::uint64_t state;
  std::uint8_t next() {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return static_cast<std::uint8_t>(state);
  }
};

struct Fnv {
  std::uint64_t h = 1469598103934665603ULL;
  void add(const std::uint8_t* p, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) h = (h ^ p[i]) * 1099511628211ULL;
  }
};

std::uint64_t expected_hash(std::uint64_t seed) {
  Stream s{seed};
  Fnv f;
  for (std::size_t i = 0; i < kBytes; ++i) {
    std::uint8_t b = s.next();
    f.add(&b, 1);
  }
  return f.h;
}

struct Node {
  netif nif{};
  std::array<std::uint8_t, 6> mac{};
  Frames rx;             // frames waiting to enter this node
  Frames* wire_to_peer;  // where this node's frames go
  bool ack_bursts = false;    // deliver() brackets its frames as one receive burst (patch 0012)
  std::size_t pure_acks = 0;  // TCP frames without payload this node sent
  std::size_t bursts = 0;     // deliver() calls that had frames for this node
};

// An IPv4 TCP frame carrying no data (an ACK, or SYN/FIN without data).
bool is_pure_tcp_ack(const std::vector<std::uint8_t>& f) {
  if (f.size() < 14 + 20 + 20 || f[12] != 0x08 || f[13] != 0x00 || f[14 + 9] != 6) return false;
  const std::size_t ip_len = (static_cast<std::size_t>(f[16]) << 8) | f[17];
  const std::size_t ihl = (f[14] & 0x0f) * 4u;
  const std::size_t thl = (f[14 + ihl + 12] >> 4) * 4u;
  return ip_len == ihl + thl;
}

err_t link_output(netif* n, pbuf* p) {
  auto* node = static_cast<Node*>(n->state);
  std::vector<std::uint8_t> frame(p->tot_len);
  pbuf_copy_partial(p, frame.data(), p->tot_len, 0);
  if (is_pure_tcp_ack(frame)) ++node->pure_acks;
  node->wire_to_peer->push_back(std::move(frame));
  return ERR_OK;
}

err_t node_init(netif* n) {
  auto* node = static_cast<Node*>(n->state);
  n->name[0] = 'm';
  n->name[1] = 'e';
  n->output = etharp_output;
  n->linkoutput = link_output;
  n->mtu = 1500;
  n->hwaddr_len = 6;
  std::copy(node->mac.begin(), node->mac.end(), n->hwaddr);
  n->flags = NETIF_FLAG_BROADCAST | NETIF_FLAG_ETHARP | NETIF_FLAG_ETHERNET | NETIF_FLAG_LINK_UP;
  return ERR_OK;
}

// Feeds queued frames to the node; a frame lwIP refuses is dropped, as on a NIC.
void deliver(Node& node) {
  if (node.ack_bursts) tcp_ack_burst_begin();
  if (!node.rx.empty()) ++node.bursts;
  while (!node.rx.empty()) {
    std::vector<std::uint8_t> frame = std::move(node.rx.front());
    node.rx.pop_front();
    pbuf* p = pbuf_alloc(PBUF_RAW, static_cast<u16_t>(frame.size()), PBUF_POOL);
    if (p == nullptr) continue;
    pbuf_take(p, frame.data(), static_cast<u16_t>(frame.size()));
    if (node.nif.input(p, &node.nif) != ERR_OK) pbuf_free(p);
  }
  if (node.ack_bursts) tcp_ack_burst_end();
}

// One end of the TCP conversation.
struct Peer {
  tcp_pcb* pcb = nullptr;
  Stream tx;
  std::size_t quota = kBytes;   // bytes to send
  std::size_t expect = kBytes;  // bytes to receive
  std::size_t queued = 0;
  std::size_t received = 0;
  Fnv rx_hash;
  bool connected = false;
  bool closed = false;       // we called tcp_close
  bool peer_closed = false;  // FIN received
  bool failed = false;       // lwIP reported an error (RST, out of memory)
};

void pump_send(Peer& peer) {
  std::vector<std::uint8_t> chunk;
  while (peer.queued < peer.quota && !peer.closed && !peer.failed) {
    std::size_t n = std::min<std::size_t>({tcp_sndbuf(peer.pcb), 16384, peer.quota - peer.queued});
    if (n == 0) break;
    chunk.resize(n);
    Stream saved = peer.tx;
    for (auto& b : chunk) b = peer.tx.next();
    if (tcp_write(peer.pcb, chunk.data(), static_cast<u16_t>(n), TCP_WRITE_FLAG_COPY) != ERR_OK) {
      peer.tx = saved;  // queue full: retry the same bytes later
      break;
    }
    peer.queued += n;
  }
  if (!peer.failed && !peer.closed) tcp_output(peer.pcb);
}

err_t on_recv(void* arg, tcp_pcb* pcb, pbuf* p, err_t) {
  auto* peer = static_cast<Peer*>(arg);
  if (p == nullptr) {
    peer->peer_closed = true;
    return ERR_OK;
  }
  for (pbuf* q = p; q != nullptr; q = q->next) peer->rx_hash.add(static_cast<std::uint8_t*>(q->payload), q->len);
  peer->received += p->tot_len;
  tcp_recved(pcb, p->tot_len);
  pbuf_free(p);
  return ERR_OK;
}

void on_error(void* arg, err_t) {
  auto* peer = static_cast<Peer*>(arg);
  peer->failed = true;
  peer->pcb = nullptr;
}

void attach(Peer& peer, tcp_pcb* pcb) {
  peer.pcb = pcb;
  tcp_arg(pcb, &peer);
  tcp_recv(pcb, on_recv);
  tcp_err(pcb, on_error);
}

struct Outcome {
  bool instance_ok = false;
  err_t bind_err = ERR_VAL;
  int listen_pcbs_seen = -1;
  std::size_t client_rx = 0, server_rx = 0;
  std::uint64_t client_hash = 0, server_hash = 0;
  bool finished = false;
  bool any_failure = false;
  std::uint32_t tcp_segments_recv = 0;
  std::size_t server_acks = 0;    // the server's frames without payload
  std::size_t server_bursts = 0;  // its deliver() calls with frames
};

int count_listen_pcbs() {
  int n = 0;
  for (tcp_pcb_listen* l = tcp_listen_pcbs.listen_pcbs; l != nullptr; l = l->next) ++n;
  return n;
}

void close_when_done(Peer& self) {
  if (!self.closed && !self.failed && self.queued == self.quota && self.received == self.expect) {
    tcp_close(self.pcb);
    self.closed = true;
  }
}

void run_conversation(Node& a, Node& b, Peer& client, Peer& server, LwipInstance& inst, Outcome& out) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  for (long iter = 0; iter < 5'000'000 && std::chrono::steady_clock::now() < deadline; ++iter) {
    if (client.connected) pump_send(client);
    if (server.pcb != nullptr) pump_send(server);
    deliver(a);
    deliver(b);
    inst.run_timers();
    if (client.failed || server.failed) break;
    if (client.connected) close_when_done(client);
    if (server.pcb != nullptr) close_when_done(server);
    if (client.closed && server.closed && client.peer_closed && server.peer_closed && a.rx.empty() && b.rx.empty()) {
      out.finished = true;
      break;
    }
  }
}

// Two netifs of this thread's lwIP joined by an in-memory wire: a is
// 10.0.0.1, b 10.0.0.2.
void link_nodes(Node& a, Node& b) {
  a.mac = {0x02, 0, 0, 0, 0, 0x0a};
  b.mac = {0x02, 0, 0, 0, 0, 0x0b};
  a.wire_to_peer = &b.rx;
  b.wire_to_peer = &a.rx;
  ip4_addr_t ip_a, ip_b, mask, gw;
  IP4_ADDR(&ip_a, 10, 0, 0, 1);
  IP4_ADDR(&ip_b, 10, 0, 0, 2);
  IP4_ADDR(&mask, 255, 255, 255, 0);
  ip4_addr_set_zero(&gw);
  netif_add(&a.nif, &ip_a, &mask, &gw, &a, node_init, ethernet_input);
  netif_add(&b.nif, &ip_b, &mask, &gw, &b, node_init, ethernet_input);
  netif_set_up(&a.nif);
  netif_set_up(&b.nif);
}

// Both netifs share one subnet: each end is bound to its netif so that lwIP
// routes over the in-memory wire instead of out of the destination's own netif.
tcp_pcb* listen_on(Node& b, Peer& server, err_t& bind_err) {
  tcp_pcb* listener = tcp_new();
  tcp_bind_netif(listener, &b.nif);
  bind_err = tcp_bind(listener, netif_ip_addr4(&b.nif), kPort);
  listener = tcp_listen(listener);
  tcp_arg(listener, &server);
  tcp_accept(listener, [](void* arg, tcp_pcb* pcb, err_t err) -> err_t {
    if (err != ERR_OK || pcb == nullptr) return ERR_VAL;
    attach(*static_cast<Peer*>(arg), pcb);
    return ERR_OK;
  });
  return listener;
}

void connect_from(Node& a, Peer& client) {
  ip_addr_t ip_b = IPADDR4_INIT_BYTES(10, 0, 0, 2);
  client.pcb = tcp_new();
  attach(client, client.pcb);
  tcp_bind_netif(client.pcb, &a.nif);
  tcp_connect(client.pcb, &ip_b, kPort, [](void* arg, tcp_pcb*, err_t) -> err_t {
    static_cast<Peer*>(arg)->connected = true;
    return ERR_OK;
  });
}

// ack_bursts: each node takes its frames as one receive burst (patch 0012);
// one_way: only the client sends data, so the server's ACKs ride on nothing.
void isolated_instance(int index, std::barrier<>& sync, Outcome& out, bool ack_bursts, bool one_way) {
  auto inst = LwipInstance::create(64 << 20);
  out.instance_ok = inst.ok();
  if (!inst.ok()) {
    sync.arrive_and_drop();
    return;
  }
  Node a, b;
  a.ack_bursts = b.ack_bursts = ack_bursts;
  link_nodes(a, b);

  Peer client, server;
  client.tx.state = 0x1000 + static_cast<std::uint64_t>(index) * 2;
  server.tx.state = 0x1001 + static_cast<std::uint64_t>(index) * 2;
  if (one_way) server.quota = client.expect = 0;

  tcp_pcb* listener = listen_on(b, server, out.bind_err);
  sync.arrive_and_wait();  // every thread is listening on the same ip:port now
  out.listen_pcbs_seen = count_listen_pcbs();
  sync.arrive_and_wait();

  connect_from(a, client);
  run_conversation(a, b, client, server, *inst.value(), out);
  tcp_close(listener);

  out.client_rx = client.received;
  out.server_rx = server.received;
  out.client_hash = client.rx_hash.h;
  out.server_hash = server.rx_hash.h;
  out.any_failure = client.failed || server.failed;
  out.tcp_segments_recv = lwip_stats.tcp.recv;
  out.server_acks = b.pure_acks;
  out.server_bursts = b.bursts;
}

TEST(LwipIsolation, FourConcurrentInstancesDoNotShareState) {
  std::barrier<> sync(kThreads);
  std::array<Outcome, kThreads> out{};
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) threads.emplace_back(isolated_instance, i, std::ref(sync), std::ref(out[i]), false, false);
  for (auto& t : threads) t.join();

  for (int i = 0; i < kThreads; ++i) {
    SCOPED_TRACE("thread " + std::to_string(i));
    ASSERT_TRUE(out[i].instance_ok);
    EXPECT_EQ(out[i].bind_err, ERR_OK) << "another thread's PCB holds the port: shared state";
    EXPECT_EQ(out[i].listen_pcbs_seen, 1);
    EXPECT_FALSE(out[i].any_failure);
    EXPECT_TRUE(out[i].finished);
    EXPECT_EQ(out[i].client_rx, kBytes);
    EXPECT_EQ(out[i].server_rx, kBytes);
    EXPECT_EQ(out[i].client_hash, expected_hash(0x1001 + static_cast<std::uint64_t>(i) * 2));
    EXPECT_EQ(out[i].server_hash, expected_hash(0x1000 + static_cast<std::uint64_t>(i) * 2));
    EXPECT_GT(out[i].tcp_segments_recv, 2 * kBytes / TCP_MSS);  // this thread's own counters
  }
  EXPECT_EQ(lwip_stats.tcp.recv, 0u) << "the test thread ran no lwIP: its counters must be untouched";
  EXPECT_EQ(lwip_assert_count(), 0u);
}

// Patch 0012: inside a receive burst, in-order data is acknowledged once per
// connection at the burst's end, not every second segment; the transfer is
// the same. deliver() hands each node everything queued for it as one burst.
TEST(LwipAckBurst, OneAckPerBurstAndTheSameBytes) {
  Outcome each, burst;
  for (auto [out, on] : {std::pair{&each, false}, std::pair{&burst, true}}) {
    std::thread([out, on] {
      std::barrier<> alone(1);
      isolated_instance(0, alone, *out, on, true);
    }).join();
  }
  for (const Outcome* o : {&each, &burst}) {
    ASSERT_TRUE(o->instance_ok);
    EXPECT_TRUE(o->finished);
    EXPECT_FALSE(o->any_failure);
    EXPECT_EQ(o->client_rx, 0u);
    EXPECT_EQ(o->server_rx, kBytes);
  }
  EXPECT_EQ(burst.server_hash, expected_hash(0x1000));
  // The server sends only ACKs (and its SYN-ACK and FIN): at most one per
  // burst with bursts, one every second segment (many per burst) without.
  EXPECT_LE(burst.server_acks, burst.server_bursts + 2) << burst.server_bursts << " bursts";
  // ... and at least one every second burst: the burst's end does send it
  // (lwIP's 250 ms delayed-ACK timer alone would send a handful here).
  EXPECT_GE(burst.server_acks * 2, burst.server_bursts) << burst.server_acks << " ACKs";
  EXPECT_GT(each.server_acks, each.server_bursts * 3 / 2) << each.server_bursts << " bursts";
}

// Patch 0015: the persist timer fires with the unsent head not sent and a
// send window of 512 KiB (lstack's full window, scaled: a multiple of
// 64 KiB). The head goes out; lwIP used to split it at the window's low 16
// bits, 0: an assertion, nothing sent, the timer again (seen in a stall of
// ltran-lacp, "Can't split segment into length 0").
TEST(LwipPersist, AWindowBeyond64KiBSendsTheHead) {
  const std::uint64_t asserts_before = lwip_assert_count();
  std::thread([] {
    auto inst = LwipInstance::create(8 << 20);
    ASSERT_TRUE(inst.ok());
    Node a, b;
    link_nodes(a, b);
    Peer client, server;
    client.quota = 0;
    server.quota = 100;  // its segment announces its whole window (the SYN-ACK's is unscaled)
    err_t bind_err = ERR_VAL;
    tcp_pcb* listener = listen_on(b, server, bind_err);
    ASSERT_EQ(bind_err, ERR_OK);
    connect_from(a, client);
    for (int i = 0; i < 100 && client.received < 100; ++i) {
      if (server.pcb != nullptr) pump_send(server);
      deliver(b);
      deliver(a);
    }
    ASSERT_EQ(client.received, 100u);
    ASSERT_EQ(client.pcb->unacked, nullptr);
    ASSERT_EQ(client.pcb->snd_wnd, tcpwnd_size_t{TCP_WND}) << "lstack's full window, 512 KiB";
    // Queued, not sent, and the persist timer running as tcp_output starts it
    // (how it kept running with the window this wide in ltran-lacp is open).
    // No poll callback's tcp_output meanwhile: the persist timer alone.
    std::vector<std::uint8_t> data(1000, 0x5a);
    ASSERT_EQ(tcp_write(client.pcb, data.data(), static_cast<u16_t>(data.size()), TCP_WRITE_FLAG_COPY), ERR_OK);
    client.pcb->persist_cnt = 0;
    client.pcb->persist_backoff = 1;
    client.pcb->persist_probe = 0;
    client.pcb->polltmr = 0;
    client.pcb->pollinterval = 255;
    for (int tick = 0; tick < 3; ++tick) tcp_slowtmr();  // tcp_persist_backoff[0]: 3 ticks
    EXPECT_EQ(client.pcb->unsent, nullptr) << "the head is still unsent";
    EXPECT_NE(client.pcb->unacked, nullptr);
    deliver(b);
    EXPECT_EQ(server.received, 1000u);
    tcp_abort(client.pcb);
    tcp_close(listener);
    if (server.pcb != nullptr) tcp_abort(server.pcb);
  }).join();
  EXPECT_EQ(lwip_assert_count(), asserts_before) << "lwIP asserted (\"Can't split segment into length 0\")";
}

TEST(LwipIsolation, SecondInstanceOnOneThreadIsRefused) {
  std::thread([] {
    auto first = LwipInstance::create(1 << 20);
    ASSERT_TRUE(first.ok());
    auto second = LwipInstance::create(1 << 20);
    ASSERT_FALSE(second.ok());
    EXPECT_EQ(second.error().code, EBUSY);
  }).join();
}

TEST(LwipIsolation, ArenaExhaustionIsErrMemNotACrash) {
  std::thread([] {
    auto inst = LwipInstance::create(LwipArena::kChunkBytes);
    ASSERT_TRUE(inst.ok());
    std::vector<tcp_pcb*> pcbs;
    for (int i = 0; i < 100000; ++i) {  // bounded; the arena gives out long before
      tcp_pcb* p = tcp_new();
      if (p == nullptr) break;
      pcbs.push_back(p);
    }
    EXPECT_GT(pcbs.size(), 100u);
    EXPECT_LT(pcbs.size(), 100000u);
    EXPECT_GT(inst.value()->arena().usage().failures, 0u);
    for (tcp_pcb* p : pcbs) tcp_abort(p);
    EXPECT_NE(tcp_new(), nullptr) << "memory returned by tcp_abort is reusable";
  }).join();
}

// Patch 0013: the active and TIME-WAIT lists are doubly linked (pcb->pprev)
// so that a pcb leaves them without a walk. Pcbs leave in a random order;
// after each, the lists hold exactly the rest with every back link right,
// and the 4-tuple hash no longer finds the one that left.
bool list_holds(tcp_pcb** head, const std::set<tcp_pcb*>& want) {
  std::size_t n = 0;
  tcp_pcb* last = nullptr;
  for (tcp_pcb** pp = head; *pp != nullptr && n <= want.size(); pp = &(*pp)->next, ++n) {
    if ((*pp)->pprev != pp || want.count(*pp) == 0) return false;
    last = *pp;
  }
  // Patch 0014: the TIME-WAIT list also knows its end and its length.
  if (head == &tcp_tw_pcbs && (tcp_tw_tail != last || tcp_tw_count != n)) return false;
  return n == want.size();
}

TEST(LwipPcbLists, PcbsLeaveTheActiveAndTimeWaitListsInAnyOrder) {
  const std::uint64_t asserts_before = lwip_assert_count();
  std::thread([] {
    auto inst = LwipInstance::create(8 << 20);
    ASSERT_TRUE(inst.ok());
    ip_addr_t local = IPADDR4_INIT_BYTES(10, 0, 0, 1);
    ip_addr_t remote = IPADDR4_INIT_BYTES(10, 0, 0, 2);
    std::vector<tcp_pcb*> pcbs;
    std::set<tcp_pcb*> lists[2];  // [0] active, [1] TIME-WAIT
    for (int i = 0; i < 3000; ++i) {
      tcp_pcb* p = tcp_alloc(TCP_PRIO_NORMAL);
      ASSERT_NE(p, nullptr);
      p->local_ip = local;
      p->remote_ip = remote;
      p->local_port = 80;
      p->remote_port = static_cast<u16_t>(10000 + i);
      const int tw = i % 3 != 0;
      p->state = tw ? TIME_WAIT : ESTABLISHED;
      tcp_pcb** list = tw ? &tcp_tw_pcbs : &tcp_active_pcbs;  // lwIP's macros want a plain name
      TCP_REG(list, p);
      lists[tw].insert(p);
      pcbs.push_back(p);
    }
    ASSERT_TRUE(list_holds(&tcp_active_pcbs, lists[0]));
    ASSERT_TRUE(list_holds(&tcp_tw_pcbs, lists[1]));
    // A pcb on neither list (a caller's bug, which lwIP's assert counts) is
    // left alone, as TCP_RMV's walk left it: nothing moves, nothing crashes.
    tcp_pcb* stray = tcp_alloc(TCP_PRIO_NORMAL);
    ASSERT_NE(stray, nullptr);
    tcp_pcb** tw_list = &tcp_tw_pcbs;
    TCP_RMV(tw_list, stray);
    ASSERT_TRUE(list_holds(&tcp_tw_pcbs, lists[1]));
    tcp_free(stray);
    std::mt19937 rng(13);
    std::shuffle(pcbs.begin(), pcbs.end(), rng);
    for (std::size_t k = 0; k < pcbs.size(); ++k) {
      tcp_pcb* p = pcbs[k];
      const int tw = p->state == TIME_WAIT;
      EXPECT_EQ(tcp_hash_find(&local, 80, &remote, p->remote_port, NETIF_NO_INDEX), p);
      tcp_pcb** list = tw ? &tcp_tw_pcbs : &tcp_active_pcbs;
      TCP_RMV(list, p);
      lists[tw].erase(p);
      EXPECT_EQ(p->pprev, nullptr);
      EXPECT_EQ(tcp_hash_find(&local, 80, &remote, p->remote_port, NETIF_NO_INDEX), nullptr);
      if (k % 61 == 0 || k + 1 == pcbs.size()) {
        ASSERT_TRUE(list_holds(&tcp_active_pcbs, lists[0])) << "after " << k + 1 << " left";
        ASSERT_TRUE(list_holds(&tcp_tw_pcbs, lists[1])) << "after " << k + 1 << " left";
      }
      tcp_free(p);
    }
    EXPECT_EQ(tcp_active_pcbs, nullptr);
    EXPECT_EQ(tcp_tw_pcbs, nullptr);
  }).join();
  EXPECT_EQ(lwip_assert_count(), asserts_before + 1) << "only the stray pcb's";
}

int tw_recycled = 0;

// Patch 0014: TIME-WAIT runs newest first from the moment a pcb enters it, so
// tcp_slowtmr takes the expired ones from the end and stops at the first that
// stays; beyond TCP_TW_MAX the oldest go at once, each counted by the hook.
tcp_pcb* enter_time_wait(u16_t remote_port) {
  static ip_addr_t local = IPADDR4_INIT_BYTES(10, 0, 0, 1);
  static ip_addr_t remote = IPADDR4_INIT_BYTES(10, 0, 0, 2);
  tcp_pcb* p = tcp_alloc(TCP_PRIO_NORMAL);
  if (p == nullptr) return nullptr;
  p->local_ip = local;
  p->remote_ip = remote;
  p->local_port = 80;
  p->remote_port = remote_port;
  p->state = TIME_WAIT;
  p->tmr = tcp_ticks - 1000;  // closed long ago: TIME-WAIT still starts now (RFC 793 3.9)
  tcp_pcb** list = &tcp_tw_pcbs;
  TCP_REG(list, p);
  return p;
}

bool tw_holds(u16_t port) {
  ip_addr_t local = IPADDR4_INIT_BYTES(10, 0, 0, 1);
  ip_addr_t remote = IPADDR4_INIT_BYTES(10, 0, 0, 2);
  return tcp_hash_find(&local, 80, &remote, port, NETIF_NO_INDEX) != nullptr;
}

TEST(LwipPcbLists, TimeWaitLasts60sFromItsStartAndStaysBounded) {
  static_assert(2 * TCP_MSL == 60000, "TIME-WAIT lasts 60 s, as Linux's");
  std::thread([] {
    auto inst = LwipInstance::create(40 << 20);
    ASSERT_TRUE(inst.ok());
    const u32_t lifetime = 2 * TCP_MSL / TCP_SLOW_INTERVAL;  // slow timer ticks
    const u32_t start = tcp_ticks;
    for (u16_t i = 0; i < 10; ++i) ASSERT_NE(enter_time_wait(1000 + i), nullptr);
    tcp_ticks = start + 5;
    for (u16_t i = 0; i < 10; ++i) ASSERT_NE(enter_time_wait(2000 + i), nullptr);
    EXPECT_EQ(tcp_tw_count, 20u);
    EXPECT_EQ(tcp_tw_tail->remote_port, 1000) << "the first to enter is the oldest";
    tcp_ticks = start + lifetime - 1;  // tcp_slowtmr counts one tick on
    tcp_slowtmr();
    EXPECT_EQ(tcp_tw_count, 20u) << "none has stayed 2 MSL yet";
    tcp_ticks = start + lifetime;
    tcp_slowtmr();
    EXPECT_EQ(tcp_tw_count, 10u) << "the first ten have stayed 2 MSL";
    EXPECT_FALSE(tw_holds(1009));
    EXPECT_TRUE(tw_holds(2000));
    EXPECT_EQ(tcp_tw_tail->remote_port, 2000);
    // Past the bound: the oldest go as new ones come, counted.
    tw_recycled = 0;
    for (u32_t i = 0; i < TCP_TW_MAX; ++i) ASSERT_NE(enter_time_wait(static_cast<u16_t>(3000 + i)), nullptr);
    EXPECT_EQ(tcp_tw_count, u32_t{TCP_TW_MAX});
    EXPECT_EQ(tw_recycled, 10);
    EXPECT_FALSE(tw_holds(2009));
    EXPECT_TRUE(tw_holds(3000));
    EXPECT_EQ(tcp_tw_tail->remote_port, 3000);
    // The rest leave by the timer, from the end, in one call.
    tcp_ticks += lifetime;
    tcp_slowtmr();
    EXPECT_EQ(tcp_tw_count, 0u);
    EXPECT_EQ(tcp_tw_pcbs, nullptr);
    EXPECT_EQ(tcp_tw_tail, nullptr);
  }).join();
}

}  // namespace

extern "C" void gz_lwip_tw_recycled(void) { ++tw_recycled; }

// lwIP sums every header and segment with LWIP_CHKSUM (gz_lwip_chksum):
// it must give what lwIP's own loop gives for every length and alignment,
// and pbuf chains of odd-length parts must sum as their flat copy.
TEST(LwipChecksum, SameSumAsLwipsOwnAtEveryLengthAndAlignment) {
  Stream s{0x1071};
  std::vector<std::uint8_t> buf(70000);
  for (auto& b : buf) b = s.next();
  for (int len = 0; len <= 600; ++len) {
    for (int off = 0; off < 8; ++off) {
      ASSERT_EQ(gz_lwip_chksum(buf.data() + off, len), lwip_standard_chksum(buf.data() + off, len))
          << "length " << len << " offset " << off;
    }
  }
  for (int len : {1459, 1460, 1461, 9000, 65535, 65536, 69999}) {
    for (int off = 0; off < 2; ++off) {
      ASSERT_EQ(gz_lwip_chksum(buf.data() + off, len), lwip_standard_chksum(buf.data() + off, len)) << len;
    }
  }
  std::fill(buf.begin(), buf.end(), 0xff);  // the largest sums: every carry taken
  EXPECT_EQ(gz_lwip_chksum(buf.data(), 65535), lwip_standard_chksum(buf.data(), 65535));
  EXPECT_EQ(gz_lwip_chksum(buf.data() + 1, 65536), lwip_standard_chksum(buf.data() + 1, 65536));
}

TEST(LwipChecksum, ChainOfOddPartsSumsAsItsFlatCopy) {
  std::thread([] {
    auto inst = LwipInstance::create(1 << 20);
    ASSERT_TRUE(inst.ok());
    Stream s{0xc5};
    std::vector<std::uint8_t> flat(3001);
    for (auto& b : flat) b = s.next();
    pbuf* head = nullptr;
    std::size_t at = 0;
    for (std::size_t part : {1u, 7u, 1460u, 3u, 530u, 1000u}) {
      pbuf* p = pbuf_alloc(PBUF_RAW, static_cast<u16_t>(part), PBUF_RAM);
      ASSERT_NE(p, nullptr);
      std::memcpy(p->payload, flat.data() + at, part);
      at += part;
      if (head == nullptr) {
        head = p;
      } else {
        pbuf_cat(head, p);
      }
    }
    ASSERT_EQ(at, flat.size());
    EXPECT_EQ(inet_chksum_pbuf(head), static_cast<u16_t>(~lwip_standard_chksum(flat.data(), static_cast<int>(at))));
    pbuf_free(head);
  }).join();
}

}  // namespace gz::stack
