// keel::cors: preflights (allowed and refused), simple requests, credentials, Vary, exposed headers, errors.
#include "keel/middleware/cors.hpp"

#include "keel/app.hpp"
#include "keel/router/router.hpp"
#include "keel/test_client.hpp"

#include <catch2/catch.hpp>

#include <string>
#include <type_traits>
#include <string_view>

namespace {

std::string& handler_calls() {
  static std::string calls;
  return calls;
}

auto make_router() {
  return keel::router{
      keel::get<"/items">([] {
        handler_calls() += "get;";
        return "items";
      }),
      keel::post<"/items">([] {
        handler_calls() += "post;";
        return "created";
      }),
      keel::get<"/fail">(
          []() -> std::string { throw keel::http_error(keel::http::status::conflict, "taken"); }),
  };
}

std::string vary_of(const keel::test_response& r) {
  std::string out;
  for (const auto& [k, v] : r.headers)
    if (keel::detail::iequals(k, "Vary")) out += v + ";";
  return out;
}

const keel::test_headers preflight_put = {{"Origin", "https://a.example"},
                                          {"Access-Control-Request-Method", "PUT"},
                                          {"Access-Control-Request-Headers", "X-Custom, content-type"}};

}  // namespace

TEST_CASE("defaults: any origin, preflight answered with 204", "[cors]") {
  STATIC_REQUIRE(keel::Middleware<keel::cors, keel::request_context>);
  STATIC_REQUIRE(std::is_aggregate_v<keel::cors>);
  auto app = keel::app{make_router()}.use<keel::cors>();
  keel::test_client client{app};
  handler_calls().clear();
  auto r = client.options("/items", preflight_put);
  CHECK(r.status == 204);
  CHECK(r.header("Access-Control-Allow-Origin") == "*");
  CHECK(r.header("Access-Control-Allow-Methods") == "GET, HEAD, POST, PUT, PATCH, DELETE");
  CHECK(r.header("Access-Control-Allow-Headers") == "X-Custom, content-type");  // "*": requested ones echoed
  CHECK(r.header("Access-Control-Max-Age") == "600");
  CHECK_FALSE(r.has_header("Access-Control-Allow-Credentials"));
  CHECK_FALSE(r.has_header("Allow"));  // answered before the router's automatic OPTIONS
  CHECK(handler_calls().empty());

  auto simple = client.get("/items", {{"Origin", "https://b.example"}});
  CHECK(simple.body == "items");
  CHECK(simple.header("Access-Control-Allow-Origin") == "*");
  CHECK(vary_of(simple).empty());  // the answer does not depend on Origin

  auto no_origin = client.get("/items");
  CHECK_FALSE(no_origin.has_header("Access-Control-Allow-Origin"));
}

TEST_CASE("an OPTIONS without Access-Control-Request-Method is no preflight", "[cors]") {
  auto app = keel::app{make_router()}.use<keel::cors>();
  keel::test_client client{app};
  auto r = client.options("/items", {{"Origin", "https://a.example"}});
  CHECK(r.status == 204);
  CHECK(r.header("Allow") == "GET, HEAD, POST, OPTIONS");  // the router answered
  CHECK(r.header("Access-Control-Allow-Origin") == "*");
  CHECK_FALSE(r.has_header("Access-Control-Allow-Methods"));
}

TEST_CASE("listed origins: allowed ones are echoed with Vary, others get nothing", "[cors]") {
  auto app =
      keel::app{make_router()}.use(keel::cors{.allow_origins = {"https://a.example", "https://c.example"}});
  keel::test_client client{app};
  handler_calls().clear();

  auto ok = client.get("/items", {{"Origin", "https://c.example"}});
  CHECK(ok.header("Access-Control-Allow-Origin") == "https://c.example");
  CHECK(vary_of(ok) == "Origin;");

  auto other = client.post("/items", "{}", "application/json", {{"Origin", "https://evil.example"}});
  CHECK(other.status == 200);  // the request still runs: CORS only hides the answer from the browser
  CHECK(other.body == "created");
  CHECK_FALSE(other.has_header("Access-Control-Allow-Origin"));
  CHECK(vary_of(other) == "Origin;");
  CHECK(handler_calls() == "get;post;");

  auto plain = client.get("/items");
  CHECK(vary_of(plain) == "Origin;");  // caches must not reuse this answer for a cross-origin reader
  CHECK_FALSE(plain.has_header("Access-Control-Allow-Origin"));

  auto pre = client.options("/items", preflight_put);
  CHECK(pre.status == 204);
  CHECK(pre.header("Access-Control-Allow-Origin") == "https://a.example");
  CHECK(vary_of(pre) == "Origin, Access-Control-Request-Method, Access-Control-Request-Headers;");
}

TEST_CASE("refused preflights are 403 and name the reason", "[cors]") {
  auto app = keel::app{make_router()}.use(keel::cors{.allow_origins = {"https://a.example"},
                                                     .allow_methods = {"GET", "POST"},
                                                     .allow_headers = {"X-Custom"}});
  keel::test_client client{app};
  handler_calls().clear();

  auto origin = client.options(
      "/items", {{"Origin", "https://evil.example"}, {"Access-Control-Request-Method", "POST"}});
  CHECK(origin.status == 403);
  CHECK(origin.body.find("\"code\":\"cors_rejected\"") != std::string::npos);
  CHECK(origin.body.find("origin not allowed") != std::string::npos);
  CHECK_FALSE(origin.has_header("Access-Control-Allow-Origin"));

  auto method = client.options("/items", preflight_put);
  CHECK(method.status == 403);
  CHECK(method.body.find("method not allowed") != std::string::npos);

  auto header = client.options("/items", {{"Origin", "https://a.example"},
                                          {"Access-Control-Request-Method", "POST"},
                                          {"Access-Control-Request-Headers", "x-custom, X-Secret"}});
  CHECK(header.status == 403);
  CHECK(header.body.find("header not allowed") != std::string::npos);

  // listed headers match case-insensitively; safelisted ones always pass
  auto ok = client.options("/items", {{"Origin", "https://a.example"},
                                      {"Access-Control-Request-Method", "POST"},
                                      {"Access-Control-Request-Headers", "x-custom,Content-Type"}});
  CHECK(ok.status == 204);
  CHECK(ok.header("Access-Control-Allow-Methods") == "GET, POST");
  CHECK(ok.header("Access-Control-Allow-Headers") == "X-Custom");
  CHECK(handler_calls().empty());
}

TEST_CASE("credentials: the origin is echoed, never \"*\"", "[cors]") {
  auto app = keel::app{make_router()}.use(
      keel::cors{.expose_headers = {"X-Total", "ETag"}, .allow_credentials = true, .max_age = -1});
  keel::test_client client{app};
  auto r = client.get("/items", {{"Origin", "https://a.example"}});
  CHECK(r.header("Access-Control-Allow-Origin") == "https://a.example");
  CHECK(r.header("Access-Control-Allow-Credentials") == "true");
  CHECK(r.header("Access-Control-Expose-Headers") == "X-Total, ETag");
  CHECK(vary_of(r) == "Origin;");

  auto pre = client.options("/items", preflight_put);
  CHECK(pre.status == 204);
  CHECK(pre.header("Access-Control-Allow-Origin") == "https://a.example");
  CHECK(pre.header("Access-Control-Allow-Credentials") == "true");
  CHECK_FALSE(pre.has_header("Access-Control-Max-Age"));
  CHECK_FALSE(pre.has_header("Access-Control-Expose-Headers"));  // only for actual responses
}

TEST_CASE("an origin predicate extends the list; wildcard methods echo the request", "[cors]") {
  auto app = keel::app{make_router()}.use(
      keel::cors{.allow_origins = {},
                 .allow_origin_if = [](std::string_view o) { return o.ends_with(".trusted.example"); },
                 .allow_methods = {"*"}});
  keel::test_client client{app};
  CHECK(client.get("/items", {{"Origin", "https://app.trusted.example"}})
            .header("Access-Control-Allow-Origin") == "https://app.trusted.example");
  CHECK_FALSE(client.get("/items", {{"Origin", "https://trusted.example.evil"}})
                  .has_header("Access-Control-Allow-Origin"));
  auto pre = client.options(
      "/items", {{"Origin", "https://x.trusted.example"}, {"Access-Control-Request-Method", "PURGE"}});
  CHECK(pre.status == 204);
  CHECK(pre.header("Access-Control-Allow-Methods") == "PURGE");
}

TEST_CASE("error responses carry the CORS headers too", "[cors]") {
  auto app = keel::app{make_router()}.use(keel::cors{.allow_origins = {"https://a.example"}});
  keel::test_client client{app};
  auto conflict = client.get("/fail", {{"Origin", "https://a.example"}});
  CHECK(conflict.status == 409);
  CHECK(conflict.header("Access-Control-Allow-Origin") == "https://a.example");
  auto missing = client.get("/nope", {{"Origin", "https://a.example"}});
  CHECK(missing.status == 404);
  CHECK(missing.header("Access-Control-Allow-Origin") == "https://a.example");
}
