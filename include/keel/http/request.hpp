// keel::http::request: one parsed HTTP/1.x request as views into the connection's read buffer.
//
// Nothing here owns memory: every string_view points into the buffer the parser ran over, and stays valid
// until the connection moves on to the next request. Copy what must outlive the handler.
#pragma once

#include "keel/config.hpp"
#include "keel/http/method.hpp"
#include "keel/http/response.hpp"  // detail::iequals

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

#ifndef KEEL_MAX_HEADERS
#define KEEL_MAX_HEADERS 64
#endif

namespace keel {
inline namespace v0 {
namespace http {

struct header_field {
  std::string_view name;
  std::string_view value;
};

// A fixed-capacity list of header views (no allocation). Lookup is case-insensitive and linear: requests
// carry few headers, and a linear scan over a dozen short names beats hashing them.
class header_list {
 public:
  static constexpr std::size_t capacity = KEEL_MAX_HEADERS;

  std::size_t size() const noexcept { return size_; }
  bool empty() const noexcept { return size_ == 0; }
  const header_field* begin() const noexcept { return fields_.data(); }
  const header_field* end() const noexcept { return fields_.data() + size_; }
  const header_field& operator[](std::size_t i) const noexcept { return fields_[i]; }

  void clear() noexcept { size_ = 0; }
  // For a caller that already keeps the count within capacity (the parser).
  void push_unchecked(std::string_view name, std::string_view value) noexcept {
    fields_[size_++] = {name, value};
  }
  // false when full
  bool push(std::string_view name, std::string_view value) noexcept {
    if (size_ == capacity) return false;
    fields_[size_++] = {name, value};
    return true;
  }

  // The first value of `name`, or "" when absent.
  std::string_view get(std::string_view name) const noexcept {
    const header_field* f = find(name);
    return f ? f->value : std::string_view{};
  }
  bool contains(std::string_view name) const noexcept { return find(name) != nullptr; }
  const header_field* find(std::string_view name) const noexcept {
    for (std::size_t i = 0; i < size_; ++i)
      if (keel::detail::iequals(fields_[i].name, name)) return &fields_[i];
    return nullptr;
  }

 private:
  std::array<header_field, capacity> fields_{};
  std::size_t size_ = 0;
};

struct request {
  http::method method = http::method::unknown;
  std::string_view method_name;    // as sent (for unknown methods)
  std::string_view target;         // the raw request-target
  std::string_view path;           // the path of the target, still percent-encoded
  std::string_view query;          // the raw query string without '?', "" when none
  std::uint8_t version_minor = 1;  // HTTP/1.<minor>
  bool keep_alive = true;          // after Connection header and version rules
  bool chunked = false;            // body came with Transfer-Encoding: chunked
  bool expect_continue = false;    // Expect: 100-continue was sent
  std::size_t content_length = 0;  // length of `body` after de-chunking
  header_list headers;             // the header section (and, after a chunked body, its trailer fields)
  std::size_t trailer_begin = 0;   // index in `headers` where trailer fields start (== size() when none)
  std::string_view body;           // the whole body, de-chunked

  std::string_view header(std::string_view name) const noexcept { return headers.get(name); }

  void clear() noexcept {
    method = http::method::unknown;
    method_name = target = path = query = body = {};
    version_minor = 1;
    keep_alive = true;
    chunked = expect_continue = false;
    content_length = 0;
    headers.clear();
    trailer_begin = 0;
  }
};

}  // namespace http
}  // namespace v0
}  // namespace keel
