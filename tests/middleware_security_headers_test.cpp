// keel::security_headers: defaults, configuration, omission, headers the handler set, errors, HSTS on TLS.
#include "keel/middleware/security_headers.hpp"

#include "keel/app.hpp"
#include "keel/router/router.hpp"
#include "keel/test_client.hpp"

#include <catch2/catch.hpp>

#include <string>
#include <type_traits>

namespace {

auto make_router() {
  return keel::router{
      keel::get<"/page">([] { return "page"; }),
      keel::get<"/docs">([](keel::request_context& ctx) {
        ctx.response().header("Content-Security-Policy", "default-src 'self' 'unsafe-inline'");
        return "docs";
      }),
      keel::get<"/fail">(
          []() -> std::string { throw keel::http_error(keel::http::status::conflict, "taken"); }),
  };
}

int count_of(const keel::test_response& r, std::string_view name) {
  int n = 0;
  for (const auto& [k, v] : r.headers) n += keel::detail::iequals(k, name) ? 1 : 0;
  return n;
}

}  // namespace

TEST_CASE("defaults on a plain connection", "[security_headers]") {
  STATIC_REQUIRE(keel::Middleware<keel::security_headers, keel::request_context>);
  STATIC_REQUIRE(std::is_aggregate_v<keel::security_headers>);
  auto app = keel::app{make_router()}.use<keel::security_headers>();
  keel::test_client client{app};
  auto r = client.get("/page");
  CHECK(r.body == "page");
  CHECK(r.header("X-Content-Type-Options") == "nosniff");
  CHECK(r.header("X-Frame-Options") == "DENY");
  CHECK(r.header("Referrer-Policy") == "no-referrer");
  CHECK(r.header("Content-Security-Policy") == "default-src 'self'");
  CHECK_FALSE(r.has_header("Strict-Transport-Security"));  // not TLS
}

TEST_CASE("configured values, and empty ones omit their header", "[security_headers]") {
  auto app = keel::app{make_router()}.use(keel::security_headers{
      .nosniff = false, .frame_options = "SAMEORIGIN", .referrer_policy = "", .content_security_policy = ""});
  keel::test_client client{app};
  auto r = client.get("/page");
  CHECK(r.header("X-Frame-Options") == "SAMEORIGIN");
  CHECK_FALSE(r.has_header("X-Content-Type-Options"));
  CHECK_FALSE(r.has_header("Referrer-Policy"));
  CHECK_FALSE(r.has_header("Content-Security-Policy"));
}

TEST_CASE("a header the handler set wins", "[security_headers]") {
  auto app = keel::app{make_router()}.use<keel::security_headers>();
  keel::test_client client{app};
  auto r = client.get("/docs");
  CHECK(r.header("Content-Security-Policy") == "default-src 'self' 'unsafe-inline'");
  CHECK(count_of(r, "Content-Security-Policy") == 1);
  CHECK(r.header("X-Frame-Options") == "DENY");
}

TEST_CASE("error answers get the headers too", "[security_headers]") {
  auto app = keel::app{make_router()}.use<keel::security_headers>();
  keel::test_client client{app};
  auto conflict = client.get("/fail");
  CHECK(conflict.status == 409);
  CHECK(conflict.header("X-Content-Type-Options") == "nosniff");
  CHECK(conflict.header("Content-Security-Policy") == "default-src 'self'");
  auto missing = client.get("/nope");
  CHECK(missing.status == 404);
  CHECK(missing.header("X-Frame-Options") == "DENY");
}

TEST_CASE("HSTS only under TLS, with its options", "[security_headers]") {
  keel::request_context ctx;
  auto run = [&ctx](const keel::security_headers& m) {
    ctx.reset_for_next_request();
    m.after(ctx);
    return std::string(ctx.response().header("Strict-Transport-Security"));
  };
  keel::detail::context_access::set_tls(ctx, false);
  CHECK(run(keel::security_headers{}).empty());

  keel::detail::context_access::set_tls(ctx, true);
  CHECK(run(keel::security_headers{}) == "max-age=31536000");
  CHECK(run(keel::security_headers{.hsts_max_age = 600, .hsts_include_subdomains = true}) ==
        "max-age=600; includeSubDomains");
  CHECK(run(keel::security_headers{
            .hsts_max_age = 4294967295u, .hsts_include_subdomains = true, .hsts_preload = true}) ==
        "max-age=4294967295; includeSubDomains; preload");
  CHECK(run(keel::security_headers{.hsts_preload = true}) == "max-age=31536000; preload");
  CHECK(run(keel::security_headers{.hsts_max_age = 0}).empty());

  // one that is already there is kept
  ctx.reset_for_next_request();
  ctx.response().header("Strict-Transport-Security", "max-age=5");
  keel::security_headers{}.after(ctx);
  CHECK(ctx.response().header("Strict-Transport-Security") == "max-age=5");
  CHECK(ctx.response().header("X-Frame-Options") == "DENY");
}
