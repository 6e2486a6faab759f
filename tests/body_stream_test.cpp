// Streamed request bodies (keel::body_stream) and per-route body limits: Content-Length and chunked bodies
// read in pieces, 413 before any body byte, 100-continue only for an accepted size, buffered extractors under
// a route's own limit, and pipelining after a streamed body.
#include "keel/stream.hpp"

#include "keel/app.hpp"
#include "keel/server/server.hpp"
#include "keel/test_client.hpp"
#include "support/local_server.hpp"
#include "support/raw_client.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <cstdio>
#include <string>

using namespace std::chrono_literals;
using keel_test::raw_client;

namespace {

auto make_app() {
  return keel::app{keel::router{
      keel::get<"/a">([] { return "A"; }),
      // Answers "<bytes>:<pieces>:<first 8 bytes>".
      keel::post<"/count">([](keel::body_stream body) -> keel::task<std::string> {
        std::size_t bytes = 0, pieces = 0;
        std::string head;
        for (std::string_view p; !(p = co_await body.read()).empty();) {
          if (head.size() < 8) head.append(p.substr(0, 8 - head.size()));
          bytes += p.size();
          ++pieces;
        }
        co_return std::to_string(bytes) + ":" + std::to_string(pieces) + ":" + head;
      }).body_limit(64 * 1024 * 1024),
      keel::post<"/small-stream">([](keel::body_stream body) -> keel::task<std::string> {
        std::size_t bytes = 0;
        for (std::string_view p; !(p = co_await body.read()).empty();) bytes += p.size();
        co_return std::to_string(bytes);
      }).body_limit(100),
      keel::post<"/ignores-body">([](keel::body_stream) -> keel::task<std::string> { co_return "ignored"; }),
      keel::post<"/echo">([](keel::body b) { return std::string(b.data); }),
      keel::post<"/echo-large">([](keel::body b) {
        return std::to_string(b.data.size());
      }).body_limit(4 << 20),
  }};
}
using app_type = decltype(make_app());

keel::server_config test_config() {
  keel::server_config cfg = keel_test::local_config();
  cfg.limits.max_body_bytes = 1024;  // small, so per-route limits show
  return cfg;
}

std::string chunked(const std::string& body, std::size_t piece) {
  std::string out;
  char line[32];
  for (std::size_t at = 0; at < body.size(); at += piece) {
    const std::string part = body.substr(at, piece);
    std::snprintf(line, sizeof line, "%zx\r\n", part.size());
    out += line + part + "\r\n";
  }
  return out + "0\r\nX-Trailer: yes\r\n\r\n";
}

}  // namespace

TEST_CASE("a Content-Length body is read in pieces, beyond the server's buffered limit", "[body_stream]") {
  auto app = make_app();
  keel::test_client client{app, test_config()};
  const std::string body(200'000, 'q');
  auto r = client.post("/count", body, "application/octet-stream");
  CHECK(r.status == 200);
  CHECK(r.body.starts_with("200000:"));
  CHECK(r.body.ends_with(":qqqqqqqq"));
}

TEST_CASE("a chunked body with trailers is de-chunked piece by piece", "[body_stream]") {
  auto app = make_app();
  keel::test_client client{app, test_config()};
  std::string body;
  for (int i = 0; i < 5000; ++i) body += static_cast<char>('a' + i % 26);
  auto rs = client.send_raw("POST /count HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" +
                            chunked(body, 777) + "GET /a HTTP/1.1\r\nHost: x\r\n\r\n");
  REQUIRE(rs.size() == 2);
  CHECK(rs[0].body.starts_with("5000:"));
  CHECK(rs[0].body.ends_with(":abcdefgh"));
  CHECK(rs[1].body == "A");  // the next pipelined request after the streamed body
}

TEST_CASE("a chunked body over the route's limit is a 413 from read()", "[body_stream]") {
  auto app = make_app();
  keel::test_client client{app, test_config()};
  auto rs = client.send_raw("POST /small-stream HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" +
                            chunked(std::string(300, 'x'), 50));
  REQUIRE(rs.size() == 1);
  CHECK(rs[0].status == 413);
  CHECK(client.closed());
}

TEST_CASE("bad chunk framing in a streamed body is a 400", "[body_stream]") {
  auto app = make_app();
  keel::test_client client{app, test_config()};
  auto rs =
      client.send_raw("POST /count HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nabcde\nzz");
  REQUIRE(rs.size() == 1);
  CHECK(rs[0].status == 400);
}

TEST_CASE("per-route limits: buffered bodies under the route's limit, 413 above", "[body_stream]") {
  auto app = make_app();
  keel::test_client client{app, test_config()};
  CHECK(client.post("/echo", std::string(1000, 'e'), "text/plain").status == 200);
  CHECK(client.post("/echo", std::string(2000, 'e'), "text/plain").status == 413);
  auto large = client.post("/echo-large", std::string(3 << 20, 'e'), "text/plain");
  CHECK(large.status == 200);
  CHECK(large.body == std::to_string(3 << 20));
  CHECK(client.post("/small-stream", std::string(101, 'e'), "text/plain").status == 413);
}

TEST_CASE("a handler that leaves its body unread closes the connection after answering", "[body_stream]") {
  auto app = make_app();
  keel::test_client client{app, test_config()};
  auto rs = client.send_raw("POST /ignores-body HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n01234");
  REQUIRE(rs.size() == 1);
  CHECK(rs[0].body == "ignored");
  CHECK(rs[0].header("Connection") == "close");
  CHECK(client.closed());
}

TEST_CASE("over a socket: 413 before any body byte is sent; 100-continue only when accepted",
          "[body_stream][socket]") {
  auto app = make_app();
  keel::detail::server<app_type> server(app, test_config());
  const auto port = server.start();
  {
    raw_client c("127.0.0.1", port);
    REQUIRE(c.send("POST /count HTTP/1.1\r\nHost: x\r\nContent-Length: 100000000\r\n\r\n"));
    REQUIRE(c.read_until("\r\n\r\n"));  // the head alone gets the answer
    CHECK(c.take().starts_with("HTTP/1.1 413"));
  }
  {
    raw_client c("127.0.0.1", port);
    REQUIRE(c.send("POST /count HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\nExpect: 100-continue\r\n\r\n"));
    REQUIRE(c.read_until("\r\n\r\n"));
    CHECK(c.take() == "HTTP/1.1 100 Continue\r\n\r\n");
    REQUIRE(c.send("0123456789"));
    CHECK(c.read_responses(1).ends_with("10:1:01234567"));
  }
  {
    raw_client c("127.0.0.1", port);
    REQUIRE(c.send(
        "POST /small-stream HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\nExpect: 100-continue\r\n\r\n"));
    REQUIRE(c.read_until("\r\n\r\n"));
    CHECK(c.take().starts_with("HTTP/1.1 413"));  // no 100 Continue for a size the route refuses
  }
  {
    // A body arriving slowly in many reads is streamed as it comes.
    raw_client c("127.0.0.1", port);
    REQUIRE(c.send("POST /count HTTP/1.1\r\nHost: x\r\nContent-Length: 300000\r\n\r\n"));
    const std::string part(30'000, 'p');
    for (int i = 0; i < 10; ++i) {
      REQUIRE(c.send(part));
      std::this_thread::sleep_for(2ms);
    }
    const std::string r = c.read_responses(1);
    CHECK(r.find("\r\n\r\n300000:") != std::string::npos);
  }
  server.stop();
  server.wait();
}
