// DTO reflection: the Dto concept, field count, field access by index with JSON names, and DTO policies.
#pragma once

#include "keel/config.hpp"
#include "keel/json/naming.hpp"
#include "keel/json/traits.hpp"

#include <boost/pfr.hpp>

#include <array>
#include <cstddef>
#include <type_traits>
#include <utility>

namespace keel {
inline namespace v0 {
namespace detail {

template <class T>
inline constexpr bool is_std_array = false;
template <class T, std::size_t N>
inline constexpr bool is_std_array<std::array<T, N>> = true;

}  // namespace detail
}  // namespace v0
}  // namespace keel

namespace keel {
inline namespace v0 {

// A DTO is a plain aggregate struct (no base classes, no user constructors) read and written field by field.
// Types with a json_traits specialization are not DTOs even if they are aggregates.
template <class T>
concept Dto = std::is_class_v<T> && std::is_aggregate_v<T> && !std::is_union_v<T> &&
              !detail::is_std_array<T> && !HasJsonTraits<T> && !std::is_const_v<T>;

template <Dto T>
inline constexpr std::size_t field_count = boost::pfr::tuple_size_v<T>;

// The JSON keys of all fields of T, in declaration order.
template <Dto T>
inline constexpr auto json_field_names = []<std::size_t... I>(std::index_sequence<I...>) {
  return std::array<std::string_view, sizeof...(I)>{json_field_name<T, I>...};
}
(std::make_index_sequence<field_count<T>>{});

// Calls f(std::integral_constant<std::size_t, I>{}, member) for every field in declaration order; the index
// gives compile-time access to json_field_name<T, I>.
template <Dto T, class F>
constexpr void for_each_field(T& object, F&& f) {
  [&]<std::size_t... I>(std::index_sequence<I...>) {
    (f(std::integral_constant<std::size_t, I>{}, boost::pfr::get<I>(object)), ...);
  }
  (std::make_index_sequence<field_count<T>>{});
}
template <Dto T, class F>
constexpr void for_each_field(const T& object, F&& f) {
  [&]<std::size_t... I>(std::index_sequence<I...>) {
    (f(std::integral_constant<std::size_t, I>{}, boost::pfr::get<I>(object)), ...);
  }
  (std::make_index_sequence<field_count<T>>{});
}

// The DTO policies, from keel_unknown_fields, keel_null_fields and keel_missing_fields (members or
// keel::dto_traits<T>, see keel/customization.hpp). `null` for a std::optional field: refused by default (a
// client that sends null means "clear it", which an optional cannot say), or read as if it were left out.
template <Dto T>
inline constexpr bool rejects_unknown_fields = detail::rejects_unknown_fields_hook<T>();
template <Dto T>
inline constexpr bool null_fields_as_absent = detail::null_fields_as_absent_hook<T>();
template <Dto T>
inline constexpr bool missing_fields_use_defaults = detail::missing_fields_use_defaults_hook<T>();

}  // namespace v0
}  // namespace keel
