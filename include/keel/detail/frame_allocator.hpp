// keel::detail::frame_allocator: per-thread, size-bucketed free lists for coroutine frames.
#pragma once

#include "keel/config.hpp"

#include <array>
#include <cstddef>
#include <cstdint>
#include <new>

#if defined(__SANITIZE_ADDRESS__)
#define KEEL_ASAN_ENABLED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define KEEL_ASAN_ENABLED 1
#endif
#endif
#ifdef KEEL_ASAN_ENABLED
#include <sanitizer/asan_interface.h>
#endif

namespace keel {
inline namespace v0 {
namespace detail {

// Every request that runs a coroutine handler creates a few frames of similar sizes. Keeping the freed blocks
// in per-thread lists means the steady state never reaches malloc. A frame may be freed on another thread
// than the one that allocated it; the block then simply joins that thread's list (all blocks come from the
// global operator new, so any thread may release them).
class frame_allocator {
 public:
  static constexpr std::size_t granularity = 64;
  static constexpr std::size_t bucket_count = 32;  // frames up to 2 KiB are recycled, larger go to the heap
  static constexpr std::size_t max_cached_per_bucket = 256;

  static void* allocate(std::size_t size) {
    const std::size_t bucket = bucket_of(size);
    frame_allocator* self = bucket < bucket_count ? instance() : nullptr;
    if (self != nullptr) {
      if (free_block* block = self->heads_[bucket]) {
        unpoison(block, bucket_bytes(bucket));
        self->heads_[bucket] = block->next;
        --self->counts_[bucket];
        return block;
      }
      ++self->heap_allocations_;
      return ::operator new(bucket_bytes(bucket));
    }
    return ::operator new(size);
  }

  static void deallocate(void* p, std::size_t size) noexcept {
    const std::size_t bucket = bucket_of(size);
    frame_allocator* self = bucket < bucket_count ? instance() : nullptr;
    if (self != nullptr && self->counts_[bucket] < max_cached_per_bucket) {
      auto* block = static_cast<free_block*>(p);
      block->next = self->heads_[bucket];
      self->heads_[bucket] = block;
      ++self->counts_[bucket];
      poison(block, bucket_bytes(bucket));
      return;
    }
    ::operator delete(p);
  }

  // How many frames this thread took from the heap (not from a free list); tests use it to prove recycling.
  static std::uint64_t heap_allocations() {
    frame_allocator* self = instance();
    return self != nullptr ? self->heap_allocations_ : 0;
  }

  frame_allocator() = default;
  frame_allocator(const frame_allocator&) = delete;
  frame_allocator& operator=(const frame_allocator&) = delete;
  ~frame_allocator() {
    current() = nullptr;  // frames freed later in thread teardown go straight to the heap
    for (std::size_t b = 0; b < bucket_count; ++b) {
      while (free_block* block = heads_[b]) {
        unpoison(block, bucket_bytes(b));
        heads_[b] = block->next;
        ::operator delete(block);
      }
    }
  }

 private:
  struct free_block {
    free_block* next;
  };

  static constexpr std::size_t bucket_of(std::size_t size) {
    return (size + granularity - 1) / granularity - 1;
  }
  static constexpr std::size_t bucket_bytes(std::size_t bucket) { return (bucket + 1) * granularity; }

  // A trivially destructible pointer can still be read after the owning thread_local was destroyed, which a
  // thread_local object with a destructor could not.
  static frame_allocator*& current() {
    thread_local frame_allocator* ptr = nullptr;
    return ptr;
  }
  static frame_allocator* instance() {
    thread_local bool created = false;
    if (!created) {
      created = true;
      thread_local frame_allocator owner;
      current() = &owner;
    }
    return current();
  }

  // Under ASan a recycled block stays poisoned while it sits in a list, so a use after free is still
  // reported.
  static void poison([[maybe_unused]] free_block* block, [[maybe_unused]] std::size_t bytes) {
#ifdef KEEL_ASAN_ENABLED
    ASAN_POISON_MEMORY_REGION(reinterpret_cast<char*>(block) + sizeof(free_block),
                              bytes - sizeof(free_block));
#endif
  }
  static void unpoison([[maybe_unused]] free_block* block, [[maybe_unused]] std::size_t bytes) {
#ifdef KEEL_ASAN_ENABLED
    ASAN_UNPOISON_MEMORY_REGION(block, bytes);
#endif
  }

  std::array<free_block*, bucket_count> heads_{};
  std::array<std::size_t, bucket_count> counts_{};
  std::uint64_t heap_allocations_ = 0;
};

// Mixed into promise types so their frames come from the recycling allocator.
struct recycled_frame {
  static void* operator new(std::size_t size) { return frame_allocator::allocate(size); }
  static void operator delete(void* p, std::size_t size) noexcept { frame_allocator::deallocate(p, size); }
};

}  // namespace detail
}  // namespace v0
}  // namespace keel
