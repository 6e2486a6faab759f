// A handler returning std::optional<T> can only say "404" by returning nullopt; an http_error needs
// keel::result<T>.
#include <keel.hpp>
#include <keel/json.hpp>
#include <keel/test_client.hpp>
#include <optional>
#include <string>
struct item {
  std::string name;
};
int main() {
  auto app = keel::app{keel::router{keel::get<"/items/{id}">([](int id) -> keel::task<std::optional<item>> {
    if (id == 1) co_return item{"one"};
    co_return keel::not_found("no such item");
  })}};
  keel::test_client client{app};
  (void)client.get("/items/2");
}
