// Version of lstack and of the libraries it was built against.
// Thread: any. No errors.
#pragma once

#include <string>

namespace gz {

// The project's version, for every program of it (header only: gazellectl and
// ltran need no library to print it). GZ_VERSION comes from meson.
inline constexpr const char* kVersion = GZ_VERSION;

}  // namespace gz

namespace gz::stack {

// "lstack 0.1.0 (DPDK 22.11.x, libconfig 1.5, lwIP 2.1.3, libpcap ..., numa yes)".
std::string version_string();

}  // namespace gz::stack
