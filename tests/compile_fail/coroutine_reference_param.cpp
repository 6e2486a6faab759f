// A coroutine taking a path parameter by reference would dangle after suspending.
#include <keel.hpp>
#include <keel/test_client.hpp>
#include <string>
int main() {
  auto app = keel::app{keel::router{
      keel::get<"/x/{id}">([](const std::string& id) -> keel::task<std::string> { co_return id; })}};
  keel::test_client client{app};
  (void)client.get("/x/1");
}
