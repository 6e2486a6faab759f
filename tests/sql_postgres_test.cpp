// The engine-independent SQL behaviour (tests/sql_engine_cases.inc) on a real PostgreSQL server, plus what is
// PostgreSQL's own: isolation levels, typed columns (boolean, timestamptz, numeric) and SQLSTATE errors.
// KEEL_TEST_PG_URL names the server; without it the test starts one with scripts/pg-test-server (idempotent:
// ctest runs it as a fixture first and stops the server after the last test).
#include "keel/sql/postgres.hpp"

#include "keel/app.hpp"
#include "keel/offload.hpp"
#include "keel/server/worker_pool.hpp"
#include "keel/sql/aggregate.hpp"
#include "keel/sql/json_column.hpp"
#include "keel/sql/migrate.hpp"
#include "keel/sql/page.hpp"
#include "keel/sql/query.hpp"
#include "keel/sql/testing.hpp"
#include "keel/test_client.hpp"
#include "support/pg_test_server.hpp"

#include <catch2/catch.hpp>

#include <asio/io_context.hpp>

#include <array>
#include <exception>
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

TEST_CASE("postgres: a read snapshot does not see a commit made after it began", "[sql]") {
  keel::db& db = test_db();
  db.execute_script_sync(
      "CREATE TABLE IF NOT EXISTS keel_snapshot_probe (n BIGINT NOT NULL); DELETE FROM keel_snapshot_probe; "
      "INSERT INTO keel_snapshot_probe VALUES (1)");
  std::vector<std::int64_t> seen;
  run([&]() -> keel::task<void> {
    auto snapshot = co_await db.snapshot();
    CHECK(co_await snapshot.query_one<std::string>("SHOW transaction_isolation") == "repeatable read");
    db.execute_sync("UPDATE keel_snapshot_probe SET n = 2");  // committed on another connection
    seen.push_back(*co_await snapshot.query_one<std::int64_t>("SELECT n FROM keel_snapshot_probe"));
    CHECK_THROWS(co_await snapshot.execute("UPDATE keel_snapshot_probe SET n = 3"));
    co_await snapshot.close();
    seen.push_back(*co_await db.query_one<std::int64_t>("SELECT n FROM keel_snapshot_probe"));
  }());
  CHECK(seen == std::vector<std::int64_t>{1, 2});
}

TEST_CASE(
    "postgres: a held row lock is a busy_error (503 + Retry-After in a handler), class 54 a limit_error",
    "[sql]") {
  keel::db& db = test_db();
  db.execute_script_sync(
      "CREATE TABLE IF NOT EXISTS keel_lock_probe (id BIGINT PRIMARY KEY); "
      "INSERT INTO keel_lock_probe VALUES (1) ON CONFLICT DO NOTHING");
  keel::sql::db_options one_connection;
  one_connection.postgres_connections = 1;
  keel::db other{server_url(), one_connection};
  auto holder = other.lease_writer_blocking();
  holder->execute_script("BEGIN; SELECT id FROM keel_lock_probe WHERE id = 1 FOR UPDATE");

  constexpr std::string_view locking = "SELECT id FROM keel_lock_probe WHERE id = 1 FOR UPDATE NOWAIT";
  CHECK_THROWS_AS(db.query_sync<std::int64_t>(locking), keel::sql::busy_error);  // 55P03
  auto app = keel::app{keel::router{keel::get<"/locked">([&db, locking]() -> keel::task<std::string> {
               auto rows = co_await db.query<std::int64_t>(locking);
               co_return std::to_string(rows.size());
             })}}.provide(db);
  keel::test_client client{app};
  auto r = client.get("/locked");
  CHECK(r.status == 503);
  CHECK(r.header("Retry-After") == "1");
  holder->execute_script("ROLLBACK");
  CHECK(client.get("/locked").status == 200);

  std::string wide = "SELECT 1";  // a target list of 2000 entries: 54011 program_limit_exceeded
  for (int i = 1; i < 2000; ++i) wide += ", 1";
  CHECK_THROWS_AS(db.query_sync<std::int64_t>(wide), keel::sql::limit_error);
}

// A transaction holds a row lock across a co_await while more statements than the app has worker threads wait
// for that lock. Each PostgreSQL connection runs its statements on a thread of its own, so the waiters block
// only their connections and the COMMIT that frees them runs. (With the shared pool the waiters took both
// workers and the commit never ran: the Conduit example hung under concurrent favorites.) A statement timeout
// turns the old behaviour into errors instead of a hung test.
TEST_CASE("postgres: a transaction commits while more statements than workers wait on its lock", "[sql]") {
  std::string url = server_url();
  url += (url.find('?') == std::string::npos ? "?" : "&");
  url += "options=-c%20statement_timeout%3D5000";
  keel::sql::db_options options;
  options.postgres_connections = 4;
  keel::db db{url, options};
  db.execute_script_sync(
      "CREATE TABLE IF NOT EXISTS keel_lock_waiters (id INTEGER PRIMARY KEY, n INTEGER NOT NULL); "
      "DELETE FROM keel_lock_waiters; INSERT INTO keel_lock_waiters VALUES (1, 0)");
  int finished = 0;
  std::vector<std::exception_ptr> failures;
  asio::io_context reactor;
  keel::worker_pool workers(2);
  {
    keel::detail::reactor_scope scope(reactor, &workers);
    auto holder = [&]() -> keel::task<void> {
      auto tx = co_await db.begin();
      co_await tx.execute("UPDATE keel_lock_waiters SET n = n + 1 WHERE id = 1");
      co_await keel::sleep_for(std::chrono::milliseconds(300));  // the waiters take every worker meanwhile
      co_await tx.commit();
    };
    auto waiter = [&]() -> keel::task<void> {
      co_await keel::sleep_for(std::chrono::milliseconds(50));
      co_await db.execute("UPDATE keel_lock_waiters SET n = n + 1 WHERE id = 1");
    };
    auto done = [&](keel::detail::task_result<void>&& r) {
      ++finished;
      if (r.exception) failures.push_back(r.exception);
    };
    keel::detail::start_detached(holder(), done);
    for (int i = 0; i < 3; ++i) keel::detail::start_detached(waiter(), done);
    reactor.run_for(std::chrono::seconds(30));
  }  // the blocking check below runs off the reactor
  CHECK(finished == 4);
  for (const std::exception_ptr& e : failures) {
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& ex) {
      FAIL_CHECK(ex.what());
    }
  }
  CHECK(db.query_one_sync<std::int64_t>("SELECT n FROM keel_lock_waiters WHERE id = 1") == 4);
}
