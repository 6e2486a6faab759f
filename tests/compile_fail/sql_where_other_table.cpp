// A typed select's condition on another table's field: the SQL would name a column the table may not have.
#include "keel/sql/query.hpp"

#include <cstdint>
#include <string_view>

namespace cf {
struct post {
  std::int64_t id;
  static constexpr std::string_view keel_table = "post";
};
struct tag {
  std::int64_t id;
  std::int64_t post_id;
  static constexpr std::string_view keel_table = "tag";
};
}  // namespace cf

int main() {
  using keel::sql::field;
  auto query =
      keel::sql::select<cf::post>().where(field<&cf::post::id> == 1 && field<&cf::tag::post_id> == 2);
  return static_cast<int>(query.sql().size());
}
