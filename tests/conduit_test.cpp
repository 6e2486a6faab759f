// The Conduit example (examples/conduit/) on SQLite: the API cases of conduit_cases.inc and
// conduit_article_cases.inc through keel::test_client on an in-memory database migrated like the real one;
// the number of statements a list page costs (counted with sqlite3_trace_v2), which must not grow with the
// page; and the app served by keel's server on 127.0.0.1 over a SQLite file, through real sockets.
#include "../examples/conduit/app.hpp"

#include "keel/server/server.hpp"
#include "keel/sql/migrate.hpp"
#include "keel/sql/sqlite.hpp"
#include "keel/sql/testing.hpp"
#include "keel/test_client.hpp"
#include "support/raw_client.hpp"

#include <catch2/catch.hpp>
#include <sqlite3.h>

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <string_view>
#include <utility>

#define ENGINE "sqlite"

namespace {

// Statements run on the test database's one connection (an in-memory database has exactly one).
std::atomic<int> statements{0};

int count_statement(unsigned, void*, void*, void*) {
  statements.fetch_add(1, std::memory_order_relaxed);
  return 0;
}

keel::db& conduit_db() {
  static keel::db db{"sqlite::memory:"};
  static bool migrated = [] {
    keel::sql::migrate_sync(db, conduit::migrations_for(db.engine()));
    db.blocking(keel::sql::access::write, [](keel::sql::connection& c) {
      auto& sqlite = dynamic_cast<keel::sql::sqlite_connection&>(c);
      sqlite3_trace_v2(sqlite.handle(), SQLITE_TRACE_STMT, &count_statement, nullptr);
    });
    return true;
  }();
  (void)migrated;
  return db;
}

// SQLite hands out max(id) + 1, so ids start at 1 again once a test's rows are rolled back.
void reset_ids(keel::db&) {}

}  // namespace

#include "conduit_cases.inc"
#include "conduit_article_cases.inc"

namespace {

// The statements one request runs.
int statements_for(fresh_conduit& t, const std::string& target, const keel::test_headers& headers = {}) {
  const int before = statements.load();
  auto r = t.client.get(target, headers);
  REQUIRE(r.status == 200);
  return statements.load() - before;
}

}  // namespace

TEST_CASE("sqlite: conduit: a list page costs the same statements whatever its length (no N+1)",
          "[example][conduit]") {
  fresh_conduit t;
  const std::string ann = t.signup("ann");
  const std::string ben = t.signup("ben");
  t.client.post("/api/profiles/ann/follow", "", t.as(ben));
  for (int i = 0; i < 30; ++i) {
    std::string slug = t.publish(ann, "post " + std::to_string(i), R"(["x","y","z"])");
    if (i % 2 == 0) t.client.post("/api/articles/" + slug + "/favorite", "", t.as(ben));
  }
  const int one = statements_for(t, "/api/articles?limit=1");
  const int twenty = statements_for(t, "/api/articles?limit=20");
  CHECK(one == twenty);
  CHECK(twenty >= 3);  // the counter sees them
  CHECK(twenty <= 5);  // count, page, tags (outside a test transaction: + the snapshot's BEGIN and COMMIT)
                       // (+ the snapshot's BEGIN/COMMIT or savepoint)
  CHECK(statements_for(t, "/api/articles?limit=20", t.as(ben)) == twenty);
  CHECK(statements_for(t, "/api/articles?limit=2&tag=x&author=ann", t.as(ben)) == twenty);
  CHECK(statements_for(t, "/api/articles/feed?limit=1", t.as(ben)) ==
        statements_for(t, "/api/articles/feed?limit=30", t.as(ben)));
  for (int i = 0; i < 25; ++i)
    t.client.post("/api/articles/post-0/comments", R"({"comment":{"body":"c"}})", t.as(ben));
  CHECK(statements_for(t, "/api/articles/post-0/comments", t.as(ann)) ==
        statements_for(t, "/api/articles/post-1/comments", t.as(ann)));

  // (Un)favoriting is one write that finds the article by its slug, then the article's read (its row, its
  // tags) in a snapshot.
  auto favorite_statements = [&](bool on) {
    const int before = statements.load();
    auto r = on ? t.client.post("/api/articles/post-1/favorite", "", t.as(ben))
                : t.client.del("/api/articles/post-1/favorite", t.as(ben));
    REQUIRE(r.status == 200);
    return statements.load() - before;
  };
  const int favorite = favorite_statements(true);
  CAPTURE(favorite);
  CHECK(favorite == 3);  // write, article, tags (a server adds the snapshot's BEGIN and COMMIT: 5)
  CHECK(favorite_statements(false) == favorite);
}

namespace {

using conduit_app =
    decltype(conduit::make_app(std::declval<keel::db&>(), std::declval<conduit::authority&>()));

struct reply {
  int status = 0;
  std::string body;
};

reply request(std::uint16_t port, std::string_view method, std::string_view target,
              std::string_view body = {}, std::string_view token = {}) {
  keel_test::raw_client c("127.0.0.1", port);
  std::string out =
      std::string(method) + " " + std::string(target) + " HTTP/1.1\r\nHost: t\r\nConnection: close\r\n";
  if (!token.empty()) out += "Authorization: Token " + std::string(token) + "\r\n";
  if (!body.empty())
    out += "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
  out += "\r\n";
  out += body;
  reply r;
  if (!c.send(out)) return r;
  std::string raw = c.read_responses(1);
  std::size_t end = raw.find("\r\n\r\n");
  if (raw.size() < 12 || end == std::string::npos) return r;
  r.status = std::atoi(raw.c_str() + 9);
  r.body = raw.substr(end + 4);
  return r;
}

}  // namespace

TEST_CASE("sqlite: conduit: served over real sockets on a SQLite file", "[example][conduit]") {
  const auto path =
      std::filesystem::temp_directory_path() / ("keel-conduit-" + std::to_string(::getpid()) + ".db");
  {
    keel::db db{"sqlite:" + path.string()};
    keel::sql::migrate_sync(db, conduit::migrations_for(db.engine()));
    conduit::authority auth{"a test secret of at least thirty-two bytes",
                            keel::auth::password_params{.time_cost = 1, .memory_kib = 64}};
    conduit_app app = conduit::make_app(db, auth);
    keel::server_config cfg;
    cfg.host = "127.0.0.1";
    cfg.port = 0;
    cfg.threads = 2;
    cfg.workers = 2;
    cfg.handle_signals = false;
    keel::detail::server<const conduit_app> server(app, cfg);
    const std::uint16_t port = server.start();

    reply r = request(port, "POST", "/api/users",
                      R"({"user":{"username":"wire","email":"wire@example.com","password":"pw"}})");
    REQUIRE(r.status == 201);
    const std::string token = json_string(r.body, "token");
    r = request(port, "POST", "/api/articles",
                R"({"article":{"title":"Over the wire","description":"d","body":"b"}})", token);
    CHECK(r.status == 201);
    r = request(port, "GET", "/api/articles?limit=20", {}, token);
    CHECK(r.status == 200);
    CHECK(contains(r.body, R"("slug":"over-the-wire")"));
    CHECK(contains(r.body, R"("articlesCount":1})"));
    r = request(port, "GET", "/api/user", {}, token);
    CHECK(r.status == 200);
    CHECK(request(port, "GET", "/api/user").status == 401);
    server.stop();
    server.wait();
  }
  std::error_code ec;
  for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path.string() + suffix, ec);
}
