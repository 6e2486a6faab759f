// The todo example's handlers over keel::db: typed queries for reading and paging, DTO inserts and updates,
// and a transaction wherever a todo and its tags change together.
#pragma once

#include "todo_model.hpp"

#include <keel.hpp>
#include <keel/sql/database.hpp>
#include <keel/sql/query.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace todo {

using keel::sql::field;

// The filter the builder cannot say with a column comparison, as a condition over a bound value.
inline keel::sql::condition has_tag(const std::string& name) {
  keel::sql::condition c{R"("id" IN (SELECT "todo_id" FROM "todo_tag" WHERE "name" = ?))", {}};
  c.params.add(name);
  return c;
}

// snippet: matching
inline keel::sql::select_query<todo_row> matching(const todo_filter& filter) {
  keel::sql::select_query<todo_row> query = keel::sql::select<todo_row>();  // built at run time
  if (filter.done) query.where(field<&todo_row::done> == *filter.done);
  for (const std::string& name : filter.tag) query.where(has_tag(name));
  if (filter.q) query.where(field<&todo_row::title>.contains(**filter.q));  // `%` is a percent sign
  return query;
}
// end snippet: matching

inline std::vector<std::string> tag_names(const std::optional<keel::sized<std::vector<tag>, 0, 10>>& tags) {
  std::vector<std::string> out;
  if (!tags) return out;
  out.reserve((**tags).size());
  for (const auto& t : **tags) out.push_back(*t);
  return out;
}

inline todo_item to_item(const todo_row& row, std::vector<std::string> tags) {
  return {row.id, row.title, row.priority, row.done, std::move(tags)};
}
inline todo_row to_row(const todo_item& item) { return {item.id, item.title, item.priority, item.done}; }

// A replacement (POST, PUT): fields left out take their defaults.
inline todo_item from_body(std::int64_t id, const new_todo& in) {
  todo_item item{id, *in.title, std::nullopt, in.done.value_or(false), tag_names(in.tags)};
  if (in.priority) item.priority = **in.priority;
  return item;
}

// The rows with their tags, in ONE query for the whole page. `Executor`: keel::db, a transaction or a
// read snapshot.
template <class Executor>
keel::task<std::vector<todo_item>> with_tags(Executor& executor, std::vector<todo_row> rows) {
  std::vector<std::int64_t> ids;
  ids.reserve(rows.size());
  for (const todo_row& row : rows) ids.push_back(row.id);
  auto query = keel::sql::select<todo_tag_row>()
                   .where(field<&todo_tag_row::todo_id>.in(ids))
                   .order_by(field<&todo_tag_row::id>);
  std::unordered_map<std::int64_t, std::vector<std::string>> tags;
  for (todo_tag_row& t : co_await executor.fetch(query)) tags[t.todo_id].push_back(std::move(t.name));
  std::vector<todo_item> items;
  items.reserve(rows.size());
  for (const todo_row& row : rows) items.push_back(to_item(row, std::move(tags[row.id])));
  co_return items;
}

inline keel::task<void> write_tags(keel::sql::transaction& tx, const todo_item& item) {
  co_await tx.execute("DELETE FROM todo_tag WHERE todo_id = ?", item.id);
  for (const std::string& name : item.tags) {
    todo_tag_row row{0, item.id, name};
    auto insert = keel::sql::insert(row);  // named: g++ 12 mishandles temporaries inside co_await
    co_await tx.fetch_one(insert);
  }
}

// --- The handlers.

// snippet: list_todos
// The count, the page and its tags read one snapshot: a todo created, deleted or retagged meanwhile cannot
// make `total` disagree with `items`, or a todo come back without its tags.
inline keel::task<todo_page> list_todos(keel::query<todo_filter> filter, keel::db& db) {
  auto matches = matching(*filter).order_by(field<&todo_row::id>);
  auto snapshot = co_await db.snapshot();
  keel::page<todo_row> rows = co_await keel::sql::fetch_page(snapshot, std::move(matches), *filter);
  todo_page page{{}, rows.total, rows.limit, rows.offset};
  page.items = co_await with_tags(snapshot, std::move(rows.items));
  co_return page;
}
// end snippet: list_todos

// The row and its tags from one snapshot: never the tags of a later write with the title of an earlier one.
inline keel::task<std::optional<todo_item>> get_todo(std::int64_t id, keel::db& db) {
  auto find = keel::sql::find<todo_row>(id);
  auto snapshot = co_await db.snapshot();
  auto row = co_await snapshot.fetch_one(find);
  if (!row) co_return std::nullopt;
  std::vector<todo_row> rows{*row};
  co_return (co_await with_tags(snapshot, std::move(rows))).front();
}

// snippet: create_todo
// The todo and its tags in one transaction: both are stored, or neither.
inline keel::task<keel::created<todo_item>> create_todo(keel::json<new_todo> body, keel::db& db) {
  todo_item item = from_body(0, *body);
  todo_row row = to_row(item);
  auto insert = keel::sql::insert(row);
  auto tx = co_await db.begin();
  item.id = *co_await tx.fetch_one(insert);
  co_await write_tags(tx, item);
  co_await tx.commit();
  std::string location = "/todos/" + std::to_string(item.id);
  co_return keel::created<todo_item>{std::move(item), std::move(location)};
}
// end snippet: create_todo

inline keel::task<std::optional<todo_item>> replace_todo(std::int64_t id, keel::json<new_todo> body,
                                                         keel::db& db) {
  todo_item item = from_body(id, *body);
  todo_row row = to_row(item);
  auto update = keel::sql::update(row);
  auto tx = co_await db.begin();
  if (co_await tx.run(update) == 0) co_return std::nullopt;  // dropping tx rolls it back
  co_await write_tags(tx, item);
  co_await tx.commit();
  co_return item;
}

inline keel::task<std::optional<todo_item>> patch_todo(std::int64_t id, keel::json<todo_patch> body,
                                                       keel::db& db) {
  const todo_patch& in = *body;
  auto find = keel::sql::find<todo_row>(id);
  auto tx = co_await db.begin();
  std::optional<todo_row> row = co_await tx.fetch_one(find);
  if (!row) co_return std::nullopt;
  if (in.title) row->title = **in.title;
  in.priority.apply_to(row->priority);  // absent: kept; null: cleared; a number: set
  if (in.done) row->done = *in.done;
  auto update = keel::sql::update(*row);
  co_await tx.run(update);
  todo_item item;
  if (in.tags) {
    item = to_item(*row, tag_names(in.tags));
    co_await write_tags(tx, item);
  } else {
    std::vector<todo_row> rows{*row};
    item = (co_await with_tags(tx, std::move(rows))).front();
  }
  co_await tx.commit();
  co_return item;
}

// The tags go with it (ON DELETE CASCADE).
inline keel::task<keel::result<keel::status_only>> delete_todo(std::int64_t id, keel::db& db) {
  auto remove = keel::sql::remove<todo_row>(id);
  if (co_await db.run(remove) == 0) co_return keel::not_found("no todo with id " + std::to_string(id));
  co_return keel::status_only{keel::http::status::no_content};
}

}  // namespace todo
