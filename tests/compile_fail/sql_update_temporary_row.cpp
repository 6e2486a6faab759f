// update() of a braced temporary row inside co_await: refused like insert() (g++ 12 destroys it twice).
#include "keel/sql/database.hpp"
#include "keel/sql/query.hpp"

#include <cstdint>
#include <string>
#include <string_view>

namespace cf {
struct author {
  static constexpr std::string_view keel_table = "author";
  std::int64_t id;
  std::string name;
};

keel::task<std::int64_t> rename(keel::db& db, std::int64_t id, std::string name) {
  co_return co_await db.run(keel::sql::update(author{id, std::move(name)}));
}
}  // namespace cf

int main() { return 0; }
