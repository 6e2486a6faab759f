// keel::sql::value_traits<T>: how a C++ value is bound as a parameter and read back from a column.
// Built in: integers, bool, floating point, std::string / string_view / const char*, std::optional<T> (NULL),
// std::nullopt / nullptr (NULL), system_clock time points (RFC 3339 text, UTC) and enums (their names as
// text). Specialize value_traits<T> with `static void bind(statement&, int, const T&)` and `static T
// read(const statement&, int column)` for your own types.
#pragma once

#include "keel/config.hpp"
#include "keel/json/enum.hpp"
#include "keel/json/time.hpp"
#include "keel/sql/connection.hpp"
#include "keel/sql/error.hpp"

#include <chrono>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>

namespace keel {
inline namespace v0 {
namespace sql {

template <class T>
struct value_traits;

namespace detail {

[[noreturn]] inline void throw_type_mismatch(const statement& s, int column, std::string_view expected) {
  throw type_error("column \"" + std::string(s.column_name(column)) + "\": expected " +
                   std::string(expected) + ", got " + std::string(kind_name(s.column_kind(column))));
}

inline void require_kind(const statement& s, int column, value_kind want, std::string_view expected) {
  value_kind got = s.column_kind(column);
  if (got != want) throw_type_mismatch(s, column, expected);
}

// PostgreSQL prints timestamptz as "2026-11-21 13:07:38.123+00"; RFC 3339 wants "+00:00".
inline std::optional<std::chrono::system_clock::time_point> parse_sql_time(std::string_view text) {
  if (auto tp = keel::detail::parse_rfc3339(text)) return tp;
  std::string fixed(text);
  if (fixed.size() > 3 && (fixed[fixed.size() - 3] == '+' || fixed[fixed.size() - 3] == '-')) fixed += ":00";
  if (auto tp = keel::detail::parse_rfc3339(fixed)) return tp;
  if (fixed.size() == 19) return keel::detail::parse_rfc3339(fixed + "Z");  // naive timestamps are UTC
  return std::nullopt;
}

}  // namespace detail

template <class T>
requires(std::integral<T> && !std::same_as<T, bool>) struct value_traits<T> {
  static void bind(statement& s, int index, T v) {
    if constexpr (std::is_unsigned_v<T> && sizeof(T) >= sizeof(std::int64_t)) {
      if (v > static_cast<T>(std::numeric_limits<std::int64_t>::max()))
        throw sql_error("keel::sql: unsigned parameter " + std::to_string(index) + " does not fit in int64");
    }
    s.bind_int64(index, static_cast<std::int64_t>(v));
  }
  static T read(const statement& s, int column) {
    detail::require_kind(s, column, value_kind::integer, "integer");
    std::int64_t v = s.column_int64(column);
    if constexpr (!std::same_as<T, std::int64_t>) {
      if (v < static_cast<std::int64_t>(std::numeric_limits<T>::min()) ||
          (v > 0 &&
           static_cast<std::uint64_t>(v) > static_cast<std::uint64_t>(std::numeric_limits<T>::max())))
        throw type_error("column \"" + std::string(s.column_name(column)) + "\": value " + std::to_string(v) +
                         " out of range for the field's integer type");
    }
    return static_cast<T>(v);
  }
};

template <>
struct value_traits<bool> {
  static void bind(statement& s, int index, bool v) { s.bind_bool(index, v); }
  static bool read(const statement& s, int column) {
    value_kind k = s.column_kind(column);
    if (k != value_kind::integer && k != value_kind::boolean)
      detail::throw_type_mismatch(s, column, "boolean");
    return s.column_bool(column);
  }
};

template <std::floating_point T>
struct value_traits<T> {
  static void bind(statement& s, int index, T v) { s.bind_double(index, static_cast<double>(v)); }
  static T read(const statement& s, int column) {
    value_kind k = s.column_kind(column);
    if (k == value_kind::integer) return static_cast<T>(s.column_int64(column));
    if (k != value_kind::real) detail::throw_type_mismatch(s, column, "real");
    return static_cast<T>(s.column_double(column));
  }
};

template <>
struct value_traits<std::string_view> {
  static void bind(statement& s, int index, std::string_view v) { s.bind_text(index, v); }
};
template <>
struct value_traits<const char*> {
  static void bind(statement& s, int index, const char* v) {
    if (v == nullptr) return s.bind_null(index);
    s.bind_text(index, v);
  }
};
template <std::size_t N>
struct value_traits<char[N]> {
  static void bind(statement& s, int index, const char (&v)[N]) { s.bind_text(index, std::string_view(v)); }
};

template <>
struct value_traits<std::string> {
  static void bind(statement& s, int index, const std::string& v) { s.bind_text(index, v); }
  static std::string read(const statement& s, int column) {
    detail::require_kind(s, column, value_kind::text, "text");
    return std::string(s.column_text(column));
  }
};

template <>
struct value_traits<std::nullopt_t> {
  static void bind(statement& s, int index, std::nullopt_t) { s.bind_null(index); }
};
template <>
struct value_traits<std::nullptr_t> {
  static void bind(statement& s, int index, std::nullptr_t) { s.bind_null(index); }
};

template <class T>
struct value_traits<std::optional<T>> {
  static void bind(statement& s, int index, const std::optional<T>& v) {
    if (!v) return s.bind_null(index);
    value_traits<T>::bind(s, index, *v);
  }
  static std::optional<T> read(const statement& s, int column) {
    if (s.column_kind(column) == value_kind::null) return std::nullopt;
    return value_traits<T>::read(s, column);
  }
};

template <class Duration>
struct value_traits<std::chrono::time_point<std::chrono::system_clock, Duration>> {
  using time_point = std::chrono::time_point<std::chrono::system_clock, Duration>;
  static void bind(statement& s, int index, time_point v) {
    char buffer[keel::detail::rfc3339_length];
    char* end = keel::detail::format_rfc3339(
        buffer, std::chrono::time_point_cast<std::chrono::system_clock::duration>(v));
    s.bind_text(index, std::string_view(buffer, static_cast<std::size_t>(end - buffer)));
  }
  static time_point read(const statement& s, int column) {
    detail::require_kind(s, column, value_kind::text, "timestamp (RFC 3339 text)");
    auto tp = detail::parse_sql_time(s.column_text(column));
    if (!tp)
      throw type_error("column \"" + std::string(s.column_name(column)) + "\": \"" +
                       std::string(s.column_text(column)) + "\" is not a timestamp");
    return std::chrono::time_point_cast<Duration>(*tp);
  }
};

template <class E>
requires std::is_enum_v<E>
struct value_traits<E> {
  static void bind(statement& s, int index, E v) {
    std::string_view name = keel::enum_name(v);
    if (name.empty())
      throw sql_error("keel::sql: enum value " +
                      std::to_string(static_cast<long long>(static_cast<std::underlying_type_t<E>>(v))) +
                      " has no name");
    s.bind_text(index, name);
  }
  static E read(const statement& s, int column) {
    detail::require_kind(s, column, value_kind::text, "enum name (text)");
    auto v = keel::enum_from_name<E>(s.column_text(column));
    if (!v)
      throw type_error("column \"" + std::string(s.column_name(column)) + "\": \"" +
                       std::string(s.column_text(column)) + "\" is not a name of the field's enum");
    return *v;
  }
};

// A type that can be bound as one parameter / read from one column.
template <class T>
concept Bindable = requires(statement& s, const std::remove_cvref_t<T>& v) {
  value_traits<std::remove_cvref_t<T>>::bind(s, 1, v);
};
template <class T>
concept Readable = requires(const statement& s) {
  { value_traits<T>::read(s, 0) } -> std::same_as<T>;
};

}  // namespace sql
}  // namespace v0
}  // namespace keel
