// The OAuth 2.0 token endpoint for the resource owner password credentials grant (RFC 6749 section 4.3) and
// the refresh token grant (section 6): what FastAPI's security tutorial builds, as a component an app mounts.
//
//   keel::auth::db_refresh_token_store refresh_tokens{db};          // keel/auth/db_store.hpp (SQLite
//   default) auto flow = keel::auth::password_flow<my_claims>(
//       {.keys = keys, .access_token_ttl = std::chrono::minutes(15), .throttle = &throttle},
//       refresh_tokens,
//       // username, password, requested scope -> the subject and claims, or nullopt (wrong credentials)
//       [&users](std::string username, std::string password, std::string scope)
//           -> keel::task<std::optional<keel::auth::token_grant<my_claims>>> { ... },
//       // a refresh: the subject's current claims, or nullopt (the account is gone or disabled)
//       [&users](std::string subject, std::string scope) -> keel::task<std::optional<my_claims>> { ... });
//   auto api = keel::router{flow.routes<"/token">(), ...};
//
// POST /token takes an application/x-www-form-urlencoded body:
//   grant_type=password&username=..&password=..&scope=..      or
//   grant_type=refresh_token&refresh_token=..&scope=..
// and answers (RFC 6749 section 5.1, with Cache-Control: no-store)
//   {"access_token":"<JWT>","token_type":"bearer","expires_in":900,"refresh_token":"..","scope":".."}
// or an error in RFC 6749 section 5.2's shape (not keel's: OAuth clients parse this one):
//   400 {"error":"invalid_request","error_description":".."}   malformed form, missing or repeated parameter
//   400 {"error":"unsupported_grant_type"}                       a grant_type other than the two
//   400 {"error":"invalid_grant","error_description":".."}     wrong credentials; unknown, expired, revoked
//                                                              or reused refresh token (wrong credentials:
//                                                              401 with
//                                                              oauth2_options::invalid_credentials_status)
//   400 {"error":"invalid_scope"}                                a refresh asking for more than was granted
// A throttled login (too many failures) is a 429 with Retry-After in keel's error shape.
//
// Refresh tokens are opaque (32 random bytes, base64url), stored as their SHA-256 only, valid for
// refresh_token_ttl and for one use: each refresh answers a new one (rotation) in the same family. A refresh
// token presented again after it was rotated means that two parties hold it: the whole family (every token
// descending from that login) is revoked, so both the thief and the user must sign in again (reuse
// detection, OAuth 2.0 Security BCP).
#pragma once

#include "keel/config.hpp"
#include "keel/auth/detail/crypto.hpp"
#include "keel/auth/jwk.hpp"
#include "keel/auth/jwt.hpp"
#include "keel/auth/rate_limit.hpp"
#include "keel/context.hpp"
#include "keel/detail/json_escape.hpp"
#include "keel/error.hpp"
#include "keel/extractors/detail/media_type.hpp"
#include "keel/http/url.hpp"
#include "keel/router/fixed_string.hpp"
#include "keel/router/route.hpp"
#include "keel/task.hpp"

#include <chrono>
#include <concepts>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace keel {
inline namespace v0 {
namespace auth {

// What the app's password check answers for a good username and password.
template <class Claims>
struct token_grant {
  std::string subject;  // who: kept with the refresh token, handed back to the refresh callback
  Claims claims;        // the access token's claims (iat and exp are set by the flow when Claims has them)
  std::string scope;    // the scope granted (space-separated); it may be narrower than requested
};

// One stored refresh token.
struct refresh_token_record {
  std::string token_hash;  // base64url SHA-256 of the token
  std::string family;      // shared by every token rotated from one login
  std::string subject;
  std::string scope;
  std::int64_t expires_at = 0;  // Unix seconds
};

enum class refresh_status : std::uint8_t { ok, not_found, expired, revoked, reused };

struct refresh_consume_result {
  refresh_status status = refresh_status::not_found;
  refresh_token_record record;
};

// Where refresh tokens live. consume() is atomic: an unused, unexpired, unrevoked token is marked used and
// answered `ok`; a token that was used before is `reused`, and the store revokes its whole family.
template <class S>
concept refresh_token_store = requires(S& s, refresh_token_record r, std::string text, std::int64_t now) {
  { s.insert(r) } -> std::same_as<task<void>>;
  { s.consume(text, now) } -> std::same_as<task<refresh_consume_result>>;
  { s.revoke_family(text) } -> std::same_as<task<void>>;
  { s.revoke_subject(text) } -> std::same_as<task<void>>;
};

struct oauth2_options {
  key_set keys;  // signs the access tokens (keys.current()); a jwt_key converts: {.keys = {key}}
  std::chrono::seconds access_token_ttl = std::chrono::minutes(15);
  std::chrono::seconds refresh_token_ttl = std::chrono::hours(24 * 30);
  bool issue_refresh_tokens = true;
  login_throttle* throttle = nullptr;  // failed password grants per (username, client): 429 when exceeded
  // The client part of the throttle's key; default: the peer's address (by_ip). Behind a reverse proxy every
  // client has the proxy's address: pass the address the proxy reports, e.g.
  //   .client_key = [](const keel::request_context& c) { return keel::auth::by_forwarded_for{1}(c); }
  // (never trust X-Forwarded-For without a proxy: a client would pick a new one for every guess).
  std::string_view (*client_key)(const request_context&) = nullptr;
  // The status of a password grant with a wrong username or password (body: invalid_grant either way).
  // RFC 6749 5.2 says 400; an API whose clients expect 401 sets http::status::unauthorized (the answer then
  // carries `WWW-Authenticate: Bearer realm="token"`, as a 401 must).
  http::status invalid_credentials_status = http::status::bad_request;
  std::int64_t (*clock)() = nullptr;  // Unix seconds; null: the system clock
};

namespace detail {

struct token_form {
  std::string grant_type, username, password, scope, refresh_token;
  bool has_grant_type = false, has_username = false, has_password = false, has_scope = false,
       has_refresh_token = false;
};

// An OAuth 2.0 error answer (RFC 6749 section 5.2).
inline response oauth_error(http::status status, std::string_view code, std::string_view description = {}) {
  response res;
  res.status(status);
  std::string& out = res.body_buffer();
  out.assign("{\"error\":");
  keel::detail::append_json_string(out, code);
  if (!description.empty()) {
    out.append(",\"error_description\":");
    keel::detail::append_json_string(out, description);
  }
  out.push_back('}');
  res.content_type("application/json");
  res.header("Cache-Control", "no-store");
  res.header("Pragma", "no-cache");
  return res;
}

// Reads the form; returns the error text ("" when fine). Every parameter at most once (RFC 6749 3.2).
inline std::string parse_token_form(std::string_view body, token_form& f) {
  std::string value;
  while (!body.empty()) {
    const auto amp = body.find('&');
    std::string_view pair = body.substr(0, amp);
    body = amp == std::string_view::npos ? std::string_view{} : body.substr(amp + 1);
    if (pair.empty()) continue;
    const auto eq = pair.find('=');
    const std::string_view name = pair.substr(0, eq);
    const std::string_view raw = eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1);
    if (!http::percent_decode(raw, value, true))
      return "malformed percent-encoding in '" + std::string(name) + "'";
    if (value.find('\0') != std::string::npos) return "a NUL byte in '" + std::string(name) + "'";
    std::string* target = nullptr;
    bool* seen = nullptr;
    if (name == "grant_type")
      target = &f.grant_type, seen = &f.has_grant_type;
    else if (name == "username")
      target = &f.username, seen = &f.has_username;
    else if (name == "password")
      target = &f.password, seen = &f.has_password;
    else if (name == "scope")
      target = &f.scope, seen = &f.has_scope;
    else if (name == "refresh_token")
      target = &f.refresh_token, seen = &f.has_refresh_token;
    if (target == nullptr) continue;  // client_id and others: ignored
    if (*seen) return "parameter '" + std::string(name) + "' repeated";
    *seen = true;
    *target = value;
  }
  return {};
}

// True when every space-separated scope of `requested` is in `granted`.
inline bool scope_within(std::string_view requested, std::string_view granted) {
  auto contains = [granted](std::string_view s) {
    std::string_view g = granted;
    while (!g.empty()) {
      const auto sp = g.find(' ');
      if (g.substr(0, sp) == s) return true;
      if (sp == std::string_view::npos) break;
      g.remove_prefix(sp + 1);
    }
    return false;
  };
  while (!requested.empty()) {
    const auto sp = requested.find(' ');
    const std::string_view s = requested.substr(0, sp);
    if (!s.empty() && !contains(s)) return false;
    if (sp == std::string_view::npos) break;
    requested.remove_prefix(sp + 1);
  }
  return true;
}

template <class Claims>
void stamp_times(Claims& c, std::int64_t now, std::int64_t ttl) {
  if constexpr (requires { c.iat = now; }) c.iat = now;
  if constexpr (requires { c.exp = now; }) c.exp = now + ttl;
}

}  // namespace detail

template <class Claims, refresh_token_store Store, class PasswordFn, class RefreshFn>
class oauth2_password_flow {
 public:
  oauth2_password_flow(oauth2_options options, Store& store, PasswordFn password, RefreshFn refresh)
      : core_(std::make_shared<core>(std::move(options), store, std::move(password), std::move(refresh))) {}

  // The route to add to a router: POST <Path> (default "/token").
  template <fixed_string Path = "/token">
  auto routes() const {
    return keel::post<Path>([c = core_](request_context& ctx) { return c->handle(ctx); })
        .body_limit(16 * 1024);
  }

  // Answers one token request (for apps that mount it their own way).
  task<response> handle(request_context& ctx) const { return core_->handle(ctx); }

  // Revokes every refresh token of `subject` ("sign out everywhere", a password change).
  task<void> revoke_subject(std::string subject) const {
    return core_->store->revoke_subject(std::move(subject));
  }

 private:
  struct core {
    oauth2_options options;
    Store* store;
    PasswordFn password;
    RefreshFn refresh;

    core(oauth2_options o, Store& s, PasswordFn p, RefreshFn r)
        : options(std::move(o)), store(&s), password(std::move(p)), refresh(std::move(r)) {
      if (options.keys.current() == nullptr)
        throw std::invalid_argument("keel::auth::oauth2_password_flow: the key set has no signing key");
    }

    std::int64_t now() const { return options.clock ? options.clock() : unix_now(); }

    std::string_view client_of(const request_context& ctx) const {
      return options.client_key ? options.client_key(ctx) : by_ip{}(ctx);
    }

    task<response> handle(request_context& ctx) const {
      if (!keel::detail::iequals(keel::detail::media_type_of(ctx.request().header("Content-Type")),
                                 "application/x-www-form-urlencoded"))
        co_return detail::oauth_error(http::status::bad_request, "invalid_request",
                                      "expected Content-Type: application/x-www-form-urlencoded");
      detail::token_form form;
      const std::string problem = detail::parse_token_form(ctx.request().body, form);
      if (!problem.empty())
        co_return detail::oauth_error(http::status::bad_request, "invalid_request", problem);
      if (!form.has_grant_type)
        co_return detail::oauth_error(http::status::bad_request, "invalid_request", "grant_type is required");
      if (form.grant_type == "password") {
        auto r = password_grant(std::move(form), std::string(client_of(ctx)), std::string(ctx.request_id()));
        co_return co_await std::move(r);
      }
      if (form.grant_type == "refresh_token") {
        auto r = refresh_grant(std::move(form));
        co_return co_await std::move(r);
      }
      co_return detail::oauth_error(http::status::bad_request, "unsupported_grant_type",
                                    "grant_type must be password or refresh_token");
    }

    task<response> password_grant(detail::token_form form, std::string client, std::string request_id) const {
      if (!form.has_username || form.username.empty() || !form.has_password)
        co_return detail::oauth_error(http::status::bad_request, "invalid_request",
                                      "username and password are required");
      if (options.throttle != nullptr) {
        if (auto wait = options.throttle->check(form.username, client)) {
          response res;
          render_error<json_error_formatter>(login_throttle::refusal(*wait), request_id, res);
          res.header("Cache-Control", "no-store");
          co_return res;
        }
      }
      auto pending = password(form.username, std::move(form.password), form.scope);
      std::optional<token_grant<Claims>> grant = co_await std::move(pending);
      if (!grant) {
        if (options.throttle != nullptr) options.throttle->failed(form.username, client);
        response res = detail::oauth_error(options.invalid_credentials_status, "invalid_grant",
                                           "incorrect username or password");
        if (options.invalid_credentials_status == http::status::unauthorized)
          res.header("WWW-Authenticate", "Bearer realm=\"token\"");
        co_return res;
      }
      if (options.throttle != nullptr) options.throttle->succeeded(form.username, client);
      auto issued = issue(std::move(grant->subject), std::move(grant->claims), std::move(grant->scope),
                          detail::random_token(16));
      co_return co_await std::move(issued);
    }

    task<response> refresh_grant(detail::token_form form) const {
      if (!form.has_refresh_token || form.refresh_token.empty())
        co_return detail::oauth_error(http::status::bad_request, "invalid_request",
                                      "refresh_token is required");
      auto consuming = store->consume(detail::sha256_base64url(form.refresh_token), now());
      refresh_consume_result r = co_await std::move(consuming);
      switch (r.status) {
        case refresh_status::ok:
          break;
        case refresh_status::reused:
          co_return detail::oauth_error(
              http::status::bad_request, "invalid_grant",
              "refresh token reuse detected: every token of this sign-in is revoked");
        case refresh_status::expired:
          co_return detail::oauth_error(http::status::bad_request, "invalid_grant", "refresh token expired");
        case refresh_status::revoked:
          co_return detail::oauth_error(http::status::bad_request, "invalid_grant", "refresh token revoked");
        default:
          co_return detail::oauth_error(http::status::bad_request, "invalid_grant", "unknown refresh token");
      }
      std::string scope = r.record.scope;
      if (form.has_scope && !form.scope.empty()) {
        if (!detail::scope_within(form.scope, r.record.scope)) {
          auto revoking =
              store->revoke_family(r.record.family);  // the used token is gone: end the family cleanly
          co_await std::move(revoking);
          co_return detail::oauth_error(http::status::bad_request, "invalid_scope",
                                        "the requested scope exceeds the one originally granted");
        }
        scope = form.scope;
      }
      auto pending = refresh(r.record.subject, scope);
      std::optional<Claims> claims = co_await std::move(pending);
      if (!claims) {
        auto revoking = store->revoke_family(r.record.family);
        co_await std::move(revoking);
        co_return detail::oauth_error(http::status::bad_request, "invalid_grant",
                                      "the account is no longer active");
      }
      auto issued = issue(std::move(r.record.subject), std::move(*claims), std::move(scope),
                          std::move(r.record.family));
      co_return co_await std::move(issued);
    }

    task<response> issue(std::string subject, Claims claims, std::string scope, std::string family) const {
      const std::int64_t t = now();
      detail::stamp_times(claims, t, options.access_token_ttl.count());
      const std::string access = sign(claims, options.keys);
      std::string refresh_token;
      if (options.issue_refresh_tokens) {
        refresh_token = detail::random_token(32);
        refresh_token_record record{detail::sha256_base64url(refresh_token), std::move(family),
                                    std::move(subject), scope, t + options.refresh_token_ttl.count()};
        auto inserting = store->insert(std::move(record));
        co_await std::move(inserting);
      }
      response res;
      std::string& out = res.body_buffer();
      out.assign("{\"access_token\":");
      keel::detail::append_json_string(out, access);
      out.append(",\"token_type\":\"bearer\",\"expires_in\":")
          .append(std::to_string(options.access_token_ttl.count()));
      if (!refresh_token.empty()) {
        out.append(",\"refresh_token\":");
        keel::detail::append_json_string(out, refresh_token);
      }
      if (!scope.empty()) {
        out.append(",\"scope\":");
        keel::detail::append_json_string(out, scope);
      }
      out.push_back('}');
      res.content_type("application/json");
      res.header("Cache-Control", "no-store");
      res.header("Pragma", "no-cache");
      co_return res;
    }
  };

  std::shared_ptr<const core> core_;
};

// Builds the flow: password_flow<Claims>(options, store, password_check, refresh_check).
template <class Claims, refresh_token_store Store, class PasswordFn, class RefreshFn>
oauth2_password_flow<Claims, Store, PasswordFn, RefreshFn> password_flow(oauth2_options options, Store& store,
                                                                         PasswordFn password,
                                                                         RefreshFn refresh) {
  return {std::move(options), store, std::move(password), std::move(refresh)};
}

}  // namespace auth
}  // namespace v0
}  // namespace keel
