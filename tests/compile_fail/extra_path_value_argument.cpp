// Two path-value parameters for one path parameter.
#include <keel.hpp>
#include <cstdint>
int main() {
  auto r = keel::router{
      keel::get<"/users/{id}">([](std::int64_t id, int page) { return id + page > 0 ? "a" : "b"; })};
  (void)r;
}
