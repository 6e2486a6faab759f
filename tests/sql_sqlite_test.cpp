// keel::db on SQLite: parameters and row mapping, type errors, the reader/writer pool, the blocking-call
// check, and handlers that co_await queries through the in-process client.
#include "keel/sql/database.hpp"

#include "keel/app.hpp"
#include "keel/offload.hpp"
#include "keel/server/worker_pool.hpp"
#include "keel/test_client.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <thread>
#include <vector>

// Named (not anonymous): reflecting field names needs types with linkage on clang.
namespace sql_sqlite_test {

enum class color { red, green, blue };

struct item {
  std::int64_t id;
  std::string name;
  double price;
  bool active;
  std::optional<std::string> note;
  color shade;
  std::chrono::system_clock::time_point created_at;
};

struct new_item {
  std::string name;
  double price;
  color shade;
};
struct wrong {
  std::string title;
};
struct numbers {
  std::int64_t n;
};
struct small {
  std::int8_t n;
};
struct named {
  std::string missing;
};

constexpr std::string_view schema =
    "CREATE TABLE item (id INTEGER PRIMARY KEY, name TEXT NOT NULL, price REAL NOT NULL, active INTEGER NOT "
    "NULL, note TEXT, shade TEXT NOT NULL, created_at TEXT NOT NULL)";

struct temp_file {
  std::filesystem::path path;
  explicit temp_file(std::string name)
      : path(std::filesystem::temp_directory_path() /
             (name + "-" + std::to_string(std::chrono::steady_clock::now().time_since_epoch().count()) +
              ".db")) {}
  ~temp_file() {
    std::error_code ec;
    for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path.string() + suffix, ec);
  }
};

template <class T>
T run(keel::task<T> t) {
  std::optional<keel::detail::task_result<T>> out;
  keel::detail::start_detached(std::move(t),
                               [&](keel::detail::task_result<T>&& r) { out.emplace(std::move(r)); });
  REQUIRE(out.has_value());
  if (out->exception) std::rethrow_exception(out->exception);
  if constexpr (!std::is_void_v<T>) return std::move(*out->value);
}

}  // namespace sql_sqlite_test
using namespace sql_sqlite_test;

TEST_CASE("placeholders are renumbered per engine; quotes, comments and casts are left alone", "[sql]") {
  using keel::sql::engine;
  auto r = keel::sql::detail::rewrite_placeholders(
      "SELECT '?', \"a:b\", x::int FROM t WHERE a = ? AND b = :name -- ?\n"
      "AND c = :name AND d = ?",
      engine::postgres);
  CHECK(r.text == "SELECT '?', \"a:b\", x::int FROM t WHERE a = $1 AND b = $2 -- ?\nAND c = $2 AND d = $3");
  CHECK(r.parameter_count == 3);
  REQUIRE(r.names.size() == 3);
  CHECK(r.names[1] == "name");
  auto s = keel::sql::detail::rewrite_placeholders("UPDATE t SET a = $2 WHERE id = $1", engine::sqlite);
  CHECK(s.text == "UPDATE t SET a = ?2 WHERE id = ?1");
  CHECK(s.parameter_count == 2);
}

TEST_CASE("values round-trip: ints, doubles, text, bool, NULL, enums and time points", "[sql]") {
  keel::db db{"sqlite::memory:"};
  db.execute_script_sync(schema);
  auto now = std::chrono::time_point_cast<std::chrono::milliseconds>(std::chrono::system_clock::now());
  CHECK(db.execute_sync(
            "INSERT INTO item (name, price, active, note, shade, created_at) VALUES (?, ?, ?, ?, ?, ?)",
            std::string("pen"), 1.5, true, std::optional<std::string>{}, color::green, now) == 1);
  std::string_view name = "ink";
  db.execute_sync("INSERT INTO item (name, price, active, note, shade, created_at) VALUES (?, ?, ?, ?, ?, ?)",
                  name, 2, false, std::optional<std::string>{"refill"}, color::blue, now);

  auto items = db.query_sync<item>("SELECT * FROM item ORDER BY id");
  REQUIRE(items.size() == 2);
  CHECK(items[0].id == 1);
  CHECK(items[0].name == "pen");
  CHECK(items[0].price == 1.5);
  CHECK(items[0].active);
  CHECK_FALSE(items[0].note.has_value());
  CHECK(items[0].shade == color::green);
  CHECK(items[0].created_at == now);
  CHECK(items[1].price == 2.0);
  CHECK_FALSE(items[1].active);
  CHECK(items[1].note == "refill");
  CHECK(items[1].shade == color::blue);

  CHECK(db.query_one_sync<std::int64_t>("SELECT count(*) FROM item") == 2);
  CHECK(db.query_one_sync<std::string>("SELECT name FROM item WHERE id = ?", 99) == std::nullopt);
  CHECK(db.query_sync<std::string>("SELECT shade FROM item ORDER BY id") ==
        std::vector<std::string>{"green", "blue"});
}

TEST_CASE("named parameters bind from a DTO's fields, or in order of first appearance", "[sql]") {
  keel::db db{":memory:"};
  db.execute_script_sync(schema);
  db.execute_sync(
      "INSERT INTO item (name, price, active, shade, created_at) VALUES (:name, :price, 1, :shade, "
      "'2026-01-01T00:00:00Z')",
      new_item{"cup", 3.25, color::red});
  CHECK(db.query_one_sync<double>("SELECT price FROM item WHERE name = :n AND shade = :s", "cup",
                                  color::red) == 3.25);
  CHECK_THROWS_WITH(db.query_sync<std::string>("SELECT name FROM item WHERE name = :name", wrong{"x"}),
                    Catch::Contains(":name has no field"));
  CHECK_THROWS_WITH(db.query_sync<std::string>("SELECT name FROM item WHERE id = ? AND name = ?", 1),
                    Catch::Contains("1 argument(s) for 2 parameter(s)"));
}

TEST_CASE("a column that does not fit the field names the column and both types", "[sql]") {
  keel::db db{":memory:"};
  CHECK_THROWS_AS(db.query_sync<numbers>("SELECT 'abc' AS n"), keel::sql::type_error);
  CHECK_THROWS_WITH(db.query_sync<numbers>("SELECT 'abc' AS n"),
                    Catch::Contains("column \"n\": expected integer, got text"));
  CHECK_THROWS_WITH(db.query_sync<numbers>("SELECT NULL AS n"),
                    Catch::Contains("expected integer, got null"));
  CHECK_THROWS_WITH(db.query_sync<small>("SELECT 300 AS n"), Catch::Contains("out of range"));
  CHECK_THROWS_WITH(db.query_sync<named>("SELECT 1 AS n"), Catch::Contains("no column \"missing\""));
  CHECK_THROWS_WITH(db.query_sync<color>("SELECT 'purple'"),
                    Catch::Contains("not a name of the field's enum"));
}

TEST_CASE("constraint violations and SQL errors throw with the engine's message", "[sql]") {
  keel::db db{":memory:"};
  db.execute_script_sync(
      "CREATE TABLE parent (id INTEGER PRIMARY KEY);"
      "CREATE TABLE child (id INTEGER PRIMARY KEY, parent_id INTEGER NOT NULL REFERENCES parent(id))");
  CHECK_THROWS_AS(db.execute_sync("INSERT INTO child (parent_id) VALUES (?)", 42),
                  keel::sql::constraint_error);
  CHECK_THROWS_WITH(db.execute_sync("SELEKT 1"), Catch::Contains("syntax error"));
}

TEST_CASE("a file database: WAL, readers see the writer's commits, statements are cached", "[sql]") {
  temp_file file("keel-sql");
  keel::sql::db_options options;
  options.sqlite_readers = 2;
  keel::db db{"sqlite:" + file.path.string(), options};
  CHECK(db.query_one_sync<std::string>("PRAGMA journal_mode") == "wal");
  CHECK(db.query_one_sync<std::int64_t>("PRAGMA foreign_keys") == 1);
  db.execute_script_sync("CREATE TABLE n (v INTEGER)");
  auto cached = [&] {
    return db.blocking(keel::sql::access::write,
                       [](keel::sql::connection& c) { return c.cached_statements(); });
  };
  std::size_t before = cached();
  for (int i = 0; i < 10; ++i) db.execute_sync("INSERT INTO n (v) VALUES (?)", i);
  CHECK(cached() == before + 1);  // ten inserts, one prepared statement
  CHECK(db.query_one_sync<std::int64_t>("SELECT sum(v) FROM n") == 45);
  // readers are read-only connections
  CHECK_THROWS(db.blocking(keel::sql::access::read,
                           [](keel::sql::connection& c) { c.execute_script("DELETE FROM n"); }));
}

TEST_CASE("keel turns off SQLite's process-wide memory statistics before SQLite starts", "[sql]") {
  // No test in this binary touches SQLite before keel does, so keel's first connection configured it.
  temp_file file("keel-sql-memstatus");
  keel::db db{"sqlite:" + file.path.string()};
  db.execute_script_sync("CREATE TABLE m (v TEXT)");
  db.execute_sync("INSERT INTO m (v) VALUES (?)", std::string(5000, 'x'));
  CHECK(db.query_one_sync<std::string>("SELECT v FROM m")->size() == 5000);
  CHECK(sqlite3_memory_used() == 0);  // with statistics on, SQLite counts every byte it holds
  // Once SQLite has started its configuration can no longer change, so keel's call is then a no-op.
  CHECK(sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 1) == SQLITE_MISUSE);
}

TEST_CASE("co_await queries run on the worker pool and resume on the reactor", "[sql]") {
  keel::db db{":memory:"};
  db.execute_script_sync(schema);
  auto app = keel::app{
      keel::router{
          keel::post<"/items/{name}">([](std::string name, keel::db& d) -> keel::task<std::string> {
            auto reactor_thread = std::this_thread::get_id();
            co_await d.execute(
                "INSERT INTO item (name, price, active, shade, created_at) VALUES (?, 1, 1, 'red', "
                "'2026-01-01T00:00:00Z')",
                name);
            if (std::this_thread::get_id() != reactor_thread) throw std::logic_error("wrong thread");
            auto n = co_await d.query_one<std::int64_t>("SELECT count(*) FROM item");
            co_return std::to_string(*n);
          }),
          keel::get<"/items">([](keel::db& d) -> keel::task<std::string> {
            auto rows = co_await d.query<item>("SELECT * FROM item ORDER BY name");
            std::string out;
            for (auto& r : rows) out += r.name + ",";
            co_return out;
          }),
          keel::get<"/blocking">(
              [](keel::db& d) { return std::to_string(d.query_sync<int>("SELECT 1")[0]); }),
      }}.provide(db);
  keel::test_client client{app};
  CHECK(client.post("/items/b", "").body == "1");
  CHECK(client.post("/items/a", "").body == "2");
  CHECK(client.get("/items").body == "a,b,");
#if KEEL_SQL_CHECK_BLOCKING
  CHECK(client.get("/blocking").status == 500);  // a synchronous query on the reactor thread is caught
#endif
}

TEST_CASE("the co_await API also runs without a reactor (plain unit tests)", "[sql]") {
  keel::db db{":memory:"};
  auto rows = run(db.query<std::int64_t>("SELECT ? + ?", 20, 22));
  REQUIRE(rows.size() == 1);
  CHECK(rows[0] == 42);
}

TEST_CASE("many coroutines contend for the one writer without tying up the worker pool", "[sql]") {
  keel::db db{":memory:"};
  db.execute_script_sync("CREATE TABLE counter (n INTEGER NOT NULL)");
  asio::io_context reactor;
  keel::worker_pool workers(2);
  int finished = 0;
  {
    keel::detail::reactor_scope scope(reactor, &workers);
    auto one = [&db](int n) -> keel::task<void> {
      // Holds the writer across suspensions; the others wait suspended, not on a worker thread (with 2
      // workers and 12 waiters, blocking waits would deadlock).
      auto tx = co_await db.begin();
      co_await tx.execute("INSERT INTO counter (n) VALUES (?)", n);
      co_await keel::sleep_for(std::chrono::milliseconds(1));
      co_await tx.commit();
    };
    for (int i = 0; i < 12; ++i)
      keel::detail::start_detached(one(i), [&](keel::detail::task_result<void>&& r) {
        if (!r.exception) ++finished;
      });
    reactor.run();
  }
  CHECK(finished == 12);
  CHECK(db.query_one_sync<std::int64_t>("SELECT count(*) FROM counter") == 12);
}
