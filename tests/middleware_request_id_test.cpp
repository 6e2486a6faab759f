// keel::request_id: accepting sane incoming ids, generating unique ones, echoing them, error bodies.
#include "keel/middleware/request_id.hpp"

#include "keel/app.hpp"
#include "keel/router/router.hpp"
#include "keel/test_client.hpp"

#include <catch2/catch.hpp>

#include <set>
#include <string>
#include <type_traits>
#include <thread>
#include <vector>

namespace {

auto make_router() {
  return keel::router{
      keel::get<"/id">([](keel::request_context& ctx) { return std::string(ctx.request_id()); }),
      keel::get<"/fail">(
          []() -> std::string { throw keel::http_error(keel::http::status::conflict, "taken"); }),
      keel::get<"/boom">([]() -> std::string { throw std::runtime_error("db password is hunter2"); }),
  };
}

bool is_generated_shape(std::string_view id) {
  // "<16 hex>-<hex counter>"
  if (id.size() < 18 || id[16] != '-') return false;
  for (std::size_t i = 0; i < id.size(); ++i) {
    if (i == 16) continue;
    char c = id[i];
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

}  // namespace

TEST_CASE("sanity rule for incoming ids", "[request_id]") {
  STATIC_REQUIRE(keel::Middleware<keel::request_id, keel::request_context>);
  STATIC_REQUIRE(std::is_aggregate_v<keel::request_id>);
  using keel::detail::is_sane_request_id;
  CHECK(is_sane_request_id("abc-123"));
  CHECK(is_sane_request_id("A.b_c:d-9"));
  CHECK(is_sane_request_id(std::string(128, 'x')));
  CHECK_FALSE(is_sane_request_id(""));
  CHECK_FALSE(is_sane_request_id(std::string(129, 'x')));
  CHECK_FALSE(is_sane_request_id("has space"));
  CHECK_FALSE(is_sane_request_id("quote\""));
  CHECK_FALSE(is_sane_request_id("new\nline"));
  CHECK_FALSE(is_sane_request_id("slash/"));
  CHECK_FALSE(is_sane_request_id("\xc3\xa9"));
}

TEST_CASE("a sane incoming X-Request-ID is kept and echoed", "[request_id]") {
  auto app = keel::app{make_router()}.use<keel::request_id>();
  keel::test_client client{app};
  auto r = client.get("/id", {{"X-Request-ID", "edge-42.a:b_c"}});
  CHECK(r.status == 200);
  CHECK(r.body == "edge-42.a:b_c");
  CHECK(r.header("X-Request-ID") == "edge-42.a:b_c");
  // header names are case-insensitive
  CHECK(client.get("/id", {{"x-request-id", "lower"}}).body == "lower");
}

TEST_CASE("an insane or missing id is replaced by a generated one", "[request_id]") {
  auto app = keel::app{make_router()}.use<keel::request_id>();
  keel::test_client client{app};
  auto bad = client.get("/id", {{"X-Request-ID", "<script>"}});
  CHECK(bad.body != "<script>");
  CHECK(is_generated_shape(bad.body));
  CHECK(bad.header("X-Request-ID") == bad.body);
  auto too_long = client.get("/id", {{"X-Request-ID", std::string(200, 'a')}});
  CHECK(is_generated_shape(too_long.body));
  auto none = client.get("/id");
  CHECK(is_generated_shape(none.body));
  CHECK(none.header("X-Request-ID") == none.body);
}

TEST_CASE("generated ids are unique within and across threads", "[request_id]") {
  auto app = keel::app{make_router()}.use<keel::request_id>();
  std::set<std::string> ids;
  {
    keel::test_client client{app};
    for (int i = 0; i < 200; ++i) ids.insert(client.get("/id").body);
  }
  CHECK(ids.size() == 200);

  constexpr int threads = 4, per_thread = 100;
  std::vector<std::vector<std::string>> seen(threads);
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t)
    pool.emplace_back([&, t] {
      keel::test_client client{app};
      for (int i = 0; i < per_thread; ++i)
        seen[static_cast<std::size_t>(t)].push_back(client.get("/id").body);
    });
  for (auto& th : pool) th.join();
  for (auto& v : seen) ids.insert(v.begin(), v.end());
  CHECK(ids.size() == 200 + threads * per_thread);
}

TEST_CASE("the header name is configurable and incoming ids can be ignored", "[request_id]") {
  auto app =
      keel::app{make_router()}.use(keel::request_id{.header = "X-Correlation-ID", .trust_incoming = false});
  keel::test_client client{app};
  auto r = client.get("/id", {{"X-Correlation-ID", "from-client"}});
  CHECK(r.body != "from-client");
  CHECK(is_generated_shape(r.body));
  CHECK(r.header("X-Correlation-ID") == r.body);
  CHECK_FALSE(r.has_header("X-Request-ID"));

  auto app2 = keel::app{make_router()}.use(keel::request_id{.header = "X-Correlation-ID"});
  keel::test_client client2{app2};
  CHECK(client2.get("/id", {{"X-Correlation-ID", "from-client"}}).body == "from-client");
}

TEST_CASE("error bodies carry the request id, and the header survives ctx.fail", "[request_id]") {
  auto app = keel::app{make_router()}.use<keel::request_id>();
  keel::test_client client{app};

  auto missing = client.get("/nope", {{"X-Request-ID", "req-404"}});
  CHECK(missing.status == 404);
  CHECK(missing.body ==
        R"({"error":{"status":404,"code":"not_found","message":"Not Found"},"request_id":"req-404"})");
  CHECK(missing.header("X-Request-ID") == "req-404");

  auto conflict = client.get("/fail", {{"X-Request-ID", "req-409"}});
  CHECK(conflict.status == 409);
  CHECK(conflict.body.find(R"("request_id":"req-409")") != std::string::npos);
  CHECK(conflict.header("X-Request-ID") == "req-409");

  auto boom = client.get("/boom", {{"X-Request-ID", "req-500"}});
  CHECK(boom.status == 500);
  CHECK(boom.body.find(R"("request_id":"req-500")") != std::string::npos);
  CHECK(boom.body.find("hunter2") == std::string::npos);
  CHECK(boom.header("X-Request-ID") == "req-500");
}

TEST_CASE("without the middleware there is no id", "[request_id]") {
  auto app = keel::app{make_router()};
  keel::test_client client{app};
  auto r = client.get("/id", {{"X-Request-ID", "ignored"}});
  CHECK(r.body.empty());
  CHECK_FALSE(r.has_header("X-Request-ID"));
}

TEST_CASE("a request the session rejects before routing (413, 431) still gets an id in header and body",
          "[request_id]") {
  auto app = keel::app{make_router()}.use<keel::request_id>();
  keel::server_config cfg;
  cfg.limits.max_body_bytes = 10;
  cfg.limits.max_header_bytes = 512;
  keel::test_client client{app, cfg};

  auto too_large = client.send_raw("POST /id HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\n\r\n").at(0);
  CHECK(too_large.status == 413);
  const std::string id(too_large.header("X-Request-ID"));
  CHECK(is_generated_shape(id));
  CHECK_THAT(too_large.body, Catch::Contains(R"("request_id":")" + id + "\""));
  CHECK_THAT(too_large.body, Catch::Contains(R"("status":413)"));

  keel::test_client fresh{app, cfg};  // a rejection closes the connection
  auto too_big_head =
      fresh.send_raw("GET /id HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(600, 'a') + "\r\n\r\n").at(0);
  CHECK(too_big_head.status == 431);
  CHECK(is_generated_shape(too_big_head.header("X-Request-ID")));
  CHECK_THAT(too_big_head.body, Catch::Contains(R"("request_id":")"));
}

TEST_CASE("without keel::request_id a rejected request's error has no request_id", "[request_id]") {
  auto app = keel::app{make_router()};
  keel::server_config cfg;
  cfg.limits.max_body_bytes = 10;
  keel::test_client client{app, cfg};
  auto r = client.send_raw("POST /id HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\n\r\n").at(0);
  CHECK(r.status == 413);
  CHECK_FALSE(r.has_header("X-Request-ID"));
  CHECK_THAT(r.body, !Catch::Contains("request_id"));
}
