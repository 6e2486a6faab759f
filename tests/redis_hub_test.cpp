// keel::redis_hub_backend against a real redis-server (tests/support/redis_server.hpp): two hubs in one
// process, each with its own Redis connections, stand for two processes sharing a Redis.
#include "keel/redis_hub.hpp"
#include "support/redis_server.hpp"
#include "support/run_on_io.hpp"

#include <catch2/catch.hpp>

#include <asio/io_context.hpp>

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace redis = keel::redis;
using keel_test_support::quick_config;
using keel_test_support::redis_server;
using keel_test_support::run_on;
using namespace std::chrono_literals;
using redis_hub = keel::basic_hub<keel::redis_hub_backend>;

namespace {

keel::hub_options roomy() {
  keel::hub_options o;
  o.queue_messages = 10'000;
  return o;
}

// PUBSUB NUMSUB: how many connections subscribe to `channel` (0 while the server is away).
keel::task<std::int64_t> numsub(redis::client& c, std::string channel) {
  try {
    redis::reply r = co_await c.command("PUBSUB", "NUMSUB", channel);
    r.ok();
    if (r.is_array() && r.elements.size() == 2) co_return r.elements[1].integer;
  } catch (const redis::error&) {
    // reconnecting
  }
  co_return -1;
}

// Waits until `channel` has `n` subscribing connections.
keel::task<void> until_numsub(redis::client& c, std::string channel, std::int64_t n) {
  for (int attempt = 0; attempt < 1000; ++attempt) {
    const std::int64_t now = co_await numsub(c, channel);
    if (now == n) co_return;
    co_await keel::sleep_for(10ms);
  }
  throw std::runtime_error("PUBSUB NUMSUB " + channel + " never reached " + std::to_string(n));
}

// Waits until the publishing connection is up (a PING answered), so a fire-and-forget PUBLISH is written.
keel::task<void> until_connected(redis::client& c) {
  for (int attempt = 0; attempt < 100; ++attempt) {
    bool up = false;
    try {
      co_await c.ping();
      up = true;
    } catch (const redis::error&) {
      // reconnecting
    }
    if (up) co_return;
    co_await keel::sleep_for(50ms);
  }
  throw std::runtime_error("the hub's publishing connection never came up");
}

std::string payload(const std::string& topic, int i) { return topic + "#" + std::to_string(i); }

}  // namespace

TEST_CASE("two hubs share a Redis: B's subscribers get what A publishes, once each, in order",
          "[redis_hub]") {
  redis_server server;
  asio::io_context io;
  redis::client check(io, quick_config(server));
  redis_hub a(roomy(), quick_config(server));
  redis_hub b(roomy(), server.url());  // from the URL, with the default prefix
  redis_hub other(roomy(), server.url(), "other-app:");
  CHECK(b.backend().channel("lobby") == "keel:hub:lobby");
  CHECK(other.backend().channel("lobby") == "other-app:lobby");

  run_on(io, [](redis_hub& a, redis_hub& b, redis_hub& other, redis::client& check) -> keel::task<void> {
    const std::vector<std::string> topics = {"lobby", "news", "ops"};
    constexpr int count = 500;
    std::vector<keel::hub_subscription> subs;
    for (const std::string& t : topics) subs.push_back(b.subscribe(t));
    keel::hub_subscription own = a.subscribe("news");  // A hears its own messages through Redis too
    keel::hub_subscription apart = other.subscribe("lobby");
    for (const std::string& t : topics) {
      const std::int64_t wanted = t == "news" ? 2 : 1;
      co_await until_numsub(check, b.backend().channel(t), wanted);
    }
    co_await until_numsub(check, "other-app:lobby", 1);
    co_await until_connected(a.backend().client());
    co_await until_connected(other.backend().client());

    for (int i = 1; i <= count; ++i)
      for (const std::string& t : topics) CHECK(a.publish(t, payload(t, i)) == 0);  // numbered on arrival

    for (std::size_t k = 0; k < topics.size(); ++k) {
      for (int i = 1; i <= count; ++i) {
        keel::hub_message_ptr m = co_await subs[k].next(10s);
        REQUIRE(m != nullptr);
        REQUIRE(m->payload() == payload(topics[k], i));
        CHECK(m->seq() == static_cast<std::uint64_t>(i));
        CHECK(m->topic() == topics[k]);
      }
      CHECK(b.last_seq(topics[k]) == static_cast<std::uint64_t>(count));
    }
    for (int i = 1; i <= count; ++i) {
      keel::hub_message_ptr m = co_await own.next(10s);
      REQUIRE(m != nullptr);
      REQUIRE(m->payload() == payload("news", i));
    }
    CHECK(a.last_seq("news") == static_cast<std::uint64_t>(count));
    CHECK(a.last_seq("lobby") == 0);  // nobody in A subscribed: A never received it
    // Exactly once: a marker published after everything is the very next message, nothing in between.
    a.publish("lobby", "marker");
    keel::hub_message_ptr next = co_await subs[0].next(10s);
    REQUIRE(next != nullptr);
    CHECK(next->payload() == "marker");
    CHECK(next->seq() == static_cast<std::uint64_t>(count + 1));

    // Unsubscribing: B's last "lobby" subscriber leaves, B's connection UNSUBSCRIBEs.
    subs[0].reset();
    co_await until_numsub(check, b.backend().channel("lobby"), 0);
    a.publish("lobby", "unheard");
    a.publish("ops", "after");  // same connection, so Redis handles it after the "lobby" one
    keel::hub_message_ptr after = co_await subs[2].next(10s);
    REQUIRE(after != nullptr);
    CHECK(after->payload() == "after");
    CHECK(b.last_seq("lobby") == static_cast<std::uint64_t>(count + 1));  // "unheard" never reached B
    CHECK(b.backend().undelivered() == 0);

    // Another prefix is another bus: the other hub's "lobby" heard none of A's, its own message is its first.
    other.publish("lobby", "other app");
    keel::hub_message_ptr mine = co_await apart.next(10s);
    REQUIRE(mine != nullptr);
    CHECK(mine->payload() == "other app");
    CHECK(mine->seq() == 1);
  }(a, b, other, check));
}

TEST_CASE("Redis restarts: the subscriptions come back and A's messages reach B again", "[redis_hub]") {
  redis_server server;
  asio::io_context io;
  redis::client check(io, quick_config(server));
  redis_hub a(roomy(), quick_config(server));
  redis_hub b(roomy(), quick_config(server));

  run_on(io, [](redis_hub& a, redis_hub& b, redis::client& check, redis_server& server) -> keel::task<void> {
    keel::hub_subscription sub = b.subscribe("room");
    const std::string channel = b.backend().channel("room");
    co_await until_numsub(check, channel, 1);
    co_await until_connected(a.backend().client());
    a.publish("room", "before");
    keel::hub_message_ptr m = co_await sub.next(10s);
    REQUIRE(m != nullptr);
    CHECK(m->payload() == "before");

    server.stop();
    co_await keel::sleep_for(100ms);
    server.start();  // same port, empty: it knows nothing of B's subscription

    co_await until_numsub(check, channel, 1);  // B's subscriber connection subscribed again
    co_await until_connected(a.backend().client());
    a.publish("room", "after restart");
    m = co_await sub.next(10s);
    REQUIRE(m != nullptr);
    CHECK(m->payload() == "after restart");
    CHECK(m->seq() == 2);  // B's numbering goes on: the topic lives in the hub, not in Redis
  }(a, b, check, server));
}
