// Enum <-> name conversion by compile-time name extraction, for enums read and written as JSON strings.
#pragma once

#include "keel/config.hpp"
#include "keel/detail/reflect/static_text.hpp"

#include <array>
#include <cstddef>
#include <optional>
#include <string_view>
#include <type_traits>
#include <utility>

//
// Names are found by trying every value in keel::enum_range<E> (default -128..127, or 0..255 for an
// unsigned underlying type). An enum with values outside that range specializes it:
//   template <> struct keel::enum_range<big_codes> { static constexpr long long min = 0, max = 1000; };

namespace keel {
inline namespace v0 {

template <class E>
struct enum_range {
  static constexpr long long min = std::is_signed_v<std::underlying_type_t<E>> ? -128 : 0;
  static constexpr long long max = std::is_signed_v<std::underlying_type_t<E>> ? 127 : 255;
};

}  // namespace v0
}  // namespace keel

namespace keel {
inline namespace v0 {
namespace detail {

template <auto KeelEnumValue>
consteval std::string_view enum_pretty_function() {
  return __PRETTY_FUNCTION__;
}

// g++: "[with auto KeelEnumValue = ns::color::red; ...]", clang: "[KeelEnumValue = ns::color::red]". A value
// without a name prints as "(ns::color)3"; the name is what follows the last ':'.
consteval std::string_view enum_name_in(std::string_view text) {
  constexpr std::string_view marker = "KeelEnumValue = ";
  std::size_t begin = text.find(marker);
  if (begin == std::string_view::npos) return {};
  begin += marker.size();
  std::size_t end = text.find_first_of(";]", begin);
  std::string_view value = text.substr(begin, end - begin);
  if (value.empty() || value[0] == '(' || value[0] == '-' || (value[0] >= '0' && value[0] <= '9')) return {};
  std::size_t colon = value.rfind(':');
  return colon == std::string_view::npos ? value : value.substr(colon + 1);
}

// __builtin_bit_cast rather than static_cast: clang rejects out-of-range static_casts to enums without a
// fixed underlying type in constant expressions.
template <class E, long long V>
inline constexpr E enum_from_integer = __builtin_bit_cast(E, static_cast<std::underlying_type_t<E>>(V));

template <class E, long long V>
consteval std::string_view raw_enum_name() {
  return enum_name_in(enum_pretty_function<enum_from_integer<E, V>>());
}

template <class E>
using enum_offsets = std::make_integer_sequence<long long, enum_range<E>::max - enum_range<E>::min + 1>;

// One constant evaluation per value (clang caps the steps of each), its name copied into static storage.
template <class E, long long V>
struct enum_name_holder {
  static constexpr std::string_view raw = raw_enum_name<E, V>();
  static constexpr auto storage = to_char_array<raw.size()>(raw);
  static constexpr std::string_view value{storage.data(), raw.size()};
};

// Pack expansions rather than fold expressions: clang limits folds to 256 operands.
template <class E, long long... Offsets>
consteval std::array<std::string_view, sizeof...(Offsets)> enum_names_in_range(
    std::integer_sequence<long long, Offsets...>) {
  return {enum_name_holder<E, enum_range<E>::min + Offsets>::value...};
}

template <class E>
struct enum_table {
  static_assert(std::is_enum_v<E>);
  static_assert(enum_range<E>::max >= enum_range<E>::min, "keel::enum_range: max < min");
  using underlying = std::underlying_type_t<E>;

  static constexpr auto names = enum_names_in_range<E>(enum_offsets<E>{});
  static constexpr std::size_t size = [] {
    std::size_t n = 0;
    for (std::string_view name : names) n += !name.empty();
    return n;
  }();
  static constexpr auto entries = [] {
    std::array<std::pair<E, std::string_view>, size> out{};
    std::size_t at = 0;
    for (std::size_t i = 0; i < names.size(); ++i) {
      if (names[i].empty()) continue;
      long long value = enum_range<E>::min + static_cast<long long>(i);
      out[at++] = {__builtin_bit_cast(E, static_cast<underlying>(value)), names[i]};
    }
    return out;
  }();
};

}  // namespace detail
}  // namespace v0
}  // namespace keel

namespace keel {
inline namespace v0 {

// (value, name) of every named enumerator in keel::enum_range<E>, in increasing value order.
template <class E>
inline constexpr const auto& enum_entries = detail::enum_table<E>::entries;

// The enumerator's name, or an empty view for a value without one.
template <class E>
requires std::is_enum_v<E>
constexpr std::string_view enum_name(E value) noexcept {
  for (const auto& [v, name] : enum_entries<E>)
    if (v == value) return name;
  return {};
}

template <class E>
requires std::is_enum_v<E>
constexpr std::optional<E> enum_from_name(std::string_view name) noexcept {
  for (const auto& [v, n] : enum_entries<E>)
    if (n == name) return v;
  return std::nullopt;
}

}  // namespace v0
}  // namespace keel
