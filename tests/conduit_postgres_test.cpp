// The Conduit example on PostgreSQL (its own database, keel_conduit_test, on the test server) through
// keel::test_client: the cases of conduit_cases.inc and conduit_article_cases.inc with the example's
// PostgreSQL migrations.
#include "../examples/conduit/app.hpp"

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

std::string conduit_database_url() {
  std::string server = keel_test_support::pg_test_server_url();
  keel::sql::db_options one_connection;
  one_connection.postgres_connections = 1;
  keel::db admin{server, one_connection};
  if (admin.query_one_sync<std::int64_t>(
          "SELECT count(*) FROM pg_database WHERE datname = 'keel_conduit_test'") == 0)
    admin.execute_script_sync("CREATE DATABASE keel_conduit_test");
  return server.substr(0, server.rfind('/') + 1) + "keel_conduit_test";
}

keel::db& conduit_db() {
  static keel::db db{conduit_database_url()};
  static bool migrated = (keel::sql::migrate_sync(db, conduit::migrations_for(db.engine())), true);
  (void)migrated;
  return db;
}

// Sequences ignore rollbacks; RESTART IDENTITY inside the test's transaction is rolled back with it.
void reset_ids(keel::db& db) {
  db.execute_script_sync("TRUNCATE comment, favorite, article_tag, article, follow, users RESTART IDENTITY");
}

}  // namespace

#include "conduit_cases.inc"
#include "conduit_article_cases.inc"

TEST_CASE("postgres: conduit: timestamps are timestamptz", "[example][conduit]") {
  keel::db& db = conduit_db();
  CHECK(db.engine() == keel::sql::engine::postgres);
  CHECK(db.query_one_sync<std::string>("SELECT data_type FROM information_schema.columns WHERE table_name = "
                                       "'article' AND column_name = 'created_at'") ==
        "timestamp with time zone");
}
