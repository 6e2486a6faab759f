// A small CRUD API over typed DTOs stored in SQLite (PostgreSQL with a URL): validated bodies, query
// filters, paging, 201 + Location, 404, 422; migrations at start-up.
// clang-format off
//   build/examples/todo --port 8080                       todo.db in the working directory
//   build/examples/todo --db /var/lib/todo.db             another file (also KEEL_DATABASE_URL)
//   build/examples/todo --db postgres://user@127.0.0.1/todo
//   build/examples/todo --migrate                         apply the migrations and exit
//   J='Content-Type: application/json'
//   curl -i -H "$J" -d '{"title":"buy milk","tags":["home"]}' localhost:8080/todos
//   curl -i 'localhost:8080/todos?done=false&tag=home&limit=10'
//   curl -i -X PATCH -H "$J" -d '{"done":true}' localhost:8080/todos/1
//   curl -i -H "$J" -d '{"title":"","priority":9}' localhost:8080/todos     (a 422 listing both fields)
// clang-format on
#include "todo_app.hpp"

#include <keel/sql/migrate.hpp>
#if KEEL_EXAMPLE_POSTGRES
#include <keel/sql/postgres.hpp>  // lets keel::db open postgres:// URLs
#endif

#include <cstdlib>
#include <stdexcept>
#include <string>
#include <string_view>

namespace {

// `--db URL` (or `--db=URL`), else $KEEL_DATABASE_URL, else todo.db in the working directory. The server's
// own flags (--port, ...) are read by server_config::from_args, which leaves this one to the app.
std::string database_url(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg == "--db") {
      if (i + 1 >= argc) throw std::invalid_argument("todo: missing value after --db");
      return argv[i + 1];
    }
    if (arg.starts_with("--db=")) return std::string(arg.substr(5));
  }
  if (const char* url = std::getenv("KEEL_DATABASE_URL"); url != nullptr && *url != '\0') return url;
  return "sqlite:todo.db";
}

}  // namespace

int main(int argc, char** argv) {
  auto config = keel::server_config::from_args(argc, argv);
  keel::db db{database_url(argc, argv)};
  auto migrations = todo::migrations_for(db.engine());
  if (keel::sql::migrate_command(argc, argv, db, migrations)) return 0;
  keel::sql::migrate_sync(db, migrations);
  todo::make_app(db).serve(config);
}
