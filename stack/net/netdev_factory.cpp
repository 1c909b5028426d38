#include "netdev_factory.hpp"

namespace gz::stack {

Result<std::unique_ptr<NetDevSource>> open_netdevs(const NetDevPlan& plan) {
  switch (plan.kind) {
    case NetDevPlan::Kind::kPort: {
      auto port = Port::open(plan.port);
      if (!port) return port.error();
      return std::unique_ptr<NetDevSource>(std::move(port.value()));
    }
  }
  return make_error(EINVAL, "unknown kind of network device");
}

}  // namespace gz::stack
