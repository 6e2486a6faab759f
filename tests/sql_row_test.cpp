// keel::sql row mapping through the whole-statement run (fetch_all) on an in-memory SQLite connection:
// every row comes back, in order, with long (heap-allocated) text intact, for counts on both sides of the
// vector's first capacity.
#include "keel/sql/row.hpp"

#include "keel/sql/sqlite.hpp"

#include <catch2/catch.hpp>

#include <cstdint>
#include <string>
#include <vector>

// Named (not anonymous): reflecting field names needs types with linkage on clang.
namespace sql_row_test {

struct line {
  std::int32_t id;
  std::string text;
};

std::string long_text(int i) {
  return "row number " + std::to_string(i) + " with text past the short-string buffer";
}

}  // namespace sql_row_test
using namespace sql_row_test;

TEST_CASE("fetch_all returns every row in order for small and large results", "[sql][row]") {
  keel::sql::sqlite_connection c(":memory:", keel::sql::sqlite_options{});
  c.execute_script("CREATE TABLE line (id INTEGER PRIMARY KEY, text TEXT NOT NULL)");
  int inserted = 0;
  for (int wanted : {0, 1, 7, 8, 9, 17, 40}) {
    DYNAMIC_SECTION("rows: " << wanted) {
      while (inserted < wanted) {
        ++inserted;
        keel::sql::detail::execute(c, "INSERT INTO line (id, text) VALUES (?, ?)", inserted,
                                   long_text(inserted));
      }
      auto rows = keel::sql::detail::fetch_all<line>(c, "SELECT id, text FROM line WHERE id <= ? ORDER BY id",
                                                     wanted);
      REQUIRE(rows.size() == static_cast<std::size_t>(wanted));
      for (int i = 0; i < wanted; ++i) {
        CHECK(rows[static_cast<std::size_t>(i)].id == i + 1);
        CHECK(rows[static_cast<std::size_t>(i)].text == long_text(i + 1));
      }
      // The statement was reset: it runs again with the same answer.
      CHECK(
          keel::sql::detail::fetch_all<line>(c, "SELECT id, text FROM line WHERE id <= ? ORDER BY id", wanted)
              .size() == static_cast<std::size_t>(wanted));
    }
  }
}
