// Tutorial step 4 (docs/tutorial.md): the bookmarks in SQLite, with migrations.
//   build/examples/tutorial_step4_sqlite --port 8080           (bookmarks.db in the working directory)
//   J='Content-Type: application/json'
//   curl -i -H "$J" -d '{"url":"https://isocpp.org","title":"C++","tags":["lang"]}' localhost:8080/bookmarks
//   curl 'localhost:8080/bookmarks?q=c%2B%2B'       curl -i -X DELETE localhost:8080/bookmarks/1
#include "bookmarks_store.hpp"

int main(int argc, char** argv) {
  keel::db db{"sqlite:bookmarks.db"};
  keel::sql::migrate_sync(db, bookmarks::migrations);  // blocking: before the server starts
  auto api = keel::router{
      keel::post<"/bookmarks">(&bookmarks::create_bookmark),
      keel::get<"/bookmarks">(&bookmarks::list_bookmarks),
      keel::get<"/bookmarks/{id}">(&bookmarks::get_bookmark),
      keel::del<"/bookmarks/{id}">(&bookmarks::delete_bookmark),
  };
  keel::app{std::move(api)}.provide(db).serve(keel::server_config::from_args(argc, argv));
}
