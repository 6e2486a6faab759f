// The todo example on SQLite (an in-memory database, migrated like the real one) through keel::test_client;
// the cases are in tests/todo_example_cases.inc, shared with the PostgreSQL run.
#include "../examples/todo_app.hpp"

#include "keel/sql/migrate.hpp"
#include "keel/sql/testing.hpp"
#include "keel/test_client.hpp"

#include <catch2/catch.hpp>

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

#define ENGINE "sqlite"

namespace {

keel::db& todo_db() {
  static keel::db db{"sqlite::memory:"};
  static bool migrated = (keel::sql::migrate_sync(db, todo::migrations_for(db.engine())), true);
  (void)migrated;
  return db;
}

// SQLite hands out max(id) + 1, so ids start at 1 again once a test's rows are rolled back.
void reset_ids(keel::db&) {}

}  // namespace

#include "todo_example_cases.inc"
