// The engine-independent SQL behaviour (tests/sql_engine_cases.inc) on a real PostgreSQL server, plus what is
// PostgreSQL's own: isolation levels, typed columns (boolean, timestamptz, numeric) and SQLSTATE errors.
// KEEL_TEST_PG_URL names the server; without it the test starts one with scripts/pg-test-server (idempotent:
// ctest runs it as a fixture first and stops the server after the last test).
#include "keel/sql/postgres.hpp"

#include "keel/app.hpp"
#include "keel/sql/migrate.hpp"
#include "keel/sql/query.hpp"
#include "keel/sql/testing.hpp"
#include "keel/test_client.hpp"
#include "support/pg_test_server.hpp"

#include <catch2/catch.hpp>

#include <array>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#define ENGINE "postgres"

namespace {

constexpr std::string_view probe_table_sql = "CREATE TABLE IF NOT EXISTS keel_probe (v BIGINT NOT NULL)";

constexpr keel::sql::migration app_migrations[] = {
    {1, "author", "CREATE TABLE author (id BIGSERIAL PRIMARY KEY, name TEXT NOT NULL, bio TEXT)"},
    {2, "article",
     "CREATE TABLE article (id BIGSERIAL PRIMARY KEY, author_id BIGINT NOT NULL REFERENCES author(id), "
     "title TEXT NOT NULL, score INTEGER NOT NULL, state TEXT NOT NULL, created_at TIMESTAMPTZ NOT NULL)"},
};

std::string server_url() { return keel_test_support::pg_test_server_url(); }

keel::db& test_db() {
  static keel::db db{server_url()};
  static bool migrated = (keel::sql::migrate_sync(db, app_migrations), true);
  (void)migrated;
  return db;
}

}  // namespace

#include "sql_engine_cases.inc"

TEST_CASE("postgres: isolation levels, typed columns and SQLSTATE errors", "[sql]") {
  keel::db& db = test_db();
  CHECK(db.engine() == keel::sql::engine::postgres);
  run([&]() -> keel::task<void> {
    auto tx = co_await db.begin(keel::sql::isolation::serializable);
    auto level = co_await tx.query_one<std::string>("SHOW transaction_isolation");
    CHECK(level == "serializable");
    co_await tx.rollback();
    auto rc = co_await db.begin(keel::sql::isolation::repeatable_read);
    CHECK(co_await rc.query_one<std::string>("SHOW transaction_isolation") == "repeatable read");
  }());
  CHECK(db.query_one_sync<bool>("SELECT $1::boolean", true) == true);
  CHECK(db.query_one_sync<double>("SELECT 1.25::numeric") == 1.25);
  CHECK(db.query_one_sync<std::int64_t>("SELECT $1::bigint + $2::bigint", 40, 2) == 42);
  auto t = std::chrono::time_point_cast<std::chrono::milliseconds>(std::chrono::system_clock::now());
  CHECK(db.query_one_sync<std::chrono::system_clock::time_point>("SELECT $1::timestamptz", t) == t);
  CHECK_THROWS_WITH(db.query_sync<bool>("SELECT 'yes'::text"), Catch::Contains("expected boolean, got text"));
  keel::sql::test_transaction fixture{db};
  CHECK_THROWS_AS(db.execute_sync("INSERT INTO article (author_id, title, score, state, created_at) VALUES "
                                  "(-1, 't', 1, 'draft', now())"),
                  keel::sql::constraint_error);
}
