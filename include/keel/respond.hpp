// Responders: how a handler's return value becomes the response.
//
// Built in: keel::response (as is), std::string / std::string_view / const char* (200 text/plain),
// keel::http_error (its status, in the app's error shape), keel::result<T>, std::optional<T> (404 when
// empty), keel::status_only, and void (204). Add a type with a keel::responder<T> specialization:
//   template <class Ctx> static void respond(Ctx& ctx, T&& value);   // fill ctx.response()
#pragma once

#include "keel/config.hpp"
#include "keel/context.hpp"
#include "keel/error.hpp"
#include "keel/http/response.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

namespace keel {
inline namespace v0 {

template <class T>
struct responder;

template <class T, class Ctx>
concept Responder = requires(Ctx& ctx, T&& v) {
  responder<std::remove_cvref_t<T>>::respond(ctx, std::move(v));
};

// A bare status with an empty body: `return keel::status_only{http::status::accepted};`
struct status_only {
  http::status code = http::status::no_content;
};

// Text with an explicit content type, borrowed (the view must outlive the handler: use it for literals).
struct static_body {
  std::string_view body;
  std::string_view content_type = "text/plain; charset=utf-8";
  http::status code = http::status::ok;
};

template <>
struct responder<response> {
  static void respond(request_context& ctx, response&& r) { ctx.response() = std::move(r); }
};
template <>
struct responder<std::string> {
  static void respond(request_context& ctx, std::string&& s) {
    ctx.response().body(std::move(s)).content_type("text/plain; charset=utf-8");
  }
};
template <>
struct responder<std::string_view> {
  static void respond(request_context& ctx, std::string_view s) {
    ctx.response().body(s).content_type("text/plain; charset=utf-8");
  }
};
template <>
struct responder<const char*> {
  static void respond(request_context& ctx, const char* s) {
    ctx.response().body(std::string_view(s)).content_type("text/plain; charset=utf-8");
  }
};
template <>
struct responder<static_body> {
  static void respond(request_context& ctx, static_body b) {
    ctx.response().status(b.code).borrow_body(b.body).content_type(b.content_type);
  }
};
template <>
struct responder<status_only> {
  static void respond(request_context& ctx, status_only s) { ctx.response().status(s.code); }
};
template <>
struct responder<http_error> {
  static void respond(request_context& ctx, http_error&& e) { ctx.fail(e); }
};
template <class T>
struct responder<result<T>> {
  template <class Ctx>
  static void respond(Ctx& ctx, result<T>&& r) {
    if (r.has_value()) {
      responder<T>::respond(ctx, std::move(r).value());
    } else {
      ctx.fail(r.error());
    }
  }
};
template <class T>
struct responder<std::optional<T>> {
  template <class Ctx>
  static void respond(Ctx& ctx, std::optional<T>&& o) {
    if (o) {
      responder<T>::respond(ctx, std::move(*o));
    } else {
      ctx.fail(http_error(http::status::not_found));
    }
  }
};

namespace detail {
// Fills ctx.response() from a handler's result.
template <class Ctx, class R>
KEEL_ALWAYS_INLINE void respond_with(Ctx& ctx, R&& value) {
  using T = std::remove_cvref_t<R>;
  if constexpr (std::is_array_v<std::remove_reference_t<R>>) {
    responder<std::string_view>::respond(ctx, std::string_view(value));
  } else {
    static_assert(
        requires { responder<T>::respond(ctx, std::forward<R>(value)); },
        "keel: the handler's return type has no keel::responder<T> specialization; return "
        "keel::response, a string, a DTO (with keel/json.hpp), or specialize keel::responder");
    responder<T>::respond(ctx, std::forward<R>(value));
  }
}
}  // namespace detail

}  // namespace v0
}  // namespace keel
