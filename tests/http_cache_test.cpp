// keel/http_cache.hpp over real sockets with curl: ETags (strong, weak, from the body), Last-Modified,
// Cache-Control, and 304 answers to If-None-Match / If-Modified-Since.
#include "keel/http_cache.hpp"

#include "keel/cache/response_cache.hpp"

#include "keel/app.hpp"
#include "keel/server/server.hpp"
#include "support/curl_output.hpp"
#include "support/local_server.hpp"
#include "support/running_server.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <cctype>
#include <chrono>
#include <cstdlib>
#include <string>

namespace {

using keel_test::run_command;
using namespace std::chrono_literals;

constexpr std::int64_t modified_at = 1700000000;  // Tue, 14 Nov 2023 22:13:20 GMT
std::atomic<int> renders{0};

keel::response render(std::string body) {
  ++renders;
  return keel::response(keel::http::status::ok, std::move(body));
}

auto make_app() {
  return keel::app{keel::router{
      keel::get<"/strong">([](keel::request_context& ctx) {
        const std::string body = "hello cache";
        keel::cache_validators v{keel::etag_of(body), modified_at,
                                 keel::cache_control().public_().max_age(60s).str()};
        return keel::conditional_response(ctx, v, [&] { return render(body); });
      }),
      keel::get<"/weak">([](keel::request_context& ctx) {
        keel::cache_validators v{keel::weak_etag("v1"), -1, keel::cache_control().no_cache().str()};
        return keel::conditional_response(ctx, v, [] { return render("weak body"); });
      }),
      keel::get<"/dated">([](keel::request_context& ctx) {
        keel::cache_validators v{"", modified_at, ""};
        return keel::conditional_response(ctx, v, [] { return render("dated body"); });
      }),
      keel::post<"/strong">([](keel::request_context& ctx) {
        keel::cache_validators v{keel::etag_of("hello cache"), -1, ""};
        return keel::conditional_response(ctx, v, [] { return render("posted"); });
      }),
  }};
}
using app_type = decltype(make_app());

using keel_test::body_of;
using keel_test::header_of;
using keel_test::status_of;

struct running {
  app_type app = make_app();
  keel_test::running_server<app_type> server{app, keel_test::local_config(1)};
  std::uint16_t port = server.port();
  std::string base = server.base();
  std::string curl(const std::string& args) const { return run_command("curl -s -i --max-time 10 " + args); }
};

}  // namespace

TEST_CASE("http_cache: validators and building blocks", "[http_cache]") {
  CHECK(keel::strong_etag("v1") == "\"v1\"");
  CHECK(keel::weak_etag("v1") == "W/\"v1\"");
  CHECK(keel::etag_of("abc") == keel::etag_of("abc"));
  CHECK(keel::etag_of("abc") != keel::etag_of("abd"));
  CHECK(keel::etag_of("abc").size() == 18);
  CHECK(keel::etag_of("abc", true).starts_with("W/\""));
  CHECK(keel::cache_control().public_().max_age(3600s).immutable().str() ==
        "public, max-age=3600, immutable");
  CHECK(keel::cache_control().private_().no_cache().must_revalidate().str() ==
        "private, no-cache, must-revalidate");
  CHECK(keel::cache_control().s_maxage(10s).stale_while_revalidate(30s).str() ==
        "s-maxage=10, stale-while-revalidate=30");
  CHECK(keel::cache_control().no_store().str() == "no-store");
}

TEST_CASE("http_cache: strong ETag, If-None-Match and If-Modified-Since over curl", "[http_cache][socket]") {
  running s;
  renders = 0;
  auto r = s.curl(s.base + "/strong");
  REQUIRE(status_of(r) == 200);
  CHECK(body_of(r) == "hello cache");
  const std::string etag = header_of(r, "ETag");
  CHECK(etag == keel::etag_of("hello cache"));
  CHECK(header_of(r, "Last-Modified") == "Tue, 14 Nov 2023 22:13:20 GMT");
  CHECK(header_of(r, "Cache-Control") == "public, max-age=60");
  CHECK(renders == 1);

  r = s.curl("-H 'If-None-Match: " + etag + "' " + s.base + "/strong");
  CHECK(status_of(r) == 304);
  CHECK(body_of(r).empty());
  CHECK(header_of(r, "ETag") == etag);
  CHECK(header_of(r, "Cache-Control") == "public, max-age=60");
  CHECK(renders == 1);  // a 304 renders nothing

  r = s.curl("-H 'If-None-Match: \"nope\", W/" + etag + "' " + s.base + "/strong");  // weak comparison
  CHECK(status_of(r) == 304);
  r = s.curl("-H 'If-None-Match: *' " + s.base + "/strong");
  CHECK(status_of(r) == 304);
  r = s.curl("-H 'If-None-Match: \"nope\"' " + s.base + "/strong");
  CHECK(status_of(r) == 200);
  CHECK(body_of(r) == "hello cache");
  // If-None-Match decides when both are sent.
  r = s.curl("-H 'If-None-Match: \"nope\"' -H 'If-Modified-Since: Tue, 14 Nov 2023 22:13:20 GMT' " + s.base +
             "/strong");
  CHECK(status_of(r) == 200);
  r = s.curl("-H 'If-Modified-Since: Tue, 14 Nov 2023 22:13:20 GMT' " + s.base + "/strong");
  CHECK(status_of(r) == 304);
  r = s.curl("-H 'If-Modified-Since: Tue, 14 Nov 2023 22:13:19 GMT' " + s.base + "/strong");
  CHECK(status_of(r) == 200);
  r = s.curl("-H 'If-Modified-Since: yesterday' " + s.base + "/strong");  // not a date: ignored
  CHECK(status_of(r) == 200);
  r = s.curl("-X POST -H 'If-None-Match: " + etag + "' " + s.base + "/strong");  // only GET/HEAD get 304
  CHECK(status_of(r) == 200);
  CHECK(body_of(r) == "posted");
  r = s.curl("-I -H 'If-None-Match: " + etag + "' " + s.base + "/strong");
  CHECK(status_of(r) == 304);
}

TEST_CASE("http_cache: weak ETags and Last-Modified alone", "[http_cache][socket]") {
  running s;
  auto r = s.curl(s.base + "/weak");
  REQUIRE(status_of(r) == 200);
  CHECK(header_of(r, "ETag") == "W/\"v1\"");
  CHECK(header_of(r, "Last-Modified").empty());
  CHECK(header_of(r, "Cache-Control") == "no-cache");
  r = s.curl("-H 'If-None-Match: W/\"v1\"' " + s.base + "/weak");
  CHECK(status_of(r) == 304);
  r = s.curl("-H 'If-None-Match: \"v1\"' " + s.base + "/weak");  // weak comparison: the same tag
  CHECK(status_of(r) == 304);
  r = s.curl("-H 'If-Modified-Since: Tue, 14 Nov 2023 22:13:20 GMT' " + s.base +
             "/weak");  // no date to compare
  CHECK(status_of(r) == 200);

  r = s.curl(s.base + "/dated");
  CHECK(header_of(r, "ETag").empty());
  CHECK(header_of(r, "Last-Modified") == "Tue, 14 Nov 2023 22:13:20 GMT");
  r = s.curl("-H 'If-Modified-Since: Wed, 15 Nov 2023 00:00:00 GMT' " + s.base + "/dated");
  CHECK(status_of(r) == 304);
  CHECK(header_of(r, "Last-Modified") == "Tue, 14 Nov 2023 22:13:20 GMT");
  r = s.curl("-H 'If-None-Match: \"x\"' " + s.base + "/dated");
  CHECK(status_of(r) == 200);
}

namespace {

std::atomic<int> handler_runs{0};

auto make_cached_app(const keel::cache::response_cache& pages) {
  return keel::app{keel::router{
                       keel::get<"/counted">([] { return "run " + std::to_string(++handler_runs); }),
                       keel::get<"/lang">([](keel::request_context& ctx) {
                         ++handler_runs;
                         keel::response r(keel::http::status::ok,
                                          "lang=" + std::string(ctx.request().header("Accept-Language")));
                         r.header("Vary", "Accept-Language");
                         r.header("X-Extra", "kept");
                         return r;
                       }),
                       keel::get<"/private">([] {
                         keel::response r(keel::http::status::ok, "run " + std::to_string(++handler_runs));
                         r.header("Cache-Control", "private");
                         return r;
                       }),
                       keel::get<"/cookie">([] {
                         keel::response r(keel::http::status::ok, "run " + std::to_string(++handler_runs));
                         r.header("Set-Cookie", "a=b");
                         return r;
                       }),
                       keel::post<"/counted">([] { return "post " + std::to_string(++handler_runs); }),
                   }}
      .use(pages);
}

struct cached_server {
  keel::cache::response_cache pages{keel::cache::response_cache_options{}};
  decltype(make_cached_app(pages)) app = make_cached_app(pages);
  keel_test::running_server<decltype(make_cached_app(pages))> server{app, keel_test::local_config(2)};
  std::uint16_t port = server.port();
  std::string base = server.base();
  std::string curl(const std::string& args) const { return run_command("curl -s -i --max-time 10 " + args); }
};

}  // namespace

TEST_CASE("response_cache: repeats are answered without the handler, per target and Vary",
          "[http_cache][socket]") {
  cached_server s;
  handler_runs = 0;
  auto r = s.curl(s.base + "/counted?page=1");
  CHECK(body_of(r) == "run 1");
  r = s.curl(s.base + "/counted?page=1");
  CHECK(status_of(r) == 200);
  CHECK(body_of(r) == "run 1");  // from the cache
  CHECK(header_of(r, "Content-Type").starts_with("text/plain"));
  r = s.curl(s.base + "/counted?page=2");  // other parameters: another entry
  CHECK(body_of(r) == "run 2");
  r = s.curl("-X POST " + s.base + "/counted?page=1");  // not cached, and not answered from the cache
  CHECK(body_of(r) == "post 3");
  r = s.curl("-I " + s.base + "/counted?page=1");
  CHECK(status_of(r) == 200);
  CHECK(handler_runs == 3);

  // Vary: one entry per Accept-Language; the handler's headers come back too.
  r = s.curl("-H 'Accept-Language: fr' " + s.base + "/lang");
  CHECK(body_of(r) == "lang=fr");
  r = s.curl("-H 'Accept-Language: de' " + s.base + "/lang");
  CHECK(body_of(r) == "lang=de");
  const int runs = handler_runs;
  r = s.curl("-H 'Accept-Language: fr' " + s.base + "/lang");
  CHECK(body_of(r) == "lang=fr");
  CHECK(header_of(r, "Vary") == "Accept-Language");
  CHECK(header_of(r, "X-Extra") == "kept");
  r = s.curl("-H 'Accept-Language: de' " + s.base + "/lang");
  CHECK(body_of(r) == "lang=de");
  CHECK(handler_runs == runs);

  // Invalidation: every variant of the target, then everything.
  s.pages.invalidate("/lang");
  r = s.curl("-H 'Accept-Language: fr' " + s.base + "/lang");
  CHECK(handler_runs == runs + 1);
  r = s.curl(s.base + "/counted?page=1");
  CHECK(body_of(r) == "run 1");
  s.pages.invalidate_all();
  r = s.curl(s.base + "/counted?page=1");
  CHECK(body_of(r) == "run " + std::to_string(runs + 2));

  // Not stored: Cache-Control private, Set-Cookie.
  const int before = handler_runs;
  s.curl(s.base + "/private");
  s.curl(s.base + "/private");
  s.curl(s.base + "/cookie");
  s.curl(s.base + "/cookie");
  CHECK(handler_runs == before + 4);
}
