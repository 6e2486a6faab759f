// A small protected API for the auth browser and lint tests (tests/auth/run-auth-docs-test): bearer tokens
// (HS256 with a fixed TEST secret), a role policy, an optional bearer route, an API-key route, and /docs.
//   auth_demo_server --port 8080      (Swagger UI assets from $KEEL_DOCS_ASSETS)
// Tokens: HS256, secret "keel-auth-demo-secret-for-tests-only-0123", kid "demo", claims {sub, roles, exp}.
// At start it prints one line, `api-key: kk_...`, a key for GET /reports (kept in an in-memory SQLite table).
#include <keel.hpp>
#include <keel/auth.hpp>
#include <keel/auth_sql.hpp>
#include <keel/openapi.hpp>

#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

namespace auth_demo {

struct claims {
  std::string sub{};
  std::vector<std::string> roles{};
  std::int64_t exp = 0;
};

struct greeting {
  std::string message{};
};

}  // namespace auth_demo

int main(int argc, char** argv) {
  using auth_demo::claims;
  using auth_demo::greeting;
  const auto key = keel::auth::jwt_key::hmac(
      keel::auth::jwt_alg::HS256, std::string("keel-auth-demo-secret-for-tests-only-0123"), "demo");
  keel::db db{"sqlite::memory:"};
  keel::auth::sql_api_key_store keys{db};
  keys.create_schema_sync();
  const auto demo_key = keel::auth::generate_api_key();
  db.execute_sync(
      "INSERT INTO keel_api_key (lookup_id, hash, owner, name, created_at) VALUES (?, ?, ?, ?, 0)",
      demo_key.lookup_id, demo_key.hash, std::string("demo"), std::string("demo key"));
  std::printf("api-key: %s\n", demo_key.key.c_str());
  std::fflush(stdout);

  auto api = keel::router{
      keel::get<"/public">([] { return greeting{"hello, anyone"}; }).doc({.summary = "Open to anyone"}),
      keel::get<"/me">([](keel::bearer<claims> user) {
        return greeting{"hello, " + user->sub};
      }).doc({.summary = "Who the token says you are"}),
      keel::get<"/feed">([](std::optional<keel::bearer<claims>> user) {
        return greeting{user ? "feed for " + (*user)->sub : std::string("public feed")};
      }).doc({.summary = "A feed, personal with a token"}),
      keel::group<"/admin">(
          keel::get<"/stats">([] { return greeting{"stats"}; }).doc({.summary = "Admins only"}))
          .require<keel::role<"admin">>(),
      keel::get<"/reports">([](keel::api_key<keel::auth::api_key_principal> caller) {
        return greeting{"reports for " + caller->owner};
      })
          .use(keel::auth::api_key_auth{keys})
          .doc({.summary = "With an API key"}),
  };
  auto docs = keel::openapi_docs(api, {.info = {.title = "Auth demo API",
                                                .version = "1.0.0",
                                                .description = "keel's auth test app: bearer tokens, a role "
                                                               "policy and API keys"}});
  keel::app{std::move(api)}
      .use(keel::auth::jwt_bearer<claims>{key, {.realm = "demo"}}, std::move(docs))
      .provide(db)
      .serve(keel::server_config::from_args(argc, argv));
}
