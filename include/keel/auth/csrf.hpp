// CSRF protection for cookie sessions (the synchronizer token pattern): keel::auth::csrf<Data> checks that
// every unsafe request (POST, PUT, PATCH, DELETE and any other method but GET, HEAD, OPTIONS and TRACE)
// echoes the session's CSRF token in the X-CSRF-Token header or, for an HTML form, in a `csrf_token` form
// field. A missing or wrong token is a 403 (code "csrf_failed") in the app's error shape; the comparison
// takes constant time. Safe methods always pass.
//
//   app.use(keel::auth::server_sessions<user>(store), keel::auth::csrf<user>{});
//   keel::get<"/session/csrf">([](keel::auth::session<user>& s) { return std::string(s.csrf_token()); })
//
// The layer reads the token from keel::auth::session<Data> (keel/auth/session.hpp), so the session layer
// must run first (outer: app.use(sessions, csrf), or sessions on the app and csrf on a group).
#pragma once

#include "keel/config.hpp"
#include "keel/auth/detail/crypto.hpp"
#include "keel/auth/session.hpp"
#include "keel/context.hpp"
#include "keel/error.hpp"
#include "keel/extractors/detail/media_type.hpp"
#include "keel/http/method.hpp"
#include "keel/http/url.hpp"
#include "keel/middleware/middleware.hpp"

#include <string>
#include <string_view>

namespace keel {
inline namespace v0 {
namespace auth {

struct csrf_options {
  std::string header = "X-CSRF-Token";
  std::string form_field = "csrf_token";  // "" turns the form field off
};

namespace detail {

inline bool is_safe_method(http::method m) noexcept {
  return m == http::method::get || m == http::method::head || m == http::method::options ||
         m == http::method::trace;
}

// The value of `field` in an application/x-www-form-urlencoded body (percent-decoded), "" when absent.
inline std::string form_field_value(std::string_view body, std::string_view field) {
  std::string out;
  while (!body.empty()) {
    const auto amp = body.find('&');
    std::string_view pair = body.substr(0, amp);
    body = amp == std::string_view::npos ? std::string_view{} : body.substr(amp + 1);
    const auto eq = pair.find('=');
    if (pair.substr(0, eq) != field || eq == std::string_view::npos) continue;
    if (!http::percent_decode(pair.substr(eq + 1), out, true)) out.clear();
    return out;
  }
  return out;
}

inline http_error csrf_error() {
  return http_error(http::status::forbidden, "missing or invalid CSRF token", "csrf_failed");
}

}  // namespace detail

template <class Data>
struct csrf {
  csrf_options options{};

  template <class Ctx>
  flow before(Ctx& ctx) const {
    if (detail::is_safe_method(ctx.request().method)) return flow::next;
    const session<Data>& s = ctx.template state<session<Data>>();
    const std::string_view expected = s.stored_csrf_token();
    std::string_view sent = ctx.request().header(options.header);
    std::string from_form;
    if (sent.empty() && !options.form_field.empty() &&
        keel::detail::iequals(keel::detail::media_type_of(ctx.request().header("Content-Type")),
                              "application/x-www-form-urlencoded")) {
      from_form = detail::form_field_value(ctx.request().body, options.form_field);
      sent = from_form;
    }
    if (expected.empty() || !detail::constant_time_equals(sent, expected)) {
      ctx.fail(detail::csrf_error());
      return flow::respond;
    }
    return flow::next;
  }
};

}  // namespace auth
}  // namespace v0
}  // namespace keel
