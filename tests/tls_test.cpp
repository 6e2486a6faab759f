#include "keel/server/tls.hpp"

#include "keel/server/basic_server.hpp"
#include "support/fake_session.hpp"
#include "support/raw_client.hpp"
#include "support/self_signed.hpp"

#include <catch2/catch.hpp>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

using namespace std::chrono_literals;
using keel_test::fake_app;
using keel_test::fake_session;
using keel_test::raw_client;
using test_server = keel::detail::basic_server<fake_session, fake_app>;

namespace {

using keel_test::run_command;
using keel_test::self_signed;

keel::server_config tls_config(const self_signed& files) {
  keel::server_config cfg = files.serve_tls(keel_test::local_config(2));
  cfg.timeout.header = 300ms;
  return cfg;
}

}  // namespace

TEST_CASE("curl --cacert talks HTTPS to the server, keep-alive and async handlers included",
          "[tls][socket]") {
  self_signed files;
  fake_app app;
  test_server server(app, tls_config(files));
  const auto port = server.start();
  const std::string base = "https://127.0.0.1:" + std::to_string(port) + "/";
  const std::string out =
      run_command("curl -sS --max-time 10 --cacert " + files.cert + " " + base + " " + base + "slow 2>&1");
  CHECK(out == "resp 1 tlsslow 2 tls");  // one connection reused: the count goes on

  SECTION("curl refuses the certificate without --cacert") {
    CHECK(run_command("curl -sS --max-time 10 " + base + " 2>&1").find("resp") == std::string::npos);
  }
}

TEST_CASE("a TLS client that never finishes the handshake is dropped after the header timeout",
          "[tls][socket]") {
  self_signed files;
  fake_app app;
  test_server server(app, tls_config(files));
  const auto port = server.start();
  raw_client silent("127.0.0.1", port);
  REQUIRE(silent.connected());
  CHECK(silent.read_until_closed());  // closed by the server: the client's 5 s receive timeout did not hit
  CHECK(keel_test::eventually([&] { return server.open_connections() == 0; }));
}

TEST_CASE("plain HTTP sent to the TLS port is not answered as HTTP", "[tls][socket]") {
  self_signed files;
  fake_app app;
  test_server server(app, tls_config(files));
  const auto port = server.start();
  raw_client c("127.0.0.1", port);
  REQUIRE(c.send("GET / HTTP/1.1\r\nHost: t\r\n\r\n"));
  std::string out;
  c.read_until_closed(&out);
  CHECK(out.find("resp") == std::string::npos);
}

TEST_CASE("a missing certificate or key is reported with the file name", "[tls][socket]") {
  keel::tls_config tls;
  tls.certificate_file = "/nonexistent/cert.pem";
  tls.private_key_file = "/nonexistent/key.pem";
  CHECK_THROWS_WITH(keel::detail::make_tls_context(tls), Catch::Contains("/nonexistent/cert.pem"));

  self_signed files;
  tls.certificate_file = files.cert;
  CHECK_THROWS_WITH(keel::detail::make_tls_context(tls), Catch::Contains("/nonexistent/key.pem"));
  tls.private_key_file = files.key;
  CHECK_NOTHROW(keel::detail::make_tls_context(tls));
}
