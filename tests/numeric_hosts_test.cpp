// KEEL_NUMERIC_HOSTS_ONLY (the edge profile, docs/edge.md): the server does no name lookup, so a static
// binary carries no resolver. Numeric addresses and "localhost" still work; any other name is refused at
// start.
#define KEEL_NUMERIC_HOSTS_ONLY 1
#include "keel/server/basic_server.hpp"

#include "support/fake_session.hpp"
#include "support/raw_client.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <string>
#include <string_view>
#include <system_error>

using namespace std::chrono_literals;
using keel_test::fake_app;
using keel_test::fake_session;
using keel_test::raw_client;
using test_server = keel::detail::basic_server<fake_session, fake_app>;

namespace {

keel::server_config test_config(std::string host) {
  keel::server_config cfg;
  cfg.host = std::move(host);
  cfg.port = 0;
  cfg.threads = 1;
  cfg.workers = 1;
  cfg.handle_signals = false;
  cfg.timeout.shutdown = 2s;
  return cfg;
}

}  // namespace

TEST_CASE("numeric hosts only: a numeric address and localhost are served", "[server]") {
  for (const char* host : {"127.0.0.1", "localhost"}) {
    fake_app app;
    test_server server(app, test_config(host));
    const auto port = server.start();
    REQUIRE(port != 0);
    raw_client c("127.0.0.1", port);
    REQUIRE(c.connected());
    REQUIRE(c.send("GET /a HTTP/1.1\r\nHost: t\r\n\r\n"));
    CHECK(c.read_responses(1).ends_with("resp 1"));
  }
}

TEST_CASE("numeric hosts only: a name is refused without a lookup", "[server]") {
  fake_app app;
  test_server server(app, test_config("example.invalid"));
  try {
    server.start();
    FAIL("a host name was accepted");
  } catch (const std::system_error& e) {
    CHECK(std::string_view(e.what()).find("must be a numeric address") != std::string_view::npos);
  }
}
