// Built with -fsanitize=undefined (null checks included) by the ubsan_constexpr ctest: g++ 12 made the
// router's compile-time path parsing "not a constant expression" under them (string_view::find's null check
// on a pointer into a route's path template argument). Routes of every shape, the trie and the OpenAPI
// document are all evaluated at compile time here.
#include <keel.hpp>
#include <keel/json.hpp>
#include <keel/openapi.hpp>
#include <keel/test_client.hpp>

#include <cstdint>
#include <string>

namespace {
struct item {
  std::int64_t id = 0;
  std::string name;
};
}  // namespace

int main() {
  auto api = keel::router{
      keel::get<"/">([] { return "root"; }),
      keel::get<"/items/">([] { return "list"; }),
      keel::get<"/items/{id}">([](std::int64_t id) {
        return item{id, "x"};
      }),
      keel::get<"/items/{id}/tags/{tag}">([](std::int64_t, std::string tag) { return tag; }),
      keel::get<"/named/{a}/{b}">(
          [](keel::path<"b", int> b, keel::path<"a", int> a) { return std::to_string(*a + *b); }),
      keel::get<"/files/{rest...}">([](std::string rest) { return rest; }),
      keel::post<"/items">([](keel::json<item> body) { return body->name; }),
  };
  auto docs = keel::openapi_docs(api, {});
  auto app = keel::app{std::move(api)}.use(std::move(docs));
  keel::test_client client{app};
  return client.get("/items/1").status == 200 ? 0 : 1;
}
