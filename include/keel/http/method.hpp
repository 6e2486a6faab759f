// HTTP request methods as a small enum with bit values, so a route's method set is one integer.
#pragma once

#include "keel/config.hpp"

#include <cstdint>
#include <string_view>

namespace keel {
inline namespace v0 {
namespace http {

enum class method : std::uint16_t {
  unknown = 0,
  get = 1 << 0,
  head = 1 << 1,
  post = 1 << 2,
  put = 1 << 3,
  delete_ = 1 << 4,
  patch = 1 << 5,
  options = 1 << 6,
  connect = 1 << 7,
  trace = 1 << 8,
};

// A set of methods (bitwise or of `method` values).
struct method_set {
  std::uint16_t bits = 0;
  constexpr method_set() = default;
  constexpr method_set(method m) : bits(static_cast<std::uint16_t>(m)) {}  // NOLINT: implicit on purpose
  constexpr explicit method_set(std::uint16_t b) : bits(b) {}
  constexpr bool contains(method m) const { return (bits & static_cast<std::uint16_t>(m)) != 0; }
  constexpr bool empty() const { return bits == 0; }
  constexpr method_set operator|(method_set o) const { return method_set{std::uint16_t(bits | o.bits)}; }
  constexpr bool operator==(const method_set&) const = default;
};
constexpr method_set operator|(method a, method b) { return method_set{a} | method_set{b}; }

inline constexpr method all_methods[] = {method::get,     method::head,    method::post,
                                         method::put,     method::delete_, method::patch,
                                         method::options, method::connect, method::trace};

constexpr std::string_view to_string(method m) {
  switch (m) {
    case method::get:
      return "GET";
    case method::head:
      return "HEAD";
    case method::post:
      return "POST";
    case method::put:
      return "PUT";
    case method::delete_:
      return "DELETE";
    case method::patch:
      return "PATCH";
    case method::options:
      return "OPTIONS";
    case method::connect:
      return "CONNECT";
    case method::trace:
      return "TRACE";
    case method::unknown:
      break;
  }
  return "";
}

// Case-sensitive, as RFC 9110 says method names are.
constexpr method parse_method(std::string_view s) {
  switch (s.size()) {
    case 3:
      if (s == "GET") return method::get;
      if (s == "PUT") return method::put;
      break;
    case 4:
      if (s == "POST") return method::post;
      if (s == "HEAD") return method::head;
      break;
    case 5:
      if (s == "PATCH") return method::patch;
      if (s == "TRACE") return method::trace;
      break;
    case 6:
      if (s == "DELETE") return method::delete_;
      break;
    case 7:
      if (s == "OPTIONS") return method::options;
      if (s == "CONNECT") return method::connect;
      break;
    default:
      break;
  }
  return method::unknown;
}

}  // namespace http
}  // namespace v0
}  // namespace keel
