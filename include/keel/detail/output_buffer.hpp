// keel::detail::output_buffer: a growable byte buffer for responses, appended to without zero-filling, and
// the short-copy/compare helpers the response writer and the router use.
#pragma once

#include "keel/config.hpp"

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string_view>

namespace keel {
inline namespace v0 {
namespace detail {

// a[0, n) == b[0, n) for short ranges: overlapping word compares that never read past either end.
KEEL_ALWAYS_INLINE bool equal_bytes(const char* a, const char* b, std::size_t n) noexcept {
  auto load = [](const char* p, auto word) {
    std::memcpy(&word, p, sizeof word);
    return word;
  };
  if (n >= 8) {
    for (std::size_t i = 0; i + 8 < n; i += 8)
      if (load(a + i, std::uint64_t{}) != load(b + i, std::uint64_t{})) return false;
    return load(a + n - 8, std::uint64_t{}) == load(b + n - 8, std::uint64_t{});
  }
  if (n >= 4)
    return load(a, std::uint32_t{}) == load(b, std::uint32_t{}) &&
           load(a + n - 4, std::uint32_t{}) == load(b + n - 4, std::uint32_t{});
  if (n >= 2)
    return load(a, std::uint16_t{}) == load(b, std::uint16_t{}) &&
           load(a + n - 2, std::uint16_t{}) == load(b + n - 2, std::uint16_t{});
  return n == 0 || *a == *b;
}

// memcpy for the short pieces a response is made of (status line, digits, a content type, a short body):
// overlapping word copies instead of a call, memcpy beyond 32 bytes.
KEEL_ALWAYS_INLINE void copy_bytes(char* to, const char* from, std::size_t n) noexcept {
  auto copy_word = [](char* d, const char* s, auto word) {
    std::memcpy(&word, s, sizeof word);
    std::memcpy(d, &word, sizeof word);
  };
  if (n > 32) {
    std::memcpy(to, from, n);
  } else if (n >= 16) {
    // Four loads before any store: the ranges never overlap, but the loads may (n < 32).
    std::uint64_t a, b, c, d;
    std::memcpy(&a, from, 8);
    std::memcpy(&b, from + 8, 8);
    std::memcpy(&c, from + n - 16, 8);
    std::memcpy(&d, from + n - 8, 8);
    std::memcpy(to, &a, 8);
    std::memcpy(to + 8, &b, 8);
    std::memcpy(to + n - 16, &c, 8);
    std::memcpy(to + n - 8, &d, 8);
  } else if (n >= 8) {
    copy_word(to, from, std::uint64_t{});
    copy_word(to + n - 8, from + n - 8, std::uint64_t{});
  } else if (n >= 4) {
    copy_word(to, from, std::uint32_t{});
    copy_word(to + n - 4, from + n - 4, std::uint32_t{});
  } else if (n != 0) {
    to[0] = from[0];
    to[n / 2] = from[n / 2];
    to[n - 1] = from[n - 1];
  }
}

// std::string::resize zero-fills what the writer is about to overwrite, and each append re-checks aliasing
// and capacity out of line; here the space for a whole response is claimed with one compare, and the
// capacity is kept across clear() so a connection stops allocating once it has seen its largest batch.
class output_buffer {
 public:
  output_buffer() = default;
  output_buffer(const output_buffer&) = delete;
  output_buffer& operator=(const output_buffer&) = delete;
  output_buffer(output_buffer&&) noexcept = default;
  output_buffer& operator=(output_buffer&&) noexcept = default;

  // Makes the buffer n bytes longer and returns where those bytes start; the caller fills all of them.
  KEEL_ALWAYS_INLINE char* extend(std::size_t n) {
    if (KEEL_UNLIKELY(capacity_ - size_ < n)) grow(n);
    char* const at = data_.get() + size_;
    size_ += n;
    return at;
  }
  void append(std::string_view s) {
    char* const at = extend(s.size());
    if (!s.empty()) std::memcpy(at, s.data(), s.size());
  }
  void reserve(std::size_t n) {
    if (n > capacity_) grow(n - size_);
  }
  void clear() noexcept { size_ = 0; }
  // Empties the buffer and gives its memory back.
  void release() noexcept {
    data_.reset();
    size_ = capacity_ = 0;
  }

  bool empty() const noexcept { return size_ == 0; }
  std::size_t size() const noexcept { return size_; }
  std::size_t capacity() const noexcept { return capacity_; }
  const char* data() const noexcept { return data_.get(); }
  std::string_view view() const noexcept { return {data_.get(), size_}; }
  operator std::string_view() const noexcept { return view(); }

 private:
  KEEL_NOINLINE void grow(std::size_t more) {
    std::size_t capacity = capacity_ < 512 ? 512 : capacity_ * 2;
    while (capacity - size_ < more) capacity *= 2;
    std::unique_ptr<char[]> bigger(new char[capacity]);
    if (size_ != 0) std::memcpy(bigger.get(), data_.get(), size_);
    data_ = std::move(bigger);
    capacity_ = capacity;
  }

  std::unique_ptr<char[]> data_;
  std::size_t size_ = 0;
  std::size_t capacity_ = 0;
};

// The same "claim n more bytes" step for a std::string (write_response accepts either).
inline char* extend_output(std::string& out, std::size_t n) {
  const std::size_t old_size = out.size();
  out.resize(old_size + n);
  return out.data() + old_size;
}
KEEL_ALWAYS_INLINE char* extend_output(output_buffer& out, std::size_t n) { return out.extend(n); }

}  // namespace detail
}  // namespace v0
}  // namespace keel
