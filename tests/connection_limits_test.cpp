// Connections under pressure, over real sockets: a silent connection is closed at the header timeout (not
// the idle one), the connection cap makes room by closing the oldest idle keep-alive connection, HTTP/1.0
// keep-alive is announced, and graceful shutdown answers a request that arrives on an idle keep-alive
// connection instead of resetting it.
#include "keel/server/server.hpp"

#include "keel/app.hpp"
#include "support/local_server.hpp"
#include "support/raw_client.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <algorithm>
#include <thread>
#include <vector>

#include <unistd.h>

using namespace std::chrono_literals;
using keel_test::eventually;
using keel_test::raw_client;

namespace {

auto make_app() {
  return keel::app{keel::router{keel::get<"/a">([] { return "A"; })}};
}
using app_type = decltype(make_app());

keel::server_config test_config() { return keel_test::local_config(); }

constexpr std::string_view get_a = "GET /a HTTP/1.1\r\nHost: x\r\n\r\n";

// This process's resident memory (user space: socket buffers are the kernel's and not counted).
long resident_bytes() {
  long pages = 0, resident = 0;
  if (std::FILE* f = std::fopen("/proc/self/statm", "r")) {
    if (std::fscanf(f, "%ld %ld", &pages, &resident) != 2) resident = 0;
    std::fclose(f);
  }
  return resident * ::sysconf(_SC_PAGESIZE);
}

}  // namespace

TEST_CASE("a connection that never sends a byte is closed at the header timeout", "[limits][socket]") {
  auto app = make_app();
  keel::server_config cfg = test_config();
  cfg.timeout.header = 300ms;
  cfg.timeout.idle = 60s;
  keel::detail::server<app_type> server(app, cfg);
  const auto port = server.start();
  raw_client silent("127.0.0.1", port, 5000);
  REQUIRE(silent.connected());
  const auto start = std::chrono::steady_clock::now();
  std::string got;
  CHECK(silent.read_until_closed(&got));
  CHECK(got.empty());  // closed without a 408: nothing was asked
  CHECK(std::chrono::steady_clock::now() - start < 3s);
  // A served connection then waits the idle timeout, not the header one.
  raw_client served("127.0.0.1", port, 5000);
  REQUIRE(served.send(get_a));
  REQUIRE(served.read_responses(1).ends_with("\r\n\r\nA"));
  std::this_thread::sleep_for(600ms);
  REQUIRE(served.send(get_a));
  CHECK(served.read_responses(1).ends_with("\r\n\r\nA"));
  server.stop();
  server.wait();
}

TEST_CASE("at the connection cap the oldest idle keep-alive connection makes room", "[limits][socket]") {
  auto app = make_app();
  keel::server_config cfg = test_config();
  cfg.max_connections = 2;
  keel::detail::server<app_type> server(app, cfg);
  const auto port = server.start();
  raw_client first("127.0.0.1", port);
  REQUIRE(first.send(get_a));
  REQUIRE(first.read_responses(1).ends_with("A"));
  raw_client second("127.0.0.1", port);
  REQUIRE(second.send(get_a));
  REQUIRE(second.read_responses(1).ends_with("A"));
  REQUIRE(server.open_connections() == 2);
  raw_client newcomer("127.0.0.1", port);
  REQUIRE(newcomer.send(get_a));
  CHECK(newcomer.read_responses(1).ends_with("\r\n\r\nA"));  // served, not refused
  std::string rest;
  CHECK(first.read_until_closed(&rest));  // the oldest idle one went
  CHECK(rest.empty());
  REQUIRE(second.send(get_a));
  CHECK(second.read_responses(1).ends_with("\r\n\r\nA"));
  server.stop();
  server.wait();
}

TEST_CASE("HTTP/1.0 keep-alive is announced in the response", "[limits][socket]") {
  auto app = make_app();
  keel::detail::server<app_type> server(app, test_config());
  const auto port = server.start();
  raw_client c("127.0.0.1", port);
  REQUIRE(c.send("GET /a HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"));
  const std::string r = c.read_responses(1);
  CHECK(r.find("Connection: keep-alive\r\n") != std::string::npos);
  REQUIRE(c.send("GET /a HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"));  // and it is kept
  CHECK(c.read_responses(1).ends_with("\r\n\r\nA"));
  REQUIRE(c.send("GET /a HTTP/1.0\r\n\r\n"));
  std::string last;
  CHECK(c.read_until_closed(&last));
  CHECK(last.find("Connection: keep-alive") == std::string::npos);
  server.stop();
  server.wait();
}

TEST_CASE("graceful shutdown answers a request arriving on an idle keep-alive connection",
          "[limits][socket]") {
  auto app = make_app();
  keel::detail::server<app_type> server(app, test_config());
  const auto port = server.start();
  raw_client c("127.0.0.1", port);
  REQUIRE(c.send(get_a));
  REQUIRE(c.read_responses(1).ends_with("A"));
  server.stop();
  std::this_thread::sleep_for(50ms);  // the request crosses the shutdown
  REQUIRE(c.send(get_a));
  std::string answer;
  CHECK(c.read_until_closed(&answer));
  CHECK(answer.starts_with("HTTP/1.1 200 OK\r\n"));
  CHECK(answer.find("Connection: close\r\n") != std::string::npos);
  server.wait();
}

TEST_CASE("graceful shutdown closes a quiet idle keep-alive connection after a short grace",
          "[limits][socket]") {
  auto app = make_app();
  keel::detail::server<app_type> server(app, test_config());
  const auto port = server.start();
  raw_client c("127.0.0.1", port);
  REQUIRE(c.send(get_a));
  REQUIRE(c.read_responses(1).ends_with("A"));
  const auto start = std::chrono::steady_clock::now();
  server.stop();
  server.wait();
  CHECK(std::chrono::steady_clock::now() - start < 2s);
  std::string rest;
  CHECK(c.read_until_closed(&rest));
  CHECK(rest.empty());
}

// RSS says little under AddressSanitizer (redzones, and freed memory is quarantined, not returned): there the
// connections are still opened, served and timed out, but their memory is not checked.
#if defined(__SANITIZE_ADDRESS__)
#define KEEL_CHECK_RSS 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define KEEL_CHECK_RSS 0
#endif
#endif
#ifndef KEEL_CHECK_RSS
#define KEEL_CHECK_RSS 1
#endif

TEST_CASE(
    "2,000 idle connections cost at most 4 KiB of user-space memory each, and silent ones go at the "
    "header timeout",
    "[limits][socket][memory]") {
  constexpr int count = 2000;
  constexpr long target = 4096;
  auto app = make_app();
  keel::server_config cfg = test_config();
  cfg.timeout.header = 3s;
  cfg.timeout.idle = 30s;
  keel::detail::server<app_type> server(app, cfg);
  const auto port = server.start();
  {
    raw_client warm("127.0.0.1", port);
    REQUIRE(warm.send(get_a));
    REQUIRE(warm.read_responses(1).ends_with("A"));
  }
  std::vector<std::unique_ptr<raw_client>> clients;
  clients.reserve(count);
  const long before = resident_bytes();

  // Connected, never a byte sent: no session, no buffer.
  const auto opened = std::chrono::steady_clock::now();
  for (int i = 0; i < count; ++i) {
    clients.push_back(std::make_unique<raw_client>("127.0.0.1", port, 10000));
    REQUIRE(clients.back()->connected());
  }
  REQUIRE(eventually([&] { return server.open_connections() >= count; }));
  const long silent = (resident_bytes() - before) / count;
  UNSCOPED_INFO("silent: " << silent << " bytes per connection");
  if (KEEL_CHECK_RSS) CHECK(silent <= target);
  // ... and each is closed at the header timeout, without a 408 (nothing was asked).
  for (auto& c : clients) {
    std::string got;
    REQUIRE(c->read_until_closed(&got));
    REQUIRE(got.empty());
  }
  CHECK(std::chrono::steady_clock::now() - opened < 8s);
  REQUIRE(eventually([&] { return server.open_connections() == 0; }));
  clients.clear();

  // Each serves one request and waits, idle, for a next: after a second its session goes back to the
  // reactor's pool, and the pool frees what stays unused for a second.
  const long before_served = resident_bytes();
  for (int i = 0; i < count; ++i) {
    clients.push_back(std::make_unique<raw_client>("127.0.0.1", port));
    REQUIRE(clients.back()->send(get_a));
  }
  for (auto& c : clients) REQUIRE(c->read_responses(1).ends_with("\r\n\r\nA"));
  std::this_thread::sleep_for(4500ms);
  const long served = (resident_bytes() - std::min(before, before_served)) / count;
  UNSCOPED_INFO("served, then idle: " << served << " bytes per connection");
  if (KEEL_CHECK_RSS) CHECK(served <= target);

  // And they are still good connections, past the header timeout (they wait for the idle one).
  for (int i = 0; i < count; i += 97) {
    REQUIRE(clients[static_cast<std::size_t>(i)]->send(get_a));
    CHECK(clients[static_cast<std::size_t>(i)]->read_responses(1).ends_with("\r\n\r\nA"));
  }
  clients.clear();
  server.stop();
  server.wait();
}
