// Tutorial step 5 (docs/tutorial.md): route documentation, a middleware, OpenAPI and /docs.
//   build/examples/tutorial_step5_docs --port 8080      then open http://127.0.0.1:8080/docs
//   J='Content-Type: application/json'
//   curl -i -H "$J" -d '{"url":"https://isocpp.org","title":"C++"}' localhost:8080/bookmarks     (401)
//   curl -i -H "$J" -H 'X-Api-Key: tutorial' -d '{"url":"https://isocpp.org","title":"C++"}'
//   localhost:8080/bookmarks
#include "bookmarks_app.hpp"

int main(int argc, char** argv) {
  keel::db db{"sqlite:bookmarks.db"};
  keel::sql::migrate_sync(db, bookmarks::migrations);
  bookmarks::make_app(db).serve(keel::server_config::from_args(argc, argv));
}
