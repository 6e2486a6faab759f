// Converts one piece of request text (a query or form value, a header, a cookie) into a typed value.
#pragma once

#include "keel/config.hpp"
#include "keel/customization.hpp"
#include "keel/error.hpp"
#include "keel/extract.hpp"
#include "keel/json/enum.hpp"
#include "keel/validate/validated.hpp"

#include <charconv>
#include <concepts>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <vector>

// The text has already been percent-decoded where its place calls for it. Supported targets: bool
// ("true"/"false"/"1"/"0"), every integer width (range-checked), float/double, std::string, enums by name,
// and validator types (keel::text<1, 120>, keel::range<int, 0, 5> ...) over one of those, checked with their
// rules. Text holding a NUL character (`%00`) is refused. std::optional<T> and std::vector<T> are handled by
// the callers (absent key, repeated key).

namespace keel {
inline namespace v0 {
namespace detail {

template <class T>
inline constexpr bool is_text_optional = false;
template <class T>
inline constexpr bool is_text_optional<std::optional<T>> = true;

template <class T>
inline constexpr bool is_text_vector = false;
template <class T, class A>
inline constexpr bool is_text_vector<std::vector<T, A>> = true;

template <class T>
concept text_scalar = std::same_as<T, bool> || std::integral<T> || std::floating_point<T> ||
    std::same_as<T, std::string> || std::is_enum_v<T>;

// A type one text value converts into: a scalar, or a validator over one.
template <class T>
concept text_convertible = text_scalar<T> ||(Validator<T>&& text_scalar<typename T::value_type>);

// The plain type a convertible type is read as (a validator's value type).
template <class T>
struct text_base {
  using type = T;
};
template <Validator T>
struct text_base<T> {
  using type = typename T::value_type;
};
template <class T>
inline constexpr bool is_text_string = std::same_as<typename text_base<T>::type, std::string>;

// Worded like a bad path parameter: the same conversions, the same reasons.
template <class T>
constexpr std::string_view text_expectation() {
  return path_value_expectation<typename text_base<T>::type>();
}

template <class E>
std::string enum_expectation() {
  std::string reason = "must be one of: ";
  bool first = true;
  for (const auto& entry : enum_entries<E>) {
    if (!first) reason += ", ";
    first = false;
    reason += entry.second;
  }
  return reason;
}

// Converts `text` into `out`. On failure returns false with `reason` set; a validator's broken rule counts as
// a failure too.
template <text_convertible T>
bool parse_text_value(std::string_view text, T& out, std::string& reason) {
  if constexpr (Validator<T>) {
    if (!parse_text_value(text, out.get(), reason)) return false;
    std::string_view broken = out.check();
    if (broken.empty()) return true;
    reason.assign(broken);
    return false;
  } else if constexpr (std::same_as<T, std::string>) {
    // `%00` decodes to a NUL, which C APIs and SQL engines take as the end of the text: SQLite's LIKE stops
    // there (`q=x%00anything` would search for "x"), libpq would send "x". No text a client means holds one.
    if (text.find('\0') != std::string_view::npos) {
      reason.assign("must not contain NUL characters");
      return false;
    }
    out.assign(text.data(), text.size());
    return true;
  } else if constexpr (std::is_enum_v<T>) {
    if (auto found = enum_from_name<T>(text)) return out = *found, true;
    reason = enum_expectation<T>();
    return false;
  } else {
    if (parse_scalar_text(text, out)) return true;
    reason.assign(text_expectation<T>());
    return false;
  }
}

// Every typed extractor reports bad input the same way: 422 with one entry per offending field.
inline http_error validation_failed() {
  return http_error(http::status::unprocessable_content, "validation failed", "validation_failed");
}

// What a header<> or cookie<> may hold: one convertible value, or an optional one (absent is fine).
template <class T>
concept single_text_target = text_convertible<T> ||
    (is_text_optional<T>&& text_convertible<typename T::value_type>);

// Fills the wrapper W (header<>, cookie<>) from its raw text, nullopt when the request lacks it. A missing
// required value is a 422 naming it, like a bad one.
template <class W>
result<W> extract_single_text(std::optional<std::string_view> raw) {
  using T = typename W::value_type;
  W out{};
  std::string reason;
  if (!raw) {
    if constexpr (is_text_optional<T>) return out;
    reason = "required";
  } else if constexpr (is_text_optional<T>) {
    if (parse_text_value(*raw, out.value.emplace(), reason)) return out;
  } else {
    if (parse_text_value(*raw, out.value, reason)) return out;
  }
  http_error e = validation_failed();
  e.add_field(std::string(to_string(location_of<W>())), std::string(W::keel_name), std::move(reason));
  return e;
}

}  // namespace detail
}  // namespace v0
}  // namespace keel
