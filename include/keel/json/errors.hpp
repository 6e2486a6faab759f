// What json_io::read returns: the value, or every problem found in the document, each with its JSON path.
#pragma once

#include "keel/config.hpp"
#include "keel/error.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace keel {
inline namespace v0 {
namespace json_io {

// One problem: where (`items[3].price`; "" for the document itself) and why.
struct error {
  std::string path;
  std::string reason;
  friend bool operator==(const error&, const error&) = default;
};

// Either a value (ok()) or the errors. A syntax error (malformed JSON, invalid UTF-8, trailing garbage) is
// reported alone, since nothing after it can be trusted; otherwise every field's error is listed.
template <class T>
class read_result {
 public:
  read_result() = default;
  explicit read_result(T value) : value_(std::move(value)) {}
  // A default T to decode into in place (the reader fills it, then returns this result as it is).
  explicit read_result(std::in_place_t) : value_(std::in_place) {}
  read_result(std::vector<error> errors, bool syntax) : errors_(std::move(errors)), syntax_error_(syntax) {}

  bool ok() const noexcept { return errors_.empty(); }
  explicit operator bool() const noexcept { return ok(); }
  bool syntax_error() const noexcept { return syntax_error_; }

  // Only when ok().
  T& value() & { return *value_; }
  const T& value() const& { return *value_; }
  T&& value() && { return std::move(*value_); }
  T& operator*() & { return *value_; }
  const T& operator*() const& { return *value_; }
  T* operator->() { return &*value_; }
  const T* operator->() const { return &*value_; }

  const std::vector<error>& errors() const noexcept { return errors_; }

 private:
  std::optional<T> value_;
  std::vector<error> errors_;
  bool syntax_error_ = false;
};

// The framework error for a rejected body: 400 for malformed JSON, 422 with one field entry per problem
// otherwise. `location` is where the JSON came from ("body", "query" ...).
inline http_error to_http_error(const std::vector<error>& errors, bool syntax,
                                std::string_view location = "body") {
  http_error e =
      syntax ? http_error(http::status::bad_request, "malformed JSON", "invalid_json")
             : http_error(http::status::unprocessable_content, "validation failed", "validation_failed");
  for (const auto& err : errors) e.add_field(std::string(location), err.path, err.reason);
  return e;
}

template <class T>
http_error to_http_error(const read_result<T>& result, std::string_view location = "body") {
  return to_http_error(result.errors(), result.syntax_error(), location);
}

}  // namespace json_io
}  // namespace v0
}  // namespace keel
