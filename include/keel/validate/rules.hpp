// The built-in validation rules and the validator types users put in DTOs.
#pragma once

#include "keel/config.hpp"
#include "keel/detail/reflect/static_text.hpp"
#include "keel/router/fixed_string.hpp"
#include "keel/validate/formats.hpp"
#include "keel/validate/validated.hpp"

#include <array>
#include <cstddef>
#include <limits>
#include <regex>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

// text, range, pattern, email, uuid, url, one_of, non_empty, sized:
//
//   struct new_article {
//     keel::text<1, 120> title;                        // 1..120 code points
//     std::optional<keel::range<int, 0, 5>> priority;  // 0 <= n <= 5 when present
//     keel::pattern<"^[a-z0-9-]+$"> slug;              // std::regex (ECMAScript, search), compiled once
//     keel::email author;
//     keel::one_of<"draft", "published"> state;
//     keel::sized<std::vector<std::string>, 0, 10> tags;
//   };
//
// Rules compose: keel::validated<std::string, keel::rules::length<3, 20>, keel::rules::matches<"^\\w+$">>.
// Floating-point bounds are not template arguments on clang 16, so range bounds are integers.

namespace keel {
inline namespace v0 {
namespace rules {

inline constexpr std::size_t unbounded = std::numeric_limits<std::size_t>::max();

namespace text {
inline constexpr std::string_view length_must_be = "length must be ";
inline constexpr std::string_view at_least = "at least ";
inline constexpr std::string_view at_most = "at most ";
inline constexpr std::string_view dots = "..";
inline constexpr std::string_view and_ = " and ";
inline constexpr std::string_view must_be_between = "must be between ";
inline constexpr std::string_view must_be_at_least = "must be at least ";
inline constexpr std::string_view must_be_at_most = "must be at most ";
inline constexpr std::string_view must_have = "must have ";
inline constexpr std::string_view items = " items";
inline constexpr std::string_view must_match = "must match pattern ";
inline constexpr std::string_view must_be_one_of = "must be one of: ";
}  // namespace text

// Length in code points.
template <std::size_t Min, std::size_t Max = unbounded>
struct length {
  static_assert(Min <= Max, "keel::text: Min must not exceed Max");
  static constexpr keel::constraints constraints{
      .min_length = Min == 0 ? std::optional<std::size_t>{} : Min,
      .max_length = Max == unbounded ? std::optional<std::size_t>{} : Max};
  static constexpr std::string_view reason = [] {
    using namespace text;
    if constexpr (Max == unbounded)
      return detail::concat<length_must_be, at_least, detail::decimal<Min>>::value;
    else if constexpr (Min == 0)
      return detail::concat<length_must_be, at_most, detail::decimal<Max>>::value;
    else
      return detail::concat<length_must_be, detail::decimal<Min>, dots, detail::decimal<Max>>::value;
  }();
  static std::string_view check(std::string_view s) {
    if (Min == 0 && Max == unbounded) return {};
    std::size_t n = detail::utf8_length(s);
    return n >= Min && n <= Max ? std::string_view{} : reason;
  }
};

// Min <= value <= Max.
template <long long Min, long long Max>
struct between {
  static_assert(Min <= Max, "keel::range: Min must not exceed Max");
  static constexpr keel::constraints constraints{.minimum = Min, .maximum = Max};
  static constexpr std::string_view reason =
      detail::concat<text::must_be_between, detail::decimal<Min>, text::and_, detail::decimal<Max>>::value;
  template <class T>
  requires std::is_arithmetic_v<T>
  static std::string_view check(const T& v) {
    bool ok;
    if constexpr (std::is_integral_v<T>)
      ok = std::cmp_greater_equal(v, Min) && std::cmp_less_equal(v, Max);
    else
      ok = v >= static_cast<T>(Min) && v <= static_cast<T>(Max);  // false for NaN
    return ok ? std::string_view{} : reason;
  }
};

// Matches the ECMAScript regular expression anywhere in the string (JSON Schema `pattern`); anchor with
// ^...$ for a whole-string match. The regex is compiled on first use, once per process.
template <fixed_string Pattern>
struct matches {
  static constexpr std::string_view source = Pattern.view();
  static constexpr keel::constraints constraints{.pattern = source};
  static constexpr std::string_view reason = detail::concat<text::must_match, source>::value;
  static std::string_view check(const std::string& s) {
    static const std::regex compiled(source.data(), source.size(),
                                     std::regex::ECMAScript | std::regex::optimize);
    return std::regex_search(s, compiled) ? std::string_view{} : reason;
  }
};

struct email_format {
  static constexpr keel::constraints constraints{.format = "email"};
  static std::string_view check(std::string_view s) {
    return detail::is_email(s) ? std::string_view{} : "must be an email address";
  }
};

struct uuid_format {
  static constexpr keel::constraints constraints{.format = "uuid"};
  static std::string_view check(std::string_view s) {
    return detail::is_uuid(s) ? std::string_view{} : "must be a UUID (8-4-4-4-12 hex digits)";
  }
};

struct url_format {
  static constexpr keel::constraints constraints{.format = "uri"};
  static std::string_view check(std::string_view s) {
    return detail::is_http_url(s) ? std::string_view{} : "must be an http or https URL";
  }
};

template <fixed_string... Allowed>
struct in {
  static_assert(sizeof...(Allowed) > 0, "keel::one_of needs at least one value");
  static constexpr std::array<std::string_view, sizeof...(Allowed)> values{Allowed.view()...};
  static constexpr keel::constraints constraints{.allowed = values};
  static constexpr std::size_t list_size = [] {
    std::size_t n = 0;
    for (auto v : values) n += v.size() + 2;
    return n - 2;
  }();
  static constexpr auto list_storage = [] {
    std::array<char, list_size + 1> out{};
    std::size_t at = 0;
    for (auto v : values) {
      if (at != 0) out[at++] = ',', out[at++] = ' ';
      for (char c : v) out[at++] = c;
    }
    return out;
  }();
  static constexpr std::string_view list{list_storage.data(), list_size};
  static constexpr std::string_view reason = detail::concat<text::must_be_one_of, list>::value;
  static std::string_view check(std::string_view s) {
    for (auto v : values)
      if (v == s) return {};
    return reason;
  }
};

// Number of elements of a container.
template <std::size_t Min, std::size_t Max = unbounded>
struct count {
  static_assert(Min <= Max, "keel::sized: Min must not exceed Max");
  static constexpr keel::constraints constraints{
      .min_items = Min == 0 ? std::optional<std::size_t>{} : Min,
      .max_items = Max == unbounded ? std::optional<std::size_t>{} : Max};
  static constexpr std::string_view reason = [] {
    using namespace text;
    if constexpr (Min == 1 && Max == unbounded) {
      return std::string_view("must not be empty");
    } else if constexpr (Max == unbounded) {
      return detail::concat<must_have, at_least, detail::decimal<Min>, items>::value;
    } else if constexpr (Min == 0) {
      return detail::concat<must_have, at_most, detail::decimal<Max>, items>::value;
    } else {
      return detail::concat<must_have, detail::decimal<Min>, dots, detail::decimal<Max>, items>::value;
    }
  }();
  template <class C>
  requires requires(const C& c) { c.size(); }
  static std::string_view check(const C& c) {
    return c.size() >= Min && c.size() <= Max ? std::string_view{} : reason;
  }
};

}  // namespace rules
}  // namespace v0
}  // namespace keel

namespace keel {
inline namespace v0 {

template <std::size_t Min, std::size_t Max = rules::unbounded>
using text = validated<std::string, rules::length<Min, Max>>;

template <class T, long long Min, long long Max>
using range = validated<T, rules::between<Min, Max>>;

template <fixed_string Pattern>
using pattern = validated<std::string, rules::matches<Pattern>>;

using email = validated<std::string, rules::email_format>;
using uuid = validated<std::string, rules::uuid_format>;
using url = validated<std::string, rules::url_format>;

template <fixed_string... Allowed>
using one_of = validated<std::string, rules::in<Allowed...>>;

template <class Container>
using non_empty = validated<Container, rules::count<1>>;

template <class Container, std::size_t Min, std::size_t Max = rules::unbounded>
using sized = validated<Container, rules::count<Min, Max>>;

}  // namespace v0
}  // namespace keel
