// The engine-independent SQL behaviour (tests/sql_engine_cases.inc) on SQLite: a WAL file with a reader
// pool and one writer.
#include "keel/sql/testing.hpp"

#include "keel/app.hpp"
#include "keel/json.hpp"
#include "keel/openapi/document.hpp"
#include "keel/sql/aggregate.hpp"
#include "keel/sql/json_column.hpp"
#include "keel/sql/migrate.hpp"
#include "keel/sql/page.hpp"
#include "keel/sql/query.hpp"
#include "keel/test_client.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#define ENGINE "sqlite"

namespace {

constexpr std::string_view probe_table_sql = "CREATE TABLE IF NOT EXISTS keel_probe (v INTEGER NOT NULL)";

constexpr keel::sql::migration app_migrations[] = {
    {1, "author", "CREATE TABLE author (id INTEGER PRIMARY KEY, name TEXT NOT NULL, bio TEXT)"},
    {2, "article",
     "CREATE TABLE article (id INTEGER PRIMARY KEY, author_id INTEGER NOT NULL REFERENCES author(id), "
     "title TEXT NOT NULL, score INTEGER NOT NULL, state TEXT NOT NULL, created_at TEXT NOT NULL)"},
};

keel::db& test_db() {
  static const std::string path = [] {
    auto p = std::filesystem::temp_directory_path() /
             ("keel-sql-engine-" +
              std::to_string(std::chrono::steady_clock::now().time_since_epoch().count()) + ".db");
    return p.string();
  }();
  static struct cleanup {
    ~cleanup() {
      std::error_code ec;
      for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path + suffix, ec);
    }
  } remove_files;
  static keel::db db = [] {
    keel::sql::db_options options;
    options.sqlite_readers = 2;
    return keel::db{"sqlite:" + path, options};
  }();
  static bool migrated = (keel::sql::migrate_sync(db, app_migrations), true);
  (void)migrated;
  return db;
}

}  // namespace

#include "sql_engine_cases.inc"

// Handler lambdas stay in the main file: g++ warns (-Wsubobject-linkage) about no-linkage types from an
// included file inside coroutine frames.
TEST_CASE(ENGINE ": handlers co_await queries and transactions through the server pipeline", "[sql]") {
  keel::db& db = test_db();
  keel::sql::test_transaction fixture{db};
  auto app = keel::app{
      keel::router{
          keel::post<"/authors/{name}">([](std::string name, keel::db& d) -> keel::task<std::string> {
            auto tx = co_await d.begin();
            // g++ 12 destroys an aggregate temporary inside a co_await expression twice:
            // name it first.
            author fresh{0, name, std::nullopt};
            auto insert = keel::sql::insert(fresh);
            auto id = co_await tx.fetch_one(insert);
            co_await tx.commit();
            co_return std::to_string(*id);
          }),
          keel::get<"/authors/{id}">([](std::int64_t id, keel::db& d) -> keel::task<std::string> {
            auto a = co_await d.fetch_one(keel::sql::find<author>(id));
            if (!a) throw keel::http_error(keel::http::status::not_found);
            co_return a->name;
          }),
      }}.provide(db);
  keel::test_client client{app};
  auto created = client.post("/authors/Hopper", "");
  REQUIRE(created.status == 200);
  CHECK(client.get("/authors/" + created.body).body == "Hopper");
  CHECK(client.get("/authors/999999").status == 404);
}

// keel::paging and keel::page<T> as the OpenAPI document describes them: limit 1..100 defaulting to 20,
// offset >= 0 defaulting to 0, and the page's four members, all required.
TEST_CASE("paging: the OpenAPI document describes keel::paging and keel::page<T>", "[sql]") {
  auto r = keel::router{
      keel::get<"/authors">([](keel::query<keel::paging>) -> keel::page<author> { return {}; }),
  };
  std::string doc = keel::openapi::document(r);
  CHECK(
      doc.find(R"({"name":"limit","in":"query","required":false,"schema":{"type":"integer","format":"int32",)"
               R"("minimum":1,"maximum":100,"default":20}})") != std::string::npos);
  CHECK(doc.find(
            R"({"name":"offset","in":"query","required":false,"schema":{"type":"integer","format":"int64",)"
            R"("minimum":0,)") != std::string::npos);
  CHECK(doc.find(R"("default":0}})") != std::string::npos);
  CHECK(doc.find(R"("required":["items","total","limit","offset"])") != std::string::npos);
}
