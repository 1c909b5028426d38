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

}  // namespace gz::preload
