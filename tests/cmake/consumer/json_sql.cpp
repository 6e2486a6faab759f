// The keel::json + keel::sql consumer: typed JSON in and out, stored in SQLite, built without OpenSSL or
// libpq found (the packaging test hides them from CMake).
#include <keel.hpp>
#include <keel/json.hpp>
#include <keel/sql.hpp>

#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <string_view>

namespace notes {

struct note {
  static constexpr std::string_view keel_table = "note";
  std::int64_t id = 0;
  std::string text;
};

struct new_note {
  keel::text<1, 100> text;
};

constexpr keel::sql::migration migrations[] = {
    {1, "note", "CREATE TABLE note (id INTEGER PRIMARY KEY, text TEXT NOT NULL)"},
};

inline keel::task<keel::created<note>> create(keel::json<new_note> body, keel::db& db) {
  note row{0, *body->text};
  row.id = *co_await db.fetch_one(keel::sql::insert(row));
  std::string location = "/notes/" + std::to_string(row.id);
  co_return keel::created<note>{std::move(row), std::move(location)};
}

inline keel::task<std::optional<note>> find(std::int64_t id, keel::db& db) {
  co_return co_await db.fetch_one(keel::sql::find<note>(id));
}

}  // namespace notes

int main() {
  keel::db db{"sqlite::memory:"};
  keel::sql::migrate_sync(db, notes::migrations);
  auto api = keel::router{
      keel::post<"/notes">(&notes::create),
      keel::get<"/notes/{id}">(&notes::find),
  };
  auto app = keel::app{std::move(api)}.provide(db);
  keel::test_client client{app};
  const auto created = client.post("/notes", R"({"text":"buy milk"})");
  const auto found = client.get("/notes/1");
  const auto invalid = client.post("/notes", R"({"text":""})");
  const bool ok = created.status == 201 && created.header("location") == "/notes/1" && found.status == 200 &&
                  found.body == R"({"id":1,"text":"buy milk"})" && invalid.status == 422;
  if (!ok)
    std::printf("created %d %s\nfound %d %s\ninvalid %d %s\n", created.status, created.body.c_str(),
                found.status, found.body.c_str(), invalid.status, invalid.body.c_str());
  std::printf("keel %s json_sql consumer: %s\n", KEEL_VERSION_STRING, ok ? "ok" : "FAILED");
  return ok ? 0 : 1;
}
