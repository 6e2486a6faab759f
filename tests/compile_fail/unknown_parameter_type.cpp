// A parameter that is neither path value, extractor, state nor service.
#include <keel.hpp>
#include <keel/test_client.hpp>
struct not_a_service {
  int x;
};
int main() {
  auto app = keel::app{keel::router{keel::get<"/x">([](not_a_service& s) { return s.x > 0 ? "a" : "b"; })}};
  keel::test_client client{app};
  (void)client.get("/x");
}
