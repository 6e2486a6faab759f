// keel::cors: Cross-Origin Resource Sharing: answers preflights and marks responses other origins may read.
#pragma once

#include "keel/config.hpp"
#include "keel/context.hpp"
#include "keel/error.hpp"
#include "keel/http/method.hpp"
#include "keel/http/status.hpp"
#include "keel/middleware/middleware.hpp"

#include <algorithm>
#include <charconv>
#include <string>
#include <string_view>
#include <vector>

//   keel::app{api}.use<keel::cors>()   // any origin, no credentials
//   keel::app{api}.use(keel::cors{.allow_origins = {"https://app.example"}, .allow_credentials = true})
//
// Choices, as FastAPI/Starlette make them unless said otherwise:
// - A preflight (OPTIONS with Origin and Access-Control-Request-Method) is answered here, before routing:
//   204 with the Access-Control-* headers when origin, method and every requested header are allowed, else
//   403 with keel's error body (code "cors_rejected") naming what was refused (Starlette answers 400; the
//   browser fails the request either way, and the body tells the developer why).
// - Other requests always reach the handler (CORS protects the reader, not the server): an allowed Origin
//   gets Access-Control-Allow-Origin, a refused one no CORS headers, so the browser hides the answer.
// - "*" is only sent when any origin is allowed and credentials are not: with credentials the origin is
//   echoed, as the standard demands. Whenever the answer depends on Origin, responses carry Vary: Origin
//   (also those without Origin, so a cache never serves a CORS-less copy to a cross-origin reader).
// - Use it app-wide: the router answers OPTIONS itself, so a route's or group's middleware never sees a
//   preflight.

namespace keel {
inline namespace v0 {

struct cors {
  // Origins allowed to read responses ("https://app.example", exact match), or "*" for any.
  std::vector<std::string> allow_origins = {"*"};
  // Also allows every origin this returns true for (e.g. any subdomain); may be null.
  bool (*allow_origin_if)(std::string_view origin) = nullptr;
  // Methods a preflight may ask for, or "*" for any.
  std::vector<std::string> allow_methods = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"};
  // Request headers a preflight may ask for (case-insensitive), or "*" for any (the requested ones are
  // echoed). The CORS-safelisted Accept, Accept-Language, Content-Language and Content-Type always pass.
  std::vector<std::string> allow_headers = {"*"};
  // Response headers scripts may read beyond the safelisted ones (Access-Control-Expose-Headers).
  std::vector<std::string> expose_headers = {};
  // Cookies and HTTP authentication on cross-origin requests (Access-Control-Allow-Credentials: true).
  bool allow_credentials = false;
  // Seconds a browser may cache a preflight answer (Access-Control-Max-Age); negative: header omitted.
  int max_age = 600;

  flow before(request_context& ctx) const {
    const http::request& req = ctx.request();
    if (!is_preflight(req)) return flow::next;
    std::string_view origin = req.header("Origin");
    std::string_view method = req.header("Access-Control-Request-Method");
    std::string_view headers = req.header("Access-Control-Request-Headers");
    if (!origin_allowed(origin)) return reject(ctx, "CORS preflight refused: origin not allowed");
    if (!method_allowed(method)) return reject(ctx, "CORS preflight refused: method not allowed");
    if (!headers_allowed(headers)) return reject(ctx, "CORS preflight refused: header not allowed");

    keel::response& res = ctx.response();
    res.status(http::status::no_content);
    add_allow_origin(res, origin);
    res.header("Vary", "Origin, Access-Control-Request-Method, Access-Control-Request-Headers");
    res.header("Access-Control-Allow-Methods", contains(allow_methods, "*") ? method : joined(allow_methods));
    if (contains(allow_headers, "*")) {
      if (!headers.empty()) res.header("Access-Control-Allow-Headers", headers);
    } else if (!allow_headers.empty()) {
      res.header("Access-Control-Allow-Headers", joined(allow_headers));
    }
    if (max_age >= 0) {
      char buf[16];
      auto end = std::to_chars(buf, buf + sizeof buf, max_age).ptr;
      res.header("Access-Control-Max-Age", std::string_view(buf, static_cast<std::size_t>(end - buf)));
    }
    return flow::respond;
  }

  // In after(): error answers (ctx.fail) start a fresh response, and they need the headers as much as any.
  void after(request_context& ctx) const {
    const http::request& req = ctx.request();
    if (is_preflight(req)) return;  // answered in before()
    keel::response& res = ctx.response();
    if (answer_depends_on_origin()) res.header("Vary", "Origin");
    std::string_view origin = req.header("Origin");
    if (origin.empty() || !origin_allowed(origin)) return;
    add_allow_origin(res, origin);
    if (!expose_headers.empty()) res.header("Access-Control-Expose-Headers", joined(expose_headers));
  }

  static bool is_preflight(const http::request& req) noexcept {
    return req.method == http::method::options && req.headers.contains("Origin") &&
           req.headers.contains("Access-Control-Request-Method");
  }

  bool origin_allowed(std::string_view origin) const {
    if (contains(allow_origins, "*") || contains(allow_origins, origin)) return true;
    return allow_origin_if != nullptr && allow_origin_if(origin);
  }
  bool method_allowed(std::string_view method) const {
    return contains(allow_methods, "*") || contains(allow_methods, method);
  }
  // `requested` is Access-Control-Request-Headers: a comma-separated list of header names.
  bool headers_allowed(std::string_view requested) const {
    if (contains(allow_headers, "*")) return true;
    while (!requested.empty()) {
      auto comma = requested.find(',');
      std::string_view name = trim(requested.substr(0, comma));
      requested = comma == std::string_view::npos ? std::string_view{} : requested.substr(comma + 1);
      if (name.empty() || is_safelisted_header(name)) continue;
      bool listed = std::any_of(allow_headers.begin(), allow_headers.end(),
                                [name](const std::string& h) { return detail::iequals(h, name); });
      if (!listed) return false;
    }
    return true;
  }

 private:
  bool answer_depends_on_origin() const {
    return allow_credentials || !contains(allow_origins, "*") || allow_origin_if != nullptr;
  }

  void add_allow_origin(keel::response& res, std::string_view origin) const {
    bool any = contains(allow_origins, "*");
    res.header("Access-Control-Allow-Origin", any && !allow_credentials ? std::string_view("*") : origin);
    if (allow_credentials) res.header("Access-Control-Allow-Credentials", "true");
  }

  static flow reject(request_context& ctx, const char* why) {
    ctx.fail(http_error(http::status::forbidden, why, "cors_rejected"));
    return flow::respond;
  }

  static bool contains(const std::vector<std::string>& list, std::string_view value) {
    return std::find(list.begin(), list.end(), value) != list.end();
  }
  static bool is_safelisted_header(std::string_view name) {
    return detail::iequals(name, "Accept") || detail::iequals(name, "Accept-Language") ||
           detail::iequals(name, "Content-Language") || detail::iequals(name, "Content-Type");
  }
  static std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
  }
  // "a, b, c" in a per-thread buffer that keeps its capacity: no allocation per request once warm. Valid
  // until the next call on this thread; response::header copies it at once.
  static std::string_view joined(const std::vector<std::string>& list) {
    thread_local std::string out;
    out.clear();
    for (const auto& item : list) {
      if (!out.empty()) out.append(", ");
      out.append(item);
    }
    return out;
  }
};

}  // namespace v0
}  // namespace keel
