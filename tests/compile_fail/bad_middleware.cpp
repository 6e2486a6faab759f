// A middleware with neither before nor after.
#include <keel.hpp>
#include <keel/test_client.hpp>
struct nothing {};
int main() {
  auto app = keel::app{keel::router{keel::get<"/x">([] { return "x"; })}}.use<nothing>();
  keel::test_client client{app};
  (void)client.get("/x");
}
