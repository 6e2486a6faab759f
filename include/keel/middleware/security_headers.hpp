// keel::security_headers: nosniff, X-Frame-Options, Referrer-Policy, a CSP, and HSTS on TLS connections.
#pragma once

#include "keel/config.hpp"
#include "keel/context.hpp"

#include <charconv>
#include <cstdint>
#include <string>
#include <string_view>

//   keel::app{api}.use<keel::security_headers>()
//   keel::app{api}.use(keel::security_headers{.frame_options = "SAMEORIGIN", .hsts_max_age = 600})
//
// A header the handler already set is left alone, so one route can loosen (or tighten) the policy for
// itself, e.g. a documentation page that needs inline scripts sets its own Content-Security-Policy.

namespace keel {
inline namespace v0 {

struct security_headers {
  // X-Content-Type-Options: nosniff (browsers trust Content-Type instead of guessing).
  bool nosniff = true;
  // X-Frame-Options ("DENY" or "SAMEORIGIN"); "" omits it.
  std::string frame_options = "DENY";
  // Referrer-Policy; "" omits it.
  std::string referrer_policy = "no-referrer";
  // Content-Security-Policy; "" omits it.
  std::string content_security_policy = "default-src 'self'";
  // Strict-Transport-Security, sent on TLS connections only (over plain HTTP a browser ignores it, and a
  // proxy in front may not speak TLS to everyone). 0 omits it; 31536000 is one year.
  std::uint32_t hsts_max_age = 31536000;
  bool hsts_include_subdomains = false;
  bool hsts_preload = false;

  // In after(): error answers (ctx.fail) start a fresh response and need the headers too.
  void after(request_context& ctx) const {
    keel::response& res = ctx.response();
    if (nosniff) add_if_absent(res, "X-Content-Type-Options", "nosniff");
    add_if_absent(res, "X-Frame-Options", frame_options);
    add_if_absent(res, "Referrer-Policy", referrer_policy);
    add_if_absent(res, "Content-Security-Policy", content_security_policy);
    if (ctx.is_tls() && hsts_max_age > 0 && !res.has_header("Strict-Transport-Security")) {
      char buf[64] = "max-age=";
      char* end = std::to_chars(buf + 8, buf + 20, hsts_max_age).ptr;
      std::string_view value(buf, static_cast<std::size_t>(end - buf));
      std::string_view suffix = hsts_include_subdomains
                                    ? (hsts_preload ? "; includeSubDomains; preload" : "; includeSubDomains")
                                    : (hsts_preload ? "; preload" : "");
      suffix.copy(end, suffix.size());
      res.header("Strict-Transport-Security", std::string_view(buf, value.size() + suffix.size()));
    }
  }

 private:
  static void add_if_absent(keel::response& res, std::string_view name, std::string_view value) {
    if (!value.empty() && !res.has_header(name)) res.header(name, value);
  }
};

}  // namespace v0
}  // namespace keel
