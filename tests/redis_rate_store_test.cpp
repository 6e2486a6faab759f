// keel::redis::rate_store against a real redis-server the test starts: the same behavioural cases run against
// keel::auth::memory_rate_store and the Redis store (TEMPLATE_TEST_CASE over two fixtures), directly and
// through the rate_limit middleware over sockets and the login throttle; two servers sharing one Redis share
// one budget; keys expire in Redis; the script survives a restart (NOSCRIPT -> EVAL); Redis stopped mid-test
// fails open or closed as configured.
#include "keel/app.hpp"
#include "keel/auth/rate_limit.hpp"
#include "keel/redis.hpp"
#include "keel/redis/rate_store.hpp"
#include "keel/server/server.hpp"
#include "support/http_exchange.hpp"
#include "support/local_server.hpp"
#include "support/redis_server.hpp"
#include "support/run_on_io.hpp"

#include <catch2/catch.hpp>

#include <asio/io_context.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <type_traits>

using keel_test::exchange;

namespace redis_rate_store_test {

using policy = keel::auth::rate_limit_policy;
using decision = keel::auth::rate_decision;
using namespace std::chrono_literals;

// The stores' clock: a fixed start plus an offset the test moves (both stores take the same function).
std::atomic<std::int64_t> offset_ms{0};
std::chrono::steady_clock::time_point test_now() {
  static const auto start = std::chrono::steady_clock::now();
  return start + std::chrono::milliseconds(offset_ms.load());
}

template <class T>
inline constexpr bool is_task = false;
template <class T>
inline constexpr bool is_task<keel::task<T>> = true;

// Runs f(): a keel::task to completion on `io`, anything else as it is. One test body drives both kinds of
// store.
template <class F>
auto settle(asio::io_context& io, F&& f) {
  using R = decltype(f());
  if constexpr (is_task<R>) {
    return keel_test_support::run_on(io, f());
  } else {
    return f();
  }
}

struct memory_stores {
  keel::auth::memory_rate_store store;
  asio::io_context io;
  memory_stores() { store.set_clock_for_tests(&test_now); }
};

struct redis_stores {
  keel_test_support::redis_server server;
  keel::redis::io_thread redis_io;
  keel::redis::client client{redis_io.context(), keel_test_support::quick_config(server)};
  keel::redis::rate_store store{client,
                                {.prefix = "test:rate:", .when_unreachable = keel::redis::on_failure::allow}};
  asio::io_context io;
  redis_stores() { store.set_clock_for_tests(&test_now); }
};

template <class Fixture>
decision take(Fixture& fx, std::string key, policy p, std::uint32_t cost = 1) {
  return settle(fx.io, [&] { return fx.store.take(key, p, cost); });
}
template <class Fixture>
decision peek(Fixture& fx, std::string key, policy p) {
  return settle(fx.io, [&] { return fx.store.peek(key, p); });
}
template <class Fixture>
void reset(Fixture& fx, std::string key) {
  settle(fx.io, [&] { return fx.store.reset(key); });
}

template <class Store>
auto make_app(Store& store) {
  auto per_key = keel::auth::rate_limit{{.limit = 3, .window = std::chrono::seconds(3), .name = "api"},
                                        keel::auth::by_header{"X-API-Key"},
                                        store};
  return keel::app{keel::router{
      keel::group<"/api">(keel::get<"/items">([] { return "items"; })).use(per_key),
      keel::get<"/free">([] { return "free"; }),
  }};
}

template <class Store>
struct running {
  decltype(make_app(std::declval<Store&>())) app;
  keel::detail::server<decltype(make_app(std::declval<Store&>()))> server;
  std::uint16_t port;
  explicit running(Store& store)
      : app(make_app(store)), server(app, keel_test::local_config(2)), port(server.start()) {}
  ~running() {
    server.stop();
    server.wait();
  }
};

// A second connection to the test's redis-server, for looking at keys.
keel::redis::reply ask(const keel_test_support::redis_server& server, std::string a, std::string b = {}) {
  asio::io_context io;
  keel::redis::client c(io, server.url());
  return keel_test_support::run_on(
      io, [](keel::redis::client& c, std::string a, std::string b) -> keel::task<keel::redis::reply> {
        if (b.empty()) {
          keel::redis::reply r = co_await c.command(a);
          co_return r;
        }
        keel::redis::reply r = co_await c.command(a, b);
        co_return r;
      }(c, std::move(a), std::move(b)));
}

}  // namespace redis_rate_store_test

using namespace redis_rate_store_test;

static_assert(keel::auth::rate_limit_store<keel::auth::memory_rate_store>);
static_assert(keel::auth::async_rate_limit_store<keel::redis::rate_store>);
static_assert(!keel::auth::rate_limit_store<keel::redis::rate_store>);

TEMPLATE_TEST_CASE("rate store: a bucket holds `limit`, refills at limit/window, refuses with Retry-After",
                   "[rate_limit][redis]", memory_stores, redis_stores) {
  TestType fx;
  offset_ms = 0;
  const policy p{3, 3s};  // one token a second

  decision first = peek(fx, "a", p);
  CHECK(first.allowed);
  CHECK(first.limit == 3);
  CHECK(first.remaining == 3);
  CHECK(first.reset_seconds == 0);
  for (std::uint32_t i = 0; i < 3; ++i) {
    decision d = take(fx, "a", p);
    CHECK(d.allowed);
    CHECK(d.remaining == 2 - i);
    CHECK(d.reset_seconds == i + 1);
    CHECK(d.retry_after == 0);
  }
  decision refused = take(fx, "a", p);
  CHECK_FALSE(refused.allowed);
  CHECK(refused.remaining == 0);
  CHECK(refused.reset_seconds == 3);
  CHECK(refused.retry_after == 1);
  CHECK_FALSE(peek(fx, "a", p).allowed);
  CHECK(peek(fx, "b", p).remaining == 3);  // keys are apart

  offset_ms = 500;  // half a token: still refused, one more second to wait
  decision half = take(fx, "a", p);
  CHECK_FALSE(half.allowed);
  CHECK(half.retry_after == 1);
  CHECK(half.reset_seconds == 3);
  offset_ms = 1000;  // one token back
  decision again = take(fx, "a", p);
  CHECK(again.allowed);
  CHECK(again.remaining == 0);
  CHECK_FALSE(take(fx, "a", p).allowed);
  offset_ms = 60'000;  // full again, never more than `limit`
  CHECK(peek(fx, "a", p).remaining == 3);
  CHECK(take(fx, "a", p).remaining == 2);
}

TEST_CASE("rate_limit: a synchronous store keeps a synchronous before, an asynchronous one awaits",
          "[rate_limit][redis]") {
  using memory_app = decltype(make_app(std::declval<keel::auth::memory_rate_store&>()));
  using redis_app = decltype(make_app(std::declval<keel::redis::rate_store&>()));
  using memory_layer = keel::auth::rate_limit<keel::auth::by_header, keel::auth::memory_rate_store>;
  using redis_layer = keel::auth::rate_limit<keel::auth::by_header, keel::redis::rate_store>;
  STATIC_REQUIRE(keel::has_before<memory_layer, memory_app::context_type>);
  STATIC_REQUIRE_FALSE(keel::has_async_before<memory_layer, memory_app::context_type>);
  STATIC_REQUIRE(keel::has_async_before<redis_layer, redis_app::context_type>);
}

TEMPLATE_TEST_CASE("rate store: costs, peeking takes nothing, reset forgets", "[rate_limit][redis]",
                   memory_stores, redis_stores) {
  TestType fx;
  offset_ms = 0;
  const policy p{5, 10s};  // one token every two seconds

  decision three = take(fx, "c", p, 3);
  CHECK(three.allowed);
  CHECK(three.remaining == 2);
  CHECK(three.reset_seconds == 6);
  decision too_much = take(fx, "c", p, 3);  // two left: refused, nothing taken
  CHECK_FALSE(too_much.allowed);
  CHECK(too_much.retry_after == 2);
  CHECK(too_much.remaining == 2);
  for (int i = 0; i < 4; ++i) CHECK(peek(fx, "c", p).remaining == 2);
  CHECK(take(fx, "c", p, 2).remaining == 0);

  // More than the bucket can ever hold: refused, retry after the time to gather it, and nothing kept.
  decision never = take(fx, "d", p, 7);
  CHECK_FALSE(never.allowed);
  CHECK(never.retry_after == 4);
  CHECK(peek(fx, "d", p).remaining == 5);

  reset(fx, "c");
  CHECK(peek(fx, "c", p).remaining == 5);
  CHECK(take(fx, "c", p).remaining == 4);
  reset(fx, "never-seen");  // nothing to forget: fine
}

TEMPLATE_TEST_CASE("rate store: the middleware answers 429 in keel's error shape, then recovers",
                   "[rate_limit][redis][socket]", memory_stores, redis_stores) {
  TestType fx;
  offset_ms = 0;
  running<decltype(fx.store)> server(fx.store);

  for (int i = 0; i < 3; ++i) {
    auto r = exchange(server.port, "GET", "/api/items", {"X-API-Key: k1"});
    CHECK(r.status == 200);
    CHECK(r.body == "items");
    CHECK(r.header("RateLimit-Limit") == "3");
    CHECK(r.header("RateLimit-Remaining") == std::to_string(2 - i));
    CHECK(r.header("Retry-After").empty());
  }
  auto limited = exchange(server.port, "GET", "/api/items", {"X-API-Key: k1"});
  CHECK(limited.status == 429);
  CHECK(limited.header("Retry-After") == "1");
  CHECK(limited.header("RateLimit-Remaining") == "0");
  CHECK(limited.header("RateLimit-Reset") == "3");
  CHECK(limited.header("Content-Type") == "application/json");
  CHECK(limited.body == R"({"error":{"status":429,"code":"rate_limited","message":"too many requests"}})");

  CHECK(exchange(server.port, "GET", "/api/items", {"X-API-Key: k2"}).status == 200);
  CHECK(exchange(server.port, "GET", "/api/items").status == 200);  // no key: not limited
  CHECK(exchange(server.port, "GET", "/free").status == 200);
  offset_ms = 1000;
  CHECK(exchange(server.port, "GET", "/api/items", {"X-API-Key: k1"}).status == 200);
  CHECK(exchange(server.port, "GET", "/api/items", {"X-API-Key: k1"}).status == 429);
}

TEMPLATE_TEST_CASE("rate store: login throttle, five failures then 429 until the window passes",
                   "[rate_limit][redis][auth]", memory_stores, redis_stores) {
  TestType fx;
  offset_ms = 0;
  using store_type = std::remove_reference_t<decltype(fx.store)>;
  keel::auth::basic_login_throttle<store_type> throttle({.max_failures = 5, .window = 60s}, fx.store);
  auto check = [&](std::string user, std::string client) {
    return settle(fx.io, [&] { return throttle.check(user, client); });
  };
  for (int i = 0; i < 5; ++i) {
    CHECK_FALSE(check("ada", "10.0.0.1"));
    settle(fx.io, [&] { return throttle.failed("ada", "10.0.0.1"); });
  }
  auto wait = check("ada", "10.0.0.1");
  REQUIRE(wait);
  CHECK(*wait == 12);                      // one more attempt every 12 s
  CHECK_FALSE(check("ada", "10.0.0.2"));   // another client
  CHECK_FALSE(check("bob", "10.0.0.1"));   // another user
  CHECK_FALSE(check("ada:1", "0.0.0.1"));  // keys are length-prefixed: no collision

  offset_ms = 12'000;
  CHECK_FALSE(check("ada", "10.0.0.1"));
  settle(fx.io, [&] { return throttle.failed("ada", "10.0.0.1"); });
  CHECK(check("ada", "10.0.0.1"));

  settle(fx.io, [&] { return throttle.succeeded("ada", "10.0.0.1"); });  // a success forgets the failures
  CHECK_FALSE(check("ada", "10.0.0.1"));

  const keel::http_error refusal = keel::auth::basic_login_throttle<store_type>::refusal(12);
  CHECK(refusal.status() == keel::http::status::too_many_requests);
  CHECK(refusal.code() == "rate_limited");
}

TEST_CASE("redis rate store: two servers sharing one Redis share one budget", "[rate_limit][redis][socket]") {
  keel_test_support::redis_server redis;
  // Two app instances as two processes would be: each its own client, store and server.
  keel::redis::io_thread io_a, io_b;
  keel::redis::client client_a(io_a.context(), keel_test_support::quick_config(redis));
  keel::redis::client client_b(io_b.context(), keel_test_support::quick_config(redis));
  keel::redis::rate_store store_a(client_a), store_b(client_b);
  running<keel::redis::rate_store> a(store_a), b(store_b);

  const std::string key = "X-API-Key: shared";
  CHECK(exchange(a.port, "GET", "/api/items", {key}).header("RateLimit-Remaining") == "2");
  CHECK(exchange(b.port, "GET", "/api/items", {key}).header("RateLimit-Remaining") == "1");
  CHECK(exchange(a.port, "GET", "/api/items", {key}).header("RateLimit-Remaining") == "0");
  for (const std::uint16_t port : {b.port, a.port}) {
    auto limited = exchange(port, "GET", "/api/items", {key});
    CHECK(limited.status == 429);
    CHECK(!limited.header("Retry-After").empty());
    CHECK(limited.body == R"({"error":{"status":429,"code":"rate_limited","message":"too many requests"}})");
  }
  CHECK(exchange(b.port, "GET", "/api/items", {"X-API-Key: other"}).status == 200);

  // One key per bucket under the prefix and the layer's name, expiring once the bucket would be full again.
  keel::redis::reply keys = ask(redis, "KEYS", "keel:rate:*");
  REQUIRE(keys.elements.size() == 2);
  keel::redis::reply pttl = ask(redis, "PTTL", "keel:rate:api:shared");
  CHECK(pttl.integer > 0);
  CHECK(pttl.integer <= 3000);
  CHECK(store_a.errors() == 0);
  CHECK(store_b.errors() == 0);
}

TEST_CASE("redis rate store: idle keys vanish, the script is the one EVALSHA names and survives SCRIPT FLUSH",
          "[rate_limit][redis]") {
  keel_test_support::redis_server redis;
  keel::redis::io_thread redis_io;
  keel::redis::client client(redis_io.context(), keel_test_support::quick_config(redis));
  keel::redis::rate_store store(client, {.prefix = "p:", .when_unreachable = keel::redis::on_failure::allow});
  asio::io_context io;

  {
    keel::redis::client c(io, redis.url());
    const std::string body(keel::redis::detail::rate_script);
    keel::redis::reply sha = keel_test_support::run_on(
        io, [](keel::redis::client& c, std::string body) -> keel::task<keel::redis::reply> {
          keel::redis::reply r = co_await c.command("SCRIPT", "LOAD", body);
          co_return r;
        }(c, body));
    CHECK(sha.text == keel::redis::detail::rate_script_sha);
  }
  ask(redis, "SCRIPT", "FLUSH");  // NOSCRIPT: the store falls back to EVAL
  const policy p{2, 300ms};       // the server's own clock here (no test clock)
  decision d = keel_test_support::run_on(io, store.take("idle", p));
  CHECK(d.allowed);
  CHECK(d.remaining == 1);
  CHECK(ask(redis, "EXISTS", "p:idle").integer == 1);
  CHECK(keel_test::eventually([&] { return ask(redis, "EXISTS", "p:idle").integer == 0; }));
  CHECK(store.errors() == 0);
}

TEST_CASE("redis rate store: Redis stopped mid-test fails open or closed as configured, then recovers",
          "[rate_limit][redis][socket]") {
  keel_test_support::redis_server redis;
  keel::redis::io_thread redis_io;
  keel::redis::config cfg = keel_test_support::quick_config(redis);
  cfg.command_timeout = 300ms;
  keel::redis::client client(redis_io.context(), cfg);
  keel::redis::rate_store open_store(client);  // default: on_failure::allow
  keel::redis::rate_store closed_store(client,
                                       {.prefix = "c:", .when_unreachable = keel::redis::on_failure::refuse});
  CHECK(open_store.options().when_unreachable == keel::redis::on_failure::allow);
  running<keel::redis::rate_store> open(open_store), closed(closed_store);

  const std::string key = "X-API-Key: k";
  for (int i = 0; i < 3; ++i) {
    CHECK(exchange(open.port, "GET", "/api/items", {key}).status == 200);
    CHECK(exchange(closed.port, "GET", "/api/items", {key}).status == 200);
  }
  CHECK(exchange(open.port, "GET", "/api/items", {key}).status == 429);
  CHECK(exchange(closed.port, "GET", "/api/items", {key}).status == 429);

  redis.stop();
  auto passes = exchange(open.port, "GET", "/api/items", {key});  // fail open: unmetered
  CHECK(passes.status == 200);
  CHECK(passes.body == "items");
  CHECK(open_store.errors() >= 1);
  auto refused = exchange(closed.port, "GET", "/api/items", {key});  // fail closed
  CHECK(refused.status == 503);
  CHECK(refused.header("Retry-After") == "1");
  CHECK(refused.header("Content-Type") == "application/json");
  CHECK(refused.body ==
        R"({"error":{"status":503,"code":"rate_limit_unavailable","message":"rate limiter unavailable"}})");
  CHECK(closed_store.errors() >= 1);
  asio::io_context io;
  keel_test_support::run_on(io, open_store.reset("anything"));  // reset never throws

  redis.start();  // empty (no persistence), without the script: counting starts again
  CHECK(keel_test::eventually([&] {
    return exchange(closed.port, "GET", "/api/items", {key}).header("RateLimit-Remaining") == "2";
  }));
  CHECK(exchange(open.port, "GET", "/api/items", {key}).header("RateLimit-Remaining") == "2");
}
