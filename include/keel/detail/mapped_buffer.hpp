// keel::detail::mapped_buffer: a byte buffer in pages of its own (mmap), for a session's read buffer.
//
// Pages come from the kernel untouched: a 16 KiB buffer that a small request uses costs one resident page,
// not four, and nothing is zero-filled up front. Freed, its pages go straight back to the system (munmap),
// never left behind in the middle of the heap, so idle connections that gave their session back cost nothing
// for it. Growing keeps the contents (mremap moves the pages instead of copying them).
#pragma once

#include "keel/config.hpp"

#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <new>
#include <utility>

namespace keel {
inline namespace v0 {
namespace detail {

class mapped_buffer {
 public:
  mapped_buffer() = default;
  explicit mapped_buffer(std::size_t n) { resize(n); }
  mapped_buffer(const mapped_buffer&) = delete;
  mapped_buffer& operator=(const mapped_buffer&) = delete;
  mapped_buffer(mapped_buffer&& o) noexcept
      : data_(std::exchange(o.data_, nullptr)), size_(std::exchange(o.size_, 0)) {}
  mapped_buffer& operator=(mapped_buffer&& o) noexcept {
    if (this != &o) {
      release();
      data_ = std::exchange(o.data_, nullptr);
      size_ = std::exchange(o.size_, 0);
    }
    return *this;
  }
  ~mapped_buffer() { release(); }

  char* data() noexcept { return data_; }
  const char* data() const noexcept { return data_; }
  std::size_t size() const noexcept { return size_; }

  // Makes the buffer at least n bytes (a whole number of pages), keeping its contents up to the smaller
  // size. Throws std::bad_alloc when the system has no pages for it.
  void resize(std::size_t n) {
    const std::size_t want = round_up(n);
    if (want == size_) return;
    void* p = data_ == nullptr
                  ? ::mmap(nullptr, want, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
                  : ::mremap(data_, size_, want, MREMAP_MAYMOVE);
    if (p == MAP_FAILED) throw std::bad_alloc();
    data_ = static_cast<char*>(p);
    size_ = want;
  }
  // Gives the pages back to the system but keeps the mapping: they read as zeros and cost nothing until
  // written again.
  void discard() noexcept {
    if (data_ != nullptr) ::madvise(data_, size_, MADV_DONTNEED);
  }
  // Gives back the whole pages from `offset` on (they read as zeros afterwards); bytes before it stay.
  void discard_from(std::size_t offset) noexcept {
    const std::size_t from = round_up(offset);
    if (data_ != nullptr && from < size_) ::madvise(data_ + from, size_ - from, MADV_DONTNEED);
  }
  void release() noexcept {
    if (data_ != nullptr) ::munmap(data_, size_);
    data_ = nullptr;
    size_ = 0;
  }

 private:
  static std::size_t round_up(std::size_t n) noexcept {
    static const std::size_t page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
    return (n + page - 1) / page * page;
  }

  char* data_ = nullptr;
  std::size_t size_ = 0;
};

// Pages of their own for an object that comes and goes in bulk (a session lent to idle connections): freed,
// they go back to the system at once instead of leaving holes between the heap's small objects.
inline void* map_pages(std::size_t n) {
  void* p = ::mmap(nullptr, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) throw std::bad_alloc();
  return p;
}
inline void unmap_pages(void* p, std::size_t n) noexcept { ::munmap(p, n); }

}  // namespace detail
}  // namespace v0
}  // namespace keel
