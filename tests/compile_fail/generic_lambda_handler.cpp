// auto parameters cannot be matched against a path.
#include <keel.hpp>
int main() {
  auto r = keel::router{keel::get<"/x/{id}">([](auto id) { return id; })};
  (void)r;
}
