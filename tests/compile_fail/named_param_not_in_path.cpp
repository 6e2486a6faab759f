// keel::path<"idd", ...> names no parameter of "/users/{id}".
#include <keel.hpp>
int main() {
  auto r =
      keel::router{keel::get<"/users/{id}">([](keel::path<"idd", int> id) { return *id > 0 ? "a" : "b"; })};
  (void)r;
}
