// Ref<T>: one counted reference to a shared socket or epoll set.
//
// The shim's fd table holds one reference per fd; every call holds one more
// for as long as it runs. So close() from another thread never frees what a
// blocked call still uses: the object is released by whoever drops the last
// reference (as Linux holds the file while a call on it runs).
// T provides acquire() and release() (the last release frees or closes it).
// Thread: a Ref itself belongs to one thread; the counts are atomic.
#pragma once

#include <utility>

namespace gz::stack {

template <class T>
class Ref {
 public:
  Ref() noexcept = default;
  // Adopts one reference the caller already holds.
  static Ref adopt(T* p) noexcept { return Ref(p); }
  // Takes a new reference on p (which the caller keeps alive meanwhile).
  static Ref share(T* p) noexcept {
    if (p != nullptr) p->acquire();
    return Ref(p);
  }
  Ref(Ref&& o) noexcept : p_(std::exchange(o.p_, nullptr)) {}
  Ref& operator=(Ref&& o) noexcept {
    if (this != &o) {
      reset();
      p_ = std::exchange(o.p_, nullptr);
    }
    return *this;
  }
  Ref(const Ref&) = delete;
  Ref& operator=(const Ref&) = delete;
  ~Ref() { reset(); }

  T* get() const noexcept { return p_; }
  T* operator->() const noexcept { return p_; }
  T& operator*() const noexcept { return *p_; }
  explicit operator bool() const noexcept { return p_ != nullptr; }
  // Gives the reference up to the caller (who must release it).
  T* leak() noexcept { return std::exchange(p_, nullptr); }
  void reset() noexcept {
    if (T* p = std::exchange(p_, nullptr)) p->release();
  }

 private:
  explicit Ref(T* p) noexcept : p_(p) {}
  T* p_ = nullptr;
};

}  // namespace gz::stack
