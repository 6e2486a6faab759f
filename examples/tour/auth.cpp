// The README's authentication tour, compiled (see core.cpp): `// snippet: NAME` regions are README blocks.
#include <keel.hpp>
#include <keel/auth.hpp>
#include <keel/auth/sql_api_key_store.hpp>
#include <keel/redis.hpp>
#include <keel/redis/rate_store.hpp>
#include <keel/sql.hpp>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace tour {

struct my_claims {
  std::string sub{};
  std::string username{};
  std::vector<std::string> roles{};
  std::string scope{};
  std::string iss{};
  std::int64_t exp = 0;
};
using claims = my_claims;

[[maybe_unused]] keel::task<std::string> passwords_and_tokens(std::string pw,
                                                              std::optional<std::string> stored,
                                                              std::string secret) {
  // snippet: passwords_and_jwt
  std::string hash = co_await keel::auth::hash_password(pw);  // Argon2id PHC string, on the worker pool
  auto check = co_await keel::auth::verify_password_or_dummy(pw, stored);  // ok / needs_rehash / mismatch
  if (!check) throw keel::unauthorized("wrong username or password");
  auto key =
      keel::auth::jwt_key::hmac(keel::auth::jwt_alg::HS256, secret, "k1");  // or PEM, JWK, JWKS, key sets
  std::string token = keel::auth::sign(my_claims{.sub = "42", .iss = "me", .exp = 2000000000}, key);  // a DTO
  auto r = keel::auth::verify<my_claims>(token, key, {.issuer = "me"});  // exp/nbf/iss/aud checked; ~1.5 µs
  if (!r) throw keel::auth::to_http_error(r.error());                    // 401 + WWW-Authenticate
  // end snippet: passwords_and_jwt
  co_return hash + token;
}

std::string create(keel::bearer<claims> user) { return user->sub; }
std::string stats() { return "stats"; }

[[maybe_unused]] void protected_routes(keel::db& db, std::string secret) {
  keel::auth::sql_api_key_store keys{db};
  auto key = keel::auth::jwt_key::hmac(keel::auth::jwt_alg::HS256, secret, "k1");
  // snippet: bearer_routes
  auto api = keel::router{
      keel::get<"/me">(
          [](keel::bearer<claims> user) { return user->username; }),     // 401 without a valid token
      keel::get<"/feed">([](std::optional<keel::bearer<claims>> user) {  // anonymous allowed
        return user ? "feed of " + (*user)->username : std::string("public feed");
      }),
      keel::post<"/articles">(&create).require<keel::scope<"articles:write">>(),  // 403 insufficient_scope
      keel::group<"/admin">(keel::get<"/stats">(&stats)).require<keel::role<"admin">>(),
      keel::get<"/reports">([](keel::api_key<keel::auth::api_key_principal> k) {
        return k->owner;
      }).use(keel::auth::api_key_auth{keys}),  // X-API-Key or ?api_key=
  };
  keel::app{std::move(api)}
      .use(keel::auth::jwt_bearer<claims>{key, {.scheme = "Bearer"}})
      .serve(keel::server_config::from_env());
  // end snippet: bearer_routes
}

[[maybe_unused]] void shared_rate_limits() {
  // snippet: redis_rate_limit
  keel::redis::io_thread redis_io;
  keel::redis::config cfg = keel::redis::parse_url("redis://127.0.0.1:6379/0");
  cfg.command_timeout = std::chrono::milliseconds(200);  // the longest a request waits for the limiter
  keel::redis::client redis(redis_io.context(), cfg);
  keel::redis::rate_store buckets(redis);  // Redis down: requests pass (on_failure::refuse: 503)
  auto per_key = keel::auth::rate_limit{{.limit = 100, .window = std::chrono::minutes(1), .name = "key"},
                                        keel::auth::by_header{"X-API-Key"},
                                        buckets};
  auto api = keel::router{keel::get<"/items">([] { return "items"; })};
  keel::app{std::move(api)}.use(per_key).serve(keel::server_config::from_env());  // one budget, every process
  // end snippet: redis_rate_limit
}

}  // namespace tour
