// Text built at compile time into static storage: copies, decimal numbers, concatenations.
#pragma once

#include "keel/config.hpp"

#include <array>
#include <cstddef>
#include <string_view>

namespace keel {
inline namespace v0 {
namespace detail {

// Copies compile-time text into an array owned by a variable template, so only the text itself (and not the
// string it was cut from, e.g. a whole __PRETTY_FUNCTION__) ends up in the binary.
template <std::size_t N>
consteval std::array<char, N + 1> to_char_array(std::string_view text) {
  std::array<char, N + 1> out{};
  for (std::size_t i = 0; i < N; ++i) out[i] = text[i];
  return out;
}

// Decimal text of an integer at compile time (for messages like "length must be 1..120").
template <long long Value>
inline constexpr auto decimal_storage = [] {
  constexpr auto digits = [] {
    unsigned long long v = Value < 0 ? 0ULL - static_cast<unsigned long long>(Value) : Value;
    std::size_t n = Value < 0 ? 1 : 0;
    do {
      ++n;
      v /= 10;
    } while (v != 0);
    return n;
  }();
  std::array<char, digits + 1> out{};
  unsigned long long v = Value < 0 ? 0ULL - static_cast<unsigned long long>(Value) : Value;
  std::size_t i = digits;
  do {
    out[--i] = static_cast<char>('0' + v % 10);
    v /= 10;
  } while (v != 0);
  if (Value < 0) out[0] = '-';
  return out;
}();
template <long long Value>
inline constexpr std::string_view decimal{decimal_storage<Value>.data(), decimal_storage<Value>.size() - 1};

// Concatenation of compile-time string_views into static storage.
template <const std::string_view&... Parts>
struct concat {
  static constexpr std::size_t size = (Parts.size() + ... + 0);
  static constexpr auto storage = [] {
    std::array<char, size + 1> out{};
    std::size_t at = 0;
    const std::array<std::string_view, sizeof...(Parts)> parts{Parts...};
    for (std::string_view part : parts)
      for (char c : part) out[at++] = c;
    return out;
  }();
  static constexpr std::string_view value{storage.data(), size};
};

}  // namespace detail
}  // namespace v0
}  // namespace keel
