// A coroutine handler asks for a service the app never provided (no .provide(store)): one message about the
// service, not a second one claiming the reference would dangle.
#include <keel.hpp>
#include <keel/test_client.hpp>
#include <string>
struct todo_store {
  std::string name = "store";
};
int main() {
  auto app = keel::app{keel::router{
      keel::get<"/x">([](todo_store& store) -> keel::task<std::string> { co_return store.name; })}};
  keel::test_client client{app};
  (void)client.get("/x");
}
