// Asynchronous middleware: a `before` written as a coroutine (keel::task<keel::flow>) that awaits I/O, at
// app and route level: an early answer, state handed on to later layers and the handler, an exception
// turned into a 500 with the request id, and the `after`s of the layers that ran.
#include "keel/middleware/middleware.hpp"

#include "keel/app.hpp"
#include "keel/middleware/request_id.hpp"
#include "keel/offload.hpp"
#include "keel/test_client.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <stdexcept>
#include <string>

using namespace std::chrono_literals;

namespace {

struct api_key_state {
  std::string owner;
};

std::atomic<int> afters{0};

// Looks the key up "in a store" (the worker pool) before letting the request on.
struct async_api_key {
  using state = api_key_state;
  template <class Ctx>
  keel::task<keel::flow> before(Ctx& ctx) const {
    const std::string key(ctx.request().header("X-Key"));
    if (key == "throw") throw std::runtime_error("the key store is down");
    // offload(fn, args): g++ 12 must not see a capturing lambda inside the co_await (see keel/offload.hpp).
    const std::string owner = co_await keel::offload(
        [](const std::string& k) { return k == "good" ? std::string("alice") : std::string(); }, key);
    if (owner.empty()) {
      ctx.fail(keel::http_error(keel::http::status::unauthorized, "bad key"));
      co_return keel::flow::respond;
    }
    ctx.template state<api_key_state>().owner = owner;
    co_return keel::flow::next;
  }
  void after(keel::request_context& ctx) const {
    ++afters;
    ctx.response().header("X-Checked", "1");
  }
};

// A route-level layer that waits on the reactor's timer, then lets everything through.
struct async_delay {
  keel::task<keel::flow> before(keel::request_context& ctx) const {
    co_await keel::sleep_for(2ms);
    ctx.response().header("X-Delayed", "1");
    co_return keel::flow::next;
  }
};

struct sync_marker {
  void before(keel::request_context& ctx) const { ctx.response().header("X-Sync", "1"); }
};

auto make_app() {
  return keel::app{keel::router{
                       keel::get<"/whoami">([](const api_key_state& s) { return s.owner; }),
                       keel::get<"/async-handler">([](const api_key_state& s) -> keel::task<std::string> {
                         co_await keel::sleep_for(1ms);
                         co_return "async " + s.owner;
                       }),
                       keel::get<"/delayed">([] { return "delayed"; }).use(async_delay{}, sync_marker{}),
                   }}
      .use<keel::request_id, async_api_key>();
}

}  // namespace

TEST_CASE("an asynchronous before hands its state to the handler", "[middleware][async]") {
  STATIC_REQUIRE(keel::has_async_before<async_api_key, decltype(make_app())::context_type>);
  auto app = make_app();
  keel::test_client client{app};
  afters = 0;
  auto r = client.get("/whoami", {{"X-Key", "good"}});
  CHECK(r.status == 200);
  CHECK(r.body == "alice");
  CHECK(r.header("X-Checked") == "1");
  CHECK(r.has_header("X-Request-ID"));
  auto a = client.get("/async-handler", {{"X-Key", "good"}});
  CHECK(a.body == "async alice");
  CHECK(afters == 2);
}

TEST_CASE("an asynchronous before answers early; the layers that ran still unwind", "[middleware][async]") {
  auto app = make_app();
  keel::test_client client{app};
  afters = 0;
  auto r = client.get("/whoami", {{"X-Key", "bad"}});
  CHECK(r.status == 401);
  CHECK(r.body.find("bad key") != std::string::npos);
  CHECK(r.header("X-Checked") == "1");
  CHECK(afters == 1);
}

TEST_CASE("an exception in an asynchronous before is a 500 with the request id", "[middleware][async]") {
  auto app = make_app();
  keel::test_client client{app};
  auto r = client.get("/whoami", {{"X-Key", "throw"}, {"X-Request-ID", "req-77"}});
  CHECK(r.status == 500);
  CHECK(r.body.find("\"request_id\":\"req-77\"") != std::string::npos);
  CHECK(r.body.find("key store") == std::string::npos);  // no internals
}

TEST_CASE("route-level asynchronous and synchronous layers run in order", "[middleware][async]") {
  auto app = make_app();
  keel::test_client client{app};
  auto rs = client.send_raw(
      "GET /delayed HTTP/1.1\r\nHost: x\r\nX-Key: good\r\n\r\n"
      "GET /whoami HTTP/1.1\r\nHost: x\r\nX-Key: good\r\n\r\n");
  REQUIRE(rs.size() == 2);
  CHECK(rs[0].body == "delayed");
  CHECK(rs[0].header("X-Delayed") == "1");
  CHECK(rs[0].header("X-Sync") == "1");
  CHECK(rs[1].body == "alice");
}
