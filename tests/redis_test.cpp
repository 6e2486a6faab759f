// keel::redis against a real redis-server (tests/support/redis_server.hpp starts it on a free port).
#include "keel/offload.hpp"
#include "keel/redis.hpp"
#include "support/redis_server.hpp"
#include "support/run_on_io.hpp"

#include <catch2/catch.hpp>

#include <asio/io_context.hpp>

#include <chrono>
#include <thread>
#include <string>
#include <vector>

namespace redis = keel::redis;
using keel_test_support::quick_config;
using keel_test_support::redis_server;
using keel_test_support::run_on;
using namespace std::chrono_literals;

namespace {

// Retries `PUBLISH channel payload` until at least `receivers` got it (a subscriber that reconnects needs a
// moment to subscribe again).
keel::task<void> publish_until(redis::client& c, std::string channel, std::string payload, int receivers) {
  for (int attempt = 0; attempt < 500; ++attempt) {
    try {
      const std::int64_t got = co_await c.publish(channel, payload);
      if (got >= receivers) co_return;
    } catch (const redis::error&) {
      // reconnecting
    }
    co_await keel::sleep_for(20ms);
  }
  throw std::runtime_error("nobody subscribed to " + channel);
}

}  // namespace

TEST_CASE("parse_url reads host, port, password and database", "[redis]") {
  redis::config c = redis::parse_url("redis://:s3cret@cache.internal:6380/3");
  CHECK(c.host == "cache.internal");
  CHECK(c.port == 6380);
  CHECK(c.username.empty());
  CHECK(c.password == "s3cret");
  CHECK(c.db == 3);
  c = redis::parse_url("redis://127.0.0.1");
  CHECK(c.port == 6379);
  CHECK(c.db == 0);
  CHECK(c.password.empty());
  c = redis::parse_url("redis://app:pw@[::1]:7000/");
  CHECK(c.host == "::1");
  CHECK(c.port == 7000);
  CHECK(c.username == "app");
  CHECK(c.password == "pw");
  CHECK_THROWS_AS(redis::parse_url("http://x"), std::invalid_argument);
  CHECK_THROWS_AS(redis::parse_url("redis://x:0"), std::invalid_argument);
  CHECK_THROWS_AS(redis::parse_url("redis://x:99999"), std::invalid_argument);
  CHECK_THROWS_AS(redis::parse_url("redis://x/abc"), std::invalid_argument);
  CHECK_THROWS_AS(redis::parse_url("redis://:6379"), std::invalid_argument);
  CHECK_THROWS_AS(redis::parse_url("redis://nopassword@x"), std::invalid_argument);
}

TEST_CASE("the RESP2 parser takes whole replies, waits for partial ones and rejects garbage", "[redis]") {
  using redis::detail::resp_parser;
  redis::reply r;
  const std::string nested = "*3\r\n$3\r\nfoo\r\n:-42\r\n*2\r\n$-1\r\n+OK\r\n";
  CHECK(resp_parser::parse(nested, r) == nested.size());
  REQUIRE(r.is_array());
  REQUIRE(r.elements.size() == 3);
  CHECK(r.elements[0].text == "foo");
  CHECK(r.elements[1].integer == -42);
  CHECK(r.elements[2].elements[0].is_nil());
  CHECK(r.elements[2].elements[1].text == "OK");
  for (std::size_t cut = 0; cut < nested.size(); ++cut)
    CHECK(resp_parser::parse(nested.substr(0, cut), r) == 0);
  CHECK(resp_parser::parse("$4\r\na\r\nb\r\n", r) == 10);  // binary-safe: CRLF inside a bulk string
  CHECK(r.text == "a\r\nb");
  CHECK(resp_parser::parse("-ERR nope\r\n", r) == 11);
  CHECK(r.is_error());
  CHECK_THROWS_AS(r.ok(), redis::server_error);
  CHECK_THROWS_AS(resp_parser::parse("?x\r\n", r), redis::protocol_error);
  CHECK_THROWS_AS(resp_parser::parse(":12a\r\n", r), redis::protocol_error);
  CHECK_THROWS_AS(resp_parser::parse("$3\r\nabcd\r\n", r), redis::protocol_error);
  CHECK_THROWS_AS(resp_parser::parse("$-2\r\n", r), redis::protocol_error);
  CHECK_THROWS_AS(resp_parser::parse("+OK\rX", r), redis::protocol_error);
  std::string deep;
  for (int i = 0; i < 40; ++i) deep += "*1\r\n";
  CHECK_THROWS_AS(resp_parser::parse(deep + ":1\r\n", r), redis::protocol_error);
}

TEST_CASE("commands: get, set with a TTL, del, raw commands, error replies, binary values", "[redis]") {
  redis_server server;
  asio::io_context io;
  redis::client c(io, quick_config(server));
  run_on(io, [](redis::client& c) -> keel::task<void> {
    co_await c.set("greeting", "hello");
    auto got = co_await c.get("greeting");
    REQUIRE(got.has_value());
    CHECK(*got == "hello");
    auto missing = co_await c.get("no-such-key");
    CHECK_FALSE(missing.has_value());

    std::string binary("a\r\n\0b", 5);
    binary += std::string(1 << 20, 'x');  // 1 MiB: many reads for one reply
    co_await c.set("binary", binary);
    auto back = co_await c.get("binary");
    CHECK(back == binary);

    co_await c.set("short-lived", "v", 1500ms);
    redis::reply ttl = co_await c.command("PTTL", "short-lived");
    CHECK(ttl.integer > 0);
    CHECK(ttl.integer <= 1500);

    redis::reply n = co_await c.command("INCRBY", "counter", 5);
    CHECK(n.integer == 5);
    redis::reply wrong = co_await c.command("LPUSH", "greeting", "x");  // a string, not a list
    CHECK(wrong.is_error());
    CHECK(wrong.text.starts_with("WRONGTYPE"));
    bool threw = false;
    try {
      redis::reply unknown = co_await c.command("NOSUCHCOMMAND");
      unknown.ok();
    } catch (const redis::server_error&) {
      threw = true;
    }
    CHECK(threw);
    const std::int64_t removed = co_await c.del("greeting");
    CHECK(removed == 1);
    const std::int64_t again = co_await c.del("greeting");
    CHECK(again == 0);
  }(c));
}

TEST_CASE("pipelining: a thousand coroutines share one connection, each gets its own reply", "[redis]") {
  redis_server server;
  asio::io_context io;
  redis::client c(io, quick_config(server));
  constexpr int count = 1000;
  int finished = 0, wrong = 0;
  auto one = [](redis::client& c, int i, int& finished, int& wrong) -> keel::task<void> {
    const std::string key = "k" + std::to_string(i);
    const std::string value = "v" + std::to_string(i * 7);
    co_await c.set(key, value);
    auto got = co_await c.get(key);
    redis::reply n = co_await c.command("INCR", "shared");
    if (!got || *got != value || n.integer < 1) ++wrong;
    ++finished;
  };
  run_on(io, [](redis::client& c, auto one, int& finished, int& wrong) -> keel::task<void> {
    for (int i = 0; i < count; ++i) keel::detail::start_detached(one(c, i, finished, wrong), [](auto&&) {});
    while (finished < count) co_await keel::sleep_for(5ms);
    redis::reply total = co_await c.command("GET", "shared");
    CHECK(total.text == std::to_string(count));

    redis::batch b;
    for (int i = 0; i < 100; ++i) b.add("RPUSH", "list", i);
    b.add("LRANGE", "list", 0, -1);
    std::vector<redis::reply> replies = co_await c.exec(b);
    REQUIRE(replies.size() == 101);
    CHECK(replies[99].integer == 100);
    REQUIRE(replies[100].elements.size() == 100);
    CHECK(replies[100].elements[42].text == "42");

    // A reply of 200,000 elements arrives in many reads.
    redis::batch big;
    for (int i = 0; i < 200; ++i) {
      big.add("RPUSH", "big", "x");
      for (int j = 1; j < 1000; ++j) big.add("RPUSH", "big", j);
    }
    std::vector<redis::reply> pushed = co_await c.exec(big);
    CHECK(pushed.back().integer == 200000);
    redis::reply all = co_await c.command("LRANGE", "big", 0, -1);
    REQUIRE(all.elements.size() == 200000);
    CHECK(all.elements[1].text == "1");
    CHECK(all.elements[199999].text == "999");
  }(c, one, finished, wrong));
  CHECK(finished == count);
  CHECK(wrong == 0);
}

TEST_CASE("password and database from the URL; a wrong password fails commands with the reason", "[redis]") {
  redis_server server("pa55word");
  asio::io_context io;
  redis::client db2(io, server.url(2));
  redis::client db0(io, server.url(0));
  redis::config bad = redis::parse_url("redis://:wrong@127.0.0.1:" + std::to_string(server.port()));
  bad.command_timeout = 300ms;
  redis::client wrong(io, bad);
  run_on(io, [](redis::client& db2, redis::client& db0, redis::client& wrong) -> keel::task<void> {
    co_await db2.set("where", "two");
    auto in2 = co_await db2.get("where");
    auto in0 = co_await db0.get("where");
    CHECK(in2 == std::optional<std::string>("two"));
    CHECK_FALSE(in0.has_value());
    std::string why;
    try {
      co_await wrong.ping();
    } catch (const redis::error& e) {
      why = e.what();
    }
    INFO(why);
    CHECK(why.find("WRONGPASS") != std::string::npos);
  }(db2, db0, wrong));
}

TEST_CASE("a command without a reply times out; the client reconnects and goes on", "[redis]") {
  redis_server server;
  asio::io_context io;
  redis::config cfg = quick_config(server);
  cfg.command_timeout = 300ms;
  redis::client c(io, cfg);
  redis::client admin(io, quick_config(server));
  run_on(io, [](redis::client& c, redis::client& admin) -> keel::task<void> {
    co_await c.ping();
    redis::reply paused = co_await admin.command("CLIENT", "PAUSE", 1500, "ALL");
    CHECK(paused.text == "OK");
    bool timed_out = false;
    try {
      co_await c.get("x");
    } catch (const redis::error& e) {
      timed_out = std::string(e.what()).find("timed out") != std::string::npos;
    }
    CHECK(timed_out);
    co_await keel::sleep_for(1500ms);
    co_await c.set("after", "pause");
    auto v = co_await c.get("after");
    CHECK(v == std::optional<std::string>("pause"));
  }(c, admin));
}

TEST_CASE("the client reconnects after redis-server restarts", "[redis]") {
  redis_server server;
  asio::io_context io;
  redis::client c(io, quick_config(server));
  run_on(io, [](redis::client& c, redis_server& server) -> keel::task<void> {
    co_await c.set("k", "before");
    server.stop();
    bool failed = false;
    try {
      co_await c.get("k");
    } catch (const redis::error&) {
      failed = true;
    }
    CHECK(failed);
    server.start();
    // Waiting commands go out once the connection is back (within command_timeout).
    co_await c.set("k", "after");
    auto v = co_await c.get("k");
    CHECK(v == std::optional<std::string>("after"));
  }(c, server));
}

TEST_CASE("pub/sub: channels, patterns, unsubscribe, callback and next()", "[redis][pubsub]") {
  redis_server server;
  asio::io_context io;
  redis::client pub(io, quick_config(server));
  redis::subscriber sub(io, quick_config(server));
  run_on(io, [](redis::client& pub, redis::subscriber& sub) -> keel::task<void> {
    co_await sub.subscribe("news");
    co_await sub.psubscribe("user:*");
    const std::int64_t heard = co_await pub.publish("news", "hello");
    CHECK(heard == 1);
    redis::message m = co_await sub.next();
    CHECK(m.channel == "news");
    CHECK(m.payload == "hello");
    CHECK(m.pattern.empty());
    co_await pub.publish("user:7", "joined");
    m = co_await sub.next();
    CHECK(m.channel == "user:7");
    CHECK(m.payload == "joined");
    CHECK(m.pattern == "user:*");
    co_await sub.unsubscribe("news");
    const std::int64_t nobody = co_await pub.publish("news", "unheard");
    CHECK(nobody == 0);
    co_await sub.punsubscribe("user:*");
    const std::int64_t none = co_await pub.publish("user:8", "x");
    CHECK(none == 0);
  }(pub, sub));

  redis::subscriber cb(io, quick_config(server));
  std::vector<std::string> got;
  cb.on_message([&got](redis::message& m) { got.push_back(m.channel + "=" + m.payload); });
  run_on(io,
         [](redis::client& pub, redis::subscriber& cb, std::vector<std::string>& got) -> keel::task<void> {
           co_await cb.subscribe("a");
           co_await cb.subscribe("b");
           co_await pub.publish("a", "1");
           co_await pub.publish("b", "2");
           co_await pub.publish("a", "3");
           while (got.size() < 3) co_await keel::sleep_for(5ms);
         }(pub, cb, got));
  CHECK(got == std::vector<std::string>{"a=1", "b=2", "a=3"});

  // Without awaiting (what a keel::hub backend does): detached subscribe/unsubscribe, fire-and-forget send.
  got.clear();
  cb.subscribe_detached("d");
  run_on(io,
         [](redis::client& pub, redis::subscriber& cb, std::vector<std::string>& got) -> keel::task<void> {
           co_await publish_until(pub, "d", "first", 1);
           pub.send("PUBLISH", "d", "second");
           while (got.size() < 2) co_await keel::sleep_for(5ms);
           cb.unsubscribe_detached("d");
           for (int i = 0; i < 500; ++i) {
             const std::int64_t n = co_await pub.publish("d", "unheard");
             if (n == 0) break;
             co_await keel::sleep_for(5ms);
           }
         }(pub, cb, got));
  REQUIRE(got.size() >= 2);  // then "unheard" ones, until the unsubscribe took effect
  CHECK(got[0] == "d=first");
  CHECK(got[1] == "d=second");
}

TEST_CASE("pub/sub: redis-server restarts on the same port, the subscriptions come back", "[redis][pubsub]") {
  redis_server server;
  asio::io_context io;
  redis::client pub(io, quick_config(server));
  redis::subscriber sub(io, quick_config(server));
  int connects = 0;
  std::vector<std::string> got;
  sub.on_connect([&connects] { ++connects; });
  sub.on_message([&got](redis::message& m) { got.push_back(m.channel + "=" + m.payload); });
  run_on(io,
         [](redis::client& pub, redis::subscriber& sub, redis_server& server, std::vector<std::string>& got,
            int& connects) -> keel::task<void> {
           co_await sub.subscribe("orders");
           co_await sub.psubscribe("stock.*");
           co_await pub.publish("orders", "one");
           while (got.size() < 1) co_await keel::sleep_for(5ms);
           CHECK(connects == 1);

           server.stop();
           co_await keel::sleep_for(100ms);
           server.start();  // a new, empty server: it knows nothing of the old subscriptions

           co_await publish_until(pub, "orders", "two", 1);
           co_await publish_until(pub, "stock.apples", "three", 1);
           while (got.size() < 3) co_await keel::sleep_for(5ms);
           CHECK(connects >= 2);
         }(pub, sub, server, got, connects));
  REQUIRE(got.size() == 3);
  CHECK(got[0] == "orders=one");
  CHECK(got[1] == "orders=two");
  CHECK(got[2] == "stock.apples=three");
}

TEST_CASE("a client on its own io_thread serves coroutines of another reactor, resuming them there",
          "[redis][threads]") {
  redis_server server;
  redis::io_thread redis_io;
  redis::client c(redis_io.context(), quick_config(server));
  redis::subscriber sub(redis_io.context(), quick_config(server));
  asio::io_context reactor;
  const auto reactor_thread = std::this_thread::get_id();
  bool all_here = true;
  int finished = 0;
  auto one = [](redis::client& c, int i, std::thread::id home, bool& all_here,
                int& finished) -> keel::task<void> {
    const std::string key = "t" + std::to_string(i);
    co_await c.set(key, key);
    all_here = all_here && std::this_thread::get_id() == home;
    auto v = co_await c.get(key);
    all_here = all_here && std::this_thread::get_id() == home && v == std::optional<std::string>(key);
    ++finished;
  };
  run_on(reactor,
         [](redis::client& c, redis::subscriber& sub, auto one, std::thread::id home, bool& all_here,
            int& finished) -> keel::task<void> {
           for (int i = 0; i < 200; ++i)
             keel::detail::start_detached(one(c, i, home, all_here, finished), [](auto&&) {});
           while (finished < 200) co_await keel::sleep_for(5ms);
           co_await sub.subscribe("x");
           all_here = all_here && std::this_thread::get_id() == home;
           co_await c.publish("x", "across threads");
           redis::message m = co_await sub.next();
           all_here = all_here && std::this_thread::get_id() == home;
           CHECK(m.payload == "across threads");
         }(c, sub, one, reactor_thread, all_here, finished));
  CHECK(finished == 200);
  CHECK(all_here);
}
