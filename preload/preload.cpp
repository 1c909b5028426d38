// The interposition shim. Issue 4 adds the wrapper list (preload/calls.def)
// and the fd table; for now the library only carries lstack and says its version.
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
