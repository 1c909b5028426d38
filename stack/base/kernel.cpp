#include "gz/kernel.hpp"

#include <dlfcn.h>

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

}  // namespace gz
