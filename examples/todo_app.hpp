// The todo example's API: DTOs, the in-memory store and the routes, shared by examples/todo.cpp and
// tests/todo_example_test.cpp.
#pragma once

#include <keel.hpp>
#include <keel/json.hpp>
#include <keel/openapi/docs.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
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

// PATCH /todos/{id}: only the fields sent change.
struct todo_patch {
  std::optional<keel::text<1, 120>> title;
  std::optional<keel::range<int, 0, 5>> priority;
  std::optional<bool> done;
  std::optional<keel::sized<std::vector<tag>, 0, 10>> tags;
  using keel_unknown_fields = keel::reject;
};

// GET /todos?done=false&tag=home&tag=urgent&q=milk&limit=20&offset=40
struct todo_filter {
  std::optional<bool> done;
  std::vector<std::string> tag;         // repeated: todos carrying every one of them
  std::optional<keel::text<1, 120>> q;  // a piece of the title
  keel::range<int, 1, 100> limit = 20;  // absent keys keep these defaults
  keel::range<int, 0, 1000000> offset = 0;
};

struct todo_page {
  std::vector<todo_item> items;
  std::size_t total = 0;  // matches before paging
  int limit = 0;
  int offset = 0;
};

// In memory for now; the SQL issue moves it onto SQLite. One mutex: this is an example, not the hot path.
class todo_store {
 public:
  todo_item create(const new_todo& in) {
    std::lock_guard lock(mutex_);
    todo_item item;
    item.id = next_id_++;
    apply(item, in);
    todos_.emplace(item.id, item);
    return item;
  }

  std::optional<todo_item> find(std::int64_t id) const {
    std::lock_guard lock(mutex_);
    auto it = todos_.find(id);
    if (it == todos_.end()) return std::nullopt;
    return it->second;
  }

  todo_page list(const todo_filter& filter) const {
    std::lock_guard lock(mutex_);
    todo_page page;
    page.limit = *filter.limit;
    page.offset = *filter.offset;
    auto offset = static_cast<std::size_t>(*filter.offset);
    for (const auto& [id, item] : todos_) {
      if (!matches(item, filter)) continue;
      if (page.total >= offset && page.items.size() < static_cast<std::size_t>(*filter.limit))
        page.items.push_back(item);
      ++page.total;
    }
    return page;
  }

  std::optional<todo_item> replace(std::int64_t id, const new_todo& in) {
    std::lock_guard lock(mutex_);
    auto it = todos_.find(id);
    if (it == todos_.end()) return std::nullopt;
    it->second = todo_item{};
    it->second.id = id;
    apply(it->second, in);
    return it->second;
  }

  std::optional<todo_item> update(std::int64_t id, const todo_patch& in) {
    std::lock_guard lock(mutex_);
    auto it = todos_.find(id);
    if (it == todos_.end()) return std::nullopt;
    todo_item& item = it->second;
    if (in.title) item.title = **in.title;
    if (in.priority) item.priority = **in.priority;
    if (in.done) item.done = *in.done;
    if (in.tags) item.tags = to_strings(**in.tags);
    return item;
  }

  bool remove(std::int64_t id) {
    std::lock_guard lock(mutex_);
    return todos_.erase(id) == 1;
  }

 private:
  static std::vector<std::string> to_strings(const std::vector<tag>& tags) {
    std::vector<std::string> out;
    out.reserve(tags.size());
    for (const auto& t : tags) out.push_back(*t);
    return out;
  }

  static void apply(todo_item& item, const new_todo& in) {
    item.title = *in.title;
    if (in.priority) item.priority = **in.priority;
    item.done = in.done.value_or(false);
    if (in.tags) item.tags = to_strings(**in.tags);
  }

  static bool matches(const todo_item& item, const todo_filter& filter) {
    if (filter.done && item.done != *filter.done) return false;
    for (const auto& wanted : filter.tag)
      if (std::find(item.tags.begin(), item.tags.end(), wanted) == item.tags.end()) return false;
    if (filter.q && item.title.find(**filter.q) == std::string::npos) return false;
    return true;
  }

  mutable std::mutex mutex_;
  std::map<std::int64_t, todo_item> todos_;  // ordered by id: pages are stable
  std::int64_t next_id_ = 1;
};

inline auto make_router() {
  return keel::router{
      keel::get<"/todos">(
          [](keel::query<todo_filter> filter, const todo_store& store) { return store.list(*filter); }),
      keel::post<"/todos">([](keel::json<new_todo> body, todo_store& store) {
        todo_item item = store.create(*body);
        std::string location = "/todos/" + std::to_string(item.id);
        return keel::created<todo_item>{std::move(item), std::move(location)};
      }),
      keel::get<"/todos/{id}">([](std::int64_t id, const todo_store& store) { return store.find(id); }),
      keel::put<"/todos/{id}">([](std::int64_t id, keel::json<new_todo> body, todo_store& store) {
        return store.replace(id, *body);
      }),
      keel::patch<"/todos/{id}">([](std::int64_t id, keel::json<todo_patch> body, todo_store& store) {
        return store.update(id, *body);
      }),
      keel::del<"/todos/{id}">([](std::int64_t id, todo_store& store) -> keel::result<keel::status_only> {
        if (!store.remove(id)) return keel::not_found("no todo with id " + std::to_string(id));
        return keel::status_only{keel::http::status::no_content};
      }),
  };
}

// The app over `store` (which must outlive it).
inline auto make_app(todo_store& store) {
  auto api = make_router();
  // --- OpenAPI / docs: `/openapi.json` and `/docs` (Swagger UI assets from $KEEL_DOCS_ASSETS). ---
  auto docs = keel::openapi_docs(
      api, {.info = {.title = "Todo API",
                     .version = "1.0.0",
                     .description = "keel's example: a small CRUD API over validated DTOs.",
                     .operations = {{"GET /todos", {.summary = "List todos, filtered and paged"}},
                                    {"POST /todos", {.summary = "Create a todo"}},
                                    {"GET /todos/{id}", {.summary = "One todo"}},
                                    {"PUT /todos/{id}", {.summary = "Replace a todo"}},
                                    {"PATCH /todos/{id}", {.summary = "Change some fields of a todo"}},
                                    {"DELETE /todos/{id}", {.summary = "Delete a todo"}}}}});
  return keel::app{std::move(api)}.use(std::move(docs)).provide(store);
}

}  // namespace todo
