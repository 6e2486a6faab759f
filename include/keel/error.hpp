// The error model: every framework error (parser, router, extractor, handler) is an http_error, and one
// formatter turns it into the response body. The default shape is
//   {"error":{"status":422,"code":"validation_failed","message":"...","fields":[{"path":"title",
//    "location":"body","reason":"..."}]},"request_id":"..."}
// and an app can swap the formatter (the RealWorld example emits {"errors":{"body":[...]}}).
#pragma once

#include "keel/config.hpp"
#include "keel/detail/json_escape.hpp"
#include "keel/http/response.hpp"
#include "keel/http/status.hpp"

#include <concepts>
#include <exception>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

namespace keel {
inline namespace v0 {

// One offending input: where it was (path/query/header/cookie/body), its path inside that place
// ("items[3].price", "id"), and why it was rejected.
struct field_error {
  std::string location;
  std::string path;
  std::string reason;
};

class http_error : public std::exception {
 public:
  http_error() = default;
  explicit http_error(http::status s, std::string message = {}, std::string_view code = {})
      : status_(s), code_(code.empty() ? http::error_code(s) : code), message_(std::move(message)) {
    if (message_.empty()) message_ = std::string(http::reason_phrase(s));
  }

  http::status status() const noexcept { return status_; }
  std::string_view code() const noexcept { return code_; }
  std::string_view message() const noexcept { return message_; }
  const std::vector<field_error>& fields() const noexcept { return fields_; }
  std::vector<field_error>& fields() noexcept { return fields_; }
  const char* what() const noexcept override { return message_.c_str(); }

  http_error& add_field(std::string location, std::string path, std::string reason) {
    fields_.push_back({std::move(location), std::move(path), std::move(reason)});
    return *this;
  }
  // Extra headers the error response must carry (Allow on 405, WWW-Authenticate on 401, Retry-After ...).
  http_error& with_header(std::string name, std::string value) {
    headers_.emplace_back(std::move(name), std::move(value));
    return *this;
  }
  const std::vector<std::pair<std::string, std::string>>& headers() const noexcept { return headers_; }

  // `return keel::not_found();` from a handler returning std::optional<T> would otherwise fail with "cannot
  // convert"; this conversion exists only to name the fix. Never callable: instantiating it is the error.
  template <class T>
  requires(!std::is_constructible_v<T, const http_error&>) operator std::optional<T>()
      const {  // NOLINT: implicit on purpose, see above
    static_assert(sizeof(T) == 0,
                  "keel: an http_error cannot become a std::optional<T> (it only means 404 when empty): make "
                  "the handler return keel::result<T> to answer with any http_error");
    return std::nullopt;
  }

 private:
  http::status status_ = http::status::internal_server_error;
  std::string code_ = "internal_error";
  std::string message_;
  std::vector<field_error> fields_;
  std::vector<std::pair<std::string, std::string>> headers_;
};

// Thrown into a streaming handler (a write or read through keel::stream_writer / keel::body_stream, or an
// upgraded protocol's I/O) when its connection is gone: the client disconnected, a write timed out, or the
// server shut down. Let it propagate: the handler's frame unwinds and nothing is logged as an error.
class stream_closed : public std::exception {
 public:
  const char* what() const noexcept override { return "keel: the connection closed"; }
};

// Shorthands for the common cases.
inline http_error bad_request(std::string message = {}) {
  return http_error(http::status::bad_request, std::move(message));
}
inline http_error unauthorized(std::string message = {}) {
  return http_error(http::status::unauthorized, std::move(message));
}
inline http_error forbidden(std::string message = {}) {
  return http_error(http::status::forbidden, std::move(message));
}
inline http_error not_found(std::string message = {}) {
  return http_error(http::status::not_found, std::move(message));
}
inline http_error conflict(std::string message = {}) {
  return http_error(http::status::conflict, std::move(message));
}
inline http_error unprocessable(std::string message = {}) {
  return http_error(http::status::unprocessable_content, std::move(message));
}

// ErrorFormatter: turns an http_error into a response body. `request_id` may be empty.
template <class F>
concept ErrorFormatter = requires(const http_error& e, std::string_view request_id, response& res) {
  { F::format(e, request_id, res) } -> std::same_as<void>;
};

// keel's own JSON error shape.
struct json_error_formatter {
  static void format(const http_error& e, std::string_view request_id, response& res) {
    std::string& out = res.body_buffer();
    out.clear();
    out.append("{\"error\":{\"status\":").append(std::to_string(http::to_int(e.status())));
    out.append(",\"code\":");
    detail::append_json_string(out, e.code());
    out.append(",\"message\":");
    detail::append_json_string(out, e.message());
    if (!e.fields().empty()) {
      out.append(",\"fields\":[");
      bool first = true;
      for (const auto& f : e.fields()) {
        if (!first) out.push_back(',');
        first = false;
        out.append("{\"location\":");
        detail::append_json_string(out, f.location);
        out.append(",\"path\":");
        detail::append_json_string(out, f.path);
        out.append(",\"reason\":");
        detail::append_json_string(out, f.reason);
        out.push_back('}');
      }
      out.push_back(']');
    }
    out.append("}");
    if (!request_id.empty()) {
      out.append(",\"request_id\":");
      detail::append_json_string(out, request_id);
    }
    out.append("}");
    res.content_type("application/json");
  }
};
static_assert(ErrorFormatter<json_error_formatter>);

// Fills `res` from `e` with formatter F: status, the error's headers, and the body.
template <ErrorFormatter F>
void render_error(const http_error& e, std::string_view request_id, response& res) {
  res.status(e.status());
  for (const auto& [name, value] : e.headers()) res.header(name, value);
  F::format(e, request_id, res);
}

// result<T>: a value or an http_error. Handlers may return it (or keel::expected-like types) to answer with
// a typed error without throwing; extractors return it.
template <class T>
class result {
 public:
  result(T value) : v_(std::in_place_index<0>, std::move(value)) {}   // NOLINT: implicit on purpose
  result(http_error e) : v_(std::in_place_index<1>, std::move(e)) {}  // NOLINT
  bool has_value() const noexcept { return v_.index() == 0; }
  explicit operator bool() const noexcept { return has_value(); }
  T& value() & { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  const T& value() const& { return std::get<0>(v_); }
  T& operator*() & { return value(); }
  T* operator->() { return &value(); }
  http_error& error() & { return std::get<1>(v_); }
  http_error&& error() && { return std::get<1>(std::move(v_)); }
  const http_error& error() const& { return std::get<1>(v_); }

 private:
  std::variant<T, http_error> v_;
};

}  // namespace v0
}  // namespace keel
