// Tutorial step 4 (docs/tutorial.md): the bookmarks stored in SQLite. The table, its migrations, and the
// handlers over keel::db; examples/tutorial/step4_sqlite.cpp serves them.
#pragma once

#include <keel.hpp>
#include <keel/json.hpp>
#include <keel/sql.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace bookmarks {

using keel::sql::field;

// One row of the `bookmark` table, and what the API answers with. keel::sql::json<T> stores the tags as
// one JSON document (TEXT on SQLite, jsonb on PostgreSQL); in the answer they are a plain array.
struct bookmark {
  static constexpr std::string_view keel_table = "bookmark";
  std::int64_t id = 0;  // the primary key (a field named id): the database picks it on insert
  std::string url;
  std::string title;
  keel::sql::json<std::vector<std::string>> tags;
};

struct new_bookmark {
  keel::url url;
  keel::text<1, 200> title;
  std::optional<keel::sized<std::vector<keel::text<1, 30>>, 0, 10>> tags;
  using keel_unknown_fields = keel::reject;
};

struct bookmark_filter {
  std::optional<keel::text<1, 100>> q;
  decltype(keel::paging::limit) limit = 20;
  decltype(keel::paging::offset) offset = 0;
};

// Applied once each, in order, at start-up; a shipped migration is never edited: add the next one.
constexpr keel::sql::migration migrations[] = {
    {1, "bookmark", "CREATE TABLE bookmark (id INTEGER PRIMARY KEY, url TEXT NOT NULL, title TEXT NOT NULL)"},
    {2, "bookmark tags", "ALTER TABLE bookmark ADD COLUMN tags TEXT NOT NULL DEFAULT '[]'"},
};

// Every co_await query runs on keel's worker pool; the handler resumes on its own thread after it.
inline keel::task<keel::created<bookmark>> create_bookmark(keel::json<new_bookmark> body, keel::db& db) {
  bookmark row{0, *body->url, *body->title, {}};
  if (body->tags)
    for (const auto& tag : **body->tags) row.tags->push_back(*tag);
  row.id = *co_await db.fetch_one(keel::sql::insert(row));  // INSERT ... RETURNING "id"
  std::string location = "/bookmarks/" + std::to_string(row.id);
  co_return keel::created<bookmark>{std::move(row), std::move(location)};
}

inline keel::task<std::optional<bookmark>> get_bookmark(std::int64_t id, keel::db& db) {
  co_return co_await db.fetch_one(keel::sql::find<bookmark>(id));
}

// `contains` matches the user's text literally (a `%` is a percent sign) in any letter case; fetch_page
// counts every match and reads one page, both from one snapshot of the database.
inline keel::task<keel::page<bookmark>> list_bookmarks(keel::query<bookmark_filter> filter, keel::db& db) {
  keel::sql::select_query<bookmark> query = keel::sql::select<bookmark>();
  if (filter->q) query.where(field<&bookmark::title>.contains(**filter->q));
  query.order_by(field<&bookmark::id>);
  co_return co_await keel::sql::fetch_page(db, std::move(query), *filter);
}

inline keel::task<keel::result<keel::status_only>> delete_bookmark(std::int64_t id, keel::db& db) {
  // Named before the `if`: g++ 12 loses the coroutine when a temporary sits in an `if` condition's co_await.
  std::int64_t removed = co_await db.run(keel::sql::remove<bookmark>(id));
  if (removed == 0) co_return keel::not_found("no such bookmark");
  co_return keel::status_only{keel::http::status::no_content};
}

}  // namespace bookmarks
