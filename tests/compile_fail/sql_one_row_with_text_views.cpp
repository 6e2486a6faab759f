// query_one<T> of a row whose std::string_view field would borrow text from a result nobody keeps.
#include "keel/sql/row.hpp"

#include <cstdint>
#include <string_view>

namespace cf {
struct note {
  std::int64_t id;
  std::string_view text;
};
}  // namespace cf

int main() {
  keel::sql::connection* c = nullptr;
  auto row = keel::sql::detail::fetch_one<cf::note>(*c, "SELECT id, text FROM note");
  return row ? 1 : 0;
}
