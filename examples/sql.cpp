// keel's SQL layer: migrations, a typed query, a transaction and N+1-free relation loading, on SQLite by
// default and on PostgreSQL when given a postgres:// URL.
//   build/examples/sql --migrate                          apply the migrations and exit
//   build/examples/sql --port 8080                        serve (applies pending migrations first)
//   KEEL_DATABASE_URL=postgres://user@127.0.0.1/db build/examples/sql --port 8080
//   curl -X POST http://127.0.0.1:8080/authors/Ada/articles/Notes
//   curl http://127.0.0.1:8080/articles/page/0
#include "keel/app.hpp"
#include "keel/json/response.hpp"
#include "keel/serve.hpp"
#include "keel/sql/database.hpp"
#include "keel/sql/migrate.hpp"
#if KEEL_EXAMPLE_POSTGRES
#include "keel/sql/postgres.hpp"  // lets keel::db open postgres:// URLs
#endif
#include "keel/sql/query.hpp"

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <span>
#include <string>
#include <vector>

// Named (not anonymous): reflecting field names needs types with linkage on clang.
namespace sql_example {

struct author {
  static constexpr std::string_view keel_table = "author";
  std::int64_t id;
  std::string name;
};

struct article {
  static constexpr std::string_view keel_table = "article";
  std::int64_t id;
  std::int64_t author_id;
  std::string title;
  std::chrono::system_clock::time_point created_at;
};

// What GET /articles answers: each article with its author's name.
struct article_view {
  std::int64_t id;
  std::string title;
  std::string author;
};

// Portable DDL: `INTEGER PRIMARY KEY` is SQLite's rowid; PostgreSQL gets an identity column.
constexpr keel::sql::migration sqlite_migrations[] = {
    {1, "author", "CREATE TABLE author (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE)"},
    {2, "article",
     "CREATE TABLE article (id INTEGER PRIMARY KEY, author_id INTEGER NOT NULL REFERENCES author(id), "
     "title TEXT NOT NULL, created_at TEXT NOT NULL);"
     "CREATE INDEX article_by_date ON article (created_at)"},
};
constexpr keel::sql::migration postgres_migrations[] = {
    {1, "author", "CREATE TABLE author (id BIGSERIAL PRIMARY KEY, name TEXT NOT NULL UNIQUE)"},
    {2, "article",
     "CREATE TABLE article (id BIGSERIAL PRIMARY KEY, author_id BIGINT NOT NULL REFERENCES author(id), "
     "title TEXT NOT NULL, created_at TIMESTAMPTZ NOT NULL);"
     "CREATE INDEX article_by_date ON article (created_at)"},
};

// POST /authors/{name}/articles/{title}: finds or creates the author and adds the article, atomically.
keel::task<std::string> add_article(std::string name, std::string title, keel::db& db) {
  auto tx = co_await db.begin();
  auto existing = co_await tx.query_one<std::int64_t>("SELECT id FROM author WHERE name = ?", name);
  std::int64_t author_id = 0;
  if (existing) {
    author_id = *existing;
  } else {
    author fresh{0, name};
    auto insert_author = keel::sql::insert(fresh);
    author_id = *co_await tx.fetch_one(insert_author);
  }
  article row{0, author_id, title, std::chrono::system_clock::now()};
  auto insert_article = keel::sql::insert(row);
  auto id = co_await tx.fetch_one(insert_article);
  co_await tx.commit();
  co_return std::to_string(*id);
}

// GET /articles/page/{page}: newest first, 20 a page; the authors of the page come in ONE extra query.
keel::task<std::vector<article_view>> list_articles(std::int64_t page, keel::db& db) {
  using keel::sql::field;
  auto query = keel::sql::select<article>()
                   .order_by(field<&article::created_at>, keel::sql::desc)
                   .limit(20)
                   .offset(page * 20);
  auto rows = co_await db.fetch(query);
  auto authors = co_await keel::sql::load_related<&author::id>(db, rows, &article::author_id);
  std::vector<article_view> out;
  out.reserve(rows.size());
  for (const article& a : rows) out.push_back({a.id, a.title, authors.at(a.author_id).name});
  co_return out;
}

}  // namespace sql_example
using namespace sql_example;

int main(int argc, char** argv) {
  const char* url = std::getenv("KEEL_DATABASE_URL");
  keel::db db{url != nullptr ? url : "sqlite:keel-example.db"};
  std::span<const keel::sql::migration> migrations =
      db.engine() == keel::sql::engine::postgres ? std::span<const keel::sql::migration>(postgres_migrations)
                                                 : std::span<const keel::sql::migration>(sqlite_migrations);
  if (keel::sql::migrate_command(argc, argv, db, migrations)) return 0;
  keel::sql::migrate_sync(db, migrations);

  auto api = keel::router{
      keel::post<"/authors/{name}/articles/{title}">(&add_article),
      keel::get<"/articles/page/{page}">(&list_articles),
  };
  keel::app{std::move(api)}.provide(db).serve(keel::server_config::from_args(argc, argv));
}
