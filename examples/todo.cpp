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
#include <string>

namespace {

// --db wins, then $KEEL_DATABASE_URL, then todo.db in the working directory.
std::string database_url(const keel::command_line& cli) {
  if (auto url = cli.value("db")) return *url;
  if (const char* url = std::getenv("KEEL_DATABASE_URL"); url != nullptr && *url != '\0') return url;
  return "sqlite:todo.db";
}

}  // namespace

int main(int argc, char** argv) {
  // Strict: an unknown flag or a bad value prints one line and exits 2; --help lists these and keel's flags.
  const auto cli = keel::parse_command_line(
      argc, argv,
      {{.name = "db",
        .value_name = "URL",
        .description = "database: a file, sqlite:FILE or postgres://... (default $KEEL_DATABASE_URL, else "
                       "todo.db)"},
       {.name = "migrate", .value_name = "", .description = "apply the migrations and exit"}});
  keel::db db{database_url(cli)};
  auto migrations = todo::migrations_for(db.engine());
  if (keel::sql::migrate_command(argc, argv, db, migrations)) return 0;
  keel::sql::migrate_sync(db, migrations);
  todo::make_app(db).serve(cli.config);
}
