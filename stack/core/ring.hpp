// Lock-free queues between application threads and stack threads.
// SpscRing: one producer thread, one consumer thread, fixed power-of-two size.
// GrowingSpscQueue: an SpscRing that starts small and doubles (up to a bound)
// as it fills, so that idle sockets cost little memory.
// MpscQueue: intrusive (no allocation), many producers, one consumer
// (D. Vyukov's non-blocking MPSC node queue).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>
#include <utility>

namespace gz::stack {

// The smallest power of two >= n (ring sizes).
inline std::size_t round_up_pow2(std::size_t n) {
  std::size_t p = 1;
  while (p < n) p <<= 1;
  return p;
}

template <class T>
class SpscRing {
 public:
  // capacity is rounded up to a power of two.
  explicit SpscRing(std::size_t capacity) : mask_(round_up_pow2(capacity) - 1), slots_(new T[mask_ + 1]) {}
  // Producer only. False when full.
  bool push(const T& v) noexcept {
    const std::size_t h = head_.load(std::memory_order_relaxed);
    if (h - tail_cache_ > mask_) {
      tail_cache_ = tail_.load(std::memory_order_acquire);
      if (h - tail_cache_ > mask_) return false;
    }
    slots_[h & mask_] = v;
    head_.store(h + 1, std::memory_order_release);
    return true;
  }
  // Consumer only. False when empty.
  bool pop(T& out) noexcept {
    const std::size_t t = tail_.load(std::memory_order_relaxed);
    if (t == head_cache_) {
      head_cache_ = head_.load(std::memory_order_acquire);
      if (t == head_cache_) return false;
    }
    out = slots_[t & mask_];
    tail_.store(t + 1, std::memory_order_release);
    return true;
  }
  // Consumer only: the oldest element without removing it.
  T* front() noexcept {
    const std::size_t t = tail_.load(std::memory_order_relaxed);
    if (t == head_cache_) {
      head_cache_ = head_.load(std::memory_order_acquire);
      if (t == head_cache_) return nullptr;
    }
    return &slots_[t & mask_];
  }
  // Any thread: a snapshot.
  bool empty() const noexcept { return head_.load(std::memory_order_acquire) == tail_.load(std::memory_order_acquire); }
  std::size_t size() const noexcept { return head_.load(std::memory_order_acquire) - tail_.load(std::memory_order_acquire); }
  std::size_t capacity() const noexcept { return mask_ + 1; }

 private:
  const std::size_t mask_;
  std::unique_ptr<T[]> slots_;
  alignas(64) std::atomic<std::size_t> head_{0};
  std::size_t tail_cache_ = 0;  // producer's view of tail
  alignas(64) std::atomic<std::size_t> tail_{0};
  std::size_t head_cache_ = 0;  // consumer's view of head
};

// One producer, one consumer. Segments of doubling size (first, 2 x first,
// ... up to max each); the producer links a new one when its segment is full,
// the consumer frees a drained one once the next exists. A TCP connection's
// receive queues hold a window of segments (hundreds) under bulk transfer and
// a couple when idle: 10,000 idle connections keep 16-slot segments.
template <class T>
class GrowingSpscQueue {
 public:
  GrowingSpscQueue(std::size_t first, std::size_t max) : max_(round_up_pow2(max)), head_(new Segment(first)), tail_(head_) {}
  ~GrowingSpscQueue() {
    while (head_ != nullptr) delete std::exchange(head_, head_->next.load(std::memory_order_relaxed));
  }
  GrowingSpscQueue(const GrowingSpscQueue&) = delete;
  GrowingSpscQueue& operator=(const GrowingSpscQueue&) = delete;

  // Producer only. False when the largest segment is full or without memory.
  bool push(const T& v) noexcept {
    if (tail_->ring.push(v)) return true;
    const std::size_t cap = tail_->ring.capacity();
    if (cap >= max_) return false;
    Segment* s = nullptr;
    try {
      s = new Segment(cap * 2);
    } catch (const std::bad_alloc&) {
      return false;
    }
    (void)s->ring.push(v);
    tail_->next.store(s, std::memory_order_release);  // after every push into the old one
    tail_ = s;
    return true;
  }
  // Consumer only. False when empty.
  bool pop(T& out) noexcept {
    if (head_->ring.pop(out)) return true;
    Segment* next = head_->next.load(std::memory_order_acquire);
    if (next == nullptr) return false;
    if (head_->ring.pop(out)) return true;  // pushed before the link, seen only now
    delete std::exchange(head_, next);  // drained, and the producer has moved on
    return head_->ring.pop(out);
  }

 private:
  struct Segment {
    explicit Segment(std::size_t capacity) : ring(capacity) {}
    SpscRing<T> ring;
    std::atomic<Segment*> next{nullptr};
  };
  const std::size_t max_;
  Segment* head_;  // consumer
  Segment* tail_;  // producer
};

// Byte ring for stream data: the application writes, the stack reads.
class ByteRing {
 public:
  explicit ByteRing(std::size_t capacity) : mask_(round_up_pow2(capacity) - 1), buf_(new std::byte[mask_ + 1]) {}
  std::size_t capacity() const noexcept { return mask_ + 1; }
  // Producer: bytes that can be written now.
  std::size_t free_space() const noexcept { return capacity() - (head_.load(std::memory_order_relaxed) - tail_.load(std::memory_order_acquire)); }
  // Consumer: bytes that can be read now.
  std::size_t readable() const noexcept { return head_.load(std::memory_order_acquire) - tail_.load(std::memory_order_relaxed); }
  // Producer: copies up to n bytes in; returns how many.
  std::size_t write(const void* src, std::size_t n) noexcept;
  // Consumer: the contiguous readable region starting at the tail.
  std::pair<const std::byte*, std::size_t> peek() const noexcept;
  // Consumer: drops n bytes (n <= readable()).
  void consume(std::size_t n) noexcept { tail_.store(tail_.load(std::memory_order_relaxed) + n, std::memory_order_release); }
  // Bytes ever written (producer) and ever consumed (consumer): positions in the stream.
  std::size_t written() const noexcept { return head_.load(std::memory_order_relaxed); }
  std::size_t consumed() const noexcept { return tail_.load(std::memory_order_relaxed); }

 private:
  const std::size_t mask_;
  std::unique_ptr<std::byte[]> buf_;
  alignas(64) std::atomic<std::size_t> head_{0};
  alignas(64) std::atomic<std::size_t> tail_{0};
};

// Intrusive MPSC queue: T must have `std::atomic<T*> next_link`.
template <class T>
class MpscQueue {
 public:
  MpscQueue() : head_(&stub_), tail_(&stub_) {}
  MpscQueue(const MpscQueue&) = delete;
  MpscQueue& operator=(const MpscQueue&) = delete;
  // Any thread.
  void push(T* n) noexcept {
    n->next_link.store(nullptr, std::memory_order_relaxed);
    T* prev = head_.exchange(n, std::memory_order_acq_rel);
    prev->next_link.store(n, std::memory_order_release);
  }
  // Consumer only. nullptr when empty (or a push is half done: retry later).
  T* pop() noexcept {
    T* tail = tail_;
    T* next = tail->next_link.load(std::memory_order_acquire);
    if (tail == &stub_) {
      if (next == nullptr) return nullptr;
      tail_ = next;
      tail = next;
      next = next->next_link.load(std::memory_order_acquire);
    }
    if (next != nullptr) {
      tail_ = next;
      return tail;
    }
    if (tail != head_.load(std::memory_order_acquire)) return nullptr;
    push(&stub_);
    next = tail->next_link.load(std::memory_order_acquire);
    if (next != nullptr) {
      tail_ = next;
      return tail;
    }
    return nullptr;
  }
  bool maybe_empty() const noexcept { return tail_ == &stub_ && stub_.next_link.load(std::memory_order_acquire) == nullptr; }

 private:
  T stub_{};
  alignas(64) std::atomic<T*> head_;
  alignas(64) T* tail_;
};

}  // namespace gz::stack
