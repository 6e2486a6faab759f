// keel::hub across threads: subscribers on several reactor threads (each an io_context run by its own
// thread, as the server runs them), publishers on other threads. Every subscriber receives every message of
// its topic once, numbered 1..N in the order the numbers were assigned, the same order for all; one
// publisher's messages keep their order; a subscriber that falls behind is closed or loses its oldest
// messages as the policy says; unsubscribing stops delivery; the backend seam sees first/last subscribers.
#include "keel/hub.hpp"

#include "keel/server/reactor.hpp"

#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>
#include <asio/post.hpp>

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

using namespace std::chrono_literals;

namespace {

// An io_context run by its own thread, bound as that thread's reactor.
struct reactor_thread {
  asio::io_context ctx;
  asio::executor_work_guard<asio::io_context::executor_type> guard{ctx.get_executor()};
  std::thread thread{[this] {
    keel::detail::reactor_scope scope(ctx);
    ctx.run();
  }};
  ~reactor_thread() {
    guard.reset();
    thread.join();
  }
  template <class F>
  auto on_thread(F fn) {  // runs fn() on this reactor and waits for its result
    std::promise<decltype(fn())> p;
    auto f = p.get_future();
    asio::post(ctx, [&] {
      if constexpr (std::is_void_v<decltype(fn())>) {
        fn();
        p.set_value();
      } else {
        p.set_value(fn());
      }
    });
    return f.get();
  }
};

struct received {
  std::vector<std::uint64_t> seqs;
  std::vector<std::string> payloads;
  bool closed = false;
};

// Reads `count` messages (or until closed / a quiet second) from a queued subscription on its reactor.
keel::task<> read_messages(keel::hub& hub, std::string topic, std::size_t count, received& out,
                           std::promise<void>& subscribed, std::promise<void>& done) {
  keel::hub_subscription sub = hub.subscribe(topic);
  subscribed.set_value();
  while (out.seqs.size() < count) {
    keel::hub_message_ptr m = co_await sub.next(5s);
    if (!m) {
      out.closed = sub.closed();
      break;
    }
    out.seqs.push_back(m->seq());
    out.payloads.emplace_back(m->payload());
  }
  done.set_value();
}

struct counting_backend {
  keel::local_hub_backend local;
  std::mutex m;
  std::map<std::string, int> live;  // topic -> subscribe minus unsubscribe calls
  void attach(keel::hub_local& l) { local.attach(l); }
  std::uint64_t publish(std::string_view topic, std::string_view payload) {
    return local.publish(topic, payload);
  }
  void subscribe(std::string_view topic) {
    std::lock_guard<std::mutex> lock(m);
    ++live[std::string(topic)];
  }
  void unsubscribe(std::string_view topic) {
    std::lock_guard<std::mutex> lock(m);
    --live[std::string(topic)];
  }
};
static_assert(keel::hub_backend<counting_backend>);
static_assert(keel::hub_backend<keel::local_hub_backend>);

}  // namespace

TEST_CASE("every subscriber on every reactor gets every message, in one order", "[hub]") {
  constexpr int reactors = 3, per_reactor = 4, publishers = 4, per_publisher = 500;
  constexpr std::size_t total = publishers * per_publisher;
  keel::hub hub;
  std::vector<std::unique_ptr<reactor_thread>> threads;
  for (int i = 0; i < reactors; ++i) threads.push_back(std::make_unique<reactor_thread>());
  std::vector<received> got(reactors * per_reactor);
  std::vector<std::promise<void>> subscribed(got.size()), done(got.size());
  for (std::size_t i = 0; i < got.size(); ++i) {
    reactor_thread& r = *threads[i % reactors];
    asio::post(r.ctx, [&, i] {
      keel::detail::start_detached(read_messages(hub, "t", total, got[i], subscribed[i], done[i]),
                                   [](keel::detail::task_result<void>&&) {});
    });
  }
  for (auto& s : subscribed) s.get_future().get();
  CHECK(hub.subscribers("t") == got.size());

  std::vector<std::thread> pubs;
  for (int p = 0; p < publishers; ++p)
    pubs.emplace_back([&hub, p] {
      for (int k = 0; k < per_publisher; ++k) hub.publish("t", std::to_string(p) + ":" + std::to_string(k));
    });
  for (auto& t : pubs) t.join();
  for (auto& d : done) d.get_future().get();

  CHECK(hub.last_seq("t") == total);
  for (const received& r : got) {
    REQUIRE(r.seqs.size() == total);
    for (std::size_t k = 0; k < total; ++k) REQUIRE(r.seqs[k] == k + 1);
    CHECK(r.payloads == got[0].payloads);  // the same messages in the same order everywhere
    std::vector<int> next(publishers, 0);  // each publisher's messages in its own order
    for (const std::string& p : r.payloads) {
      const int who = std::stoi(p.substr(0, p.find(':')));
      REQUIRE(std::stoi(p.substr(p.find(':') + 1)) == next[who]);
      ++next[who];
    }
  }
  threads.clear();  // joined; the subscriptions unsubscribed as their readers ended
  CHECK(hub.subscribers("t") == 0);
}

TEST_CASE("a message is shared, not copied, and framed for WebSocket and SSE once", "[hub]") {
  keel::hub_options o;
  o.stamp = [](std::string_view topic, std::uint64_t seq, std::string_view payload) {
    return std::string(topic) + "#" + std::to_string(seq) + ":" + std::string(payload);
  };
  keel::hub hub(o);
  reactor_thread r;
  std::vector<keel::hub_message_ptr> seen;
  std::promise<void> ready, done;
  auto reader = [&]() -> keel::task<> {
    keel::hub_subscription a = hub.subscribe("x");
    keel::hub_subscription b = hub.subscribe("x");
    ready.set_value();
    keel::hub_message_ptr m1 = co_await a.next(5s);
    keel::hub_message_ptr m2 = co_await b.next(5s);
    seen = {m1, m2};
    done.set_value();
  };
  r.on_thread([&] { keel::detail::start_detached(reader(), [](keel::detail::task_result<void>&&) {}); });
  ready.get_future().get();
  hub.publish("x", "hello");
  done.get_future().get();
  REQUIRE(seen.size() == 2);
  REQUIRE(seen[0] != nullptr);
  CHECK(seen[0] == seen[1]);  // one object for both subscribers
  CHECK(seen[0]->payload() == "x#1:hello");
  CHECK(seen[0]->sse() == "id: 1\nevent: message\ndata: x#1:hello\n\n");
  CHECK(seen[0]->frame()->bytes() == std::string("\x81\x09x#1:hello"));
}

TEST_CASE("a queued subscriber that falls behind is closed, or loses its oldest messages", "[hub]") {
  for (keel::ws_overflow policy : {keel::ws_overflow::close, keel::ws_overflow::drop_oldest}) {
    keel::hub_options o;
    o.queue_messages = 4;
    o.on_overflow = policy;
    keel::hub hub(o);
    reactor_thread r;
    auto sub = std::make_shared<keel::hub_subscription>();
    r.on_thread([&] { *sub = hub.subscribe("slow"); });
    for (int i = 1; i <= 10; ++i) hub.publish("slow", std::to_string(i));
    // Delivery is posted to the reactor: wait until it ran (a marker published last reaches a new
    // subscriber).
    std::promise<void> flushed;
    r.on_thread([&] { asio::post(r.ctx, [&] { flushed.set_value(); }); });
    flushed.get_future().get();
    r.on_thread([&] {
      if (policy == keel::ws_overflow::close) {
        CHECK(sub->closed());
        CHECK(sub->queued() == 0);
      } else {
        CHECK_FALSE(sub->closed());
        CHECK(sub->queued() == 4);  // 7, 8, 9, 10
      }
      sub->reset();
    });
    CHECK(hub.subscribers("slow") == 0);
  }
}

TEST_CASE("replay after a sequence number, and unsubscribing stops delivery", "[hub]") {
  keel::hub_options o;
  o.replay = 3;
  keel::hub hub(o);
  for (int i = 1; i <= 5; ++i) hub.publish("r", std::to_string(i));
  reactor_thread r;
  r.on_thread([&] {
    keel::hub_subscription from1 = hub.subscribe("r", 1);  // only 3, 4, 5 are kept
    CHECK(from1.queued() == 3);
    keel::hub_subscription from4 = hub.subscribe("r", 4);
    CHECK(from4.queued() == 1);
    keel::hub_subscription live = hub.subscribe("r");
    CHECK(live.queued() == 0);
    CHECK(hub.subscribers("r") == 3);
  });
  CHECK(hub.subscribers("r") == 0);
  CHECK(hub.publish("r", "6") == 6);

  // A replay longer than a subscriber's queue starts at the newest messages that fit, without closing it.
  keel::hub_options small;
  small.replay = 10;
  small.queue_messages = 2;
  keel::hub h2(small);
  for (int i = 1; i <= 6; ++i) h2.publish("r", std::to_string(i));
  r.on_thread([&] {
    keel::hub_subscription s = h2.subscribe("r", 0);
    CHECK_FALSE(s.closed());
    CHECK(s.queued() == 2);  // 5 and 6
  });
}

TEST_CASE("the backend hears of a topic's first and last subscriber", "[hub]") {
  keel::basic_hub<counting_backend> hub;
  reactor_thread r;
  r.on_thread([&] {
    keel::hub_subscription a = hub.subscribe("b");
    CHECK(hub.backend().live["b"] == 1);
    {
      keel::hub_subscription b = hub.subscribe("b");
      CHECK(hub.backend().live["b"] == 1);
    }
    CHECK(hub.backend().live["b"] == 1);
  });
  CHECK(hub.backend().live["b"] == 0);
  CHECK(hub.publish("b", "x") == 1);
}

TEST_CASE("subscribing off a reactor thread is refused", "[hub]") {
  keel::hub hub;
  CHECK_THROWS_AS(hub.subscribe("x"), std::logic_error);
}
