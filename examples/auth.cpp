// Users, passwords and the ways in: the OAuth2 password flow (JWT access tokens + rotating refresh tokens),
// bearer-protected routes with a role policy, API keys, and cookie sessions with CSRF, over one SQLite file.
// clang-format off
//   build/examples/auth --port 8080 --jwt-secret "$(head -c 32 /dev/urandom | base64)" --admin ada
//   curl -i -H 'Content-Type: application/json' -d '{"username":"ada","password":"correct horse"}' localhost:8080/users
//   curl -s localhost:8080/token -d grant_type=password -d username=ada -d 'password=correct horse'
//   curl -i -H "Authorization: Bearer $ACCESS" localhost:8080/me
//   curl -i -H "Authorization: Bearer $ACCESS" localhost:8080/admin/users
//   curl -i -X POST -H "Authorization: Bearer $ACCESS" localhost:8080/api-keys
//   curl -i -H "X-API-Key: $KEY" localhost:8080/reports
//   curl -i -c jar localhost:8080/session/login -d username=ada -d 'password=correct horse'
//   curl -i -b jar -X POST -H "X-CSRF-Token: $CSRF" localhost:8080/session/logout
// Docs: docs/auth.md, "The auth example". Tokens: HS256 with --jwt-secret (32 bytes at least), claims sub (the
// user id as a string), username, roles, iat, exp (15 minutes), iss = aud = "keel-example".
// The login throttle's client is the X-Forwarded-For entry written by one trusted proxy (keel's request context
// has no peer address): without that header, failures count per username only.
// clang-format on
#include <keel.hpp>
#include <keel/auth.hpp>
#include <keel/auth/db_store.hpp>
#include <keel/auth/oauth2.hpp>
#include <keel/sql.hpp>
#include <keel/auth_sql.hpp>
#include <keel/openapi.hpp>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace auth_example {

constexpr std::string_view issuer = "keel-example";

// The access token's claims.
struct claims {
  std::string sub;       // the user id, as a string
  std::string username;  //
  std::vector<std::string> roles;
  std::int64_t iat = 0;  // set by the token flow
  std::int64_t exp = 0;  // iat + 15 minutes
  std::string iss;
  std::string aud;
};

// --- DTOs
struct signup {
  keel::text<1, 64> username;
  keel::text<8, 1024> password;  // under 8 characters: 422
};
struct user_out {
  std::string id;
  std::string username;
};
struct me_out {
  std::string id;
  std::string username;
  std::vector<std::string> roles;
};
struct api_key_out {
  std::string key;
};
struct report {
  std::string owner;
  std::vector<std::string> lines;
};
struct login_form {
  keel::text<1, 64> username;
  keel::text<1, 1024> password;
};
struct csrf_out {
  std::string csrf_token;
};
struct bye {
  std::string message;
};

// The cookie session's data.
struct web_session {
  std::int64_t user_id = 0;
  std::string username;
};
using session = keel::auth::session<web_session>;

// --- users in SQLite (table users; roles as a comma-separated list)
struct user_row {
  std::int64_t id = 0;
  std::string username;
  std::string password_hash;
  std::string roles;
};

inline std::vector<std::string> split_roles(std::string_view s) {
  std::vector<std::string> out;
  while (!s.empty()) {
    const auto comma = s.find(',');
    if (comma != 0) out.emplace_back(s.substr(0, comma));
    if (comma == std::string_view::npos) break;
    s.remove_prefix(comma + 1);
  }
  return out;
}

inline claims claims_for(const user_row& u) {
  return claims{std::to_string(u.id), u.username,         split_roles(u.roles), 0, 0,
                std::string(issuer),  std::string(issuer)};
}

// What the handlers share (app.provide(services)).
struct services {
  keel::db* db = nullptr;
  std::string admin;  // --admin USERNAME: this user gets the admin role when it registers
  keel::auth::login_throttle* throttle = nullptr;
};

inline keel::task<std::optional<user_row>> find_user(keel::db& db, std::string username) {
  auto q = db.query_one<user_row>("SELECT id, username, password_hash, roles FROM users WHERE username = ?",
                                  std::move(username));
  co_return co_await std::move(q);
}

inline keel::task<std::optional<user_row>> find_user_by_id(keel::db& db, std::int64_t id) {
  auto q = db.query_one<user_row>("SELECT id, username, password_hash, roles FROM users WHERE id = ?", id);
  co_return co_await std::move(q);
}

// The password check shared by /token and /session/login: the user, or nullopt (same Argon2 cost either way).
inline keel::task<std::optional<user_row>> check_password(keel::db& db, std::string username,
                                                          std::string password) {
  std::optional<user_row> u = co_await find_user(db, std::move(username));
  std::optional<std::string_view> stored;
  if (u) stored = u->password_hash;
  auto verdict = co_await keel::auth::verify_password_or_dummy(password, stored);
  if (!verdict) co_return std::nullopt;
  co_return u;
}

// --- Bad bytes: a body (JSON) or a form value that is not UTF-8 is a 422 before any handler sees it.
inline bool valid_utf8(std::string_view s) noexcept {
  std::size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    std::size_t n = 0;
    std::uint32_t cp = 0;
    if (c < 0x80) {
      ++i;
      continue;
    }
    if (c >= 0xC2 && c <= 0xDF)
      n = 1, cp = c & 0x1Fu;
    else if (c >= 0xE0 && c <= 0xEF)
      n = 2, cp = c & 0x0Fu;
    else if (c >= 0xF0 && c <= 0xF4)
      n = 3, cp = c & 0x07u;
    else
      return false;
    if (i + n >= s.size()) return false;
    for (std::size_t k = 1; k <= n; ++k) {
      const auto d = static_cast<unsigned char>(s[i + k]);
      if ((d & 0xC0u) != 0x80u) return false;
      cp = (cp << 6) | (d & 0x3Fu);
    }
    if ((n == 2 && cp < 0x800) || (n == 3 && (cp < 0x10000 || cp > 0x10FFFF)) ||
        (cp >= 0xD800 && cp <= 0xDFFF))
      return false;
    i += n + 1;
  }
  return true;
}

// True for application/x-www-form-urlencoded (any case, parameters allowed).
inline bool is_form(std::string_view content_type) noexcept {
  constexpr std::string_view form = "application/x-www-form-urlencoded";
  if (content_type.size() < form.size()) return false;
  for (std::size_t i = 0; i < form.size(); ++i) {
    char c = content_type[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != form[i]) return false;
  }
  return content_type.size() == form.size() || content_type[form.size()] == ';' ||
         content_type[form.size()] == ' ';
}

// The first form field whose value is not UTF-8 once decoded (empty: none). A malformed escape is left to the
// route's own reader, which names it.
inline std::string non_utf8_form_field(std::string_view body) {
  std::string value;
  while (!body.empty()) {
    const auto amp = body.find('&');
    const std::string_view pair = body.substr(0, amp);
    body = amp == std::string_view::npos ? std::string_view{} : body.substr(amp + 1);
    const auto eq = pair.find('=');
    const std::string_view raw = eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1);
    if (keel::http::percent_decode(raw, value, true) && !valid_utf8(value))
      return std::string(pair.substr(0, eq));
  }
  return {};
}

struct utf8_only {
  template <class Ctx>
  keel::flow before(Ctx& ctx) const {
    const std::string_view body = ctx.request().body;
    if (body.empty()) return keel::flow::next;
    std::string where = "body", field;
    if (!valid_utf8(body)) {
      field = "(body)";
    } else if (is_form(ctx.request().header("Content-Type"))) {
      where = "form";
      field = non_utf8_form_field(body);
    }
    if (field.empty()) return keel::flow::next;
    keel::http_error e(keel::http::status::unprocessable_content, "not valid UTF-8: " + field,
                       "validation_failed");
    e.add_field(std::move(where), std::move(field), "not valid UTF-8");
    ctx.fail(std::move(e));
    return keel::flow::respond;
  }
};

// --- handlers
inline keel::task<keel::result<keel::created<user_out>>> create_user(keel::json<signup> in, services& s) {
  std::string hash = co_await keel::auth::hash_password(in->password.get());
  std::string roles = in->username.get() == s.admin && !s.admin.empty() ? "admin" : "";
  auto insert = s.db->query_one<std::int64_t>(
      "INSERT INTO users (username, password_hash, roles) VALUES (?, ?, ?) ON CONFLICT (username) DO NOTHING "
      "RETURNING id",
      std::string(in->username.get()), std::move(hash), std::move(roles));
  std::optional<std::int64_t> id = co_await std::move(insert);
  if (!id) co_return keel::conflict("username already taken");
  co_return keel::created<user_out>{{std::to_string(*id), std::string(in->username.get())},
                                    "/users/" + std::to_string(*id)};
}

inline me_out me(keel::bearer<claims> user) { return {user->sub, user->username, user->roles}; }

inline keel::task<std::vector<me_out>> list_users(services& s) {
  auto q = s.db->query<user_row>("SELECT id, username, password_hash, roles FROM users ORDER BY id");
  auto rows = co_await std::move(q);
  std::vector<me_out> out;
  for (const user_row& u : rows) out.push_back({std::to_string(u.id), u.username, split_roles(u.roles)});
  co_return out;
}

inline keel::task<keel::created<api_key_out>> create_api_key(keel::bearer<claims> user,
                                                             keel::auth::sql_api_key_store& keys) {
  auto creating = keys.create(user->sub, "api key of " + user->username);
  keel::auth::new_api_key k = co_await std::move(creating);
  co_return keel::created<api_key_out>{{std::move(k.key)}, "/api-keys/" + std::to_string(k.id)};
}

inline report reports(keel::api_key<keel::auth::api_key_principal> caller) {
  return {caller->owner, {"visits: 42", "signups: 7"}};
}

// Set from --behind-proxy at start-up, read-only afterwards.
inline bool behind_proxy = false;

// The client part of the login throttle's key: the address a trusted proxy reports, or the TCP peer's.
inline std::string_view throttle_client(const keel::request_context& ctx) {
  return behind_proxy ? keel::auth::by_forwarded_for{1}(ctx) : keel::auth::by_ip{}(ctx);
}

// snippet: session_login
inline keel::task<keel::result<csrf_out>> session_login(keel::form<login_form> in, session& sess, services& s,
                                                        keel::request_context& ctx) {
  const std::string username(in->username.get());
  const std::string client(throttle_client(ctx));
  if (auto wait = s.throttle->check(username, client)) co_return keel::auth::login_throttle::refusal(*wait);
  auto checking = check_password(*s.db, username, std::string(in->password.get()));
  std::optional<user_row> u = co_await std::move(checking);
  if (!u) {
    s.throttle->failed(username, client);
    co_return keel::unauthorized("wrong username or password");
  }
  s.throttle->succeeded(username, client);
  sess.login({u->id, u->username});  // a new session id and CSRF token
  co_return csrf_out{std::string(sess.csrf_token())};
}
// end snippet: session_login

inline keel::task<keel::result<me_out>> session_me(const session& sess, services& s) {
  if (!sess) co_return keel::unauthorized("not signed in");
  auto finding = find_user_by_id(*s.db, sess->user_id);
  std::optional<user_row> u = co_await std::move(finding);
  if (!u) co_return keel::unauthorized("the account is gone");
  co_return me_out{std::to_string(u->id), u->username, split_roles(u->roles)};
}

inline bye session_logout(session& sess) {
  sess.logout();
  return {"signed out"};
}

// --- the app
inline void create_tables(keel::db& db) {
  db.execute_sync(
      "CREATE TABLE IF NOT EXISTS users (id INTEGER PRIMARY KEY AUTOINCREMENT, username TEXT NOT NULL "
      "UNIQUE, "
      "password_hash TEXT NOT NULL, roles TEXT NOT NULL DEFAULT '')");
  keel::auth::migrate_auth_tables_sync(db);  // keel_sessions, keel_refresh_tokens
}

}  // namespace auth_example

namespace {

std::string database_url(const keel::command_line& cli) {
  if (auto url = cli.value("db")) return *url;
  if (const char* url = std::getenv("KEEL_DATABASE_URL"); url != nullptr && *url != '\0') return url;
  return "sqlite:auth.db";
}

}  // namespace

int main(int argc, char** argv) {
  using namespace auth_example;
  const auto cli = keel::parse_command_line(
      argc, argv,
      {{.name = "db",
        .value_name = "URL",
        .description = "database: a file or sqlite:FILE (default auth.db)"},
       {.name = "jwt-secret",
        .value_name = "SECRET",
        .description = "HS256 secret for the access tokens, 32 bytes at least (or $KEEL_JWT_SECRET)"},
       {.name = "admin", .value_name = "USERNAME", .description = "this user gets the admin role at sign-up"},
       {.name = "behind-proxy",
        .value_name = "",
        .description =
            "a reverse proxy sets X-Forwarded-For: the login throttle keys on the address it reports "
            "(without it, on the TCP peer's address: a client cannot pick its own)"}});
  behind_proxy = cli.value("behind-proxy").has_value();
  std::string secret;
  if (auto v = cli.value("jwt-secret")) {
    secret = *v;
  } else if (const char* env = std::getenv("KEEL_JWT_SECRET"); env != nullptr) {
    secret = env;
  }
  if (secret.size() < 32) {
    std::fprintf(stderr, "auth: --jwt-secret must be at least 32 bytes (HS256)\n");
    return 2;
  }
  const auto key = keel::auth::jwt_key::hmac(keel::auth::jwt_alg::HS256, secret, "example");

  keel::db db{database_url(cli)};
  create_tables(db);
  keel::auth::sql_api_key_store api_keys{db};
  api_keys.create_schema_sync();
  keel::auth::db_refresh_token_store refresh_tokens{db};
  keel::auth::db_session_store session_store{db};
  keel::auth::login_throttle throttle{{.max_failures = 5, .window = std::chrono::minutes(1)}};
  keel::auth::dummy_password_hash();  // made now, so the first unknown user does not pay for it
  services svc{&db, cli.value("admin").value_or(""), &throttle};

  // snippet: auth_app
  using grant = keel::auth::token_grant<claims>;
  auto token_flow = keel::auth::password_flow<claims>(
      {.keys = {key},
       .access_token_ttl = std::chrono::minutes(15),
       .refresh_token_ttl = std::chrono::days(30),
       .throttle = &throttle,
       .client_key = &throttle_client,
       .invalid_credentials_status = keel::http::status::unauthorized},
      refresh_tokens,
      [&db](std::string username, std::string password,
            std::string scope) -> keel::task<std::optional<grant>> {
        auto checking = check_password(db, std::move(username), std::move(password));
        std::optional<user_row> u = co_await std::move(checking);
        if (!u) co_return std::nullopt;
        co_return grant{std::to_string(u->id), claims_for(*u), std::move(scope)};
      },
      // a refresh: the user's roles now, or nullopt when the account is gone
      [&db](std::string subject, std::string) -> keel::task<std::optional<claims>> {
        std::int64_t id = 0;
        try {
          id = std::stoll(subject);
        } catch (const std::exception&) {
          co_return std::nullopt;
        }
        auto finding = find_user_by_id(db, id);
        std::optional<user_row> u = co_await std::move(finding);
        if (!u) co_return std::nullopt;
        co_return claims_for(*u);
      });

  auto api = keel::router{
      keel::post<"/users">(&create_user).doc({.summary = "Sign up (409 when the username is taken)"}),
      token_flow.routes<"/token">().doc(
          {.summary = "OAuth2 token endpoint",
           .description = "Form: grant_type=password with username and password, or grant_type=refresh_token "
                          "with refresh_token. 401 for a wrong username or password, 429 after 5 failures a "
                          "minute, 400 for other RFC 6749 errors."}),
      keel::get<"/me">(&me).doc({.summary = "Who the bearer token says you are"}),
      keel::group<"/admin">(keel::get<"/users">(&list_users).doc({.summary = "Every user (admins only)"}))
          .require<keel::role<"admin">>(),
      keel::post<"/api-keys">(&create_api_key).doc({.summary = "A new API key, shown once"}),
      keel::get<"/reports">(&reports)
          .use(keel::auth::api_key_auth{api_keys})
          .doc({.summary = "With an API key"}),
      keel::post<"/session/login">(&session_login).doc({.summary = "Cookie sign-in; answers the CSRF token"}),
      keel::get<"/session/me">(&session_me).doc({.summary = "The cookie session's user"}),
      keel::group<"/session">(
          keel::post<"/logout">(&session_logout).doc({.summary = "Sign out (needs X-CSRF-Token)"}))
          .use(keel::auth::csrf<web_session>{}),
  };
  auto docs = keel::openapi_docs(
      api,
      {.info = {.title = "Auth example",
                .version = "1.0.0",
                .description = "keel's auth example: sign-up, OAuth2 password flow, bearer tokens, roles, "
                               "API keys and cookie sessions with CSRF, over SQLite."}});
  keel::app{std::move(api)}
      .use(utf8_only{}, keel::auth::server_sessions<web_session>(session_store),
           keel::auth::jwt_bearer<claims>{
               key, {.verify = {.issuer = std::string(issuer), .audience = std::string(issuer)}}},
           std::move(docs))
      .provide(db, svc, api_keys)
      .serve(cli.config);
  // end snippet: auth_app
}
