// The OAuth2 password and refresh-token grants over real sockets (curl and raw requests) with refresh tokens
// in a real SQLite file: tokens issued and verified, refresh rotation, reuse of a rotated token revokes the
// family, malformed forms answer RFC 6749 errors, failed logins are throttled (429).
#include "keel/auth/db_store.hpp"

#include "keel/app.hpp"
#include "keel/auth/jwt.hpp"
#include "keel/auth/oauth2.hpp"
#include "keel/auth/password.hpp"
#include "keel/json.hpp"
#include "keel/server/server.hpp"
#include "keel/sql/database.hpp"
#include "support/http_exchange.hpp"
#include "support/local_server.hpp"

#include <catch2/catch.hpp>

#include <cstdlib>
#include <filesystem>
#include <map>
#include <optional>
#include <string>

using keel_test::exchange;
using keel_test::http_answer;

namespace oauth2_test {

struct access_claims {
  std::string sub;
  std::string scope;
  std::int64_t iat = 0;
  std::int64_t exp = 0;
};

struct token_answer {
  std::string access_token;
  std::string token_type;
  std::int64_t expires_in = 0;
  std::optional<std::string> refresh_token;
  std::optional<std::string> scope;
};

struct oauth_error_answer {
  std::string error;
  std::optional<std::string> error_description;
};

const keel::auth::password_params cheap{.time_cost = 1, .memory_kib = 64};

struct user_record {
  std::string id;
  std::string hash;
  bool active = true;
};

// The app's user service.
struct user_directory {
  std::map<std::string, user_record> by_name;
  std::map<std::string, std::string> name_of;
  void add(const std::string& name, const std::string& id, const std::string& password) {
    by_name[name] = {id, keel::auth::hash_password_sync(password, cheap)};
    name_of[id] = name;
  }
};

struct temp_dir {
  std::filesystem::path path;
  temp_dir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "keel-oauth2-XXXXXX").string();
    REQUIRE(::mkdtemp(pattern.data()) != nullptr);
    path = pattern;
  }
  ~temp_dir() {
    std::error_code ignored;
    std::filesystem::remove_all(path, ignored);
  }
};

const keel::auth::jwt_key signing_key =
    keel::auth::jwt_key::hmac(keel::auth::jwt_alg::HS256, std::string(32, 's'), "k1");

auto make_flow(user_directory& users, keel::auth::db_refresh_token_store& store,
               keel::auth::login_throttle* throttle,
               keel::http::status bad_credentials = keel::http::status::bad_request) {
  using grant = keel::auth::token_grant<access_claims>;
  return keel::auth::password_flow<access_claims>(
      {.keys = {signing_key},
       .access_token_ttl = std::chrono::seconds(900),
       .throttle = throttle,
       // the tests play several clients from one address, as a proxy would report them
       .client_key = [](const keel::request_context& c) { return keel::auth::by_forwarded_for{1}(c); },
       .invalid_credentials_status = bad_credentials},
      store,
      [&users](std::string username, std::string password,
               std::string scope) -> keel::task<std::optional<grant>> {
        std::optional<std::string_view> stored;
        auto it = users.by_name.find(username);
        if (it != users.by_name.end()) stored = it->second.hash;
        auto verdict = co_await keel::auth::verify_password_or_dummy(password, stored, cheap);
        if (!verdict) co_return std::nullopt;
        if (scope.empty()) scope = "read";
        co_return grant{it->second.id, access_claims{it->second.id, scope}, scope};
      },
      [&users](std::string subject, std::string scope) -> keel::task<std::optional<access_claims>> {
        auto name = users.name_of.find(subject);
        if (name == users.name_of.end() || !users.by_name[name->second].active) co_return std::nullopt;
        co_return access_claims{subject, scope};
      });
}

auto make_app(user_directory& users, keel::auth::db_refresh_token_store& store,
              keel::auth::login_throttle* throttle,
              keel::http::status bad_credentials = keel::http::status::bad_request) {
  return keel::app{keel::router{
      make_flow(users, store, throttle, bad_credentials).routes<"/token">(),
      keel::get<"/me">([](keel::request_context& ctx) -> keel::result<std::string> {
        std::string_view auth = ctx.request().header("Authorization");
        if (!auth.starts_with("Bearer ")) return keel::unauthorized("no token");
        auto r = keel::auth::verify<access_claims>(auth.substr(7), signing_key);
        if (!r) return keel::auth::to_http_error(r.error());
        return r->sub + " " + r->scope;
      }),
  }};
}

struct fixture {
  temp_dir dir;
  keel::db db{"sqlite:" + (dir.path / "auth.db").string()};
  user_directory users;
  keel::auth::db_refresh_token_store store{db};
  keel::auth::login_throttle throttle{{.max_failures = 5, .window = std::chrono::seconds(60)}};
  decltype(make_app(users, store, nullptr)) app;
  keel::detail::server<decltype(make_app(users, store, nullptr))> server;
  std::uint16_t port;

  explicit fixture(keel::http::status bad_credentials = keel::http::status::bad_request)
      : app((prepare(), make_app(users, store, &throttle, bad_credentials))),
        server(app, keel_test::local_config(2)),
        port(server.start()) {}
  ~fixture() {
    server.stop();
    server.wait();
  }
  void prepare() {
    keel::auth::migrate_auth_tables_sync(db);
    users.add("ada", "u1", "correct horse");
    users.add("bob", "u2", "battery staple");
  }
  http_answer token(const std::string& form, const std::string& type = "application/x-www-form-urlencoded") {
    return exchange(port, "POST", "/token", {"Content-Type: " + type}, form);
  }
};

token_answer read_tokens(const http_answer& a) {
  auto r = keel::json_io::read<token_answer>(a.body);
  REQUIRE(r);
  return std::move(*r);
}
oauth_error_answer read_error(const http_answer& a) {
  auto r = keel::json_io::read<oauth_error_answer>(a.body);
  REQUIRE(r);
  return std::move(*r);
}

}  // namespace oauth2_test

using namespace oauth2_test;

TEST_CASE("password grant with curl: a bearer access token and a refresh token",
          "[auth][oauth2][socket][sql]") {
  fixture f;
  const std::string base = "http://127.0.0.1:" + std::to_string(f.port);
  const std::string out = keel_test::run_command(
      "curl -sS -i --max-time 10 -X POST " + base +
      "/token -d grant_type=password -d username=ada --data-urlencode 'password=correct horse' 2>&1");
  REQUIRE(out.find("HTTP/1.1 200") == 0);
  CHECK(out.find("Cache-Control: no-store") != std::string::npos);
  CHECK(out.find("Pragma: no-cache") != std::string::npos);
  CHECK(out.find("Content-Type: application/json") != std::string::npos);
  const auto body = out.substr(out.find("\r\n\r\n") + 4);
  auto tokens = keel::json_io::read<token_answer>(body);
  REQUIRE(tokens);
  CHECK(tokens->token_type == "bearer");
  CHECK(tokens->expires_in == 900);
  REQUIRE(tokens->refresh_token);
  CHECK(tokens->refresh_token->size() == 43);
  CHECK(tokens->scope == std::optional<std::string>("read"));

  auto claims = keel::auth::verify<access_claims>(tokens->access_token, signing_key);
  REQUIRE(claims);
  CHECK(claims->sub == "u1");
  CHECK(claims->exp - claims->iat == 900);
  auto me = exchange(f.port, "GET", "/me", {"Authorization: Bearer " + tokens->access_token});
  CHECK(me.status == 200);
  CHECK(me.body == "u1 read");

  // Stored hashed, never as issued.
  const auto hashes = f.db.query_sync<std::string>("SELECT token_hash FROM keel_refresh_tokens");
  REQUIRE(hashes.size() == 1);
  CHECK(hashes[0] == keel::auth::detail::sha256_base64url(*tokens->refresh_token));

  // Scope asked for is passed to the app; wrong credentials are invalid_grant.
  auto scoped = f.token("grant_type=password&username=bob&password=battery+staple&scope=read+write");
  REQUIRE(scoped.status == 200);
  CHECK(read_tokens(scoped).scope == std::optional<std::string>("read write"));
  auto wrong = f.token("grant_type=password&username=ada&password=nope");
  CHECK(wrong.status == 400);
  CHECK(read_error(wrong).error == "invalid_grant");
  CHECK(wrong.header("Cache-Control") == "no-store");
  CHECK(read_error(f.token("grant_type=password&username=nobody&password=x")).error == "invalid_grant");
}

TEST_CASE("refresh tokens rotate on every use; reusing a rotated one revokes the family",
          "[auth][oauth2][socket][sql]") {
  fixture f;
  auto first =
      read_tokens(f.token("grant_type=password&username=ada&password=correct%20horse&scope=read+write"));
  REQUIRE(first.refresh_token);

  auto r1 = f.token("grant_type=refresh_token&refresh_token=" + *first.refresh_token);
  REQUIRE(r1.status == 200);
  auto second = read_tokens(r1);
  REQUIRE(second.refresh_token);
  CHECK(*second.refresh_token != *first.refresh_token);
  CHECK(second.scope == std::optional<std::string>("read write"));
  CHECK(keel::auth::verify<access_claims>(second.access_token, signing_key)->sub == "u1");

  // A narrower scope is fine, a wider one is not.
  auto narrowed = f.token("grant_type=refresh_token&scope=read&refresh_token=" + *second.refresh_token);
  REQUIRE(narrowed.status == 200);
  auto third = read_tokens(narrowed);
  CHECK(third.scope == std::optional<std::string>("read"));
  CHECK(exchange(f.port, "GET", "/me", {"Authorization: Bearer " + third.access_token}).body == "u1 read");

  // A second login is a separate family, untouched by what follows.
  auto other = read_tokens(f.token("grant_type=password&username=ada&password=correct+horse"));

  // The first token again: it was rotated, so someone else has it. Its whole family goes.
  auto reuse = f.token("grant_type=refresh_token&refresh_token=" + *first.refresh_token);
  CHECK(reuse.status == 400);
  auto reuse_error = read_error(reuse);
  CHECK(reuse_error.error == "invalid_grant");
  CHECK(reuse_error.error_description->find("reuse") != std::string::npos);
  auto latest = f.token("grant_type=refresh_token&refresh_token=" + *third.refresh_token);
  CHECK(latest.status == 400);
  CHECK(read_error(latest).error == "invalid_grant");
  CHECK(f.db.query_one_sync<std::int64_t>("SELECT count(*) FROM keel_refresh_tokens WHERE revoked = 0") == 1);
  CHECK(f.token("grant_type=refresh_token&refresh_token=" + *other.refresh_token).status == 200);

  // Unknown token; a wider scope ends the family; a disabled account.
  CHECK(read_error(f.token("grant_type=refresh_token&refresh_token=nope")).error == "invalid_grant");
  auto bob = read_tokens(f.token("grant_type=password&username=bob&password=battery+staple&scope=read"));
  auto wider = f.token("grant_type=refresh_token&scope=admin&refresh_token=" + *bob.refresh_token);
  CHECK(wider.status == 400);
  CHECK(read_error(wider).error == "invalid_scope");
  auto bob2 = read_tokens(f.token("grant_type=password&username=bob&password=battery+staple"));
  f.users.by_name["bob"].active = false;
  auto disabled = f.token("grant_type=refresh_token&refresh_token=" + *bob2.refresh_token);
  CHECK(read_error(disabled).error == "invalid_grant");
}

TEST_CASE("malformed token requests answer 400 with an RFC 6749 error", "[auth][oauth2][socket]") {
  fixture f;
  auto expect = [&](const http_answer& a, const std::string& code) {
    CHECK(a.status == 400);
    CHECK(a.header("Content-Type") == "application/json");
    CHECK(read_error(a).error == code);
  };
  expect(f.token(R"({"grant_type":"password"})", "application/json"), "invalid_request");
  expect(f.token(""), "invalid_request");
  expect(f.token("username=ada&password=x"), "invalid_request");  // no grant_type
  expect(f.token("grant_type=password&grant_type=password&username=a&password=b"), "invalid_request");
  expect(f.token("grant_type=password&username=%zz&password=b"), "invalid_request");  // bad escape
  expect(f.token("grant_type=password&password=b"), "invalid_request");               // no username
  expect(f.token("grant_type=refresh_token"), "invalid_request");
  expect(f.token("grant_type=client_credentials"), "unsupported_grant_type");
  CHECK(exchange(f.port, "GET", "/token").status == 405);
}

TEST_CASE("five failed logins for one username and client: the sixth attempt is a 429",
          "[auth][oauth2][socket]") {
  fixture f;
  for (int i = 0; i < 5; ++i) {
    auto r = exchange(f.port, "POST", "/token",
                      {"Content-Type: application/x-www-form-urlencoded", "X-Forwarded-For: 203.0.113.9"},
                      "grant_type=password&username=ada&password=wrong" + std::to_string(i));
    CHECK(r.status == 400);
  }
  auto blocked = exchange(f.port, "POST", "/token",
                          {"Content-Type: application/x-www-form-urlencoded", "X-Forwarded-For: 203.0.113.9"},
                          "grant_type=password&username=ada&password=correct+horse");
  CHECK(blocked.status == 429);
  CHECK(blocked.header("Retry-After") == "12");
  CHECK(blocked.body.find(R"("code":"rate_limited")") != std::string::npos);
  // Another client address, or another user, is not blocked.
  CHECK(exchange(f.port, "POST", "/token",
                 {"Content-Type: application/x-www-form-urlencoded", "X-Forwarded-For: 203.0.113.10"},
                 "grant_type=password&username=ada&password=correct+horse")
            .status == 200);
  CHECK(f.token("grant_type=password&username=bob&password=battery+staple").status == 200);
}

TEST_CASE("invalid_credentials_status = 401: a wrong password is a 401 invalid_grant with WWW-Authenticate",
          "[auth][oauth2][socket]") {
  fixture f(keel::http::status::unauthorized);
  auto wrong = f.token("grant_type=password&username=ada&password=wrong");
  CHECK(wrong.status == 401);
  CHECK(wrong.header("WWW-Authenticate") == R"(Bearer realm="token")");
  CHECK(read_error(wrong).error == "invalid_grant");
  CHECK(f.token("grant_type=password&username=nobody&password=x").status == 401);
  // Other errors keep their RFC 6749 status.
  CHECK(f.token("grant_type=refresh_token&refresh_token=unknown").status == 400);
  CHECK(f.token("grant_type=password&password=b").status == 400);
  CHECK(f.token("grant_type=password&username=ada&password=correct+horse").status == 200);
}
