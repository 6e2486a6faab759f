// keel::cache: the memory store (LRU by bytes, TTLs, shards), typed values, single-flight, and the Redis
// store against a real redis-server.
#include "keel/cache.hpp"

#include "keel/app.hpp"
#include "keel/server/server.hpp"
#include "keel/json.hpp"
#include "keel/offload.hpp"
#include "support/local_server.hpp"
#include "support/redis_server.hpp"
#include "support/run_on_io.hpp"

#include <catch2/catch.hpp>

#include <asio/io_context.hpp>

#include <atomic>
#include <chrono>
#include <stdexcept>
#include <string>
#include <vector>

namespace cache = keel::cache;
namespace redis = keel::redis;
using keel_test_support::redis_server;
using keel_test_support::run_on;
using namespace std::chrono_literals;

// DTOs outside the anonymous namespace: clang needs linkage for their reflection.
namespace cache_test {
struct profile {
  int id = 0;
  std::string name;
  std::vector<std::string> tags;
};

}  // namespace cache_test
using cache_test::profile;

namespace {

using clock_type = cache::memory_store::clock;

// A stampede: `count` coroutines miss `key` at once; compute() counts its runs and takes a while.
template <class Cache>
keel::task<void> stampede(Cache& c, std::string key, int count, int& computed, std::vector<int>& results) {
  int finished = 0;
  auto one = [](Cache& c, std::string key, int& computed, std::vector<int>& results,
                int& finished) -> keel::task<void> {
    auto compute = [&computed]() -> keel::task<int> {
      ++computed;
      co_await keel::sleep_for(50ms);
      co_return 4242;
    };
    const int v = co_await c.template get_or_compute<int>(key, 10s, compute);
    results.push_back(v);
    ++finished;
  };
  for (int i = 0; i < count; ++i)
    keel::detail::start_detached(one(c, key, computed, results, finished), [](auto&&) {});
  while (finished < count) co_await keel::sleep_for(5ms);
}

}  // namespace

TEST_CASE("memory store: values by key, replace, erase", "[cache]") {
  cache::memory_store s;
  auto missing = s.lookup("a", clock_type::now());
  CHECK_FALSE(missing.has_value());
  s.store("a", "1", 0ms, clock_type::now());
  s.store("a", "22", 0ms, clock_type::now());
  CHECK(s.lookup("a", clock_type::now()) == std::optional<std::string>("22"));
  CHECK(s.size() == 1);
  CHECK(s.bytes() == 1 + 2 + cache::memory_store::entry_overhead);
  CHECK(s.erase("a").await_resume());
  CHECK_FALSE(s.erase("a").await_resume());
  CHECK(s.bytes() == 0);
}

TEST_CASE("memory store: least recently used entries go first when the bytes run out", "[cache]") {
  const std::size_t entry = 2 + 8 + cache::memory_store::entry_overhead;  // "kN" + 8-byte value
  cache::memory_store s(cache::memory_options{10 * entry, 1});
  const auto now = clock_type::now();
  for (int i = 0; i < 10; ++i) s.store("k" + std::to_string(i), "12345678", 0ms, now);
  CHECK(s.size() == 10);
  CHECK(s.bytes() == 10 * entry);
  CHECK(s.lookup("k0", now));  // k0 is now the most recently used; k1 the least
  s.store("kA", "12345678", 0ms, now);
  CHECK(s.size() == 10);
  CHECK(s.lookup("k0", now));
  CHECK_FALSE(s.lookup("k1", now));
  // A big value pushes out as many old ones as it needs.
  s.store("big", std::string(3 * entry, 'x'), 0ms, now);
  CHECK(s.bytes() <= s.max_bytes());
  CHECK(s.lookup("big", now));
  CHECK_FALSE(s.lookup("k2", now));
  CHECK_FALSE(s.lookup("k5", now));
  CHECK(s.lookup("k9", now));
  // Larger than a shard: not stored, and nothing else evicted for it.
  const std::size_t before = s.size();
  s.store("huge", std::string(11 * entry, 'x'), 0ms, now);
  CHECK_FALSE(s.lookup("huge", now));
  CHECK(s.size() == before);
}

TEST_CASE("memory store: entries expire after their TTL; shards split the budget", "[cache]") {
  cache::memory_store s(cache::memory_options{1 << 20, 8});
  const auto t0 = clock_type::now();
  s.store("session", "v", 100ms, t0);
  s.store("forever", "v", 0ms, t0);
  CHECK(s.lookup("session", t0 + 99ms));
  CHECK_FALSE(s.lookup("session", t0 + 100ms));
  CHECK(s.lookup("forever", t0 + 24h));
  CHECK(s.size() == 1);  // the expired one was dropped when found

  // Keys spread over the shards; each shard evicts on its own.
  std::vector<int> per_shard(s.shard_count());
  for (int i = 0; i < 1000; ++i) ++per_shard[s.shard_index("key" + std::to_string(i))];
  for (int n : per_shard) CHECK(n > 50);
}

TEST_CASE("cache: typed values through JSON, TTL, erase", "[cache]") {
  asio::io_context io;
  cache::cache<> c;
  run_on(io, [](cache::cache<>& c) -> keel::task<void> {
    profile ada{1, "Ada", {"math", "engines"}};
    co_await c.set("p:1", ada);
    std::optional<profile> p = co_await c.get<profile>("p:1");
    REQUIRE(p.has_value());
    CHECK(p->name == "Ada");
    CHECK(p->tags == std::vector<std::string>{"math", "engines"});
    co_await c.set("n", 42);
    const std::string quoted = "text \"quoted\"";
    co_await c.set("s", quoted);
    auto n = co_await c.get<int>("n");
    auto s = co_await c.get<std::string>("s");
    CHECK(n == std::optional<int>(42));
    CHECK(s == std::optional<std::string>("text \"quoted\""));
    auto wrong_type = co_await c.get<profile>("n");  // not a profile: a miss
    CHECK_FALSE(wrong_type.has_value());
    co_await c.erase("p:1");
    auto gone = co_await c.get<profile>("p:1");
    CHECK_FALSE(gone.has_value());
    co_await c.set("brief", 1, 30ms);
    co_await keel::sleep_for(80ms);
    auto expired = co_await c.get<int>("brief");
    CHECK_FALSE(expired.has_value());
  }(c));
}

TEST_CASE("cache: a stampede of 500 concurrent misses computes once", "[cache][single_flight]") {
  asio::io_context io;
  cache::cache<> c;
  int computed = 0;
  std::vector<int> results;
  run_on(io, stampede(c, "hot", 500, computed, results));
  CHECK(computed == 1);
  REQUIRE(results.size() == 500);
  for (int v : results) CHECK(v == 4242);
  CHECK(c.computing() == 0);
  // Cached now: no computing at all.
  run_on(io, stampede(c, "hot", 10, computed, results));
  CHECK(computed == 1);
}

TEST_CASE("cache: a failing computation reaches every waiter and is not cached", "[cache][single_flight]") {
  asio::io_context io;
  cache::cache<> c;
  int calls = 0, failures = 0, finished = 0;
  auto one = [](cache::cache<>& c, int& calls, int& failures, int& finished) -> keel::task<void> {
    auto compute = [&calls]() -> keel::task<int> {
      ++calls;
      co_await keel::sleep_for(20ms);
      throw std::runtime_error("backend down");
    };
    try {
      co_await c.get_or_compute<int>("k", 1s, compute);
    } catch (const std::runtime_error& e) {
      if (std::string(e.what()) == "backend down") ++failures;
    }
    ++finished;
  };
  run_on(io, [](cache::cache<>& c, auto one, int& calls, int& failures, int& finished) -> keel::task<void> {
    for (int i = 0; i < 20; ++i)
      keel::detail::start_detached(one(c, calls, failures, finished), [](auto&&) {});
    while (finished < 20) co_await keel::sleep_for(5ms);
    // A plain function works too, and the failure was not remembered.
    auto plain = [] { return 7; };
    const int v = co_await c.get_or_compute<int>("k", 1s, plain);
    CHECK(v == 7);
  }(c, one, calls, failures, finished));
  CHECK(calls == 1);
  CHECK(failures == 20);
}

TEST_CASE("cache: misses on several reactor threads still compute once", "[cache][single_flight]") {
  cache::cache<> c;
  std::atomic<int> computed{0};
  constexpr int threads = 4, per_thread = 50;
  std::vector<std::thread> pool;
  std::atomic<int> wrong{0};
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&] {
      asio::io_context io;
      run_on(io,
             [](cache::cache<>& c, std::atomic<int>& computed, std::atomic<int>& wrong) -> keel::task<void> {
               int finished = 0;
               auto one = [](cache::cache<>& c, std::atomic<int>& computed, std::atomic<int>& wrong,
                             int& finished) -> keel::task<void> {
                 auto compute = [&computed]() -> keel::task<int> {
                   ++computed;
                   co_await keel::sleep_for(100ms);
                   co_return 9;
                 };
                 const int v = co_await c.get_or_compute<int>("shared", 10s, compute);
                 if (v != 9) ++wrong;
                 ++finished;
               };
               for (int i = 0; i < per_thread; ++i)
                 keel::detail::start_detached(one(c, computed, wrong, finished), [](auto&&) {});
               while (finished < per_thread) co_await keel::sleep_for(5ms);
             }(c, computed, wrong));
    });
  }
  for (auto& t : pool) t.join();
  CHECK(computed.load() == 1);
  CHECK(wrong.load() == 0);
}

TEST_CASE("cache on Redis: typed values, TTL in Redis, erase, single-flight", "[cache][redis]") {
  redis_server server;
  asio::io_context io;
  redis::client client(io, server.url());
  cache::cache<cache::redis_store> c(cache::redis_store(client, "app:"));
  int computed = 0;
  std::vector<int> results;
  run_on(io, [](cache::cache<cache::redis_store>& c, redis::client& client) -> keel::task<void> {
    profile grace{2, "Grace", {"cobol"}};
    co_await c.set("p:2", grace, 5s);
    auto p = co_await c.get<profile>("p:2");
    REQUIRE(p.has_value());
    CHECK(p->name == "Grace");
    auto raw = co_await client.get("app:p:2");  // a plain JSON document, readable by any client
    REQUIRE(raw.has_value());
    CHECK(raw->find("\"name\":\"Grace\"") != std::string::npos);
    redis::reply ttl = co_await client.command("PTTL", "app:p:2");
    CHECK(ttl.integer > 0);
    CHECK(ttl.integer <= 5000);
    co_await c.erase("p:2");
    auto gone = co_await c.get<profile>("p:2");
    CHECK_FALSE(gone.has_value());
  }(c, client));
  run_on(io, stampede(c, "hot", 200, computed, results));
  CHECK(computed == 1);
  CHECK(results.size() == 200);
}

TEST_CASE("two caches sharing one Redis see each other's writes and invalidations", "[cache][redis]") {
  redis_server server;
  asio::io_context io;
  redis::client ca(io, server.url()), cb(io, server.url());
  cache::cache<cache::redis_store> a(cache::redis_store{ca}), b(cache::redis_store{cb});
  run_on(io,
         [](cache::cache<cache::redis_store>& a, cache::cache<cache::redis_store>& b) -> keel::task<void> {
           co_await a.set("price", 100);
           auto seen = co_await b.get<int>("price");
           CHECK(seen == std::optional<int>(100));
           co_await a.erase("price");  // invalidated by a: b misses
           auto after = co_await b.get<int>("price");
           CHECK_FALSE(after.has_value());
           auto compute = [] { return 120; };
           const int v = co_await b.get_or_compute<int>("price", 10s, compute);
           CHECK(v == 120);
           auto from_a = co_await a.get<int>("price");
           CHECK(from_a == std::optional<int>(120));
         }(a, b));
}

namespace cache_test {

keel::cache::cache<>& shared_cache() {
  static keel::cache::cache<> c;
  return c;
}
std::atomic<int> page_computations{0};

auto make_page_app() {
  return keel::app{keel::router{
      keel::get<"/report">([]() -> keel::task<std::string> {
        auto compute = []() -> keel::task<std::string> {
          ++page_computations;
          co_await keel::sleep_for(300ms);  // a slow query; every request arriving meanwhile waits for it
          co_return std::string("report #1");
        };
        std::string text = co_await shared_cache().get_or_compute<std::string>("report", 60s, compute);
        co_return text;
      }),
  }};
}

}  // namespace cache_test

TEST_CASE("cache in a server: 40 parallel curl requests on 2 reactors compute the page once",
          "[cache][single_flight][socket]") {
  auto app = cache_test::make_page_app();
  keel::detail::server<decltype(app)> server{app, keel_test::local_config(2)};
  const std::uint16_t port = server.start();
  std::string urls;
  for (int i = 0; i < 40; ++i) urls += " http://127.0.0.1:" + std::to_string(port) + "/report";
  const std::string out = keel_test::run_command(
      "curl -s --no-progress-meter --parallel --parallel-immediate --parallel-max 40 --max-time 20 -w '\\n'" +
      urls);
  server.stop();
  server.wait();
  std::size_t answers = 0;
  for (std::size_t at = out.find("report #1"); at != std::string::npos; at = out.find("report #1", at + 1))
    ++answers;
  CHECK(answers == 40);
  CHECK(cache_test::page_computations.load() == 1);
}
