// The one place that decides which NetDevSource a process uses.
// Thread: the control thread that starts the stacks.
#pragma once

#include <memory>

#include "gz/result.hpp"
#include "netdev_source.hpp"
#include "port.hpp"

namespace gz::stack {

struct NetDevPlan {
  enum class Kind {
    kPort,  // the DPDK port whose MAC the config names (dpdk_args create it)
  };
  Kind kind = Kind::kPort;
  Port::Options port;
};

// Opens the devices of plan. Errors: those of the source (Port::open's).
Result<std::unique_ptr<NetDevSource>> open_netdevs(const NetDevPlan& plan);

}  // namespace gz::stack
