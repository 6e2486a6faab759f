// Without keel/tls.hpp a server compiles no TLS: a configured certificate is refused at start() with a
// message saying what to include, plain HTTP still works, and the program does not depend on OpenSSL.
#include "keel/server/basic_server.hpp"

#include "support/fake_session.hpp"
#include "support/raw_client.hpp"

#include <catch2/catch.hpp>

#include <fstream>
#include <stdexcept>
#include <string>

using keel_test::fake_app;
using keel_test::fake_session;
using test_server = keel::detail::basic_server<fake_session, fake_app>;

namespace {

keel::server_config local_config() {
  keel::server_config cfg;
  cfg.host = "127.0.0.1";
  cfg.port = 0;
  cfg.threads = 1;
  cfg.workers = 1;
  cfg.handle_signals = false;
  return cfg;
}

}  // namespace

TEST_CASE("a TLS certificate without keel/tls.hpp is refused at start, naming the header", "[tls]") {
  fake_app app;
  keel::server_config cfg = local_config();
  cfg.tls.certificate_file = "/nonexistent/cert.pem";
  test_server server(app, cfg);
  try {
    server.start();
    FAIL("start() accepted a TLS configuration without TLS support");
  } catch (const std::runtime_error& e) {
    CHECK(std::string(e.what()).find("#include <keel/tls.hpp>") != std::string::npos);
  }
}

TEST_CASE("plain HTTP is served without keel/tls.hpp", "[tls]") {
  fake_app app;
  test_server server(app, local_config());
  const auto port = server.start();
  keel_test::raw_client c("127.0.0.1", port);
  REQUIRE(c.send("GET / HTTP/1.1\r\n\r\n"));
  CHECK(c.read_responses(1).find("resp 1") != std::string::npos);
}

TEST_CASE("the program was linked without libssl and libcrypto (linker --as-needed)", "[tls]") {
  std::ifstream maps("/proc/self/maps");
  std::string line;
  bool ssl = false;
  while (std::getline(maps, line))
    ssl = ssl || line.find("libssl") != std::string::npos || line.find("libcrypto") != std::string::npos;
  CHECK_FALSE(ssl);
}
