// API keys: the key format, hashing and constant-time match; the SQLite store (create shows the key once,
// only its hash is stored, revoke, list); the api_key_auth layer and keel::api_key<Principal> with a key in
// the header or the query, unknown and revoked keys, the optional form; and the same over a real socket.
#include "keel/auth/api_key.hpp"
#include "keel/auth/sql_api_key_store.hpp"

#include "keel/app.hpp"
#include "keel/json.hpp"
#include "keel/json/response.hpp"
#include "keel/server/server.hpp"
#include "keel/sql/database.hpp"
#include "keel/test_client.hpp"
#include "support/local_server.hpp"

#include <catch2/catch.hpp>

#include <optional>
#include <string>
#include <vector>

using keel::auth::api_key_principal;
using keel_test::run_command;

namespace api_key_test {

// Awaits a task outside a reactor (the store's queries then run inline).
template <class T>
T run(keel::task<T> t) {
  std::optional<keel::detail::task_result<T>> out;
  keel::detail::start_detached(std::move(t),
                               [&](keel::detail::task_result<T>&& r) { out.emplace(std::move(r)); });
  REQUIRE(out.has_value());
  if (out->exception) std::rethrow_exception(out->exception);
  return std::move(*out->value);
}

struct created {
  std::int64_t id = 0;
  std::string key{};
};

auto make_app(keel::auth::sql_api_key_store& store, keel::auth::api_key_options options = {}) {
  auto api = keel::router{
      keel::get<"/reports">(
          [](keel::api_key<api_key_principal> caller) { return "reports for " + caller->owner; }),
      keel::get<"/maybe">([](std::optional<keel::api_key<api_key_principal>> caller) {
        return caller ? "hello " + (*caller)->name : std::string("hello stranger");
      }),
      keel::get<"/open">([] { return "open"; }),
  };
  return keel::app{std::move(api)}.use(keel::auth::api_key_auth{store, std::move(options)});
}

}  // namespace api_key_test

using namespace api_key_test;

TEST_CASE("api keys: format, hash, constant-time match", "[auth][api_key]") {
  const auto a = keel::auth::generate_api_key();
  const auto b = keel::auth::generate_api_key();
  CHECK(a.key != b.key);
  CHECK(a.key.size() == 3 + 16 + 43);
  CHECK(a.key.starts_with("kk_"));
  CHECK(keel::auth::api_key_lookup_id(a.key) == a.lookup_id);
  CHECK(a.lookup_id.size() == 16);
  CHECK(a.hash.size() == 64);
  CHECK(a.hash == keel::auth::api_key_hash(a.key));
  CHECK(a.hash.find(a.key) == std::string::npos);
  CHECK(keel::auth::api_key_matches(a.key, a.hash));
  CHECK_FALSE(keel::auth::api_key_matches(b.key, a.hash));
  CHECK_FALSE(keel::auth::api_key_matches(a.key, ""));
  CHECK_FALSE(keel::auth::api_key_lookup_id("kk_short"));
  CHECK_FALSE(keel::auth::api_key_lookup_id("xx" + a.key.substr(2)));
  std::string bad = a.key;
  bad[10] = '*';
  CHECK_FALSE(keel::auth::api_key_lookup_id(bad));
  // SHA-256 of "abc" (FIPS 180-2 example).
  CHECK(keel::auth::api_key_hash("abc") ==
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST_CASE("api keys: the SQLite store keeps hashes only, lists and revokes", "[auth][api_key][sql]") {
  keel::db db{"sqlite::memory:"};
  keel::auth::sql_api_key_store store{db};
  store.create_schema_sync();
  store.create_schema_sync();  // IF NOT EXISTS
  auto k = run(store.create("alice", "ci deploy"));
  CHECK(k.id > 0);
  CHECK(k.key.starts_with("kk_"));
  // Nothing in the table is the key.
  auto rows = db.query_sync<std::string>(
      "SELECT lookup_id || '|' || hash || '|' || owner || '|' || name FROM keel_api_key");
  REQUIRE(rows.size() == 1);
  CHECK(rows[0].find(k.key) == std::string::npos);
  CHECK(rows[0].find(k.key.substr(19)) == std::string::npos);  // nor its secret part

  auto found = run(store.find(k.key));
  REQUIRE(found);
  CHECK(found->owner == "alice");
  CHECK(found->name == "ci deploy");
  CHECK_FALSE(run(store.find(keel::auth::generate_api_key().key)));
  std::string wrong_secret = k.key;
  wrong_secret.back() = wrong_secret.back() == 'A' ? 'B' : 'A';
  CHECK_FALSE(run(store.find(wrong_secret)));  // right lookup id, wrong secret

  auto listed = run(store.list("alice"));
  REQUIRE(listed.size() == 1);
  CHECK(listed[0].lookup_id == k.key.substr(3, 16));
  CHECK_FALSE(listed[0].revoked_at);
  CHECK(run(store.revoke(k.id)));
  CHECK_FALSE(run(store.revoke(k.id)));
  CHECK_FALSE(run(store.find(k.key)));
  CHECK(run(store.list("alice"))[0].revoked_at);
  CHECK(run(store.list("bob")).empty());
}

TEST_CASE("api keys: the layer and the extractor (header, query, unknown, revoked, optional)",
          "[auth][api_key]") {
  keel::db db{"sqlite::memory:"};
  keel::auth::sql_api_key_store store{db};
  store.create_schema_sync();
  auto app = make_app(store);
  keel::test_client client{app};
  const auto k = run(store.create("bob", "reporting"));

  auto r = client.get("/reports");
  CHECK(r.status == 401);
  CHECK(r.header("WWW-Authenticate") == "ApiKey realm=\"api\"");
  CHECK(r.body.find("\"code\":\"unauthorized\"") != std::string::npos);
  CHECK(r.body.find("X-API-Key") != std::string::npos);

  CHECK(client.get("/reports", {{"X-API-Key", k.key}}).body == "reports for bob");
  CHECK(client.get("/reports?api_key=" + k.key).body == "reports for bob");
  CHECK(client.get("/reports?x=1&api_key=" + k.key + "&y=2").body == "reports for bob");

  r = client.get("/reports", {{"X-API-Key", keel::auth::generate_api_key().key}});
  CHECK(r.status == 401);
  CHECK(r.body.find("\"code\":\"invalid_api_key\"") != std::string::npos);
  CHECK(r.header("WWW-Authenticate") == "ApiKey realm=\"api\", error=\"invalid_key\"");
  CHECK(client.get("/reports", {{"X-API-Key", "garbage"}}).status == 401);

  CHECK(client.get("/maybe").body == "hello stranger");
  CHECK(client.get("/maybe", {{"X-API-Key", k.key}}).body == "hello reporting");
  CHECK(client.get("/maybe", {{"X-API-Key", "garbage"}}).status == 401);  // a bad key is never anonymous
  CHECK(client.get("/open").body == "open");

  REQUIRE(run(store.revoke(k.id)));
  CHECK(client.get("/reports", {{"X-API-Key", k.key}}).status == 401);
}

TEST_CASE("api keys: header only, over a real socket", "[auth][api_key][socket]") {
  keel::db db{"sqlite::memory:"};
  keel::auth::sql_api_key_store store{db};
  store.create_schema_sync();
  auto app = make_app(store, {.header = "X-Key", .query = ""});
  using app_type = decltype(app);
  keel::detail::server<app_type> server(app, keel_test::local_config(1));
  const auto port = server.start();
  const std::string base = "http://127.0.0.1:" + std::to_string(port);
  const auto k = run(store.create("carol", "cli"));
  CHECK(run_command("curl -s --max-time 10 -H 'X-Key: " + k.key + "' " + base + "/reports") ==
        "reports for carol");
  CHECK(run_command("curl -s --max-time 10 -o /dev/null -w '%{http_code}' '" + base +
                    "/reports?api_key=" + k.key + "'") == "401");  // the query is off
  CHECK(run_command("curl -s --max-time 10 -o /dev/null -w '%{http_code}' -H 'X-Key: kk_nope' " + base +
                    "/reports") == "401");
  server.stop();
  server.wait();
}
