// The todo example's routes and app over a keel::db, shared by examples/todo.cpp and the todo tests.
#pragma once

#include "todo_model.hpp"
#include "todo_store.hpp"

#include <keel.hpp>
#include <keel/openapi/docs.hpp>
#include <keel/sql/database.hpp>

#include <utility>

namespace todo {

// Each route carries its documentation (summary for the OpenAPI document, the 404 message of the handlers
// that return std::optional).
inline auto make_router() {
  return keel::router{
      keel::get<"/todos">(&list_todos).doc({.summary = "List todos, filtered and paged"}),
      keel::post<"/todos">(&create_todo).doc({.summary = "Create a todo"}),
      keel::get<"/todos/{id}">(&get_todo).doc({.summary = "One todo", .not_found = "no such todo"}),
      keel::put<"/todos/{id}">(&replace_todo).doc({.summary = "Replace a todo", .not_found = "no such todo"}),
      keel::patch<"/todos/{id}">(&patch_todo)
          .doc({.summary = "Change some fields of a todo", .not_found = "no such todo"}),
      keel::del<"/todos/{id}">(&delete_todo).doc({.summary = "Delete a todo"}),
  };
}

// The OpenAPI document's info: served at /openapi.json and printed by `todo openapi`.
inline keel::openapi::info api_info() {
  return {.title = "Todo API",
          .version = "1.0.0",
          .description =
              "keel's example: a small CRUD API over validated DTOs, stored in SQLite (or PostgreSQL)."};
}

// The app over `db` (migrated with migrations_for(db.engine()); it must outlive the app).
inline auto make_app(keel::db& db) {
  auto api = make_router();
  // --- OpenAPI / docs: `/openapi.json` and `/docs` (Swagger UI from the CDN, or from $KEEL_DOCS_ASSETS). ---
  auto docs = keel::openapi_docs(api, {.info = api_info()});
  return keel::app{std::move(api)}.use(std::move(docs)).provide(db);
}

}  // namespace todo
