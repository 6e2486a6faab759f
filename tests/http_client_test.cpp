// keel::http_client against keel's own server, in-process over real sockets on 127.0.0.1: keep-alive reuse,
// Content-Length and chunked bodies, JSON DTOs both ways, redirects (limit, method change, credentials
// dropped across origins), timeouts, and the response parser on heads a raw socket server sends.
#include "keel/http_client.hpp"

#include "keel/app.hpp"
#include "keel/extractors/header.hpp"
#include "keel/json.hpp"
#include "keel/offload.hpp"
#include "keel/server/server.hpp"
#include "keel/stream.hpp"
#include "support/http_client_run.hpp"
#include "support/local_server.hpp"

#include <catch2/catch.hpp>

#include <asio/io_context.hpp>

#include <chrono>
#include <optional>
#include <string>
#include <thread>

using namespace std::chrono_literals;
using keel_test::run_task;

namespace http_client_test {

struct item {
  std::string name;
  int count = 0;
  std::vector<std::string> tags;
};

auto make_app(int* other_port) {
  return keel::app{keel::router{
      keel::get<"/hello">([] { return "hello"; }),
      keel::post<"/double">([](keel::json<item> in) {
        item out = *in;
        out.count *= 2;
        out.tags.push_back("seen");
        return out;
      }),
      keel::get<"/stream">([](keel::stream_writer out) -> keel::task<> {
        for (int i = 0; i < 200; ++i) co_await out.write("line " + std::to_string(i) + "\n");
      }),
      keel::get<"/big">([] { return std::string(3 * 1024 * 1024 + 7, 'b'); }),
      keel::get<"/auth">([](keel::header<"Authorization", std::optional<std::string>> auth) {
        return auth->value_or("none");
      }),
      keel::get<"/r1">([] {
        keel::response r(keel::http::status::found);
        r.header("Location", "/r2?x=1");
        return r;
      }),
      keel::get<"/r2">([] {
        keel::response r(keel::http::status::temporary_redirect);
        r.header("Location", "hello");
        return r;
      }),
      keel::get<"/loop">([] {
        keel::response r(keel::http::status::found);
        r.header("Location", "/loop");
        return r;
      }),
      keel::post<"/post-redirect">([] {
        keel::response r(keel::http::status::see_other);
        r.header("Location", "/method");
        return r;
      }),
      keel::get<"/method">([] { return "GET"; }),
      keel::get<"/cross">([other_port] {
        keel::response r(keel::http::status::found);
        r.header("Location", "http://localhost:" + std::to_string(*other_port) + "/auth");
        return r;
      }),
      keel::get<"/same">([] {
        keel::response r(keel::http::status::found);
        r.header("Location", "/auth");
        return r;
      }),
      keel::get<"/slow">([]() -> keel::task<std::string> {
        co_await keel::sleep_for(3s);
        co_return "late";
      }),
  }};
}
using app_type = decltype(make_app(nullptr));

struct servers {
  int other_port = 0;
  app_type app = make_app(&other_port);
  app_type other_app = make_app(&other_port);
  keel::detail::server<app_type> server{app, keel_test::local_config()};
  keel::detail::server<app_type> other{other_app, keel_test::local_config()};
  std::string base;
  servers() {
    base = "http://127.0.0.1:" + std::to_string(server.start());
    other_port = other.start();
  }
};

}  // namespace http_client_test

using namespace http_client_test;

TEST_CASE("GETs reuse one kept-alive connection", "[http_client]") {
  servers s;
  asio::io_context io;
  keel::http_client client(io);
  for (int i = 0; i < 5; ++i) {
    const keel::client_response r = run_task(io, client.get(s.base + "/hello"));
    CHECK(r.status == 200);
    CHECK(r.body == "hello");
    CHECK(r.header("content-type").find("text/plain") == 0);
  }
  CHECK(client.connections_opened() == 1);
  CHECK(client.idle_connections() == 1);

  SECTION("a 404 is a response, not an error") {
    const keel::client_response r = run_task(io, client.get(s.base + "/nope"));
    CHECK(r.status == 404);
    CHECK(r.body.find("\"error\"") != std::string::npos);
    CHECK(client.connections_opened() == 1);
  }
}

TEST_CASE("concurrent requests on one client open a connection each and pool them", "[http_client]") {
  servers s;
  asio::io_context io;
  keel::http_client client(io);
  int done = 0;
  for (int i = 0; i < 4; ++i)
    keel::detail::start_detached(client.get(s.base + "/stream"),
                                 [&](keel::detail::task_result<keel::client_response>&& r) {
                                   REQUIRE(!r.exception);
                                   CHECK(r.value->body.size() > 1000);
                                   ++done;
                                 });
  while (done < 4) io.run_one();
  CHECK(client.connections_opened() == 4);
  CHECK(client.idle_connections() == 4);
}

TEST_CASE("chunked and large Content-Length bodies arrive whole", "[http_client]") {
  servers s;
  asio::io_context io;
  keel::http_client client(io);
  const keel::client_response chunked = run_task(io, client.get(s.base + "/stream"));
  CHECK(chunked.header("Transfer-Encoding") == "chunked");
  std::string expected;
  for (int i = 0; i < 200; ++i) expected += "line " + std::to_string(i) + "\n";
  CHECK(chunked.body == expected);
  const keel::client_response big = run_task(io, client.get(s.base + "/big"));
  CHECK(big.body.size() == 3 * 1024 * 1024 + 7);
  CHECK(big.body.find_first_not_of('b') == std::string::npos);
  CHECK(client.connections_opened() == 1);

  SECTION("over max_response_bytes fails") {
    keel::client_options small;
    small.max_response_bytes = 1024;
    keel::http_client limited(io, small);
    CHECK_THROWS_WITH(run_task(io, limited.get(s.base + "/big")), Catch::Contains("max_response_bytes"));
    CHECK_THROWS_WITH(run_task(io, limited.get(s.base + "/stream")), Catch::Contains("max_response_bytes"));
  }
}

TEST_CASE("JSON DTOs both ways", "[http_client][json]") {
  servers s;
  asio::io_context io;
  keel::http_client client(io);
  const item sent{"widget", 21, {"a"}};
  const keel::client_response r = run_task(io, client.post_json(s.base + "/double", sent));
  REQUIRE(r.status == 200);
  const item back = r.json<item>();
  CHECK(back.name == "widget");
  CHECK(back.count == 42);
  CHECK(back.tags == std::vector<std::string>{"a", "seen"});

  SECTION("a body of the wrong shape names the field") {
    keel::client_request bad;
    bad.method = keel::http::method::post;
    bad.url = s.base + "/double";
    bad.json(sent);
    const keel::client_response got = run_task(io, client.send(bad));
    CHECK_THROWS_WITH(got.json<std::vector<int>>(), Catch::Contains("not the expected JSON"));
  }
  SECTION("the server's validation error comes back as a 4xx response") {
    keel::client_request bad;
    bad.method = keel::http::method::post;
    bad.url = s.base + "/double";
    bad.body = "{\"name\": 5}";
    bad.header("Content-Type", "application/json");
    const keel::client_response got = run_task(io, client.send(bad));
    CHECK(got.status >= 400);
    CHECK(got.status < 500);
  }
}

TEST_CASE("redirects are followed only when asked, up to the limit", "[http_client][redirect]") {
  servers s;
  asio::io_context io;
  keel::http_client client(io);
  const keel::client_response plain = run_task(io, client.get(s.base + "/r1"));
  CHECK(plain.status == 302);
  CHECK(plain.header("Location") == "/r2?x=1");

  keel::client_request follow;
  follow.url = s.base + "/r1";
  follow.max_redirects = 5;
  const keel::client_response followed = run_task(io, client.send(follow));
  CHECK(followed.status == 200);
  CHECK(followed.body == "hello");
  CHECK(followed.redirects == 2);
  CHECK(followed.url == s.base + "/hello");

  follow.url = s.base + "/loop";
  try {
    (void)run_task(io, client.send(follow));
    FAIL("no error");
  } catch (const keel::client_error& e) {
    CHECK(e.kind() == keel::client_error_kind::too_many_redirects);
  }

  keel::client_request post;
  post.method = keel::http::method::post;
  post.url = s.base + "/post-redirect";
  post.body = "payload";
  post.max_redirects = 1;
  const keel::client_response after_post = run_task(io, client.send(post));
  CHECK(after_post.body == "GET");  // 303: continued as GET
}

TEST_CASE("Authorization is kept on the origin and dropped across origins", "[http_client][redirect]") {
  servers s;
  asio::io_context io;
  keel::http_client client(io);
  keel::client_request req;
  req.url = s.base + "/same";
  req.max_redirects = 2;
  req.header("Authorization", "Bearer secret");
  CHECK(run_task(io, client.send(req)).body == "Bearer secret");
  req.url = s.base + "/cross";  // to localhost:<other port>
  const keel::client_response crossed = run_task(io, client.send(req));
  CHECK(crossed.url.find("http://localhost:") == 0);
  CHECK(crossed.body == "none");
}

TEST_CASE("timeouts: read and total end the request with kind::timeout", "[http_client][timeout]") {
  servers s;
  asio::io_context io;
  keel::client_options opts;
  opts.timeout.read = 200ms;
  keel::http_client client(io, opts);
  try {
    (void)run_task(io, client.get(s.base + "/slow"));
    FAIL("no timeout");
  } catch (const keel::client_error& e) {
    CHECK(e.kind() == keel::client_error_kind::timeout);
  }
  // the timed-out connection was not pooled; the client still works
  CHECK(run_task(io, client.get(s.base + "/hello")).body == "hello");

  keel::client_options total;
  total.timeout.total = 300ms;
  keel::http_client bounded(io, total);
  try {
    (void)run_task(io, bounded.get(s.base + "/slow"));
    FAIL("no timeout");
  } catch (const keel::client_error& e) {
    CHECK(e.kind() == keel::client_error_kind::timeout);
  }
}

TEST_CASE("connection refused and bad URLs fail with their kind", "[http_client]") {
  asio::io_context io;
  keel::http_client client(io);
  asio::ip::tcp::acceptor closed(io, asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  const auto port = closed.local_endpoint().port();
  closed.close();
  try {
    (void)run_task(io, client.get("http://127.0.0.1:" + std::to_string(port) + "/"));
    FAIL("connected");
  } catch (const keel::client_error& e) {
    CHECK(e.kind() == keel::client_error_kind::connect);
  }
  for (const char* bad : {"ftp://x/", "http://", "http://user@host/", "http://h:99999/", "no-scheme"}) {
    try {
      (void)run_task(io, client.get(bad));
      FAIL(bad);
    } catch (const keel::client_error& e) {
      CHECK(e.kind() == keel::client_error_kind::invalid_url);
    }
  }
}

TEST_CASE("a stale pooled connection the server closed is replaced transparently", "[http_client]") {
  servers s;
  asio::io_context io;
  keel::http_client client(io);
  CHECK(run_task(io, client.get(s.base + "/hello")).body == "hello");
  s.server.stop();  // closes the kept-alive connection
  s.server.wait();
  keel::detail::server<app_type> again(s.app, [&] {
    auto cfg = keel_test::local_config();
    cfg.port = static_cast<std::uint16_t>(std::stoi(s.base.substr(s.base.rfind(':') + 1)));
    return cfg;
  }());
  again.start();
  CHECK(run_task(io, client.get(s.base + "/hello")).body == "hello");
  CHECK(client.connections_opened() == 2);
}

TEST_CASE("the client made on a reactor thread uses that reactor", "[http_client]") {
  servers s;
  asio::io_context io;
  keel::detail::reactor_scope scope(io);
  keel::http_client client;
  CHECK(run_task(io, client.get(s.base + "/hello")).body == "hello");
}

namespace http_client_test {

// A one-connection server on a thread: reads one request head, answers `response` (byte by byte when
// `trickle`), then closes.
struct raw_server {
  asio::io_context io;
  asio::ip::tcp::acceptor acceptor{io, asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)};
  std::thread thread;
  explicit raw_server(std::string response, bool trickle = false) {
    thread = std::thread([this, response = std::move(response), trickle] {
      asio::ip::tcp::socket s(io);
      acceptor.accept(s);
      std::string in;
      char buf[4096];
      std::error_code ec;
      while (in.find("\r\n\r\n") == std::string::npos) {
        const std::size_t n = s.read_some(asio::buffer(buf), ec);
        if (ec) return;
        in.append(buf, n);
      }
      if (trickle) {
        for (const char c : response) asio::write(s, asio::buffer(&c, 1), ec);
      } else {
        asio::write(s, asio::buffer(response), ec);
      }
      s.shutdown(asio::ip::tcp::socket::shutdown_send, ec);
      while (!ec) s.read_some(asio::buffer(buf), ec);  // until the client closes
    });
  }
  ~raw_server() { thread.join(); }
  std::string url() const {
    return "http://127.0.0.1:" + std::to_string(acceptor.local_endpoint().port()) + "/";
  }
};

keel::client_response raw_exchange(const std::string& response, bool trickle = false) {
  raw_server server(response, trickle);
  asio::io_context io;
  keel::http_client client(io);
  auto out = run_task(io, client.get(server.url()));
  CHECK(client.idle_connections() ==
        0);  // the server closed: nothing may be pooled... or it was not reusable
  return out;
}

keel::client_error_kind raw_failure(const std::string& response) {
  raw_server server(response);
  asio::io_context io;
  keel::http_client client(io);
  try {
    (void)run_task(io, client.get(server.url()));
  } catch (const keel::client_error& e) {
    return e.kind();
  }
  FAIL("no error for: " << response);
  return keel::client_error_kind::connect;
}

}  // namespace http_client_test

TEST_CASE("response framing from a raw server", "[http_client][parser]") {
  SECTION("interim 100 Continue is skipped") {
    const auto r = raw_exchange(
        "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok");
    CHECK(r.status == 200);
    CHECK(r.body == "ok");
  }
  SECTION("HTTP/1.0 without a length reads until close") {
    const auto r = raw_exchange("HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the end");
    CHECK(r.body == "until the end");
  }
  SECTION("chunked with extensions and trailers, trickled one byte at a time") {
    const auto r = raw_exchange(
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n3;ext=1\r\nabc\r\n"
        "A\r\n0123456789\r\n0\r\nX-Trailer: t\r\n\r\n",
        true);
    CHECK(r.body == "abc0123456789");
  }
  SECTION("a status line without a reason") {
    const auto r = raw_exchange("HTTP/1.1 204\r\nConnection: close\r\n\r\n");
    CHECK(r.status == 204);
    CHECK(r.body.empty());
  }
  SECTION("malformed responses are protocol errors") {
    CHECK(raw_failure("HTTP/1.1 2x0 OK\r\n\r\n") == keel::client_error_kind::protocol);
    CHECK(raw_failure("HTTP/1.1 200 OK\nContent-Length: 0\n\n") == keel::client_error_kind::protocol);
    CHECK(raw_failure("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n") ==
          keel::client_error_kind::protocol);
    CHECK(raw_failure("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nabc") ==
          keel::client_error_kind::protocol);
    CHECK(raw_failure("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n") ==
          keel::client_error_kind::protocol);
    CHECK(raw_failure("HTTP/1.1 200 OK\r\n Folded: x\r\n\r\n") == keel::client_error_kind::protocol);
    CHECK(raw_failure("SMTP/1.1 200 OK\r\n\r\n") == keel::client_error_kind::protocol);
    CHECK(raw_failure("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n") ==
          keel::client_error_kind::protocol);
  }
  SECTION("a body cut short is an error; no response at all is kind::closed") {
    CHECK(raw_failure("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort") ==
          keel::client_error_kind::protocol);
    CHECK(raw_failure("") == keel::client_error_kind::closed);
  }
}

TEST_CASE("response_parser gives the same answer for a head split anywhere", "[http_client][parser]") {
  const std::string head =
      "HTTP/1.1 301 Moved Permanently\r\nLocation: /x\r\nContent-Length: 0\r\nX-A:  spaced  \r\n\r\n";
  const keel::http::response_parser parser;
  keel::http::response_head whole;
  const auto all = parser.parse(head.data(), head.size(), whole);
  REQUIRE(all.status == keel::http::parse_status::complete);
  CHECK(all.consumed == head.size());
  CHECK(whole.status == 301);
  CHECK(whole.reason == "Moved Permanently");
  CHECK(whole.headers.get("x-a") == "spaced");
  for (std::size_t cut = 0; cut < head.size(); ++cut) {
    keel::http::response_head part;
    CHECK(parser.parse(head.data(), cut, part).status == keel::http::parse_status::incomplete);
  }
  CHECK(keel::http::response_parser::framing(whole, false) == keel::http::response_framing::none);
}

TEST_CASE("a handler awaits the client on its reactor thread (a proxying route)", "[http_client]") {
  servers upstream;
  const std::string target = upstream.base + "/double";
  auto proxy_app = keel::app{keel::router{
      keel::get<"/proxy">([target]() -> keel::task<std::string> {
        thread_local keel::http_client client;  // this reactor thread's client
        keel::client_request req;
        req.method = keel::http::method::post;
        req.url = target;
        req.json(item{"via-proxy", 5, {}});
        keel::task<keel::client_response> sending = client.send(std::move(req));
        const keel::client_response r = co_await std::move(sending);
        const item back = r.json<item>();
        co_return back.name + ":" + std::to_string(back.count) + ":" +
            std::to_string(client.connections_opened());
      }),
  }};
  keel::detail::server<decltype(proxy_app)> proxy(proxy_app, keel_test::local_config());
  const std::string base = "http://127.0.0.1:" + std::to_string(proxy.start());
  asio::io_context io;
  keel::http_client client(io);
  CHECK(run_task(io, client.get(base + "/proxy")).body == "via-proxy:10:1");
  CHECK(run_task(io, client.get(base + "/proxy")).body == "via-proxy:10:1");  // upstream connection reused
  proxy.stop();
  proxy.wait();
}
