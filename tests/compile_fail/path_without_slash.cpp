// Route paths start with '/'.
#include <keel.hpp>
int main() {
  auto r = keel::router{keel::get<"users">([] { return "x"; })};
  (void)r;
}
