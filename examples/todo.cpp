// A small CRUD API over typed DTOs stored in SQLite (PostgreSQL with a URL): validated bodies, query
// filters, paging, 201 + Location, 404, 422; migrations at start-up.
// clang-format off
//   build/examples/todo --port 8080                       todo.db in the working directory
//   build/examples/todo --db /var/lib/todo.db             another file (also KEEL_DATABASE_URL)
//   build/examples/todo --db postgres://user@127.0.0.1/todo
//   build/examples/todo migrate [up|status]               apply the migrations (or list them) and exit
//   build/examples/todo routes | openapi | config | --help
//   J='Content-Type: application/json'
//   curl -i -H "$J" -d '{"title":"buy milk","tags":["home"]}' localhost:8080/todos
//   curl -i 'localhost:8080/todos?done=false&tag=home&limit=10'
//   curl -i -X PATCH -H "$J" -d '{"done":true}' localhost:8080/todos/1
//   curl -i -H "$J" -d '{"title":"","priority":9}' localhost:8080/todos     (a 422 listing both fields)
// clang-format on
#include "todo_app.hpp"

#include <keel/settings.hpp>
#include <keel/sql/migrate.hpp>
#if KEEL_EXAMPLE_POSTGRES
#include <keel/sql/postgres.hpp>  // lets keel::db open postgres:// URLs
#endif

#include <cstdlib>
#include <string>
#include <string_view>
#include <utility>

namespace todo_cli {  // named: keel reflects field names from structs with linkage

// The command line (keel/settings.hpp): these, TODO_DB / TODO_MIGRATE, or --config FILE; keel's flags too.
struct settings {
  std::string db{};
  bool migrate = false;  // the older spelling of `todo migrate`

  static constexpr std::pair<std::string_view, std::string_view> keel_field_descriptions[] = {
      {"db", "database: a file, sqlite:FILE or postgres://... (default $KEEL_DATABASE_URL, else todo.db)"},
      {"migrate", "apply the migrations and exit (as `todo migrate`)"},
  };
  static constexpr std::pair<std::string_view, std::string_view> keel_value_names[] = {{"db", "URL"}};
};

// --db wins, then $KEEL_DATABASE_URL, then todo.db in the working directory.
std::string database_url(const settings& s) {
  if (!s.db.empty()) return s.db;
  if (const char* url = std::getenv("KEEL_DATABASE_URL"); url != nullptr && *url != '\0') return url;
  return "sqlite:todo.db";
}

}  // namespace todo_cli

int main(int argc, char** argv) {
  // Strict: every unknown flag or bad value is listed and the exit status is 2; --help lists the commands,
  // these settings and keel's flags. `todo routes`, `todo openapi` and `todo config` open no database.
  const auto cli = keel::parse_app_command_line<todo_cli::settings>(
      argc, argv,
      {.env_prefix = "TODO_", .about = "A CRUD API over SQLite or PostgreSQL.", .migrations = true});
  const std::string url = todo_cli::database_url(cli.settings);
  auto migrate = [&url](std::string_view action) {
    keel::db db{url};
    return keel::sql::run_migrate_command(db, todo::migrations_for(db.engine()), action);
  };
  if (cli.settings.migrate) return migrate("up");
  if (auto status =
          keel::run_command(cli, todo::make_router(), {.openapi = todo::api_info(), .migrate = migrate}))
    return *status;
  keel::db db{url};
  keel::sql::migrate_sync(db, todo::migrations_for(db.engine()));
  todo::make_app(db).serve(cli.config);
}
