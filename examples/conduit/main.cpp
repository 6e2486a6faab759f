// keel's flagship example: the RealWorld "Conduit" API (https://realworld-docs.netlify.app/) — users and JWT
// authentication, profiles and follows, articles with tags, favorites, comments, a feed — over SQLite
// (PostgreSQL with a URL), with its OpenAPI document and Swagger UI. See docs/conduit.md.
// clang-format off
//   build/examples/conduit --port 8080                         conduit.db in the working directory
//   build/examples/conduit --db postgres://user@127.0.0.1/conduit --jwt-secret "$SECRET"
//   build/examples/conduit --migrate                           apply the migrations and exit
//   J='Content-Type: application/json'
//   curl -H "$J" -d '{"user":{"username":"ada","email":"ada@example.com","password":"lovelace"}}' localhost:8080/api/users
//   curl -H "$J" -H "Authorization: Token $TOKEN" -d '{"article":{"title":"Hi","description":"d","body":"b"}}' localhost:8080/api/articles
//   curl 'localhost:8080/api/articles?limit=20'                     open http://localhost:8080/docs
// clang-format on
#include "app.hpp"

#include <keel/sql/migrate.hpp>
#if KEEL_EXAMPLE_POSTGRES
#include <keel/sql/postgres.hpp>  // lets keel::db open postgres:// URLs
#endif

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <string_view>

namespace {

// --db wins, then $KEEL_DATABASE_URL, then conduit.db in the working directory.
std::string database_url(const keel::command_line& cli) {
  if (auto url = cli.value("db")) return *url;
  if (const char* url = std::getenv("KEEL_DATABASE_URL"); url != nullptr && *url != '\0') return url;
  return "sqlite:conduit.db";
}

// Without --jwt-secret: the secret kept beside the database file (FILE.jwt-secret), or conduit.jwt-secret
// in the working directory for a server database; an in-memory database gets a fresh one per run.
std::string jwt_secret(const keel::command_line& cli, std::string_view url) {
  if (auto secret = cli.value("jwt-secret")) return *secret;
  if (url.starts_with("postgres://") || url.starts_with("postgresql://"))
    return conduit::load_or_create_secret("conduit.jwt-secret");
  if (url.starts_with("sqlite:")) url.remove_prefix(7);
  if (url.empty() || url == ":memory:") {
    std::filesystem::path temp = std::filesystem::temp_directory_path() / "conduit-memory.jwt-secret";
    std::filesystem::remove(temp);
    std::string secret = conduit::load_or_create_secret(temp);
    std::filesystem::remove(temp);
    return secret;
  }
  return conduit::load_or_create_secret(std::string(url) + ".jwt-secret");
}

}  // namespace

int main(int argc, char** argv) {
  const auto cli = keel::parse_command_line(
      argc, argv,
      {{.name = "db",
        .value_name = "URL",
        .description = "database: a file, sqlite:FILE or postgres://... (default $KEEL_DATABASE_URL, else "
                       "conduit.db)"},
       {.name = "jwt-secret",
        .value_name = "SECRET",
        .description = "HS256 key for tokens, 32 bytes or more (default: generated once, kept in "
                       "DBFILE.jwt-secret)"},
       {.name = "migrate", .value_name = "", .description = "apply the migrations and exit"}});
  const std::string url = database_url(cli);
  keel::db db{url};
  auto migrations = conduit::migrations_for(db.engine());
  if (keel::sql::migrate_command(argc, argv, db, migrations)) return 0;
  keel::sql::migrate_sync(db, migrations);
  conduit::authority auth{jwt_secret(cli, url)};
  (void)keel::auth::dummy_password_hash();  // made now, so the first unknown login does not pay for it
  conduit::make_app(db, auth).serve(cli.config);
}
