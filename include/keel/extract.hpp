// Extractors: how a handler's parameters get their values.
//
// A parameter is one of
//  - a path parameter: a plain value type (integers, floating point, bool, std::string, std::string_view, or
//  a
//    type with a keel::path_traits specialization) bound to the path's parameters in order, or
//    keel::path<"name", T> bound by name;
//  - an extractor: a type with a keel::extractor<T> specialization (request, body, JSON body, query DTO,
//  ...);
//  - a reference to a middleware's state type (`const request_id_state&`) or to an app service (`db&`);
//  - the context itself (`keel::request_context&` or the app's context type).
// Anything else is a compile error naming the type.
#pragma once

#include "keel/config.hpp"
#include "keel/context.hpp"
#include "keel/error.hpp"
#include "keel/http/url.hpp"
#include "keel/router/fixed_string.hpp"

#include <charconv>
#include <concepts>
#include <cstddef>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>

namespace keel {
inline namespace v0 {

// Customization point for path parameter types: specialize with
//   static bool parse(std::string_view decoded, T& out);   static constexpr std::string_view expected =
//   "...";
template <class T>
struct path_traits;

namespace detail {
template <class T>
concept arithmetic_path_value = (std::integral<T> || std::floating_point<T>);
}

template <class T>
concept PathValue = detail::arithmetic_path_value<T> || std::same_as<T, std::string> ||
    std::same_as<T, std::string_view> || requires(std::string_view s, T& out) {
  { path_traits<T>::parse(s, out) } -> std::same_as<bool>;
};

// A path parameter bound by name: `keel::path<"id", std::int64_t> id` (then `*id` or `id.value`).
template <fixed_string Name, PathValue T>
struct path {
  static constexpr std::string_view name = Name.view();
  using value_type = T;
  T value{};
  const T& operator*() const noexcept { return value; }
  const T* operator->() const noexcept { return &value; }
  operator const T&() const noexcept { return value; }  // NOLINT: lets `path<"id", int>` pass where int goes
};

// Customization point for extractors: specialize with
//   template <class Ctx> static keel::result<T> extract(Ctx& ctx);   (or return T when it cannot fail)
template <class T>
struct extractor;

template <class T, class Ctx>
concept Extractor = requires(Ctx& ctx) {
  extractor<T>::extract(ctx);
};

// --- built-in extractors

// The raw body, as sent (de-chunked).
struct body {
  std::string_view data;
  operator std::string_view() const noexcept { return data; }  // NOLINT
};
template <>
struct extractor<body> {
  static body extract(request_context& ctx) { return body{ctx.request().body}; }
};

// The raw query string (without '?').
struct query_string {
  std::string_view data;
  operator std::string_view() const noexcept { return data; }  // NOLINT
};
template <>
struct extractor<query_string> {
  static query_string extract(request_context& ctx) { return query_string{ctx.request().query}; }
};

namespace detail {

template <class T>
struct is_named_path : std::false_type {};
template <fixed_string N, class T>
struct is_named_path<path<N, T>> : std::true_type {};

template <class T>
constexpr std::string_view path_value_expectation() {
  if constexpr (std::same_as<T, bool>)
    return "must be true or false";
  else if constexpr (std::unsigned_integral<T>)
    return "must be a non-negative integer in range";
  else if constexpr (std::integral<T>)
    return "must be an integer in range";
  else if constexpr (std::floating_point<T>)
    return "must be a number";
  else if constexpr (std::same_as<T, std::string> || std::same_as<T, std::string_view>)
    return "must be valid percent-encoding";
  else if constexpr (requires { path_traits<T>::expected; })
    return path_traits<T>::expected;
  else
    return "has an invalid value";
}

// The one text-to-scalar conversion behind path, query, form, header and cookie values: "true"/"1" and
// "false"/"0" for bool; for numbers the whole text in decimal, without a sign '+' or whitespace ("12ab" is no
// number).
template <class T>
requires(std::same_as<T, bool> || arithmetic_path_value<T>) bool parse_scalar_text(std::string_view text,
                                                                                   T& out) noexcept {
  if constexpr (std::same_as<T, bool>) {
    if (text == "true" || text == "1") return out = true, true;
    if (text == "false" || text == "0") return out = false, true;
    return false;
  } else {
    if (text.empty() || text.front() == '+') return false;
    auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
    return ec == std::errc{} && p == text.data() + text.size();
  }
}

// Converts the raw (percent-encoded) segment `raw` into T. Decoded text lives in ctx scratch slot `slot`.
template <class T>
bool parse_path_value(std::string_view raw, T& out, request_context& ctx, std::size_t slot) {
  std::string_view text = raw;
  if (http::needs_decoding(raw)) {
    std::string& buf = detail::context_access::scratch(ctx, slot);
    buf.clear();
    if (!http::percent_decode(raw, buf)) return false;
    text = buf;
  }
  if constexpr (std::same_as<T, std::string_view>) {
    out = text;
    return true;
  } else if constexpr (std::same_as<T, std::string>) {
    out.assign(text.data(), text.size());
    return true;
  } else if constexpr (std::same_as<T, bool> || arithmetic_path_value<T>) {
    return parse_scalar_text(text, out);
  } else {
    return path_traits<T>::parse(text, out);
  }
}

template <class T>
http_error bad_path_param(std::string_view name) {
  http_error e(http::status::bad_request, "invalid path parameter '" + std::string(name) + "'",
               "bad_path_parameter");
  e.add_field("path", std::string(name), std::string(path_value_expectation<T>()));
  return e;
}

}  // namespace detail
}  // namespace v0
}  // namespace keel
