// From lstack's -errno convention to the C library's -1/errno.
#pragma once

#include <cerrno>
#include <cstdio>

#include "gz/result.hpp"

namespace gz::preload {

template <class T>
T result(T rc) noexcept {
  if (rc < 0) {
    errno = static_cast<int>(-rc);
    return static_cast<T>(-1);
  }
  return rc;
}

// lstack failed to start (bad config, no hugepages...): say why once, on stderr.
void report_once(const Error& e) noexcept;
// The config is wrong or lstack cannot start: the program cannot be served as
// configured (as with Gazelle, it does not run on without its stack). Says why
// once and ends the process with status 2 (which nginx's master, for one,
// takes as "do not respawn").
[[noreturn]] void fatal(const Error& e) noexcept;

}  // namespace gz::preload
