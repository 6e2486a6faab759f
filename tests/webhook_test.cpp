// keel::webhook: signatures cross-checked with Python's hmac module, verification (tolerance, tampering,
// rotation, malformed headers), the verify_signature layer on keel's server (401 in the JSON error shape),
// and deliver() over real sockets with the outcome a retrying job acts on.
#include "keel/webhook.hpp"

#include "keel/app.hpp"
#include "keel/server/server.hpp"
#include "support/http_client_run.hpp"
#include "support/local_server.hpp"

#include <catch2/catch.hpp>

#include <asio/io_context.hpp>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

using keel_test::run_task;
namespace webhook = keel::webhook;

namespace webhook_test {

// HMAC-SHA256 hex of "<t>.<body>" by Python's hmac module (secret and body passed through files).
std::string python_signature(const std::string& secret, std::int64_t t, const std::string& body) {
  char pattern[] = "/tmp/keel-webhook-XXXXXX";
  REQUIRE(::mkdtemp(pattern) != nullptr);
  const std::filesystem::path dir = pattern;
  std::ofstream(dir / "secret", std::ios::binary) << secret;
  std::ofstream(dir / "body", std::ios::binary) << body;
  const std::string script =
      "import hmac, hashlib, sys\n"
      "d = sys.argv[1]\n"
      "key = open(d + '/secret', 'rb').read()\n"
      "msg = sys.argv[2].encode() + b'.' + open(d + '/body', 'rb').read()\n"
      "print(hmac.new(key, msg, hashlib.sha256).hexdigest(), end='')\n";
  std::ofstream(dir / "sign.py") << script;
  const std::string out = keel_test::run_command("python3 " + (dir / "sign.py").string() + " " +
                                                 dir.string() + " " + std::to_string(t));
  std::filesystem::remove_all(dir);
  return out;
}

std::atomic<int> received{0};

auto make_app() {
  return keel::app{keel::router{
      keel::post<"/hook">([](keel::body b) {
        ++received;
        return "got " + std::string(b.data);
      }).use(webhook::verify_signature{"whsec_test"}),
      keel::post<"/rotating">([](keel::body) {
        return "ok";
      }).use(webhook::verify_signature{std::vector<std::string>{"old-secret", "new-secret"}}),
      keel::post<"/fail">([] { return keel::response(keel::http::status::service_unavailable); }),
      keel::post<"/busy">([] {
        keel::response r(keel::http::status::too_many_requests);
        r.header("Retry-After", "7");
        return r;
      }),
      keel::post<"/gone">([] { return keel::response(keel::http::status::gone); }),
  }};
}
using app_type = decltype(make_app());

}  // namespace webhook_test

using namespace webhook_test;

TEST_CASE("signatures match Python's hmac module", "[webhook]") {
  const std::string body = "{\"event\":\"order.paid\",\"id\":42,\"note\":\"caf\xc3\xa9 \\\"quoted\\\"\\n\"}";
  const std::int64_t t = 1733390000;
  const std::string ours = webhook::signature("whsec_\x01 secret", t, body);
  CHECK(ours.size() == 64);
  CHECK(ours == python_signature("whsec_\x01 secret", t, body));
  CHECK(webhook::sign("k", "", 5) == "t=5,v1=" + python_signature("k", 5, ""));
}

TEST_CASE("verify: tolerance, tampering, rotation, malformed headers", "[webhook]") {
  const std::string body = "{\"a\":1}";
  const std::int64_t now = 1733390000;
  const std::string header = webhook::sign("s3cret", body, now);
  using vs = webhook::verify_status;
  CHECK(webhook::verify("s3cret", header, body, std::chrono::seconds(300), now) == vs::ok);
  CHECK(webhook::verify("s3cret", header, body, std::chrono::seconds(300), now + 300) == vs::ok);
  CHECK(webhook::verify("s3cret", header, body, std::chrono::seconds(300), now + 301) == vs::expired);
  CHECK(webhook::verify("s3cret", header, body, std::chrono::seconds(300), now - 301) == vs::expired);
  CHECK(webhook::verify("s3cret", header, "{\"a\":2}", std::chrono::seconds(300), now) == vs::mismatch);
  CHECK(webhook::verify("other", header, body, std::chrono::seconds(300), now) == vs::mismatch);
  // the timestamp is signed too: moving it breaks the signature
  std::string moved = header;
  moved.replace(2, 10, std::to_string(now + 1));
  CHECK(webhook::verify("s3cret", moved, body, std::chrono::seconds(300), now) == vs::mismatch);
  // rotation: old and new signatures side by side, in any order; unknown schemes ignored
  const std::string both = "t=" + std::to_string(now) + ",v1=" + webhook::signature("old", now, body) +
                           ", v0=zzz,v1=" + webhook::signature("new", now, body);
  CHECK(webhook::verify("new", both, body, std::chrono::seconds(300), now) == vs::ok);
  CHECK(webhook::verify("old", both, body, std::chrono::seconds(300), now) == vs::ok);
  CHECK(webhook::verify("s3cret", "", body) == vs::missing);
  for (const char* bad : {"t=1", "v1=00", "t=x,v1=", "t=1,v1=abc", "garbage", "t=1,t=2,v1=", "t=1,,v1="})
    CHECK(webhook::verify("s3cret", bad, body, std::chrono::seconds(300), now) == vs::malformed);
}

TEST_CASE("deliver() signs; verify_signature lets it in and refuses the rest with 401", "[webhook]") {
  app_type app = make_app();
  keel::detail::server<app_type> server(app, keel_test::local_config());
  const std::string base = "http://127.0.0.1:" + std::to_string(server.start());
  asio::io_context io;
  keel::http_client client(io);
  received = 0;

  const webhook::delivery_result ok =
      run_task(io, webhook::deliver(client, base + "/hook", "whsec_test", "{\"n\":1}"));
  CHECK(ok.delivered());
  CHECK(ok.status == 200);
  CHECK(received == 1);

  const webhook::delivery_result wrong =
      run_task(io, webhook::deliver(client, base + "/hook", "not-it", "{}"));
  CHECK(wrong.result == webhook::delivery_result::outcome::give_up);
  CHECK(wrong.status == 401);
  CHECK(received == 1);  // the handler never ran

  keel::client_request unsigned_request;
  unsigned_request.method = keel::http::method::post;
  unsigned_request.url = base + "/hook";
  unsigned_request.body = "{}";
  const keel::client_response refused = run_task(io, client.send(unsigned_request));
  CHECK(refused.status == 401);
  CHECK(refused.header("Content-Type").find("application/json") == 0);
  CHECK(refused.body.find("\"invalid_signature\"") != std::string::npos);
  CHECK(refused.body.find("missing Keel-Signature header") != std::string::npos);

  keel::client_request stale = unsigned_request;
  stale.header("Keel-Signature", webhook::sign("whsec_test", "{}", webhook::unix_now() - 3600));
  const keel::client_response old = run_task(io, client.send(stale));
  CHECK(old.status == 401);
  CHECK(old.body.find("tolerance") != std::string::npos);

  // a signature made by curl's request (header computed here, body sent by curl) passes too
  const std::string body = "{\"from\":\"curl\"}";
  const std::string curl = keel_test::run_command(
      "curl -sS --max-time 10 -H 'Keel-Signature: " + webhook::sign("whsec_test", body) +
      "' --data-binary '" + body + "' " + base + "/hook");
  CHECK(curl == "got " + body);

  SECTION("either secret passes while rotating") {
    CHECK(run_task(io, webhook::deliver(client, base + "/rotating", "old-secret", "{}")).delivered());
    CHECK(run_task(io, webhook::deliver(client, base + "/rotating", "new-secret", "{}")).delivered());
    CHECK(run_task(io, webhook::deliver(client, base + "/rotating", "third", "{}")).status == 401);
  }
}

TEST_CASE("deliver() results say whether a job should retry", "[webhook]") {
  app_type app = make_app();
  keel::detail::server<app_type> server(app, keel_test::local_config());
  const std::string base = "http://127.0.0.1:" + std::to_string(server.start());
  asio::io_context io;
  keel::http_client client(io);
  using outcome = webhook::delivery_result::outcome;

  const auto unavailable = run_task(io, webhook::deliver(client, base + "/fail", "s", "{}"));
  CHECK(unavailable.result == outcome::retry);
  CHECK(unavailable.status == 503);
  const auto busy = run_task(io, webhook::deliver(client, base + "/busy", "s", "{}"));
  CHECK(busy.retryable());
  CHECK(busy.retry_after == std::chrono::seconds(7));
  const auto gone = run_task(io, webhook::deliver(client, base + "/gone", "s", "{}"));
  CHECK(gone.result == outcome::give_up);

  server.stop();
  server.wait();
  const auto down = run_task(io, webhook::deliver(client, base + "/hook", "s", "{}"));
  CHECK(down.retryable());
  CHECK(down.status == 0);
  CHECK_FALSE(down.error.empty());
  const auto bad_url = run_task(io, webhook::deliver(client, "mailto:x", "s", "{}"));
  CHECK(bad_url.result == outcome::give_up);
}
