// The todo example's data: the API's DTOs, the table rows they are stored as, and the schema migrations
// (SQLite and PostgreSQL).
#pragma once

#include <keel/json.hpp>
#include <keel/sql/database.hpp>
#include <keel/sql/migrate.hpp>
#include <keel/sql/page.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace todo {

using tag = keel::text<1, 30>;

// What the API answers with.
struct todo_item {
  std::int64_t id = 0;
  std::string title;
  std::optional<int> priority;  // 0 (none) .. 5 (urgent); left out when not set
  bool done = false;
  std::vector<std::string> tags;
};

// POST /todos and PUT /todos/{id}: title required, the rest optional.
struct new_todo {
  keel::text<1, 120> title;
  std::optional<keel::range<int, 0, 5>> priority;
  std::optional<bool> done;
  std::optional<keel::sized<std::vector<tag>, 0, 10>> tags;
  using keel_unknown_fields = keel::reject;  // a typo such as "titel" is a 422, not silently dropped
};

// PATCH /todos/{id}: only the fields sent change. A todo always has a title, so `"title": null` is a 422
// (std::optional: may be left out, never null); `"priority": null` clears the priority (keel::nullable).
struct todo_patch {
  std::optional<keel::text<1, 120>> title;
  keel::nullable<keel::range<int, 0, 5>> priority;
  std::optional<bool> done;
  std::optional<keel::sized<std::vector<tag>, 0, 10>> tags;
  using keel_unknown_fields = keel::reject;
};

// GET /todos?done=false&tag=home&tag=urgent&q=milk&limit=20&offset=40
struct todo_filter {
  std::optional<bool> done;
  std::vector<std::string> tag;         // repeated: todos carrying every one of them
  std::optional<keel::text<1, 120>> q;  // a piece of the title, any letter case
  // keel::paging's two fields (absent keys keep these defaults), here so one 422 names every bad key.
  decltype(keel::paging::limit) limit = 20;
  decltype(keel::paging::offset) offset = 0;
};

// The answer of GET /todos: {"items":[...],"total":N,"limit":L,"offset":O}.
using todo_page = keel::page<todo_item>;

// --- Storage: one row per todo, one per tag (in the order given, by id).

// snippet: todo_row
struct todo_row {
  static constexpr std::string_view keel_table = "todo";
  std::int64_t id = 0;
  std::string title;
  std::optional<int> priority;
  bool done = false;
};
// end snippet: todo_row

struct todo_tag_row {
  static constexpr std::string_view keel_table = "todo_tag";
  std::int64_t id = 0;
  std::int64_t todo_id = 0;
  std::string name;
};

// Applied in order at start-up (or by `todo --migrate`); never edit one that shipped, add the next version.
// The same schema in each engine's dialect: SQLite's `INTEGER PRIMARY KEY` is its rowid, PostgreSQL gets
// BIGSERIAL and a real boolean.
// snippet: migrations
constexpr keel::sql::migration sqlite_migrations[] = {
    {1, "todo",
     "CREATE TABLE todo (id INTEGER PRIMARY KEY, title TEXT NOT NULL, "
     "priority INTEGER CHECK (priority BETWEEN 0 AND 5), done INTEGER NOT NULL DEFAULT 0)"},
    {2, "todo tags",
     "CREATE TABLE todo_tag (id INTEGER PRIMARY KEY, "
     "todo_id INTEGER NOT NULL REFERENCES todo(id) ON DELETE CASCADE, name TEXT NOT NULL);"
     "CREATE INDEX todo_tag_by_todo ON todo_tag (todo_id);"
     "CREATE INDEX todo_tag_by_name ON todo_tag (name, todo_id)"},
};
// end snippet: migrations
constexpr keel::sql::migration postgres_migrations[] = {
    {1, "todo",
     "CREATE TABLE todo (id BIGSERIAL PRIMARY KEY, title TEXT NOT NULL, "
     "priority INTEGER CHECK (priority BETWEEN 0 AND 5), done BOOLEAN NOT NULL DEFAULT false)"},
    {2, "todo tags",
     "CREATE TABLE todo_tag (id BIGSERIAL PRIMARY KEY, "
     "todo_id BIGINT NOT NULL REFERENCES todo(id) ON DELETE CASCADE, name TEXT NOT NULL);"
     "CREATE INDEX todo_tag_by_todo ON todo_tag (todo_id);"
     "CREATE INDEX todo_tag_by_name ON todo_tag (name, todo_id)"},
};

inline std::span<const keel::sql::migration> migrations_for(keel::sql::engine engine) {
  if (engine == keel::sql::engine::postgres) return postgres_migrations;
  return sqlite_migrations;
}

}  // namespace todo
