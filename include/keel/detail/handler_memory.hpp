// keel::detail::handler_memory: fixed storage for one outstanding asio operation, handed to asio as the
// completion handler's associated allocator so that starting the operation does not touch the heap.
#pragma once

#include "keel/config.hpp"

#include <asio/bind_allocator.hpp>

#include <atomic>
#include <cstddef>
#include <new>
#include <utility>

namespace keel {
inline namespace v0 {
namespace detail {

// asio frees an operation's memory before it invokes the handler, so the handler may start the next
// operation of the same kind and get the same storage back. When a request does not fit (too large, or the
// slot is still in use) it falls back to the heap, so a wrong size costs an allocation, never correctness.
//
// The busy flag is atomic because some operations are allocated on one thread and freed on another (a post
// to the worker pool); on the reactor-only paths the exchange is uncontended.
template <std::size_t Size>
class handler_memory {
 public:
  handler_memory() noexcept = default;
  handler_memory(const handler_memory&) = delete;
  handler_memory& operator=(const handler_memory&) = delete;

  static constexpr std::size_t capacity = Size;

  void* allocate(std::size_t size, std::size_t align) {
    if (size <= Size && align <= alignof(std::max_align_t) &&
        !busy_.exchange(true, std::memory_order_acquire))
      return storage_;
    if (align > __STDCPP_DEFAULT_NEW_ALIGNMENT__) return ::operator new(size, std::align_val_t(align));
    return ::operator new(size);
  }

  // Unsized deletes: clang 16 declares the sized ones only with -fsized-deallocation.
  void deallocate(void* p, std::size_t align) noexcept {
    if (p == static_cast<void*>(storage_)) {
      busy_.store(false, std::memory_order_release);
    } else if (align > __STDCPP_DEFAULT_NEW_ALIGNMENT__) {
      ::operator delete(p, std::align_val_t(align));
    } else {
      ::operator delete(p);
    }
  }

  // Whether an operation holds the storage now (for tests and assertions).
  bool in_use() const noexcept { return busy_.load(std::memory_order_acquire); }

 private:
  alignas(std::max_align_t) unsigned char storage_[Size];
  std::atomic<bool> busy_{false};
};

// Room for one post of a small lambda (a pointer or two) inside asio's operation (56 bytes measured on
// g++ 12 and clang 16): the slot of every keel post that has memory of its own.
using post_memory = handler_memory<128>;

// The standard allocator interface over one handler_memory, as asio's associated allocator wants it.
template <class T, std::size_t Size>
class handler_allocator {
 public:
  using value_type = T;
  // Spelled out: std::allocator_traits cannot rebind a template whose other parameter is a value.
  template <class U>
  struct rebind {
    using other = handler_allocator<U, Size>;
  };

  explicit handler_allocator(handler_memory<Size>& memory) noexcept : memory_(&memory) {}
  template <class U>
  handler_allocator(const handler_allocator<U, Size>& other) noexcept : memory_(other.memory_) {}

  T* allocate(std::size_t n) { return static_cast<T*>(memory_->allocate(n * sizeof(T), alignof(T))); }
  void deallocate(T* p, std::size_t) noexcept { memory_->deallocate(p, alignof(T)); }

  template <class U>
  bool operator==(const handler_allocator<U, Size>& other) const noexcept {
    return memory_ == other.memory_;
  }

 private:
  template <class, std::size_t>
  friend class handler_allocator;
  handler_memory<Size>* memory_;
};

// The handler `fn`, with its operation's memory taken from `memory`.
template <std::size_t Size, class Handler>
auto with_memory(handler_memory<Size>& memory, Handler&& fn) {
  return asio::bind_allocator(handler_allocator<void, Size>(memory), std::forward<Handler>(fn));
}

}  // namespace detail
}  // namespace v0
}  // namespace keel
