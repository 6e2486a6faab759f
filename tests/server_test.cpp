#include "keel/server/basic_server.hpp"

#include "support/fake_session.hpp"
#include "support/local_server.hpp"
#include "support/raw_client.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <thread>
#include <vector>

using namespace std::chrono_literals;
using keel_test::eventually;
using keel_test::fake_app;
using keel_test::fake_session;
using keel_test::raw_client;
using test_server = keel::detail::basic_server<fake_session, fake_app>;

namespace {

using keel_test::run_command;

keel::server_config test_config() {
  keel::server_config cfg = keel_test::local_config(2);
  cfg.timeout.header = 2s;
  cfg.timeout.idle = 5s;
  cfg.timeout.shutdown = 2s;
  return cfg;
}

std::string get(std::string_view path, bool close = false) {
  return std::string("GET ") + std::string(path) + " HTTP/1.1\r\nHost: t\r\n" +
         (close ? "Connection: close\r\n" : "") + "\r\n";
}

}  // namespace

TEST_CASE("keep-alive: one connection serves requests one after another", "[server][socket]") {
  fake_app app;
  test_server server(app, test_config());
  const auto port = server.start();
  REQUIRE(port != 0);
  raw_client c("127.0.0.1", port);
  REQUIRE(c.connected());
  REQUIRE(c.send(get("/a")));
  CHECK(c.read_responses(1).ends_with("resp 1"));
  REQUIRE(c.send(get("/b")));
  CHECK(c.read_responses(1).ends_with("resp 2"));  // same session: the count went on
  CHECK(server.open_connections() == 1);
}

TEST_CASE("pipelined requests are answered in order", "[server][socket]") {
  fake_app app;
  test_server server(app, test_config());
  const auto port = server.start();
  raw_client c("127.0.0.1", port);
  REQUIRE(c.send(get("/a") + get("/slow") + get("/b") + get("/c")));
  const std::string out = c.read_responses(4);
  const auto r1 = out.find("resp 1"), s2 = out.find("slow 2"), r3 = out.find("resp 3"),
             r4 = out.find("resp 4");
  REQUIRE(r1 != std::string::npos);
  REQUIRE(s2 != std::string::npos);
  REQUIRE(r3 != std::string::npos);
  REQUIRE(r4 != std::string::npos);
  CHECK(r1 < s2);
  CHECK(s2 < r3);
  CHECK(r3 < r4);
}

TEST_CASE("Connection: close ends the connection after the response", "[server][socket]") {
  fake_app app;
  test_server server(app, test_config());
  const auto port = server.start();
  raw_client c("127.0.0.1", port);
  REQUIRE(c.send(get("/a", true) + get("/never")));
  std::string out;
  CHECK(c.read_until_closed(&out));
  CHECK(out.ends_with("resp 1"));
  CHECK(out.find("resp 2") == std::string::npos);
  CHECK(eventually([&] { return server.open_connections() == 0; }));
}

TEST_CASE("many clients on several reactor threads", "[server][socket]") {
  fake_app app;
  auto cfg = test_config();
  cfg.threads = 3;
  test_server server(app, cfg);
  const auto port = server.start();
  constexpr int clients = 12, requests = 20;
  std::vector<std::thread> threads;
  std::vector<int> ok(clients, 0);
  for (int i = 0; i < clients; ++i) {
    threads.emplace_back([&, i] {
      raw_client c("127.0.0.1", port);
      for (int n = 1; n <= requests && c.connected(); ++n) {
        const bool slow = n % 5 == 0;
        if (!c.send(get(slow ? "/slow" : "/x"))) break;
        if (c.read_responses(1).ends_with((slow ? "slow " : "resp ") + std::to_string(n))) ++ok[i];
      }
    });
  }
  for (auto& t : threads) t.join();
  for (int i = 0; i < clients; ++i) CHECK(ok[i] == requests);
}

TEST_CASE("a shared acceptor hands connections to every reactor", "[server][socket]") {
  fake_app app;
  auto cfg = test_config();
  cfg.reuse_port = false;
  test_server server(app, cfg);
  const auto port = server.start();
  std::vector<std::unique_ptr<raw_client>> clients;
  for (int i = 0; i < 6; ++i) {
    clients.push_back(std::make_unique<raw_client>("127.0.0.1", port));
    REQUIRE(clients.back()->send(get("/slow")));  // async path: resumes on the reactor that owns the socket
  }
  for (auto& c : clients) CHECK(c->read_responses(1).ends_with("slow 1"));
  CHECK(server.open_connections() == 6);
}

TEST_CASE("connections over the cap are accepted and closed at once", "[server][socket]") {
  fake_app app;
  auto cfg = test_config();
  cfg.max_connections = 2;
  test_server server(app, cfg);
  const auto port = server.start();
  raw_client a("127.0.0.1", port), b("127.0.0.1", port);
  REQUIRE(a.send(get("/a")));
  REQUIRE(b.send(get("/b")));
  REQUIRE(a.read_responses(1).ends_with("resp 1"));
  REQUIRE(b.read_responses(1).ends_with("resp 1"));

  raw_client refused("127.0.0.1", port);
  REQUIRE(refused.connected());  // the kernel completed the handshake; the server then closes it
  refused.send(get("/c"));
  std::string out;
  CHECK(refused.read_until_closed(&out));
  CHECK(out.empty());
  CHECK(server.open_connections() == 2);

  // Once one slot frees up, new clients get in again.
  a.close();
  REQUIRE(eventually([&] { return server.open_connections() < 2; }));
  raw_client later("127.0.0.1", port);
  REQUIRE(later.send(get("/d")));
  CHECK(later.read_responses(1).ends_with("resp 1"));
}

TEST_CASE("a half-sent header gets 408 after the header timeout (slowloris)", "[server][socket]") {
  fake_app app;
  auto cfg = test_config();
  cfg.timeout.header = 300ms;
  test_server server(app, cfg);
  const auto port = server.start();

  SECTION("nothing more arrives") {
    raw_client c("127.0.0.1", port);
    REQUIRE(c.send("GET / HTTP/1.1\r\nHost: slow"));
    std::string out;
    CHECK(c.read_until_closed(&out));
    CHECK(out.starts_with("HTTP/1.1 408"));
  }
  SECTION("bytes trickle in, each well within the timeout") {
    raw_client c("127.0.0.1", port);
    bool sending = true;
    for (int i = 0; i < 200 && sending; ++i) {  // would take 10 s: the header deadline must stop it first
      sending = c.send("X");
      std::this_thread::sleep_for(50ms);
      if (app.timeouts_seen.load() > 0) break;
    }
    std::string out;
    CHECK(c.read_until_closed(&out));
    CHECK(out.starts_with("HTTP/1.1 408"));
  }
  CHECK(app.timeouts_seen.load() == 1);
}

TEST_CASE("an idle keep-alive connection is closed quietly after the idle timeout", "[server][socket]") {
  fake_app app;
  auto cfg = test_config();
  cfg.timeout.idle = 200ms;
  test_server server(app, cfg);
  const auto port = server.start();
  raw_client c("127.0.0.1", port);
  REQUIRE(c.send(get("/a")));
  REQUIRE(c.read_responses(1).ends_with("resp 1"));
  std::string out;
  CHECK(c.read_until_closed(&out));
  CHECK(out.empty());
  CHECK(app.timeouts_seen.load() == 1);
}

TEST_CASE("a client that stops reading is dropped after the write timeout", "[server][socket]") {
  fake_app app;
  auto cfg = test_config();
  cfg.timeout.write = 300ms;
  test_server server(app, cfg);
  const auto port = server.start();
  raw_client c("127.0.0.1", port);
  REQUIRE(c.send(get("/big")));  // and never read
  CHECK(eventually([&] { return server.open_connections() == 0; }));
  CHECK(app.sessions.load() == 0);
}

TEST_CASE("a client that leaves during an async handler does not break the server", "[server][socket]") {
  fake_app app;
  app.slow_delay = 100ms;
  test_server server(app, test_config());
  const auto port = server.start();
  {
    raw_client c("127.0.0.1", port);
    REQUIRE(c.send(get("/slow")));
    REQUIRE(eventually([&] { return app.slow_started.load() == 1; }));
  }
  CHECK(eventually([&] { return app.slow_finished.load() == 1 && app.sessions.load() == 0; }));
  raw_client again("127.0.0.1", port);
  REQUIRE(again.send(get("/a")));
  CHECK(again.read_responses(1).ends_with("resp 1"));
}

TEST_CASE("curl talks to the server over plain HTTP", "[server][socket]") {
  fake_app app;
  test_server server(app, test_config());
  const auto port = server.start();
  const std::string url = "http://127.0.0.1:" + std::to_string(port) + "/";
  CHECK(run_command("curl -sS --max-time 10 " + url + " " + url + "slow") == "resp 1slow 2");
}

TEST_CASE("IPv6 on ::1 when the machine has it", "[server][socket]") {
  fake_app app;
  auto cfg = test_config();
  cfg.host = "::1";
  test_server server(app, cfg);
  std::uint16_t port = 0;
  try {
    port = server.start();
  } catch (const std::system_error& e) {
    WARN("skipped: no IPv6 loopback here (" << e.what() << ")");
    return;
  }
  raw_client c("::1", port);
  REQUIRE(c.connected());
  REQUIRE(c.send(get("/a")));
  CHECK(c.read_responses(1).ends_with("resp 1"));
}

TEST_CASE("a host that cannot be bound is reported", "[server][socket]") {
  fake_app app;
  auto cfg = test_config();
  cfg.host = "192.0.2.1";  // TEST-NET-1: not an address of this machine
  test_server server(app, cfg);
  CHECK_THROWS_AS(server.start(), std::system_error);
}
