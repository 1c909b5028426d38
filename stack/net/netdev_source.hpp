// NetDevSource: where a process's NetDevs come from, one per stack.
//
// Today the DPDK port that dpdk_args create (a queue pair per stack, Port);
// ltran's ring pairs plug in here (issue 10); unit tests join two stacks in
// memory (MemoryLink). The stacks and sockets above see only NetDev.
// Thread: the control thread that starts the stacks.
#pragma once

#include <cstddef>
#include <memory>
#include <vector>

#include "gz/result.hpp"
#include "gz/wire.hpp"
#include "netdev.hpp"

namespace gz::stack {

class NetDevSource {
 public:
  virtual ~NetDevSource() = default;
  // How many stacks this source can feed.
  virtual std::size_t count() const noexcept = 0;
  // The device of stack i (i < count()), handed over once. The source must
  // outlive it.
  virtual std::unique_ptr<NetDev> take(std::size_t i) = 0;
  // The device's extended statistics (DPDK xstats), appended to out. Any
  // thread; 0 or -errno. A source without any appends nothing.
  virtual int xstats(std::vector<wire::CtlXstat>& out) const noexcept {
    (void)out;
    return 0;
  }
};


}  // namespace gz::stack
