// Version of lstack and of the libraries it was built against.
// Thread: any. No errors.
#pragma once

#include <string>

namespace gz::stack {

// "lstack 0.1.0 (DPDK 22.11.x, libconfig 1.5, lwIP 2.1.3, libpcap ..., numa yes)".
std::string version_string();

}  // namespace gz::stack
