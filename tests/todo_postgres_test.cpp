// The todo example on PostgreSQL (its own database, keel_todo_test, on the test server) through
// keel::test_client: the cases of tests/todo_example_cases.inc, with the example's PostgreSQL migrations.
#include "../examples/todo_app.hpp"

#include "keel/sql/migrate.hpp"
#include "keel/sql/postgres.hpp"
#include "keel/sql/testing.hpp"
#include "keel/test_client.hpp"
#include "support/pg_test_server.hpp"

#include <catch2/catch.hpp>

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

#define ENGINE "postgres"

namespace {

// A database of its own: the SQL layer's tests keep their migrations in keel_test's migration table.
std::string todo_database_url() {
  std::string server = keel_test_support::pg_test_server_url();
  keel::sql::db_options one_connection;
  one_connection.postgres_connections = 1;
  keel::db admin{server, one_connection};
  if (admin.query_one_sync<std::int64_t>(
          "SELECT count(*) FROM pg_database WHERE datname = 'keel_todo_test'") == 0)
    admin.execute_script_sync("CREATE DATABASE keel_todo_test");
  return server.substr(0, server.rfind('/') + 1) + "keel_todo_test";
}

keel::db& todo_db() {
  static keel::db db{todo_database_url()};
  static bool migrated = (keel::sql::migrate_sync(db, todo::migrations_for(db.engine())), true);
  (void)migrated;
  return db;
}

// Sequences ignore rollbacks; RESTART IDENTITY inside the test's transaction is rolled back with it.
void reset_ids(keel::db& db) { db.execute_script_sync("TRUNCATE todo_tag, todo RESTART IDENTITY"); }

}  // namespace

#include "todo_example_cases.inc"

TEST_CASE("postgres: todo: the example's tables use PostgreSQL's types", "[example][todo]") {
  keel::db& db = todo_db();
  CHECK(db.engine() == keel::sql::engine::postgres);
  CHECK(db.query_one_sync<std::string>("SELECT data_type FROM information_schema.columns WHERE table_name = "
                                       "'todo' AND column_name = 'done'") == "boolean");
}
