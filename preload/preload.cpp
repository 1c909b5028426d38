// The library's version string (the wrappers are in wrappers.cpp, generated
// from stack/include/gz/calls.def).
#include "gz/version.hpp"

#include <cstring>

extern "C" __attribute__((visibility("default"))) const char* lstack_version(void) noexcept {
  static char buf[256];  // written once, before any thread can race on it
  static const bool done = [] {
    try {
      std::string v = gz::stack::version_string();
      std::strncpy(buf, v.c_str(), sizeof buf - 1);
    } catch (...) {
      std::strncpy(buf, "lstack (version unavailable)", sizeof buf - 1);
    }
    return true;
  }();
  (void)done;
  return buf;
}
