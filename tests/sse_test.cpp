// Server-sent events (keel::event_stream, keel/sse.hpp) and a keel::hub topic streamed as events: the
// event-stream framing (multi-line data, ids and names that cannot be framed, retry, comments), the response
// head, Last-Event-ID replay, keepalive comments on a quiet stream, and a client that disconnects (the
// handler's loop ends, the subscription and the connection go away). Over real sockets on 127.0.0.1.
#include "keel/sse.hpp"

#include "keel/app.hpp"
#include "keel/hub.hpp"
#include "keel/offload.hpp"
#include "keel/server/server.hpp"
#include "support/local_server.hpp"
#include "support/raw_client.hpp"
#include "support/ws_client.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

using namespace std::chrono_literals;
using keel_test::eventually;
using keel_test::raw_client;

namespace {

keel::hub* the_hub = nullptr;
std::atomic<int> streams_ended{0};

struct end_counter {
  ~end_counter() { ++streams_ended; }
};

std::string framed(const keel::sse_event& ev) {
  std::string out;
  keel::append_sse_event(out, ev);
  return out;
}

auto make_app() {
  return keel::app{keel::router{
      keel::get<"/ticks">([](keel::event_stream es) -> keel::task<> {
        for (int i = 1; i <= 3; ++i) {
          const std::string id = std::to_string(i);
          const std::string data = "tick " + id + "\nsecond line";
          keel::sse_event ev{.id = id, .event = "tick", .data = data, .retry = {}};
          co_await es.send(ev);
          co_await keel::sleep_for(5ms);
        }
      }),
      keel::ws<"/ws/{name}">([](std::string name, keel::websocket& ws) -> keel::task<> {
        keel::hub_subscription sub = the_hub->subscribe(name, ws);
        while (auto msg = co_await ws.receive()) {
        }
      }),
      keel::get<"/topics/{name}">([](std::string name, keel::event_stream es) -> keel::task<> {
        end_counter guard;
        es.keepalive_interval(50ms);
        co_await the_hub->stream(name, es);
      }),
  }};
}
using app_type = decltype(make_app());

// The body of a chunked stream, de-chunked (as far as it arrived).
std::string dechunk(std::string_view raw) {
  const auto head_end = raw.find("\r\n\r\n");
  if (head_end == std::string_view::npos) return {};
  std::string_view rest = raw.substr(head_end + 4);
  std::string body;
  for (;;) {
    const auto eol = rest.find("\r\n");
    if (eol == std::string_view::npos) break;
    const std::size_t n = std::stoul(std::string(rest.substr(0, eol)), nullptr, 16);
    if (n == 0 || rest.size() < eol + 2 + n + 2) break;
    body.append(rest.substr(eol + 2, n));
    rest.remove_prefix(eol + 2 + n + 2);
  }
  return body;
}

keel::server_config test_config() {
  keel::server_config cfg = keel_test::local_config(2);
  cfg.timeout.shutdown = 300ms;  // a stream is closed this long after shutdown began
  return cfg;
}

struct running_server {
  keel::hub hub;
  app_type app = make_app();
  keel::detail::server<app_type> server{app, test_config()};
  std::uint16_t port = 0;
  running_server() {
    the_hub = &hub;
    port = server.start();
  }
  ~running_server() {
    server.stop();
    server.wait();
    the_hub = nullptr;
  }
};

}  // namespace

TEST_CASE("events are framed as the event-stream format says", "[sse]") {
  keel::sse_event ev{.id = "7", .event = "update", .data = "one\ntwo\r\nthree\rfour", .retry = {}};
  CHECK(framed(ev) == "id: 7\nevent: update\ndata: one\ndata: two\ndata: three\ndata: four\n\n");
  keel::sse_event plain{.id = {}, .event = {}, .data = "x", .retry = {}};
  CHECK(framed(plain) == "data: x\n\n");
  keel::sse_event empty{.id = {}, .event = {}, .data = {}, .retry = {}};
  CHECK(framed(empty) == "data: \n\n");  // still dispatched, with empty data
  keel::sse_event trailing{.id = {}, .event = {}, .data = "a\n", .retry = {}};
  CHECK(framed(trailing) == "data: a\ndata: \n\n");  // the client rebuilds "a\n"
  keel::sse_event retry{.id = {}, .event = {}, .data = "r", .retry = 2500ms};
  CHECK(framed(retry) == "retry: 2500\ndata: r\n\n");
  keel::sse_event spaced{.id = {}, .event = {}, .data = " leading space", .retry = {}};
  CHECK(framed(spaced) == "data:  leading space\n\n");  // one space is eaten by the client, one stays
}

TEST_CASE("an id or event name with CR, LF or NUL is refused", "[sse]") {
  for (std::string_view bad :
       {std::string_view("1\n2"), std::string_view("1\r"), std::string_view("a\0b", 3)}) {
    keel::sse_event by_id{.id = bad, .event = {}, .data = "x", .retry = {}};
    CHECK_THROWS_AS(framed(by_id), std::invalid_argument);
    keel::sse_event by_name{.id = {}, .event = bad, .data = "x", .retry = {}};
    CHECK_THROWS_AS(framed(by_name), std::invalid_argument);
  }
  std::string out;
  keel::append_sse_comment(out, "two\nlines");
  CHECK(out == ": two\n: lines\n\n");
  out.clear();
  keel::append_sse_comment(out, {});
  CHECK(out == ":\n\n");
}

TEST_CASE("an event stream answers with the event-stream head and its events", "[sse][socket]") {
  running_server s;
  raw_client c("127.0.0.1", s.port);
  REQUIRE(c.send("GET /ticks HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n"));
  REQUIRE(c.read_until("\r\n0\r\n\r\n"));
  const std::string raw = c.take();
  CHECK(raw.starts_with("HTTP/1.1 200 OK\r\n"));
  CHECK(raw.find("\r\nContent-Type: text/event-stream\r\n") != std::string::npos);
  CHECK(raw.find("\r\nCache-Control: no-cache\r\n") != std::string::npos);
  CHECK(raw.find("\r\nX-Accel-Buffering: no\r\n") != std::string::npos);
  CHECK(raw.find("\r\nTransfer-Encoding: chunked\r\n") != std::string::npos);
  CHECK(raw.find("Content-Length") == std::string::npos);
  CHECK(dechunk(raw) ==
        "id: 1\nevent: tick\ndata: tick 1\ndata: second line\n\n"
        "id: 2\nevent: tick\ndata: tick 2\ndata: second line\n\n"
        "id: 3\nevent: tick\ndata: tick 3\ndata: second line\n\n");
}

TEST_CASE("a hub topic streams as events, each sent as it is published", "[sse][hub][socket]") {
  running_server s;
  raw_client c("127.0.0.1", s.port);
  REQUIRE(c.send("GET /topics/news HTTP/1.1\r\nHost: x\r\n\r\n"));
  REQUIRE(c.read_until(":\n\n"));  // the opening comment: the stream is open, the subscription made
  REQUIRE(eventually([&] { return s.hub.subscribers("news") == 1; }));
  CHECK(s.hub.publish("news", "first") == 1);
  REQUIRE(c.read_until("data: first\n\n"));
  CHECK(s.hub.publish("news", "line a\nline b") == 2);
  REQUIRE(c.read_until("data: line b\n\n"));
  const std::string body = dechunk(c.take() + "0\r\n\r\n");
  CHECK(body.find("id: 1\nevent: message\ndata: first\n\n") != std::string::npos);
  CHECK(body.find("id: 2\nevent: message\ndata: line a\ndata: line b\n\n") != std::string::npos);
}

TEST_CASE("Last-Event-ID resumes from the replay buffer, then the stream goes on live",
          "[sse][hub][socket]") {
  running_server s;
  for (int i = 1; i <= 5; ++i) s.hub.publish("room", "m" + std::to_string(i));
  raw_client c("127.0.0.1", s.port);
  REQUIRE(c.send("GET /topics/room HTTP/1.1\r\nHost: x\r\nLast-Event-ID: 2\r\n\r\n"));
  REQUIRE(c.read_until("data: m5\n\n"));
  std::string body = dechunk(c.take() + "0\r\n\r\n");
  CHECK(body.find("data: m1\n") == std::string::npos);
  CHECK(body.find("data: m2\n") == std::string::npos);
  const auto p3 = body.find("id: 3\nevent: message\ndata: m3\n\n");
  const auto p4 = body.find("id: 4\nevent: message\ndata: m4\n\n");
  const auto p5 = body.find("id: 5\nevent: message\ndata: m5\n\n");
  REQUIRE(p3 != std::string::npos);
  CHECK((p3 < p4 && p4 < p5 && p5 != std::string::npos));
  s.hub.publish("room", "m6");
  REQUIRE(c.read_until("data: m6\n\n"));
  body = c.take();  // chunks after the head: the event is inside one
  CHECK(body.find("id: 6\nevent: message\ndata: m6\n\n") != std::string::npos);
  CHECK(body.find("id: 5\n") == std::string::npos);  // no message twice

  // An id that is not a number (or is ahead of the topic) replays nothing.
  raw_client d("127.0.0.1", s.port);
  REQUIRE(d.send("GET /topics/room HTTP/1.1\r\nHost: x\r\nLast-Event-ID: abc\r\n\r\n"));
  REQUIRE(d.read_until(":\n\n"));
  REQUIRE(eventually([&] { return s.hub.subscribers("room") == 2; }));
  s.hub.publish("room", "m7");
  REQUIRE(d.read_until("data: m7\n\n"));
  CHECK(d.take().find("data: m6") == std::string::npos);
}

TEST_CASE("a quiet stream sends keepalive comments", "[sse][hub][socket]") {
  running_server s;
  raw_client c("127.0.0.1", s.port);
  REQUIRE(c.send("GET /topics/quiet HTTP/1.1\r\nHost: x\r\n\r\n"));
  REQUIRE(c.read_until(": keepalive\n\n"));
  c.take();
  REQUIRE(c.read_until(": keepalive\n\n"));  // and again
}

TEST_CASE("a client that disconnects ends the stream handler and its subscription", "[sse][hub][socket]") {
  streams_ended = 0;
  running_server s;
  {
    raw_client c("127.0.0.1", s.port);
    REQUIRE(c.send("GET /topics/gone HTTP/1.1\r\nHost: x\r\n\r\n"));
    REQUIRE(c.read_until(":\n\n"));
    REQUIRE(eventually([&] { return s.hub.subscribers("gone") == 1; }));
  }  // the client leaves; the next keepalive write finds the connection gone
  CHECK(eventually([] { return streams_ended.load() == 1; }));
  CHECK(eventually([&] { return s.hub.subscribers("gone") == 0; }));
  CHECK(eventually([&] { return s.server.open_connections() == 0; }));
  // Publishing to the topic afterwards reaches nobody and harms nothing; the server goes on.
  s.hub.publish("gone", "late");
  raw_client again("127.0.0.1", s.port);
  REQUIRE(again.send("GET /ticks HTTP/1.1\r\nHost: x\r\n\r\n"));
  CHECK(again.read_until("data: tick 3\n"));
}

TEST_CASE("a stream's handler ends at server shutdown", "[sse][hub][socket]") {
  streams_ended = 0;
  auto s = std::make_unique<running_server>();
  raw_client c("127.0.0.1", s->port);
  REQUIRE(c.send("GET /topics/stop HTTP/1.1\r\nHost: x\r\n\r\n"));
  REQUIRE(c.read_until(":\n\n"));
  s.reset();  // stop() and wait(): returns only once the handler finished
  CHECK(streams_ended.load() == 1);
}

TEST_CASE("WebSocket and SSE subscribers of a topic see the same messages in one order",
          "[sse][hub][socket]") {
  running_server s;  // two reactor threads: the subscribers may sit on either
  std::vector<std::unique_ptr<keel_test::ws_client>> sockets;
  for (int i = 0; i < 3; ++i) {
    sockets.push_back(std::make_unique<keel_test::ws_client>(s.port));
    REQUIRE(sockets.back()->handshake("/ws/mixed").starts_with("HTTP/1.1 101"));
  }
  std::vector<std::unique_ptr<raw_client>> streams;
  for (int i = 0; i < 3; ++i) {
    streams.push_back(std::make_unique<raw_client>("127.0.0.1", s.port));
    REQUIRE(streams.back()->send("GET /topics/mixed HTTP/1.1\r\nHost: x\r\n\r\n"));
    REQUIRE(streams.back()->read_until(":\n\n"));
  }
  REQUIRE(eventually([&] { return s.hub.subscribers("mixed") == 6; }));
  constexpr int publishers = 3,
                each = 60;  // a burst under the queues' 256 messages (more would close by policy)
  std::vector<std::thread> threads;
  for (int p = 0; p < publishers; ++p)
    threads.emplace_back([&s, p] {
      for (int k = 0; k < each; ++k) s.hub.publish("mixed", std::to_string(p) + "-" + std::to_string(k));
    });
  for (auto& t : threads) t.join();
  s.hub.publish("mixed", "end");
  const std::size_t total = publishers * each + 1;

  std::vector<std::vector<std::string>> seen;
  for (auto& ws : sockets) {
    std::vector<std::string> got;
    while (got.size() < total) {
      auto f = ws->read();
      REQUIRE(f);
      got.push_back(f->payload);
    }
    seen.push_back(std::move(got));
  }
  for (auto& c : streams) {
    REQUIRE(c->read_until("data: end\n\n"));
    const std::string raw = c->take();
    std::vector<std::string> got;
    std::uint64_t expect_id = 1;
    for (std::size_t at = raw.find("id: "); at != std::string::npos; at = raw.find("id: ", at + 1)) {
      const std::size_t eol = raw.find('\n', at);
      CHECK(raw.substr(at + 4, eol - at - 4) == std::to_string(expect_id++));  // ids are 1, 2, 3 ...
      const std::size_t data = raw.find("data: ", eol);
      got.push_back(raw.substr(data + 6, raw.find('\n', data) - data - 6));
    }
    seen.push_back(std::move(got));
  }
  REQUIRE(seen[0].size() == total);
  for (const auto& order : seen) CHECK(order == seen[0]);
  std::vector<int> next(publishers, 0);  // each publisher's messages in its own order
  for (std::size_t i = 0; i + 1 < total; ++i) {
    const std::string& m = seen[0][i];
    const int who = std::stoi(m.substr(0, m.find('-')));
    REQUIRE(std::stoi(m.substr(m.find('-') + 1)) == next[who]++);
  }
}
