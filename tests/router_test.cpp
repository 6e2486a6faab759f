// The compile-time router: matching, parameters, 404/405, HEAD/OPTIONS, groups, route middleware.
#include "keel/router/router.hpp"

#include "keel/app.hpp"
#include "keel/test_client.hpp"

#include <catch2/catch.hpp>

#include <cstdint>
#include <string>

namespace {

struct tag_state {
  std::string tag;
};
struct tagging {
  using state = tag_state;
  std::string name;
  void before(keel::request_context& ctx) const { (void)ctx; }
  template <class Ctx>
  void after(Ctx& ctx) const {
    ctx.response().header("X-Layer", name);
  }
};

auto make_app() {
  auto api = keel::router{
      keel::get<"/">([] { return "root"; }),
      keel::get<"/hello">([] { return "Hello, World!"; }),
      keel::get<"/users/{id}">([](std::int64_t id) { return "user " + std::to_string(id); }),
      keel::del<"/users/{id}">([](std::int64_t id) { return "deleted " + std::to_string(id); }),
      keel::get<"/users/me">([] { return "me"; }),
      keel::get<"/users/{id}/posts/{post}">([](std::int64_t id, std::string_view post) {
        return std::to_string(id) + "/" + std::string(post);
      }),
      keel::get<"/named/{a}/{b}">([](keel::path<"b", std::string> b, keel::path<"a", int> a) {
        return *b + "-" + std::to_string(*a);
      }),
      keel::get<"/files/{rest...}">([](std::string rest) { return "file:" + rest; }),
      keel::on<"/multi", keel::http::method::put, keel::http::method::patch>([] { return "multi"; }),
      keel::post<"/echo">([](keel::body b) { return std::string(b.data); }),
      keel::get<"/flag/{on}">([](bool on) { return on ? "on" : "off"; }),
      keel::get<"/void">([] {}),
      keel::get<"/status">([] { return keel::status_only{keel::http::status::accepted}; }),
      keel::get<"/fail">(
          []() -> std::string { throw keel::http_error(keel::http::status::conflict, "taken"); }),
      keel::get<"/boom">([]() -> std::string { throw std::runtime_error("secret internals"); }),
      keel::get<"/maybe/{n}">([](int n) -> std::optional<std::string> {
        if (n == 0) return std::nullopt;
        return "some";
      }),
      keel::group<"/api">(
          keel::get<"/">([] { return "api root"; }), keel::get<"/v">([] { return "api v"; }),
          keel::group<"/inner">(keel::get<"/x">([] { return "inner x"; })).use(tagging{"inner"}))
          .use(tagging{"group"}),
      keel::get<"/tagged">([](const tag_state& s) { return "tag=" + s.tag; }).use(tagging{"route"}),
  };
  return keel::app{std::move(api)};
}

}  // namespace

TEST_CASE("static and parameter routes match", "[router]") {
  auto app = make_app();
  keel::test_client client{app};
  CHECK(client.get("/").body == "root");
  CHECK(client.get("/hello").body == "Hello, World!");
  CHECK(client.get("/hello").header("Content-Type") == "text/plain; charset=utf-8");
  CHECK(client.get("/users/42").body == "user 42");
  CHECK(client.get("/users/me").body == "me");  // a literal wins over a parameter
  CHECK(client.get("/users/7/posts/abc").body == "7/abc");
  CHECK(client.get("/named/5/x").body == "x-5");
  CHECK(client.get("/files/a/b/c.css").body == "file:a/b/c.css");
  CHECK(client.get("/flag/true").body == "on");
  CHECK(client.get("/flag/0").body == "off");
  CHECK(client.del("/users/9").body == "deleted 9");
}

TEST_CASE("percent-encoded parameters are decoded", "[router]") {
  auto app = make_app();
  keel::test_client client{app};
  CHECK(client.get("/users/7/posts/hello%20world").body == "7/hello world");
  CHECK(client.get("/files/dir/a%2Fb").body == "file:dir/a/b");
}

TEST_CASE("no match is 404, wrong method is 405 with Allow", "[router]") {
  auto app = make_app();
  keel::test_client client{app};
  auto r = client.get("/nope");
  CHECK(r.status == 404);
  CHECK(r.header("Content-Type") == "application/json");
  CHECK(r.body == R"({"error":{"status":404,"code":"not_found","message":"Not Found"}})");
  CHECK(client.get("/users/42/extra").status == 404);
  CHECK(client.get("/users/").status == 404);
  CHECK(client.get("/hello/").status == 404);

  auto m = client.post("/users/42", "");
  CHECK(m.status == 405);
  CHECK(m.header("Allow") == "GET, HEAD, DELETE, OPTIONS");
  CHECK(client.get("/multi").status == 405);
  CHECK(client.put("/multi", "").body == "multi");
  CHECK(client.patch("/multi", "").body == "multi");
}

TEST_CASE("a bad path parameter is 400 naming it", "[router]") {
  auto app = make_app();
  keel::test_client client{app};
  auto r = client.get("/users/abc");
  CHECK(r.status == 400);
  CHECK(r.body.find("\"path\":\"id\"") != std::string::npos);
  CHECK(r.body.find("\"location\":\"path\"") != std::string::npos);
  CHECK(client.get("/users/99999999999999999999").status == 400);  // overflow
  CHECK(client.get("/users/+5").status == 400);
  CHECK(client.get("/flag/maybe").status == 400);
}

TEST_CASE("HEAD is served by GET routes without a body; OPTIONS lists methods", "[router]") {
  auto app = make_app();
  keel::test_client client{app};
  auto h = client.head("/hello");
  CHECK(h.status == 200);
  CHECK(h.body.empty());
  CHECK(h.header("Content-Length") == "13");
  auto o = client.options("/users/1");
  CHECK(o.status == 204);
  CHECK(o.header("Allow") == "GET, HEAD, DELETE, OPTIONS");
}

TEST_CASE("responders: body, void, status, errors, optional", "[router]") {
  auto app = make_app();
  keel::test_client client{app};
  CHECK(client.post("/echo", "payload", "text/plain").body == "payload");
  CHECK(client.get("/void").status == 204);
  CHECK(client.get("/status").status == 202);
  auto f = client.get("/fail");
  CHECK(f.status == 409);
  CHECK(f.body.find("\"message\":\"taken\"") != std::string::npos);
  auto b = client.get("/boom");
  CHECK(b.status == 500);
  CHECK(b.body.find("secret") == std::string::npos);
  CHECK(client.get("/maybe/0").status == 404);
  CHECK(client.get("/maybe/1").body == "some");
}

TEST_CASE("groups prefix paths and wrap their routes in middleware", "[router]") {
  auto app = make_app();
  keel::test_client client{app};
  auto root = client.get("/api");
  CHECK(root.body == "api root");
  CHECK(root.header("X-Layer") == "group");
  CHECK(client.get("/api/v").body == "api v");
  auto inner = client.get("/api/inner/x");
  CHECK(inner.body == "inner x");
  REQUIRE(inner.headers.size() >= 2);
  // after-hooks run innermost first, so "inner" is added before "group"
  std::string layers;
  for (const auto& [k, v] : inner.headers)
    if (k == "X-Layer") layers += v + ",";
  CHECK(layers == "inner,group,");
  CHECK(client.get("/hello").header("X-Layer").empty());
}

TEST_CASE("route state types reach handlers by reference", "[router]") {
  auto app = make_app();
  keel::test_client client{app};
  auto r = client.get("/tagged");
  CHECK(r.body == "tag=");
  CHECK(r.header("X-Layer") == "route");
}

TEST_CASE("trie dispatch does not depend on declaration order", "[router]") {
  auto api = keel::router{
      keel::get<"/a/{x}/c">([](std::string_view x) { return "param " + std::string(x); }),
      keel::get<"/a/b/d">([] { return "literal"; }),
  };
  auto app = keel::app{std::move(api)};
  keel::test_client client{app};
  CHECK(client.get("/a/b/d").body == "literal");
  CHECK(client.get("/a/b/c").body == "param b");  // backtracks from the literal branch
  CHECK(client.get("/a/z/c").body == "param z");
  CHECK(client.get("/a/b/e").status == 404);
}

// Things that must not compile are checked in tests/compile_fail (with their messages).
