// Returning a DTO from a handler answers 200 with its JSON; keel::created<T> answers 201 (+ Location).
#pragma once

#include "keel/config.hpp"
#include "keel/context.hpp"
#include "keel/json/reflect.hpp"
#include "keel/json/writer.hpp"
#include "keel/respond.hpp"

#include <string>
#include <utility>
#include <vector>

namespace keel {
inline namespace v0 {

namespace detail {
template <class T>
void write_json_body(request_context& ctx, const T& value, http::status s) {
  keel::response& res = ctx.response();
  res.status(s);
  std::string& out = res.body_buffer();
  out.clear();
  json_io::write(out, value);
  res.content_type("application/json");
}
}  // namespace detail

// 201 Created with the JSON of `value`, and a Location header when `location` is not empty.
template <class T>
struct created {
  T value;
  std::string location{};
};

template <Dto T>
struct responder<T> {
  static void respond(request_context& ctx, const T& value) {
    detail::write_json_body(ctx, value, http::status::ok);
  }
};
template <class T>
struct responder<std::vector<T>> {
  static void respond(request_context& ctx, const std::vector<T>& value) {
    detail::write_json_body(ctx, value, http::status::ok);
  }
};
template <class T>
struct responder<created<T>> {
  static void respond(request_context& ctx, created<T>&& c) {
    detail::write_json_body(ctx, c.value, http::status::created);
    if (!c.location.empty()) ctx.response().header("Location", c.location);
  }
};

}  // namespace v0
}  // namespace keel
