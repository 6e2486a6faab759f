// Tutorial step 5 (docs/tutorial.md): the finished app. Route documentation, a middleware that guards the
// writes, and the OpenAPI document with its /docs page. step5_docs.cpp serves it; step6_test.cpp tests it.
#pragma once

#include "bookmarks_store.hpp"

#include <keel.hpp>
#include <keel/openapi/docs.hpp>

#include <string_view>
#include <utility>

namespace bookmarks {

// A middleware: a class with before(ctx) and/or after(ctx). This one lets a request through only with the
// right X-Api-Key header (a real app would compare against a secret from its configuration).
struct require_api_key {
  template <class Ctx>
  keel::flow before(Ctx& ctx) const {
    if (ctx.request().header("X-Api-Key") != "tutorial") {
      ctx.fail(keel::unauthorized("send the header X-Api-Key: tutorial"));
      return keel::flow::respond;  // the handler does not run
    }
    return keel::flow::next;
  }
};

// .doc({...}) documents a route where it is written: the summary and tags appear in /openapi.json and on
// /docs; `not_found` is what the 404 of a std::optional handler says.
inline auto make_router() {
  return keel::router{
      keel::post<"/bookmarks">(&create_bookmark)
          .use(require_api_key{})
          .doc({.summary = "Save a bookmark", .tags = {"bookmarks"}}),
      keel::get<"/bookmarks">(&list_bookmarks)
          .doc({.summary = "List bookmarks, searched and paged", .tags = {"bookmarks"}}),
      keel::get<"/bookmarks/{id}">(&get_bookmark)
          .doc({.summary = "One bookmark", .tags = {"bookmarks"}, .not_found = "no such bookmark"}),
      keel::del<"/bookmarks/{id}">(&delete_bookmark)
          .use(require_api_key{})
          .doc({.summary = "Delete a bookmark", .tags = {"bookmarks"}}),
  };
}

// The app over `db` (migrated; it must outlive the app). openapi_docs answers GET /openapi.json and /docs.
inline auto make_app(keel::db& db) {
  auto api = make_router();
  auto docs = keel::openapi_docs(api, {.info = {.title = "Bookmarks", .version = "1.0.0"}});
  return keel::app{std::move(api)}.use(std::move(docs)).provide(db);
}

}  // namespace bookmarks
