// A router above inline_dispatch_limit routes: dispatch through the per-route table reaches the right
// pipeline for every route, and the router's own flattening keeps routes and groups in declaration order.
#include "keel/router/router.hpp"

#include "keel/app.hpp"
#include "keel/test_client.hpp"

#include <catch2/catch.hpp>

#include <cstddef>
#include <cstdint>
#include <string>
#include <tuple>
#include <utility>

namespace {

template <std::size_t I>
consteval auto numbered_path() {
  constexpr char digits[] = {static_cast<char>('0' + I / 10), static_cast<char>('0' + I % 10), '\0'};
  return keel::fixed_string("/r") + keel::fixed_string<3>(digits) + keel::fixed_string("/{id}");
}

template <std::size_t I>
auto numbered_route() {
  return keel::get<numbered_path<I>()>(
      [](std::int64_t id) { return "route " + std::to_string(I) + " id " + std::to_string(id); });
}

constexpr std::size_t loose_routes = 40;

template <std::size_t... Is>
auto make_app(std::index_sequence<Is...>) {
  // Groups in the middle and at the end, so flat positions after them must still line up.
  return keel::app{keel::router{
      numbered_route<Is>()...,
      keel::group<"/g">(keel::get<"/a">([] { return "group a"; }),
                        keel::post<"/a">([] { return "group a post"; }),
                        keel::group<"/inner">(keel::get<"/b">([] { return "inner b"; }))),
      keel::get<"/after">([] { return "after"; }),
      keel::group<"/h">(keel::get<"/c">([] { return "group c"; })),
  }};
}

}  // namespace

TEST_CASE("every one of many routes answers through the dispatch table", "[router]") {
  const auto app = make_app(std::make_index_sequence<loose_routes>{});
  using routes = std::remove_cvref_t<decltype(app.router())>::routes_type;
  STATIC_REQUIRE(std::tuple_size_v<routes> == loose_routes + 5);
  keel::test_client client{app};
  for (std::size_t i = 0; i < loose_routes; ++i) {
    const std::string number = (i < 10 ? "0" : "") + std::to_string(i);
    const auto r = client.get("/r" + number + "/" + std::to_string(1000 + i));
    CHECK(r.status == 200);
    CHECK(r.body == "route " + std::to_string(i) + " id " + std::to_string(1000 + i));
  }
  CHECK(client.get("/g/a").body == "group a");
  CHECK(client.post("/g/a", "").body == "group a post");
  CHECK(client.get("/g/inner/b").body == "inner b");
  CHECK(client.get("/after").body == "after");
  CHECK(client.get("/h/c").body == "group c");
}

TEST_CASE("a table-dispatched router keeps 404, 405 and the path parameter errors", "[router]") {
  const auto app = make_app(std::make_index_sequence<loose_routes>{});
  keel::test_client client{app};
  CHECK(client.get("/r99/1").status == 404);
  CHECK(client.get("/r05/not-a-number").status == 400);
  const auto r = client.del("/g/a");
  CHECK(r.status == 405);
  CHECK(r.header("Allow") == "GET, HEAD, POST, OPTIONS");
}

TEST_CASE("flattened route types are in declaration order", "[router]") {
  using flat = keel::detail::flat_routes_t<decltype(numbered_route<3>()), decltype(numbered_route<4>())>;
  STATIC_REQUIRE(std::tuple_element_t<0, flat>::path == numbered_path<3>());
  STATIC_REQUIRE(std::tuple_element_t<1, flat>::path == numbered_path<4>());
}
