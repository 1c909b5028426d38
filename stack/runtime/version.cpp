#include "gz/version.hpp"

#include <libconfig.h>
#include <numa.h>
#include <pcap/pcap.h>
#include <rte_version.h>

#include "lwip/init.h"

namespace gz::stack {

std::string version_string() {
  std::string s = std::string("lstack ") + kVersion + " (";
  s += rte_version();
  s += ", libconfig " + std::to_string(LIBCONFIG_VER_MAJOR) + "." + std::to_string(LIBCONFIG_VER_MINOR);
  s += ", lwIP " LWIP_VERSION_STRING ", ";
  s += pcap_lib_version();
  s += numa_available() < 0 ? ", numa no)" : ", numa yes)";
  return s;
}

}  // namespace gz::stack
