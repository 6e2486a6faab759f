// Tutorial step 6 (docs/tutorial.md): testing the app with keel::test_client: requests go through the whole
// pipeline (middleware, extractors, handlers, the database) without a socket. Run by ctest as tutorial_test.
#include "bookmarks_app.hpp"

#include <keel/test_client.hpp>

#include <cstdio>
#include <string>
#include <string_view>

namespace {

int failures = 0;

void expect(bool ok, std::string_view what) {
  if (!ok) {
    std::fprintf(stderr, "FAILED: %.*s\n", static_cast<int>(what.size()), what.data());
    ++failures;
  }
}

bool contains(std::string_view text, std::string_view piece) {
  return text.find(piece) != std::string_view::npos;
}

}  // namespace

int main() {
  keel::db db{"sqlite::memory:"};  // a fresh database for each run
  keel::sql::migrate_sync(db, bookmarks::migrations);
  auto app = bookmarks::make_app(db);
  keel::test_client client{app};
  const keel::test_headers key{{"X-Api-Key", "tutorial"}};

  auto r = client.post("/bookmarks", R"({"url":"https://isocpp.org","title":"100% C++","tags":["lang"]})");
  expect(r.status == 401, "a write without the API key is refused");

  r = client.post("/bookmarks", R"({"url":"https://isocpp.org","title":"100% C++","tags":["lang"]})", key);
  expect(r.status == 201, "POST answers 201");
  expect(r.header("Location") == "/bookmarks/1", "with the new bookmark's Location");
  expect(r.body == R"({"id":1,"url":"https://isocpp.org","title":"100% C++","tags":["lang"]})",
         "and its JSON");
  client.post("/bookmarks", R"({"url":"https://www.sqlite.org","title":"SQLite"})", key);

  r = client.post("/bookmarks", R"({"url":"nope","title":""})", key);
  expect(r.status == 422, "a bad body is a 422");
  expect(contains(r.body, R"("path":"url")") && contains(r.body, R"("path":"title")"),
         "naming each bad field");

  r = client.get("/bookmarks?q=%25");  // `%`: a percent sign, not a wildcard
  expect(contains(r.body, R"("total":1)") && contains(r.body, "100% C++"), "search matches text literally");
  r = client.get("/bookmarks?limit=1&offset=1");
  expect(contains(r.body, R"("items":[{"id":2,)") && contains(r.body, R"("total":2,"limit":1,"offset":1})"),
         "a page of one, and the total");
  expect(client.get("/bookmarks?limit=500").status == 422, "limit is at most 100");

  r = client.get("/bookmarks/9");
  expect(r.status == 404 && contains(r.body, "no such bookmark"),
         "a missing bookmark is a 404 with its message");
  expect(client.del("/bookmarks/1", key).status == 204, "DELETE answers 204");
  expect(client.get("/bookmarks/1").status == 404, "and the bookmark is gone");

  r = client.get("/openapi.json");
  expect(r.status == 200 && contains(r.body, R"("summary":"Save a bookmark")"), "the OpenAPI document");

  if (failures == 0) std::puts("tutorial_test: all checks passed");
  return failures == 0 ? 0 : 1;
}
