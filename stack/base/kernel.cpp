#include "gz/kernel.hpp"

#include <dlfcn.h>
#include <sys/resource.h>

#include <algorithm>

namespace gz {
namespace {

template <class F>
void resolve(F*& slot, const char* name) noexcept {
  slot = reinterpret_cast<F*>(dlsym(RTLD_NEXT, name));
}

KernelApi load() noexcept {
  KernelApi k{};
#define GZ_CALL(ret, name, params, args) resolve(k.name, #name);
#define GZ_CALL_VA(ret, name, req, params, args) resolve(k.name, #name);
#include "gz/calls.def"
#undef GZ_CALL
#undef GZ_CALL_VA
  return k;
}

}  // namespace

const KernelApi& kernel() noexcept {
  static const KernelApi api = load();  // thread-safe static init
  return api;
}

std::size_t fd_slots() noexcept {
  constexpr std::size_t kLeast = 65536, kMost = std::size_t{1} << 20;
  rlimit lim{};
  if (getrlimit(RLIMIT_NOFILE, &lim) != 0 || lim.rlim_max == RLIM_INFINITY) return kLeast;
  return std::min<std::size_t>(std::max<std::size_t>(lim.rlim_max, kLeast), kMost);
}

}  // namespace gz
