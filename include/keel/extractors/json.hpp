// keel::json<T>: the request body parsed as JSON into T (a DTO or a container of them), as a handler
// parameter.
#pragma once

#include "keel/config.hpp"
#include "keel/customization.hpp"
#include "keel/context.hpp"
#include "keel/error.hpp"
#include "keel/extract.hpp"
#include "keel/extractors/detail/value_holder.hpp"
#include "keel/extractors/detail/media_type.hpp"
#include "keel/http/response.hpp"
#include "keel/json/errors.hpp"
#include "keel/json/reader.hpp"

#include <string_view>
#include <utility>

// `keel::json<new_todo> body` (then `body->title`, `*body`, `body.value`). The request must say
// Content-Type: application/json (or any application/...+json), else 415. Errors, in the app's error shape:
//   - an empty body: 400 "invalid_json" (an empty document is not JSON; nothing to validate field by field);
//   - malformed JSON, invalid UTF-8, trailing garbage: 400 "invalid_json";
//   - wrong types, missing required fields, validator rules: 422 "validation_failed" listing every field
//     (location "body", path like `items[3].price`).

namespace keel {
inline namespace v0 {

template <class T>
struct json : detail::value_holder<T> {
  using keel_dto = T;  // for the OpenAPI generator: the request body's schema and where it comes from
  static constexpr keel::location keel_location = keel::location::body;
  static constexpr std::string_view keel_content_type = "application/json";
};

namespace detail {

// application/json, or a structured +json type (application/problem+json, application/vnd.x+json), with any
// parameters; case-insensitive.
inline bool is_json_media_type(std::string_view content_type) noexcept {
  std::string_view type = media_type_of(content_type);
  constexpr std::string_view application = "application/";
  if (type.size() <= application.size() || !iequals(type.substr(0, application.size()), application))
    return false;
  std::string_view subtype = type.substr(application.size());
  if (iequals(subtype, "json")) return true;
  return subtype.size() > 5 && iequals(subtype.substr(subtype.size() - 5), "+json");
}

}  // namespace detail

template <class T>
struct extractor<json<T>> {
  static result<json<T>> extract(request_context& ctx) {
    const http::request& req = ctx.request();
    if (!detail::is_json_media_type(req.header("Content-Type")))
      return http_error(http::status::unsupported_media_type, "expected Content-Type: application/json",
                        "unsupported_media_type");
    std::string_view body = req.body;
    if (body.empty())
      return http_error(http::status::bad_request, "request body is empty; expected JSON", "invalid_json");
    // No copy: the body is a view into the session's read buffer, and the session always keeps at least
    // detail::read_padding (64 = SIMDJSON_PADDING) readable bytes after the received data (see
    // keel/server/session.hpp), so the body may be parsed in place with that much spare room after it. A
    // context filled by other means must keep the same promise.
    auto parsed = json_io::read<T>(body.data(), body.size(), body.size() + simdjson::SIMDJSON_PADDING);
    if (!parsed) return json_io::to_http_error(parsed, "body");
    return json<T>{{std::move(parsed).value()}};
  }
};

}  // namespace v0
}  // namespace keel
