// keel::http_client over TLS against keel's HTTPS server (in-process, a certificate from a throwaway CA):
// verification succeeds with the CA, fails without it, and fails when the URL names another host.
#include "keel/http_client.hpp"
#include "keel/tls.hpp"

#include "keel/app.hpp"
#include "keel/server/server.hpp"
#include "support/http_client_run.hpp"
#include "support/local_server.hpp"
#include "support/test_ca.hpp"

#include <catch2/catch.hpp>

#include <asio/io_context.hpp>

#include <string>

using keel_test::run_task;

namespace http_client_tls_test {

auto make_app() {
  return keel::app{keel::router{keel::get<"/hello">([] { return "hello over tls"; })}};
}
using app_type = decltype(make_app());

struct tls_server {
  keel_test::test_ca ca;  // the server certificate names DNS:localhost only
  app_type app = make_app();
  keel::detail::server<app_type> server{app, config()};
  std::string port;
  tls_server() { port = std::to_string(server.start()); }
  keel::server_config config() {
    keel::server_config cfg = keel_test::local_config();
    cfg.tls.certificate_file = ca.cert;
    cfg.tls.private_key_file = ca.key;
    return cfg;
  }
};

// The message of the TLS failure the request ends with.
std::string tls_failure(asio::io_context& io, keel::http_client& client, const std::string& url) {
  try {
    (void)run_task(io, client.get(url));
  } catch (const keel::client_error& e) {
    CHECK(e.kind() == keel::client_error_kind::tls);
    return e.what();
  }
  FAIL("the request succeeded: " << url);
  return {};
}

}  // namespace http_client_tls_test

using namespace http_client_tls_test;

TEST_CASE("https with the test CA: verified, SNI and host name checked, connection reused",
          "[http_client][tls]") {
  tls_server s;
  asio::io_context io;
  keel::client_options opts;
  opts.ca_file = s.ca.ca_cert;
  keel::http_client client(io, opts);
  for (int i = 0; i < 3; ++i) {
    const keel::client_response r = run_task(io, client.get("https://localhost:" + s.port + "/hello"));
    CHECK(r.status == 200);
    CHECK(r.body == "hello over tls");
  }
  CHECK(client.connections_opened() == 1);
}

TEST_CASE("https without the CA fails verification", "[http_client][tls]") {
  tls_server s;
  asio::io_context io;
  keel::http_client client(io);
  CHECK_THAT(tls_failure(io, client, "https://localhost:" + s.port + "/hello"),
             Catch::Contains("unable to get local issuer certificate"));
}

TEST_CASE("https to a host name the certificate does not name fails", "[http_client][tls]") {
  tls_server s;
  asio::io_context io;
  keel::client_options opts;
  opts.ca_file = s.ca.ca_cert;
  keel::http_client client(io, opts);
  // Same server, same CA: only the name differs (the certificate names localhost, not 127.0.0.1).
  CHECK_THAT(tls_failure(io, client, "https://127.0.0.1:" + s.port + "/hello"),
             Catch::Contains("IP address mismatch"));
  SECTION("verify_peer = false accepts it (and says so by being explicit)") {
    keel::client_options lax;
    lax.verify_peer = false;
    keel::http_client unchecked(io, lax);
    CHECK(run_task(io, unchecked.get("https://127.0.0.1:" + s.port + "/hello")).body == "hello over tls");
  }
}

TEST_CASE("an IP address SAN is checked as an address", "[http_client][tls]") {
  keel_test::test_ca ca("IP:127.0.0.1");
  app_type app = make_app();
  keel::server_config cfg = keel_test::local_config();
  cfg.tls.certificate_file = ca.cert;
  cfg.tls.private_key_file = ca.key;
  keel::detail::server<app_type> server(app, cfg);
  const std::string port = std::to_string(server.start());
  asio::io_context io;
  keel::client_options opts;
  opts.ca_file = ca.ca_cert;
  keel::http_client client(io, opts);
  CHECK(run_task(io, client.get("https://127.0.0.1:" + port + "/hello")).body == "hello over tls");
  CHECK_THAT(tls_failure(io, client, "https://localhost:" + port + "/hello"),
             Catch::Contains("hostname mismatch"));
}
