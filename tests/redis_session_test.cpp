// keel::redis::session_store under keel::auth::server_sessions: two servers (as two processes behind a load
// balancer would be) share their sessions through a real redis-server.
#include "keel/app.hpp"
#include "keel/auth/session.hpp"
#include "keel/json.hpp"
#include "keel/redis.hpp"
#include "keel/server/server.hpp"
#include "support/http_exchange.hpp"
#include "support/local_server.hpp"
#include "support/redis_server.hpp"
#include "support/run_on_io.hpp"

#include <catch2/catch.hpp>

#include <cstdint>
#include <string>

// DTOs outside the anonymous namespace: clang needs linkage for their reflection.
namespace redis_session_test {
struct user_session {
  std::int64_t id = 0;
  std::string name;
};

}  // namespace redis_session_test
using redis_session_test::user_session;

namespace {

static_assert(keel::auth::session_store<keel::redis::session_store>);

template <class Layer>
auto make_app(Layer layer) {
  using session = keel::auth::session<user_session>;
  return keel::app{keel::router{
                       keel::post<"/login">([](session& s) {
                         s.login({7, "grace"});
                         return "in";
                       }),
                       keel::get<"/me">([](const session& s) -> keel::result<std::string> {
                         if (!s) return keel::unauthorized("not signed in");
                         return s->name;
                       }),
                       keel::post<"/logout">([](session& s) {
                         s.logout();
                         return "bye";
                       }),
                   }}
      .use(std::move(layer));
}

template <class Layer>
struct running {
  decltype(make_app(std::declval<Layer>())) app;
  keel::detail::server<decltype(make_app(std::declval<Layer>()))> server;
  std::uint16_t port;
  explicit running(Layer layer)
      : app(make_app(std::move(layer))), server(app, keel_test::local_config(2)), port(server.start()) {}
  ~running() {
    server.stop();
    server.wait();
  }
};

}  // namespace

TEST_CASE("sessions in Redis: shared by two servers, expiring in Redis, deleted on logout",
          "[redis][auth][socket]") {
  keel_test_support::redis_server redis_server;
  keel::redis::io_thread redis_io;
  keel::redis::client client(redis_io.context(), redis_server.url());
  keel::redis::session_store store(client, "app:s:");
  auto layer_a = keel::auth::server_sessions<user_session>(store);
  auto layer_b = keel::auth::server_sessions<user_session>(store);
  running a(layer_a), b(layer_b);

  auto login = keel_test::exchange(a.port, "POST", "/login");
  REQUIRE(login.status == 200);
  const std::string id = login.cookie("keel_session");
  REQUIRE(id.size() == 43);
  const std::string cookie = "Cookie: keel_session=" + id;
  CHECK(keel_test::eventually([&] { return layer_a.pending_writes() == 0; }));

  auto on_b = keel_test::exchange(b.port, "GET", "/me", {cookie});  // the other server reads it from Redis
  CHECK(on_b.status == 200);
  CHECK(on_b.body == "grace");

  // The record is in Redis under the prefix, with Redis's own expiry; no usable id in the key.
  asio::io_context io;
  keel::redis::client check(io, redis_server.url());
  auto keys = keel_test_support::run_on(io, [](keel::redis::client& c) -> keel::task<keel::redis::reply> {
    keel::redis::reply r = co_await c.command("KEYS", "app:s:*");
    co_return r;
  }(check));
  REQUIRE(keys.elements.size() == 1);
  CHECK(keys.elements[0].text.find(id) == std::string::npos);
  const std::string key = keys.elements[0].text;
  auto ttl =
      keel_test_support::run_on(io, [](keel::redis::client& c, std::string key) -> keel::task<std::int64_t> {
        keel::redis::reply r = co_await c.command("TTL", key);
        co_return r.integer;
      }(check, key));
  CHECK(ttl > 0);

  auto out = keel_test::exchange(b.port, "POST", "/logout", {cookie});
  CHECK(out.status == 200);
  CHECK(keel_test::eventually([&] { return layer_b.pending_writes() == 0; }));
  CHECK(keel_test::exchange(a.port, "GET", "/me", {cookie}).status == 401);
  auto left = keel_test_support::run_on(io, [](keel::redis::client& c) -> keel::task<keel::redis::reply> {
    keel::redis::reply r = co_await c.command("KEYS", "app:s:*");
    co_return r;
  }(check));
  CHECK(left.elements.empty());
}
