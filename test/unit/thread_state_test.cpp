// ThreadState: one thread-local per thread; what a thread owns is dropped
// when it exits, once, and never another thread's.
#include "gz/thread_state.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

namespace gz {
namespace {

std::atomic<int> g_dropped{0};
void count_drop(void* p) {
  g_dropped.fetch_add(*static_cast<int*>(p));
  delete static_cast<int*>(p);
}

TEST(ThreadState, EachThreadHasItsOwn) {
  this_thread_state().rand_state = 7;
  std::uint64_t seen_there = 1;
  std::thread([&] { seen_there = this_thread_state().rand_state; }).join();
  EXPECT_EQ(seen_there, 0u);
  EXPECT_EQ(this_thread_state().rand_state, 7u);
  this_thread_state().rand_state = 0;
}

TEST(ThreadState, OwnedThingsAreDroppedAtThreadExitOnce) {
  g_dropped = 0;
  std::thread([] {
    ASSERT_TRUE(this_thread_state().own(ThreadState::kPollWaiter, new int(1), count_drop));
    ASSERT_TRUE(this_thread_state().own(ThreadState::kSendfileBuffer, new int(10), count_drop));
  }).join();
  EXPECT_EQ(g_dropped.load(), 11);
  std::thread([] {}).join();  // a thread that owned nothing drops nothing
  EXPECT_EQ(g_dropped.load(), 11);
}

}  // namespace
}  // namespace gz
