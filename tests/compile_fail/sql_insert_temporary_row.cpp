// A braced temporary row inside co_await: g++ 12 destroys it twice at run time, so keel refuses it.
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

keel::task<std::int64_t> add(keel::db& db, std::string name) {
  auto id = co_await db.fetch_one(keel::sql::insert(author{0, std::move(name)}));
  co_return *id;
}
}  // namespace cf

int main() { return 0; }
