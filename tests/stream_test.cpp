// Streamed responses (keel::stream_writer) and file bodies (keel::file): framing, HEAD/204, pipelining after
// a stream, backpressure against a client that stops reading, a client that disconnects mid-stream, and
// sendfile downloads checked by curl.
#include "keel/stream.hpp"

#include "keel/app.hpp"
#include "keel/file.hpp"
#include "keel/offload.hpp"
#include "keel/server/server.hpp"
#include "keel/test_client.hpp"
#include "support/local_server.hpp"
#include "support/raw_client.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>
#include <unistd.h>

using namespace std::chrono_literals;
using keel_test::eventually;
using keel_test::raw_client;
using keel_test::run_command;

namespace {

std::atomic<std::uint64_t> big_written{0};
std::atomic<int> big_cleanups{0};
std::string file_dir;

// Counts the frame's destruction: proof that a handler unwound.
std::atomic<int> streams_noticed_gone{0};
std::atomic<int> streams_told_to_stop{0};

struct cleanup_counter {
  ~cleanup_counter() { ++big_cleanups; }
};

auto make_app() {
  return keel::app{keel::router{
      keel::get<"/a">([] { return "A"; }),
      keel::get<"/numbers">([](keel::stream_writer out) -> keel::task<> {
        out.content_type("text/plain");
        for (int i = 0; i < 5; ++i) co_await out.write(std::to_string(i) + "\n");
      }),
      keel::get<"/sized">([](keel::stream_writer out) -> keel::task<> {
        out.set_length(10);
        co_await out.write("01234");
        co_await out.write("56789");
      }),
      keel::get<"/short">([](keel::stream_writer out) -> keel::task<> {
        out.set_length(10);
        co_await out.write("0123");
      }),
      keel::get<"/slow-events">([](keel::stream_writer out) -> keel::task<> {
        for (int i = 0; i < 3; ++i) {
          co_await out.write("event " + std::to_string(i) + "\n");
          co_await out.flush();
          co_await keel::sleep_for(20ms);
        }
      }),
      // Resumed by a timer, not by the connection: the write and the end wake the connection in one turn.
      keel::get<"/after-timer">([](keel::stream_writer out) -> keel::task<> {
        co_await out.write("early\n");
        co_await out.flush();
        co_await keel::sleep_for(20ms);
        co_await out.write("late\n");
      }),
      // Waits, writing nothing, until the client leaves or the server stops.
      keel::get<"/until-gone">([](keel::stream_writer out) -> keel::task<> {
        co_await out.write("open\n");
        co_await out.flush();
        for (int i = 0; i < 1000 && !out.closed() && !out.stopping(); ++i) co_await keel::sleep_for(10ms);
        if (out.closed()) ++streams_noticed_gone;
        if (out.stopping()) {
          ++streams_told_to_stop;
          co_await out.write("bye\n");
        }
      }),
      keel::get<"/no-content">([](keel::stream_writer out) -> keel::task<> {
        out.response().status(keel::http::status::no_content);
        co_await out.write("dropped");
      }),
      keel::get<"/void-with-body">([](keel::request_context& ctx) -> keel::task<void> {
        ctx.response().body("written through the context");
        co_return;
      }),
      keel::get<"/void-empty">([]() -> keel::task<void> { co_return; }),
      keel::get<"/big">([](keel::stream_writer out) -> keel::task<> {
        cleanup_counter guard;
        const std::string piece(64 * 1024, 'z');
        for (int i = 0; i < 1024; ++i) {  // 64 MiB, far more than the socket buffers
          co_await out.write(piece);
          big_written += piece.size();
        }
      }),
      keel::get<"/files/{name}">([](std::string name) { return keel::file::open(file_dir + "/" + name); }),
      keel::get<"/region">(
          [] { return std::move(keel::file::open(file_dir + "/digits.txt", "text/plain").region(3, 4)); }),
  }};
}
using app_type = decltype(make_app());

keel::server_config test_config() { return keel_test::local_config(); }

struct temp_files {
  temp_files() {
    char tmpl[] = "/tmp/keel-stream-XXXXXX";
    file_dir = ::mkdtemp(tmpl);
    std::ofstream(file_dir + "/digits.txt") << "0123456789";
    std::ofstream big(file_dir + "/big.bin", std::ios::binary);
    std::string block(1 << 20, '\0');
    for (int i = 0; i < 24; ++i) {  // 24 MiB of varied bytes
      for (std::size_t j = 0; j < block.size(); ++j) block[j] = static_cast<char>((j * 31 + i * 7) & 0xff);
      big.write(block.data(), static_cast<std::streamsize>(block.size()));
    }
  }
  ~temp_files() { run_command("rm -rf " + file_dir); }
};

}  // namespace

TEST_CASE("a stream writer's pieces arrive chunked, in order", "[stream]") {
  auto app = make_app();
  keel::test_client client{app};
  auto r = client.get("/numbers");
  CHECK(r.status == 200);
  CHECK(r.header("Transfer-Encoding") == "chunked");
  CHECK_FALSE(r.has_header("Content-Length"));
  CHECK(r.header("Content-Type") == "text/plain");
  CHECK(r.body == "0\n1\n2\n3\n4\n");
}

TEST_CASE("a stream that a timer resumed writes its last piece and ends once", "[stream]") {
  auto app = make_app();
  keel::detail::server<app_type> server(app, test_config());
  const auto port = server.start();
  for (const char* connection : {"close", "keep-alive"}) {
    INFO(connection);
    raw_client c("127.0.0.1", port);
    REQUIRE(c.send(std::string("GET /after-timer HTTP/1.1\r\nHost: t\r\nConnection: ") + connection +
                   "\r\n\r\nGET /a HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"));
    std::string all;
    CHECK(c.read_until_closed(&all));
    const std::string body = "6\r\nearly\n\r\n5\r\nlate\n\r\n0\r\n\r\n";
    REQUIRE(all.find(body) != std::string::npos);
    CHECK(all.find(body, all.find(body) + 1) == std::string::npos);  // not written twice
    CHECK(all.find("late") == all.rfind("late"));
    if (std::string_view(connection) == "keep-alive") CHECK(all.ends_with("\r\n\r\nA"));
  }
  server.stop();
  server.wait();
}

TEST_CASE("a client that leaves a quiet stream is noticed at once, not at the next write", "[stream]") {
  auto app = make_app();
  keel::detail::server<app_type> server(app, test_config());
  const auto port = server.start();
  const int before = streams_noticed_gone.load();
  {
    raw_client c("127.0.0.1", port);
    REQUIRE(c.send("GET /until-gone HTTP/1.1\r\nHost: t\r\n\r\n"));
    REQUIRE(c.read_until("open\n"));
  }  // the client closes; the handler writes nothing more, yet learns it within the sweep
  CHECK(keel_test::eventually([&] { return streams_noticed_gone.load() == before + 1; }));
  CHECK(keel_test::eventually([&] { return server.open_connections() == 0; }));
  server.stop();
  server.wait();
}

TEST_CASE("a graceful stop tells a streaming handler, which ends its stream", "[stream][shutdown]") {
  auto app = make_app();
  keel::server_config cfg = test_config();
  cfg.timeout.shutdown = 20s;  // the stream must end by itself, long before this
  keel::detail::server<app_type> server(app, cfg);
  const auto port = server.start();
  const int before = streams_told_to_stop.load();
  raw_client c("127.0.0.1", port);
  REQUIRE(c.send("GET /until-gone HTTP/1.1\r\nHost: t\r\n\r\n"));
  REQUIRE(c.read_until("open\n"));
  const auto start = std::chrono::steady_clock::now();
  server.stop();
  std::string rest;
  CHECK(c.read_until_closed(&rest));
  CHECK(rest.find("bye\n") != std::string::npos);
  CHECK(rest.ends_with("0\r\n\r\n"));
  server.wait();
  CHECK(streams_told_to_stop.load() == before + 1);
  CHECK(std::chrono::steady_clock::now() - start < 10s);
}

TEST_CASE("set_length sends Content-Length; a short body closes the connection", "[stream]") {
  auto app = make_app();
  keel::test_client client{app};
  auto r = client.get("/sized");
  CHECK(r.header("Content-Length") == "10");
  CHECK_FALSE(r.has_header("Transfer-Encoding"));
  CHECK(r.body == "0123456789");
  CHECK_FALSE(client.closed());
  const std::string raw = client.send_raw_bytes("GET /short HTTP/1.1\r\nHost: x\r\n\r\n");
  CHECK(raw.find("Content-Length: 10\r\n") != std::string::npos);
  CHECK(client.closed());
}

TEST_CASE("HEAD and 204 send no stream body", "[stream]") {
  auto app = make_app();
  keel::test_client client{app};
  const std::string head = client.send_raw_bytes("HEAD /numbers HTTP/1.1\r\nHost: x\r\n\r\n");
  CHECK(head.find("200 OK") != std::string::npos);
  CHECK(head.ends_with("\r\n\r\n"));
  CHECK(head.find("0\r\n") == std::string::npos);
  const std::string none = client.send_raw_bytes("GET /no-content HTTP/1.1\r\nHost: x\r\n\r\n");
  CHECK(none.find("204 No Content") != std::string::npos);
  CHECK(none.find("dropped") == std::string::npos);
  CHECK(none.find("Transfer-Encoding") == std::string::npos);
  CHECK(client.get("/a").body == "A");  // the connection is still in step
}

TEST_CASE("a task<void> handler answers 204 only when it wrote nothing, like a void one", "[stream]") {
  auto app = make_app();
  keel::test_client client{app};
  auto with_body = client.get("/void-with-body");
  CHECK(with_body.status == 200);
  CHECK(with_body.body == "written through the context");
  CHECK(client.get("/void-empty").status == 204);
}

TEST_CASE("pipelined requests after a streamed response are answered in order", "[stream]") {
  auto app = make_app();
  keel::test_client client{app};
  auto rs = client.send_raw(
      "GET /a HTTP/1.1\r\nHost: x\r\n\r\n"
      "GET /numbers HTTP/1.1\r\nHost: x\r\n\r\n"
      "GET /a HTTP/1.1\r\nHost: x\r\n\r\n"
      "GET /slow-events HTTP/1.1\r\nHost: x\r\n\r\n"
      "GET /sized HTTP/1.1\r\nHost: x\r\n\r\n");
  REQUIRE(rs.size() == 5);
  CHECK(rs[0].body == "A");
  CHECK(rs[1].body == "0\n1\n2\n3\n4\n");
  CHECK(rs[2].body == "A");
  CHECK(rs[3].body == "event 0\nevent 1\nevent 2\n");
  CHECK(rs[4].body == "0123456789");
}

TEST_CASE("an HTTP/1.0 stream is delimited by closing the connection", "[stream]") {
  auto app = make_app();
  keel::test_client client{app};
  const std::string raw = client.send_raw_bytes("GET /numbers HTTP/1.0\r\n\r\n");
  CHECK(raw.find("Connection: close") != std::string::npos);
  CHECK(raw.ends_with("\r\n\r\n0\n1\n2\n3\n4\n"));
  CHECK(client.closed());
}

TEST_CASE("file bodies: whole files, regions, HEAD, 404", "[stream][file]") {
  temp_files files;
  auto app = make_app();
  keel::test_client client{app};
  auto r = client.get("/files/digits.txt");
  CHECK(r.status == 200);
  CHECK(r.header("Content-Length") == "10");
  CHECK(r.body == "0123456789");
  CHECK(client.get("/region").body == "3456");
  const std::string head = client.send_raw_bytes("HEAD /files/digits.txt HTTP/1.1\r\nHost: x\r\n\r\n");
  CHECK(head.find("Content-Length: 10\r\n") != std::string::npos);
  CHECK(head.ends_with("\r\n\r\n"));
  CHECK(client.get("/files/missing").status == 404);
  CHECK(client.get("/a").body == "A");
}

TEST_CASE("curl downloads a file sent with sendfile, byte for byte, with keep-alive",
          "[stream][file][socket]") {
  temp_files files;
  auto app = make_app();
  keel::detail::server<app_type> server(app, test_config());
  const auto port = std::to_string(server.start());
  const std::string url = "http://127.0.0.1:" + port + "/files/big.bin";
  const std::string got = run_command("curl -s " + url + " " + url + " | sha256sum");
  const std::string want = run_command("cat " + file_dir + "/big.bin " + file_dir + "/big.bin | sha256sum");
  CHECK(got == want);
  CHECK(run_command("curl -s -o /dev/null -w '%{http_code} %{size_download}' " + url) == "200 25165824");
  server.stop();
  server.wait();
}

TEST_CASE("a client that stops reading suspends the handler; memory stays bounded", "[stream][socket]") {
  big_written = 0;
  auto app = make_app();
  keel::detail::server<app_type> server(app, test_config());
  const auto port = server.start();
  raw_client c("127.0.0.1", port);
  REQUIRE(c.connected());
  REQUIRE(c.send("GET /big HTTP/1.1\r\nHost: x\r\n\r\n"));
  // Wait until the handler is stuck (its count stops moving), then check it is far short of 64 MiB.
  std::uint64_t last = 0;
  REQUIRE(eventually([&] {
    const std::uint64_t now = big_written.load();
    const bool still = now != 0 && now == last;
    last = now;
    std::this_thread::sleep_for(50ms);
    return still;
  }));
  std::this_thread::sleep_for(300ms);
  CHECK(big_written.load() == last);                    // suspended, not spinning
  CHECK(big_written.load() < std::uint64_t{16} << 20);  // socket buffers plus the 64 KiB bound, not 64 MiB
  // Reading on lets it finish: every byte arrives.
  std::uint64_t body = 0;
  while (c.read_some(1 << 20) != 0) {
    body += c.take().size();
    if (big_written.load() == std::uint64_t{64} << 20 && body > (std::uint64_t{64} << 20)) break;
  }
  CHECK(big_written.load() == std::uint64_t{64} << 20);
  server.stop();
  server.wait();
}

TEST_CASE("a client that disconnects mid-stream ends the handler", "[stream][socket]") {
  big_cleanups = 0;
  auto app = make_app();
  keel::detail::server<app_type> server(app, test_config());
  const auto port = server.start();
  {
    raw_client c("127.0.0.1", port);
    REQUIRE(c.send("GET /big HTTP/1.1\r\nHost: x\r\n\r\n"));
    REQUIRE(c.read_some(4096) > 0);
  }  // closed with most of the body unread
  CHECK(eventually([] { return big_cleanups.load() == 1; }));
  CHECK(eventually([&] { return server.open_connections() == 0; }));
  raw_client again("127.0.0.1", port);  // the server goes on serving
  REQUIRE(again.send("GET /a HTTP/1.1\r\nHost: x\r\n\r\n"));
  CHECK(again.read_responses(1).ends_with("\r\n\r\nA"));
  server.stop();
  server.wait();
}
