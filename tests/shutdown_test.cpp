#include "keel/server/basic_server.hpp"

#include "support/fake_session.hpp"
#include "support/local_server.hpp"
#include "support/raw_client.hpp"

#include <catch2/catch.hpp>

#include <csignal>
#include <chrono>
#include <string>
#include <thread>

using namespace std::chrono_literals;
using keel_test::eventually;
using keel_test::fake_app;
using keel_test::fake_session;
using keel_test::raw_client;
using test_server = keel::detail::basic_server<fake_session, fake_app>;

namespace {

keel::server_config test_config() {
  keel::server_config cfg = keel_test::local_config(2);
  cfg.timeout.shutdown = 5s;
  return cfg;
}

const std::string slow_request = "GET /slow HTTP/1.1\r\nHost: t\r\n\r\n";
const std::string fast_request = "GET /a HTTP/1.1\r\nHost: t\r\n\r\n";

}  // namespace

TEST_CASE("stop() lets a slow request in flight finish, then refuses new connections", "[shutdown][socket]") {
  fake_app app;
  app.slow_delay = 400ms;
  test_server server(app, test_config());
  const auto port = server.start();

  raw_client busy("127.0.0.1", port);
  REQUIRE(busy.send(slow_request));
  REQUIRE(eventually([&] { return app.slow_started.load() == 1; }));
  server.stop();

  std::string out;
  CHECK(busy.read_until_closed(&out));
  CHECK(out.find("Connection: close") != std::string::npos);  // answered, and told the connection ends
  CHECK(out.ends_with("slow 1"));
  server.wait();
  CHECK(app.slow_finished.load() == 1);
  CHECK(app.sessions.load() == 0);

  raw_client late("127.0.0.1", port);
  CHECK_FALSE(late.connected());
}

TEST_CASE("stop() closes idle keep-alive connections at once", "[shutdown][socket]") {
  fake_app app;
  test_server server(app, test_config());
  const auto port = server.start();
  raw_client idle("127.0.0.1", port);
  REQUIRE(idle.send(fast_request));
  REQUIRE(idle.read_responses(1).ends_with("resp 1"));
  server.stop();
  std::string out;
  CHECK(idle.read_until_closed(&out));
  CHECK(out.empty());
  server.wait();
  CHECK(app.sessions.load() == 0);
}

TEST_CASE("after the shutdown deadline the remaining connections are closed", "[shutdown][socket]") {
  fake_app app;
  app.slow_delay = 800ms;
  auto cfg = test_config();
  cfg.timeout.shutdown = 100ms;
  test_server server(app, cfg);
  const auto port = server.start();
  raw_client busy("127.0.0.1", port);
  REQUIRE(busy.send(slow_request));
  REQUIRE(eventually([&] { return app.slow_started.load() == 1; }));
  server.stop();
  std::string out;
  CHECK(busy.read_until_closed(&out));
  CHECK(out.empty());  // closed before the handler could answer
  server.wait();
  CHECK(app.slow_finished.load() == 1);  // the handler itself still ran to its end: nothing leaked
  CHECK(app.sessions.load() == 0);
}

TEST_CASE("SIGTERM starts a graceful shutdown when signals are handled", "[shutdown][socket]") {
  fake_app app;
  app.slow_delay = 300ms;
  auto cfg = test_config();
  cfg.handle_signals = true;
  test_server server(app, cfg);
  const auto port = server.start();
  raw_client busy("127.0.0.1", port);
  REQUIRE(busy.send(slow_request));
  REQUIRE(eventually([&] { return app.slow_started.load() == 1; }));
  std::raise(SIGTERM);
  std::string out;
  CHECK(busy.read_until_closed(&out));
  CHECK(out.ends_with("slow 1"));
  server.wait();  // returns only because the signal stopped the server
  CHECK(app.sessions.load() == 0);
}

TEST_CASE("stop() before any connection and a second stop() are harmless", "[shutdown][socket]") {
  fake_app app;
  test_server server(app, test_config());
  server.start();
  server.stop();
  server.stop();
  server.wait();
  CHECK(server.open_connections() == 0);
}

TEST_CASE("stop() before start() makes the server shut down as soon as it started", "[shutdown][socket]") {
  fake_app app;
  test_server server(app, test_config());
  server.stop();
  const auto port = server.start();
  server.wait();  // would block forever if the early stop() were lost
  CHECK_FALSE(raw_client("127.0.0.1", port).connected());
}
