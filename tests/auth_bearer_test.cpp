// keel::bearer<Claims>, the jwt_bearer layer and .require<...>() policies: 401 without or with a bad token
// (RFC 6750 challenges), 403 for a policy that refuses, optional bearer, a configurable scheme word, the
// per-thread cache of verified tokens, and the same answers over a real socket with curl.
#include "keel/auth/bearer.hpp"
#include "keel/auth/policy.hpp"

#include "keel/app.hpp"
#include "keel/json.hpp"
#include "keel/server/server.hpp"
#include "keel/test_client.hpp"
#include "support/local_server.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <thread>
#include <vector>

using keel_test::run_command;

namespace bearer_test {

struct claims {
  std::string sub{};
  std::vector<std::string> roles{};
  std::optional<std::string> scope{};
  std::int64_t exp = 0;
  std::optional<bool> email_verified{};
};

struct verified_email {
  static keel::policy_result check(const claims& c) {
    return c.email_verified.value_or(false) ? keel::allow() : keel::deny("verify your e-mail address first");
  }
};

// A policy that looks at the request too: the path's owner must be the token's subject.
struct owner_only {
  static bool check(const claims& c, keel::request_context& ctx) {
    return ctx.request().path == "/owned/" + c.sub;
  }
};

const std::string secret(32, 's');
const keel::auth::jwt_key key = keel::auth::jwt_key::hmac(keel::auth::jwt_alg::HS256, secret, "k1");

std::string token(claims c) {
  if (c.exp == 0) c.exp = keel::auth::unix_now() + 600;
  return keel::auth::sign(c, key);
}

auto make_router() {
  return keel::router{
      keel::get<"/open">([] { return "open"; }),
      keel::get<"/me">([](keel::bearer<claims> user) { return "you are " + user->sub; }),
      keel::get<"/feed">([](std::optional<keel::bearer<claims>> user) {
        return user ? "feed for " + (*user)->sub : std::string("public feed");
      }),
      keel::post<"/articles">([](keel::bearer<claims> user) {
        return "written by " + user.claims().sub;
      }).require<keel::scope<"articles:write">>(),
      keel::group<"/admin">(keel::get<"/stats">([] { return "stats"; }),
                            keel::get<"/who">([](keel::bearer<claims> u) { return u->sub; }))
          .require<keel::role<"admin">>(),
      keel::get<"/settings">([] { return "settings"; }).require<keel::authenticated, verified_email>(),
      keel::get<"/owned/{name}">([](std::string name) { return name; }).require<owner_only>(),
      keel::get<"/either">([] {
        return "either";
      }).require<keel::any_of<keel::role<"admin">, keel::scope<"reports:read">>>(),
  };
}

auto make_app(keel::auth::bearer_options options = {}) {
  return keel::app{make_router()}.use(keel::auth::jwt_bearer<claims>{key, std::move(options)});
}

std::string auth(const std::string& t) { return "Bearer " + t; }

}  // namespace bearer_test

using namespace bearer_test;

TEST_CASE("bearer: no credentials is a 401 with a bare challenge", "[auth][bearer]") {
  auto app = make_app();
  keel::test_client client{app};
  auto r = client.get("/me");
  CHECK(r.status == 401);
  CHECK(r.header("WWW-Authenticate") == "Bearer realm=\"api\"");
  CHECK(r.body.find("\"code\":\"unauthorized\"") != std::string::npos);
  CHECK(r.body.find("\"status\":401") != std::string::npos);
  // Another scheme is no bearer credential either.
  r = client.get("/me", {{"Authorization", "Basic YWxpY2U6c2VjcmV0"}});
  CHECK(r.status == 401);
  CHECK(r.header("WWW-Authenticate") == "Bearer realm=\"api\"");
  CHECK(client.get("/open").status == 200);
}

TEST_CASE("bearer: a valid token gives the handler its claims", "[auth][bearer]") {
  auto app = make_app();
  keel::test_client client{app};
  const std::string t = token({.sub = "alice"});
  auto r = client.get("/me", {{"Authorization", auth(t)}});
  CHECK(r.status == 200);
  CHECK(r.body == "you are alice");
  // The scheme word is case-insensitive; extra spaces before the token are tolerated.
  r = client.get("/me", {{"Authorization", "bearer   " + t}});
  CHECK(r.body == "you are alice");
}

TEST_CASE("bearer: a token that does not verify is a 401 invalid_token saying why", "[auth][bearer]") {
  auto app = make_app();
  keel::test_client client{app};
  auto check = [&](const std::string& header, const std::string& why) {
    auto r = client.get("/me", {{"Authorization", header}});
    CHECK(r.status == 401);
    CHECK(r.header("WWW-Authenticate") ==
          "Bearer realm=\"api\", error=\"invalid_token\", error_description=\"" + why + "\"");
    CHECK(r.body.find("\"code\":\"invalid_token\"") != std::string::npos);
    CHECK(r.body.find("\"reason\":\"" + why + "\"") != std::string::npos);
  };
  check("Bearer not-a-token", "wrong_segment_count");
  check("Bearer", "wrong_segment_count");
  check(auth(token({.sub = "bob", .exp = keel::auth::unix_now() - 3600})), "expired");
  const auto other = keel::auth::jwt_key::hmac(keel::auth::jwt_alg::HS256, std::string(32, 'x'), "k1");
  claims c{.sub = "mallory"};
  c.exp = keel::auth::unix_now() + 600;
  check(auth(keel::auth::sign(c, other)), "bad_signature");
  // The signature's first character: all six of its bits count. (Its last one has two spare bits: 'A' -> 'B'
  // sets one, which is bad_base64url, not bad_signature; that made this case fail once in 16 tokens.)
  std::string tampered = token({.sub = "alice"});
  char& first = tampered[tampered.rfind('.') + 1];
  first = first == 'A' ? 'B' : 'A';
  check(auth(tampered), "bad_signature");
}

TEST_CASE("bearer: optional claims: anonymous without a header, 401 with a bad token", "[auth][bearer]") {
  auto app = make_app();
  keel::test_client client{app};
  CHECK(client.get("/feed").body == "public feed");
  CHECK(client.get("/feed", {{"Authorization", auth(token({.sub = "carol"}))}}).body == "feed for carol");
  auto r = client.get("/feed", {{"Authorization", "Bearer x.y.z"}});
  CHECK(r.status == 401);
  CHECK(r.header("WWW-Authenticate").find("error=\"invalid_token\"") != std::string::npos);
}

TEST_CASE("policies: scope and role answer 403 insufficient_scope, 401 comes first", "[auth][policy]") {
  auto app = make_app();
  keel::test_client client{app};
  // No token: 401, not 403.
  auto r = client.post("/articles", "{}");
  CHECK(r.status == 401);
  CHECK(r.header("WWW-Authenticate") == "Bearer realm=\"api\"");

  r = client.post("/articles", "{}",
                  {{"Authorization", auth(token({.sub = "dan", .scope = "articles:read"}))}});
  CHECK(r.status == 403);
  CHECK(r.header("WWW-Authenticate") ==
        "Bearer realm=\"api\", error=\"insufficient_scope\", error_description=\"the token lacks the scope "
        "articles:write\", scope=\"articles:write\"");
  CHECK(r.body.find("\"code\":\"insufficient_scope\"") != std::string::npos);
  CHECK(r.body.find("\"status\":403") != std::string::npos);

  r = client.post("/articles", "{}",
                  {{"Authorization", auth(token({.sub = "erin", .scope = "articles:read articles:write"}))}});
  CHECK(r.status == 200);
  CHECK(r.body == "written by erin");

  // A group's role.
  const std::string user = token({.sub = "frank", .roles = {"user"}});
  const std::string admin = token({.sub = "grace", .roles = {"user", "admin"}});
  r = client.get("/admin/stats", {{"Authorization", auth(user)}});
  CHECK(r.status == 403);
  CHECK(r.header("WWW-Authenticate").find("error=\"insufficient_scope\"") != std::string::npos);
  CHECK(r.header("WWW-Authenticate").find("the role admin") != std::string::npos);
  CHECK(client.get("/admin/stats").status == 401);
  CHECK(client.get("/admin/stats", {{"Authorization", auth(admin)}}).body == "stats");
  CHECK(client.get("/admin/who", {{"Authorization", auth(admin)}}).body == "grace");
}

TEST_CASE("policies: user-defined, with the context, and any_of", "[auth][policy]") {
  auto app = make_app();
  keel::test_client client{app};
  auto r = client.get("/settings", {{"Authorization", auth(token({.sub = "h"}))}});
  CHECK(r.status == 403);
  CHECK(r.body.find("verify your e-mail address first") != std::string::npos);
  CHECK(client.get("/settings", {{"Authorization", auth(token({.sub = "h", .email_verified = true}))}})
            .status == 200);

  const std::string ivan = auth(token({.sub = "ivan"}));
  CHECK(client.get("/owned/ivan", {{"Authorization", ivan}}).status == 200);
  CHECK(client.get("/owned/judy", {{"Authorization", ivan}}).status == 403);

  r = client.get("/either", {{"Authorization", ivan}});
  CHECK(r.status == 403);
  CHECK(r.header("WWW-Authenticate").find("scope=\"reports:read\"") != std::string::npos);
  CHECK(
      client.get("/either", {{"Authorization", auth(token({.sub = "k", .scope = "reports:read"}))}}).status ==
      200);
  CHECK(client.get("/either", {{"Authorization", auth(token({.sub = "k", .roles = {"admin"}}))}}).status ==
        200);
}

TEST_CASE("bearer: the scheme word and realm are configurable (RealWorld's Token)", "[auth][bearer]") {
  auto app = make_app({.scheme = "Token", .realm = "conduit"});
  keel::test_client client{app};
  const std::string t = token({.sub = "jake"});
  CHECK(client.get("/me", {{"Authorization", "Token " + t}}).body == "you are jake");
  auto r = client.get("/me", {{"Authorization", "Bearer " + t}});
  CHECK(r.status == 401);
  CHECK(r.header("WWW-Authenticate") == "Token realm=\"conduit\"");
}

TEST_CASE("bearer: a second scheme word is accepted too (Token and Bearer)", "[auth][bearer]") {
  auto app = make_app({.scheme = "Token", .also_scheme = "Bearer", .realm = "conduit"});
  keel::test_client client{app};
  const std::string t = token({.sub = "jake"});
  CHECK(client.get("/me", {{"Authorization", "Token " + t}}).body == "you are jake");
  CHECK(client.get("/me", {{"Authorization", "Bearer " + t}}).body == "you are jake");
  CHECK(client.get("/me", {{"Authorization", "bearer  " + t}}).body == "you are jake");
  CHECK(client.get("/feed", {{"Authorization", "Bearer " + t}}).body == "feed for jake");
  // Challenges name the first word; a third word is no credential; a bad token under either word is refused.
  auto r = client.get("/me", {{"Authorization", "Basic YWxpY2U6c2VjcmV0"}});
  CHECK(r.status == 401);
  CHECK(r.header("WWW-Authenticate") == "Token realm=\"conduit\"");
  CHECK(client.get("/feed", {{"Authorization", "Basic YWxpY2U6c2VjcmV0"}}).body == "public feed");
  r = client.get("/me", {{"Authorization", "Bearer not.a.jwt"}});
  CHECK(r.status == 401);
  CHECK(r.header("WWW-Authenticate").find("Token realm=\"conduit\", error=\"invalid_token\"") == 0);
  CHECK(client.get("/feed", {{"Authorization", "Bearer"}}).status == 401);
  CHECK(client.get("/me", {{"Authorization", "Bearerx " + t}}).status == 401);
}

TEST_CASE("bearer: cached tokens still expire, and the cache is per layer", "[auth][bearer]") {
  auto app = make_app({.verify = {.leeway = std::chrono::seconds(0)}});
  keel::test_client client{app};
  const std::string t = token({.sub = "short", .exp = keel::auth::unix_now() + 1});
  CHECK(client.get("/me", {{"Authorization", auth(t)}}).status == 200);
  CHECK(client.get("/me", {{"Authorization", auth(t)}}).status == 200);  // from the cache
  std::this_thread::sleep_for(std::chrono::milliseconds(2100));
  auto r = client.get("/me", {{"Authorization", auth(t)}});
  CHECK(r.status == 401);
  CHECK(r.header("WWW-Authenticate").find("error_description=\"expired\"") != std::string::npos);

  // Another layer (an issuer is required there) does not take the first layer's cached verdict.
  const std::string good = token({.sub = "z"});
  CHECK(client.get("/me", {{"Authorization", auth(good)}}).status == 200);
  auto strict = make_app({.verify = {.issuer = "someone"}});
  keel::test_client strict_client{strict};
  CHECK(strict_client.get("/me", {{"Authorization", auth(good)}}).status == 401);
}

TEST_CASE("bearer and policies over a real socket (curl)", "[auth][bearer][socket]") {
  auto app = make_app();
  using app_type = decltype(app);
  keel::detail::server<app_type> server(app, keel_test::local_config(1));
  const auto port = server.start();
  const std::string base = "http://127.0.0.1:" + std::to_string(port);
  const std::string curl = "curl -s --max-time 10 -o /dev/null -D - -w '%{http_code}' ";
  std::string out = run_command(curl + base + "/me");
  CHECK(out.find("WWW-Authenticate: Bearer realm=\"api\"") != std::string::npos);
  CHECK(out.ends_with("401"));
  const std::string t = token({.sub = "sock", .scope = "articles:write"});
  CHECK(run_command("curl -s --max-time 10 -H 'Authorization: Bearer " + t + "' " + base + "/me") ==
        "you are sock");
  out = run_command(curl + "-H 'Authorization: Bearer " + t + "' " + base + "/admin/stats");
  CHECK(out.find("error=\"insufficient_scope\"") != std::string::npos);
  CHECK(out.ends_with("403"));
  out = run_command(curl + "-X POST -H 'Authorization: Bearer " + t + "' " + base + "/articles");
  CHECK(out.ends_with("200"));
  server.stop();
  server.wait();
}
