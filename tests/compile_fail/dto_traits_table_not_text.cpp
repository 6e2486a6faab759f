// keel::dto_traits<T> declaring keel_table with the wrong type: the hook's own message, not a concept
// failure.
#include "keel/sql/query.hpp"

#include <cstdint>
#include <string>

namespace vendor {
struct point {
  std::int64_t id;
  std::string name;
};
}  // namespace vendor

template <>
struct keel::dto_traits<vendor::point> {
  static constexpr int keel_table = 3;
};

int main() {
  vendor::point p{1, "a"};
  auto insert = keel::sql::insert(p);
  (void)insert.sql();
}
