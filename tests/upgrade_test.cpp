// Protocol upgrade (keel::upgrade): a tiny line-echo protocol takes the connection over after 101, over TCP
// and TLS; bytes sent right behind the upgrade request reach it; the connection cap counts it; graceful
// shutdown lets it say goodbye.
#include "keel/upgrade.hpp"

#include "keel/app.hpp"
#include "keel/file.hpp"
#include "keel/server/server.hpp"
#include "keel/server/tls.hpp"
#include "support/local_server.hpp"
#include "support/self_signed.hpp"
#include "support/raw_client.hpp"

#include <catch2/catch.hpp>

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

using namespace std::chrono_literals;
using keel_test::eventually;
using keel_test::raw_client;
using keel_test::run_command;

namespace {

std::atomic<int> protocols_ended{0};

// Echoes each line; on graceful shutdown says "bye" and returns.
keel::task<> line_echo(keel::upgraded_io& io) {
  struct count_end {
    ~count_end() { ++protocols_ended; }
  } guard;
  char buf[1024];
  while (std::size_t n = co_await io.read_some(buf)) co_await io.write(std::string_view(buf, n));
  if (io.stopping()) co_await io.write("bye\n");
}

auto make_app() {
  return keel::app{keel::router{
      keel::get<"/a">([] { return "A"; }),
      keel::get<"/echo">([] { return keel::upgrade("line-echo", &line_echo).header("X-Protocol", "1"); }),
      // A file under TLS goes out in pieces read into the connection's buffer (no sendfile through TLS).
      keel::get<"/file">([] { return keel::file::open("/proc/self/exe"); }),
  }};
}
using app_type = decltype(make_app());

keel::server_config test_config() {
  keel::server_config cfg = keel_test::local_config();
  cfg.timeout.shutdown = 2000ms;
  return cfg;
}

constexpr std::string_view upgrade_request =
    "GET /echo HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: line-echo\r\n\r\n";

}  // namespace

TEST_CASE("a route hands the TCP connection to the echo protocol after 101", "[upgrade][socket]") {
  protocols_ended = 0;
  auto app = make_app();
  keel::detail::server<app_type> server(app, test_config());
  const auto port = server.start();
  raw_client c("127.0.0.1", port);
  REQUIRE(c.send(std::string(upgrade_request) + "first\n"));  // a line right behind the request
  REQUIRE(c.read_until("first\n"));
  const std::string head = c.take();
  CHECK(head.starts_with("HTTP/1.1 101 Switching Protocols\r\n"));
  CHECK(head.find("Upgrade: line-echo\r\n") != std::string::npos);
  CHECK(head.find("Connection: Upgrade\r\n") != std::string::npos);
  CHECK(head.find("X-Protocol: 1\r\n") != std::string::npos);
  CHECK(head.find("Content-Length") == std::string::npos);
  REQUIRE(c.send("second line\n"));
  REQUIRE(c.read_until("second line\n"));
  CHECK(c.take() == "second line\n");
  c.close();
  CHECK(eventually([] { return protocols_ended.load() == 1; }));
  CHECK(eventually([&] { return server.open_connections() == 0; }));
  server.stop();
  server.wait();
}

TEST_CASE("an upgraded connection counts against the cap and gets a goodbye at shutdown",
          "[upgrade][socket]") {
  protocols_ended = 0;
  auto app = make_app();
  keel::server_config cfg = test_config();
  cfg.max_connections = 1;
  keel::detail::server<app_type> server(app, cfg);
  const auto port = server.start();
  raw_client c("127.0.0.1", port);
  REQUIRE(c.send(upgrade_request));
  REQUIRE(c.read_until("\r\n\r\n"));
  c.take();
  CHECK(server.open_connections() == 1);
  {
    raw_client second("127.0.0.1", port, 2000);
    if (second.connected()) {
      second.send("GET /a HTTP/1.1\r\nHost: x\r\n\r\n");
      std::string rest;
      CHECK(second.read_until_closed(&rest));  // refused: closed without an answer
      CHECK(rest.empty());
    }
  }
  server.stop();
  std::string rest;
  CHECK(c.read_until_closed(&rest));
  CHECK(rest == "bye\n");
  server.wait();
  CHECK(protocols_ended.load() == 1);
}

TEST_CASE("the echo protocol, and a file body, over TLS", "[upgrade][tls]") {
  const keel_test::self_signed tls;  // cert.pem and key.pem in tls.dir
  const std::filesystem::path& dir = tls.dir;
  const std::string& cert = tls.cert;
  auto app = make_app();
  keel::server_config cfg = tls.serve_tls(test_config());
  keel::detail::server<app_type> server(app, cfg);
  const auto port = server.start();
  // Python's ssl module as an independent TLS client: upgrade, one line echoed, close.
  const std::string script = (dir / "client.py").string();
  std::ofstream(script) << "import socket, ssl, sys\n"
                           "ctx = ssl.create_default_context(cafile=sys.argv[2])\n"
                           "s = ctx.wrap_socket(socket.create_connection(('127.0.0.1', int(sys.argv[1]))),"
                           " server_hostname='127.0.0.1')\n"
                           "s.sendall(b'GET /echo HTTP/1.1\\r\\nHost: x\\r\\nConnection: Upgrade\\r\\n"
                           "Upgrade: line-echo\\r\\n\\r\\n')\n"
                           "data = b''\n"
                           "while b'\\r\\n\\r\\n' not in data: data += s.recv(4096)\n"
                           "status = data.split(b'\\r\\n')[0].decode()\n"
                           "s.sendall(b'over tls\\n')\n"
                           "echo = b''\n"
                           "while not echo.endswith(b'\\n'): echo += s.recv(4096)\n"
                           "print(status + '|' + echo.decode().strip())\n";
  const std::string out =
      run_command("timeout 20 python3 " + script + " " + std::to_string(port) + " " + cert);
  CHECK(out == "HTTP/1.1 101 Switching Protocols|over tls\n");
  server.stop();
  server.wait();
}

keel::server_config one_thread_config() {
  keel::server_config cfg = test_config();
  cfg.threads = 1;
  return cfg;
}
// Upgrades `c` on GET /room?<who> and drops the 101's head.
void upgrade_room(raw_client& c, std::string_view who) {
  REQUIRE(c.send("GET /room?" + std::string(who) +
                 " HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: x\r\n\r\n"));
  REQUIRE(c.read_until("\r\n\r\n"));
  c.take();
}

// The protocol is made by the handler and may keep views into its request: the session (and its buffer)
// stays with the connection while the protocol runs, not lent to the next connection or freed by the pool.
keel::task<> echo_target(std::string_view target, keel::upgraded_io& io) {
  char buf[64];
  while (co_await io.read_some(buf)) co_await io.write(std::string(target) + "\n");
}

TEST_CASE("a protocol's view of its upgrade request outlives other connections and the pool's trim",
          "[upgrade][socket]") {
  auto app = keel::app{keel::router{
      keel::get<"/a">([] { return "A"; }),
      keel::get<"/room">([](const keel::request_context& ctx) {
        const std::string_view target = ctx.request().target;
        return keel::upgrade("x", [target](keel::upgraded_io& io) { return echo_target(target, io); });
      }),
  }};
  keel::detail::server<decltype(app)> server(app, one_thread_config());
  const auto port = server.start();
  raw_client a("127.0.0.1", port);
  upgrade_room(a, "alice");
  raw_client b("127.0.0.1", port);  // served by the same reactor, with a session from its pool
  REQUIRE(b.send("GET /a?ZZZZZZZZ HTTP/1.1\r\nHost: x\r\n\r\n"));
  REQUIRE(b.read_until("A"));
  REQUIRE(a.send("x\n"));
  REQUIRE(a.read_until("\n"));
  CHECK(a.take() == "/room?alice\n");
  std::this_thread::sleep_for(2500ms);  // spare sessions are freed after a second unused
  REQUIRE(a.send("x\n"));
  REQUIRE(a.read_until("\n"));
  CHECK(a.take() == "/room?alice\n");
  server.stop();
  server.wait();
}

// A protocol that copied what it keeps says so: its session goes back to the pool right after the 101 (as
// keel::ws does); the next connection's request is parsed into that session's buffer, and the copy stays
// right.
struct copied_target {
  static constexpr bool owns_request = true;
  std::string target;
  keel::task<> operator()(keel::upgraded_io& io) {
    char buf[64];
    while (co_await io.read_some(buf)) co_await io.write(target + "\n");
  }
};

TEST_CASE("a protocol that owns its request data gives the session back at once", "[upgrade][socket]") {
  auto app = keel::app{keel::router{
      keel::get<"/a">([] { return "A"; }),
      keel::get<"/room">([](const keel::request_context& ctx) {
        return keel::upgrade("x", copied_target{std::string(ctx.request().target)});
      }),
  }};
  keel::detail::server<decltype(app)> server(app, one_thread_config());
  const auto port = server.start();
  CHECK(keel::detail::protocol_owns_request(copied_target{}));
  CHECK_FALSE(keel::detail::protocol_owns_request(&line_echo));
  raw_client a("127.0.0.1", port);
  upgrade_room(a, "alice");
  raw_client b("127.0.0.1", port);  // takes the session `a` gave back
  REQUIRE(b.send("GET /a?ZZZZZZZZZZZZZZZZ HTTP/1.1\r\nHost: x\r\n\r\n"));
  REQUIRE(b.read_until("A"));
  raw_client c("127.0.0.1", port);
  upgrade_room(c, "bob");
  REQUIRE(a.send("x\n"));
  REQUIRE(a.read_until("\n"));
  CHECK(a.take() == "/room?alice\n");
  REQUIRE(c.send("x\n"));
  REQUIRE(c.read_until("\n"));
  CHECK(c.take() == "/room?bob\n");
  server.stop();
  server.wait();
}
