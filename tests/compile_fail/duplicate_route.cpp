// Same shape, same method: ambiguous.
#include <keel.hpp>
#include <keel/test_client.hpp>
int main() {
  auto app = keel::app{keel::router{keel::get<"/u/{id}">([](int) { return "a"; }),
                                    keel::get<"/u/{name}">([](int) { return "b"; })}};
  keel::test_client client{app};
  (void)client.get("/u/1");
}
