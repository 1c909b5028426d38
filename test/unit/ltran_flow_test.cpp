// ltran's flow table (ltran/flow_table.hpp): lookups across deletions, and
// which connections tcp_conn_scan_interval's scan drops.
#include "flow_table.hpp"

#include <gtest/gtest.h>

namespace gz::ltran {
namespace {

FlowKey key(std::uint16_t n) { return FlowKey{0x0100000a, 0x0200000a, 80, n}; }

TEST(LtranFlows, EachFlowIsFoundAfterOthersAreErased) {
  FlowTable t(64);  // small: long probe runs, so erasing shifts others back
  for (std::uint16_t n = 1; n <= 40; ++n) ASSERT_NE(t.insert(key(n), n, 0), nullptr);
  for (std::uint16_t n = 1; n <= 40; n += 3) t.erase(t.find(key(n)));  // by pointer
  EXPECT_EQ(t.erase_if([](const Flow& f) { return f.instance % 3 == 2; }), 13u);
  for (std::uint16_t n = 1; n <= 40; ++n) {
    const Flow* f = t.find(key(n));
    if (n % 3 == 1 || n % 3 == 2) {
      EXPECT_EQ(f, nullptr) << n;
    } else {
      ASSERT_NE(f, nullptr) << n;
      EXPECT_EQ(f->instance, n);
    }
  }
  EXPECT_EQ(t.size(), 13u);
  EXPECT_EQ(t.insert(key(3), 7, 0)->instance, 3) << "insert returns the flow there is";
}

TEST(LtranFlows, OverMeansAResetOrAFinEachWay) {
  EXPECT_FALSE(flow_over(0));
  EXPECT_FALSE(flow_over(kPeerFin));
  EXPECT_FALSE(flow_over(kOwnFin));
  EXPECT_TRUE(flow_over(kPeerFin | kOwnFin));
  EXPECT_TRUE(flow_over(kReset));
  EXPECT_TRUE(flow_over(kReset | kOwnFin));
}

// The scan drops connections over after the interval, half-closed ones only
// after their own (longer) quiet, open ones never; UDP ports as those over.
TEST(LtranFlows, TheScanDropsWhatIsOverAndSparesAHalfClosedPeer) {
  constexpr std::uint64_t kOver = 10, kHalf = 7200;
  Flow f{key(1), 0, 0, 0, 1, {}, 1000};
  const auto aged = [&](std::uint8_t closing, std::uint64_t now) {
    f.closing = closing;
    return flow_aged(f, now, kOver, kHalf);
  };
  EXPECT_FALSE(aged(0, 1000 + 100000)) << "open: its process's going ends it, not the scan";
  EXPECT_FALSE(aged(kPeerFin | kOwnFin, 1000 + kOver));
  EXPECT_TRUE(aged(kPeerFin | kOwnFin, 1000 + kOver + 1));
  EXPECT_TRUE(aged(kReset, 1000 + kOver + 1));
  EXPECT_FALSE(aged(kPeerFin, 1000 + kOver + 1)) << "the peer shut down its side and waits for the answer";
  EXPECT_FALSE(aged(kOwnFin, 1000 + kHalf));
  EXPECT_TRUE(aged(kOwnFin, 1000 + kHalf + 1));
  f.key = FlowKey{0x0100000a, 0, 5353, 0};  // a UDP port learned from sends
  EXPECT_TRUE(aged(0, 1000 + kOver + 1));
  EXPECT_FALSE(aged(0, 1000 + kOver));
}

}  // namespace
}  // namespace gz::ltran
