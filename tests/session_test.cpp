// The HTTP/1.1 session through the in-process client: pipelining, keep-alive, 100-continue, framing errors,
// limits, and coroutine handlers with offloaded work.
#include "keel/server/session.hpp"

#include "keel/app.hpp"
#include "keel/offload.hpp"
#include "keel/test_client.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <stdexcept>
#include <string>
#include <thread>

namespace {

auto make_app() {
  return keel::app{keel::router{
      keel::get<"/a">([] { return "A"; }),
      keel::get<"/b">([] { return "BB"; }),
      keel::post<"/echo">([](keel::body b) { return std::string(b.data); }),
      keel::get<"/async">([]() -> keel::task<std::string> { co_return "async"; }),
      keel::get<"/offload/{n}">([](int n) -> keel::task<std::string> {
        auto main_thread = std::this_thread::get_id();
        int doubled = co_await keel::offload([n] { return n * 2; });
        // resumed on the reactor thread, not the worker
        if (std::this_thread::get_id() != main_thread) throw std::logic_error("resumed on a worker thread");
        co_return std::to_string(doubled);
      }),
      keel::get<"/offload-throws">([]() -> keel::task<std::string> {
        co_await keel::offload([]() -> int { throw std::runtime_error("db exploded"); });
        co_return "unreachable";
      }),
      keel::get<"/offload-http-error">([]() -> keel::task<std::string> {
        co_await keel::offload([] { throw keel::http_error(keel::http::status::forbidden, "nope"); });
        co_return "unreachable";
      }),
      keel::get<"/sleep">(
          []() -> keel::task<void> { co_await keel::sleep_for(std::chrono::milliseconds(5)); }),
  }};
}

}  // namespace

TEST_CASE("pipelined requests are answered in order in one batch", "[session]") {
  auto app = make_app();
  keel::test_client client{app};
  auto rs = client.send_raw(
      "GET /a HTTP/1.1\r\nHost: x\r\n\r\n"
      "GET /b HTTP/1.1\r\nHost: x\r\n\r\n"
      "GET /async HTTP/1.1\r\nHost: x\r\n\r\n"
      "GET /offload/21 HTTP/1.1\r\nHost: x\r\n\r\n"
      "GET /a HTTP/1.1\r\nHost: x\r\n\r\n");
  REQUIRE(rs.size() == 5);
  CHECK(rs[0].body == "A");
  CHECK(rs[1].body == "BB");
  CHECK(rs[2].body == "async");
  CHECK(rs[3].body == "42");
  CHECK(rs[4].body == "A");
  CHECK_FALSE(client.closed());
}

TEST_CASE("every response has Date, Server and a correct Content-Length", "[session]") {
  auto app = make_app();
  keel::test_client client{app};
  auto r = client.get("/b");
  CHECK(r.header("Server") == "keel");
  CHECK(r.header("Date").size() == 29);
  CHECK(r.header("Content-Length") == "2");
  keel::server_config cfg;
  cfg.server_header.reset();
  keel::test_client quiet{app, cfg};
  CHECK_FALSE(quiet.get("/b").has_header("Server"));
}

TEST_CASE("keep-alive rules: HTTP/1.0 closes, Connection: close closes", "[session]") {
  auto app = make_app();
  keel::test_client client{app};
  auto r10 = client.send_raw("GET /a HTTP/1.0\r\n\r\n");
  REQUIRE(r10.size() == 1);
  CHECK(r10[0].header("Connection") == "close");
  CHECK(client.closed());

  auto r10ka = client.send_raw("GET /a HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
  CHECK_FALSE(client.closed());

  auto rc = client.send_raw(
      "GET /a HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\n");
  REQUIRE(rc.size() == 1);  // nothing after a close is answered
  CHECK(client.closed());
}

TEST_CASE("Expect: 100-continue gets an interim response before the body", "[session]") {
  auto app = make_app();
  keel::test_client client{app};
  auto head = client.send_raw_bytes(
      "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n");
  CHECK(head == "HTTP/1.1 100 Continue\r\n\r\n");
  auto rest = client.send_raw("hello");
  REQUIRE(rest.size() == 1);
  CHECK(rest[0].body == "hello");
}

TEST_CASE("framing errors answer 400 and close", "[session]") {
  auto app = make_app();
  keel::test_client client{app};
  auto r = client.send_raw(
      "GET /a HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n");
  REQUIRE(r.size() == 1);
  CHECK(r[0].status == 400);
  CHECK(r[0].header("Connection") == "close");
  CHECK(r[0].header("Content-Type") == "application/json");
  CHECK(client.closed());
  CHECK(client.send_raw("GET /a HTTP/2.0\r\nHost: x\r\n\r\n").at(0).status == 505);
  CHECK(client.send_raw("BROKEN\r\n\r\n").at(0).status == 400);
  // the client reconnects and is served normally
  CHECK(client.get("/a").body == "A");
}

TEST_CASE("limits: 413 from Content-Length, 431 for huge headers, 414 for a huge target", "[session]") {
  auto app = make_app();
  keel::server_config cfg;
  cfg.limits.max_body_bytes = 10;
  cfg.limits.max_header_bytes = 512;
  cfg.limits.max_target_bytes = 64;
  keel::test_client client{app, cfg};
  CHECK(client.send_raw("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\n\r\n").at(0).status == 413);
  CHECK(client.post("/echo", "0123456789").body == "0123456789");
  std::string big = "GET /a HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(600, 'a') + "\r\n\r\n";
  CHECK(client.send_raw(big).at(0).status == 431);
  std::string longtarget = "GET /" + std::string(100, 'a') + " HTTP/1.1\r\nHost: x\r\n\r\n";
  CHECK(client.send_raw(longtarget).at(0).status == 414);
}

TEST_CASE("chunked request bodies are de-chunked", "[session]") {
  auto app = make_app();
  keel::test_client client{app};
  auto r = client.send_raw(
      "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
      "5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n");
  REQUIRE(r.size() == 1);
  CHECK(r[0].body == "hello world");
}

TEST_CASE("coroutine handlers: offload results, exceptions and timers", "[session][async]") {
  auto app = make_app();
  keel::test_client client{app};
  CHECK(client.get("/offload/5").body == "10");
  auto e = client.get("/offload-throws");
  CHECK(e.status == 500);
  CHECK(e.body.find("exploded") == std::string::npos);
  auto f = client.get("/offload-http-error");
  CHECK(f.status == 403);
  CHECK(f.body.find("nope") != std::string::npos);
  CHECK(client.get("/sleep").status == 204);
  for (int i = 0; i < 50; ++i)
    REQUIRE(client.get("/offload/" + std::to_string(i)).body == std::to_string(2 * i));
}

TEST_CASE("a request split across many reads is parsed once complete", "[session]") {
  auto app = make_app();
  keel::test_client client{app};
  std::string req = "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc";
  std::string out;
  for (char c : req) out += client.send_raw_bytes(std::string_view(&c, 1));
  CHECK(out.find("\r\n\r\nabc") != std::string::npos);
}

TEST_CASE("test_client: headers with a body; a Content-Type among them is not sent twice", "[test_client]") {
  // Answers every Content-Type the request carried, joined with '|', then the X-Token header.
  auto app = keel::app{keel::router{keel::post<"/h">([](keel::request_context& ctx) {
    std::string out;
    for (const auto& field : ctx.request().headers)
      if (keel::detail::iequals(field.name, "Content-Type")) out.append(field.value).append("|");
    return out + std::string(ctx.request().header("X-Token"));
  })}};
  keel::test_client client{app};
  CHECK(client.post("/h", "{}").body == "application/json|");
  CHECK(client.post("/h", "{}", {{"X-Token", "t1"}}).body == "application/json|t1");
  CHECK(client.put("/h", "{}", keel::test_headers{{"X-Token", "t2"}}).status == 405);
  CHECK(client.post("/h", "a=1", {{"Content-Type", "application/x-www-form-urlencoded"}, {"X-Token", "t3"}})
            .body == "application/x-www-form-urlencoded|t3");
  CHECK(client.post("/h", "x", "text/plain", {{"content-type", "text/csv"}}).body == "text/csv|");
}
