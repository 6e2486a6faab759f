// keel::cookie<"name", T>: one request cookie converted to T, as a handler parameter.
#pragma once

#include "keel/config.hpp"
#include "keel/customization.hpp"
#include "keel/context.hpp"
#include "keel/error.hpp"
#include "keel/extract.hpp"
#include "keel/extractors/detail/value_holder.hpp"
#include "keel/extractors/detail/text_value.hpp"
#include "keel/http/response.hpp"
#include "keel/router/fixed_string.hpp"

#include <optional>
#include <string_view>

// `keel::cookie<"session", std::string> s`: the value of the first cookie called "session" in the Cookie
// header(s), converted like a header value. Cookie names match case-sensitively (RFC 6265). The value is
// taken as sent, minus surrounding double quotes: cookies have no standard encoding, so nothing is
// percent-decoded. A missing cookie is a 422 naming it (location "cookie") unless T is a std::optional.

namespace keel {
inline namespace v0 {

namespace http {

// The value of cookie `name` in one Cookie header value ("a=1; b=2"), nullopt when absent.
inline std::optional<std::string_view> find_cookie(std::string_view cookies, std::string_view name) noexcept {
  while (!cookies.empty()) {
    std::size_t semicolon = cookies.find(';');
    std::string_view pair = cookies.substr(0, semicolon);
    cookies = semicolon == std::string_view::npos ? std::string_view{} : cookies.substr(semicolon + 1);
    while (!pair.empty() && (pair.front() == ' ' || pair.front() == '\t')) pair.remove_prefix(1);
    while (!pair.empty() && (pair.back() == ' ' || pair.back() == '\t')) pair.remove_suffix(1);
    std::size_t eq = pair.find('=');
    if (eq == std::string_view::npos || pair.substr(0, eq) != name) continue;
    std::string_view value = pair.substr(eq + 1);
    if (value.size() >= 2 && value.front() == '"' && value.back() == '"')
      value = value.substr(1, value.size() - 2);
    return value;
  }
  return std::nullopt;
}

}  // namespace http

template <fixed_string Name, detail::single_text_target T>
struct cookie : detail::value_holder<T> {
  using keel_dto = T;  // for the OpenAPI generator: the parameter's schema, its name and its place
  static constexpr std::string_view keel_name = Name.view();
  static constexpr keel::location keel_location = keel::location::cookie;
};

template <fixed_string Name, class T>
struct extractor<cookie<Name, T>> {
  static result<cookie<Name, T>> extract(request_context& ctx) {
    std::optional<std::string_view> found;
    for (const http::header_field& field : ctx.request().headers) {
      if (!keel::detail::iequals(field.name, "Cookie")) continue;
      found = http::find_cookie(field.value, Name.view());
      if (found) break;
    }
    return detail::extract_single_text<cookie<Name, T>>(found);
  }
};

}  // namespace v0
}  // namespace keel
