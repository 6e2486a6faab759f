// {id} has no handler parameter.
#include <keel.hpp>
int main() {
  auto r = keel::router{keel::get<"/users/{id}">([] { return "x"; })};
  (void)r;
}
