// Rate limits over real sockets: 429 with Retry-After and the RateLimit-* fields once a key's bucket is
// empty, recovery as it refills, keys kept apart; the memory store under concurrent threads (never more
// passes than the bucket holds) and bounded in memory; the login-failure throttle.
#include "keel/auth/rate_limit.hpp"

#include "keel/app.hpp"
#include "keel/server/server.hpp"
#include "support/http_exchange.hpp"
#include "support/local_server.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

using keel_test::exchange;

namespace rate_limit_test {

// The store's clock: a fixed start plus an offset the test moves.
std::atomic<std::int64_t> offset_ms{0};
keel::auth::memory_rate_store::clock::time_point test_now() {
  static const auto start = keel::auth::memory_rate_store::clock::now();
  return start + std::chrono::milliseconds(offset_ms.load());
}

auto make_app(keel::auth::memory_rate_store& store) {
  auto per_key = keel::auth::rate_limit{{.limit = 3, .window = std::chrono::seconds(3), .name = "api"},
                                        keel::auth::by_header{"X-API-Key"},
                                        store};
  auto per_client = keel::auth::rate_limit{
      {.limit = 2, .window = std::chrono::seconds(60), .name = "ip"}, keel::auth::by_forwarded_for{1}, store};
  auto per_peer = keel::auth::rate_limit{
      {.limit = 2, .window = std::chrono::seconds(60), .name = "peer"}, keel::auth::by_ip{}, store};
  return keel::app{keel::router{
      keel::group<"/api">(keel::get<"/items">([] { return "items"; })).use(per_key),
      keel::get<"/fwd">([] { return "fwd"; }).use(per_client),
      keel::get<"/peer">([](const keel::request_context& ctx) {
        return std::string(ctx.remote_address());
      }).use(per_peer),
      keel::get<"/free">([] { return "free"; }),
  }};
}

}  // namespace rate_limit_test

using namespace rate_limit_test;

TEST_CASE("a rate-limited route answers 429 with Retry-After and RateLimit fields, then recovers",
          "[auth][rate_limit][socket]") {
  keel::auth::memory_rate_store store;
  store.set_clock_for_tests(&test_now);
  offset_ms = 0;
  auto app = make_app(store);
  keel::detail::server<decltype(app)> server(app, keel_test::local_config(2));
  const auto port = server.start();

  for (int i = 0; i < 3; ++i) {
    auto r = exchange(port, "GET", "/api/items", {"X-API-Key: k1"});
    CHECK(r.status == 200);
    CHECK(r.header("RateLimit-Limit") == "3");
    CHECK(r.header("RateLimit-Remaining") == std::to_string(2 - i));
    CHECK(!r.header("RateLimit-Reset").empty());
    CHECK(r.header("Retry-After").empty());
  }
  auto limited = exchange(port, "GET", "/api/items", {"X-API-Key: k1"});
  CHECK(limited.status == 429);
  CHECK(limited.header("Retry-After") == "1");  // one token per second
  CHECK(limited.header("RateLimit-Remaining") == "0");
  CHECK(limited.header("RateLimit-Limit") == "3");
  CHECK(limited.header("RateLimit-Reset") == "3");
  CHECK(limited.header("Content-Type") == "application/json");
  CHECK(limited.body.find(R"("code":"rate_limited")") != std::string::npos);

  // Another key has its own bucket; routes without the layer are not limited.
  CHECK(exchange(port, "GET", "/api/items", {"X-API-Key: k2"}).status == 200);
  CHECK(exchange(port, "GET", "/free").status == 200);
  CHECK(exchange(port, "GET", "/api/items").status == 200);  // no key: not limited by this layer

  offset_ms = 1000;  // one token back
  auto again = exchange(port, "GET", "/api/items", {"X-API-Key: k1"});
  CHECK(again.status == 200);
  CHECK(again.header("RateLimit-Remaining") == "0");
  CHECK(exchange(port, "GET", "/api/items", {"X-API-Key: k1"}).status == 429);
  offset_ms = 10000;  // full again
  CHECK(exchange(port, "GET", "/api/items", {"X-API-Key: k1"}).header("RateLimit-Remaining") == "2");

  // X-Forwarded-For: the entry the nearest proxy added counts, not what the client wrote before it.
  CHECK(exchange(port, "GET", "/fwd", {"X-Forwarded-For: 1.1.1.1, 10.0.0.7"}).status == 200);
  CHECK(exchange(port, "GET", "/fwd", {"X-Forwarded-For: 2.2.2.2, 10.0.0.7"}).status == 200);
  CHECK(exchange(port, "GET", "/fwd", {"X-Forwarded-For: 3.3.3.3,10.0.0.7"}).status == 429);
  CHECK(exchange(port, "GET", "/fwd", {"X-Forwarded-For: 10.0.0.8"}).status == 200);

  // by_ip: the TCP peer's address, whatever X-Forwarded-For says.
  CHECK(exchange(port, "GET", "/peer").body == "127.0.0.1");
  CHECK(exchange(port, "GET", "/peer", {"X-Forwarded-For: 9.9.9.9"}).status == 200);
  CHECK(exchange(port, "GET", "/peer", {"X-Forwarded-For: 8.8.8.8"}).status == 429);
  server.stop();
  server.wait();
}

TEST_CASE("the memory store is exact under concurrent threads", "[auth][rate_limit]") {
  keel::auth::memory_rate_store store;
  const keel::auth::rate_limit_policy policy{1000, std::chrono::hours(1000)};  // no refill to speak of
  std::atomic<int> allowed{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 500; ++i) {
        if (store.take("shared", policy).allowed) ++allowed;
        static_cast<void>(store.take("k" + std::to_string(i), policy));
      }
    });
  }
  for (auto& th : threads) th.join();
  CHECK(allowed == 1000);
}

TEST_CASE("the memory store stays bounded: full buckets go first, then the least recently used",
          "[auth][rate_limit]") {
  keel::auth::memory_rate_store store(64 * 4);  // 4 per shard
  store.set_clock_for_tests(&test_now);
  offset_ms = 0;
  const keel::auth::rate_limit_policy policy{5, std::chrono::seconds(5)};
  for (int i = 0; i < 5000; ++i) static_cast<void>(store.take("key" + std::to_string(i), policy));
  CHECK(store.size() <= 64 * 4);
  CHECK(store.size() >= 64);
  offset_ms = 60'000;  // every bucket refilled: stale
  static_cast<void>(store.take("fresh", policy));
  for (int i = 0; i < 5000; ++i) static_cast<void>(store.take("again" + std::to_string(i), policy));
  CHECK(store.size() <= 64 * 4);
  // A full bucket is never stored: looking costs nothing.
  keel::auth::memory_rate_store empty;
  CHECK(empty.peek("x", policy).allowed);
  CHECK(empty.size() == 0);
}

TEST_CASE("login throttle: five failures for one username and client, then 429 until the window passes",
          "[auth][rate_limit]") {
  keel::auth::memory_rate_store store;
  store.set_clock_for_tests(&test_now);
  offset_ms = 0;
  keel::auth::basic_login_throttle<> throttle({.max_failures = 5, .window = std::chrono::seconds(60)}, store);
  for (int i = 0; i < 5; ++i) {
    CHECK_FALSE(throttle.check("ada", "10.0.0.1"));
    throttle.failed("ada", "10.0.0.1");
  }
  auto wait = throttle.check("ada", "10.0.0.1");
  REQUIRE(wait);
  CHECK(*wait == 12);                              // 5 per minute: one every 12 s
  CHECK_FALSE(throttle.check("ada", "10.0.0.2"));  // another client
  CHECK_FALSE(throttle.check("bob", "10.0.0.1"));  // another user
  auto e = keel::auth::login_throttle::refusal(*wait);
  CHECK(e.status() == keel::http::status::too_many_requests);
  offset_ms = 12'000;
  CHECK_FALSE(throttle.check("ada", "10.0.0.1"));
  throttle.failed("ada", "10.0.0.1");
  CHECK(throttle.check("ada", "10.0.0.1"));
  throttle.succeeded("ada", "10.0.0.1");  // a success forgets the failures
  CHECK_FALSE(throttle.check("ada", "10.0.0.1"));
}
