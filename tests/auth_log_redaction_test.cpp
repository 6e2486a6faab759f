// Secrets never reach logs: a bearer token, a cookie, an API key (header or query) and a Set-Cookie answer go
// through keel::access_log (default fields, and with those headers asked for by name: "[redacted]") and
// through the handler-exception log, over a real socket with curl; none of the secret values appears.
#include "keel/auth/api_key.hpp"
#include "keel/auth/bearer.hpp"
#include "keel/auth/sql_api_key_store.hpp"

#include "keel/app.hpp"
#include "keel/json.hpp"
#include "keel/middleware/access_log.hpp"
#include "keel/middleware/request_id.hpp"
#include "keel/server/server.hpp"
#include "keel/sql/database.hpp"
#include "support/local_server.hpp"

#include <catch2/catch.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

using keel_test::run_command;

namespace log_redaction_test {

struct claims {
  std::string sub{};
  std::int64_t exp = 0;
};

std::mutex lines_mutex;
std::vector<std::string> lines;
void collect(std::string_view line, void*) {
  std::lock_guard lock(lines_mutex);
  lines.emplace_back(line);
}

const std::string cookie_secret = "cookie-secret-5b1f9e";
const std::string set_cookie_secret = "set-cookie-secret-77ac0d";

}  // namespace log_redaction_test

using namespace log_redaction_test;

TEST_CASE("no log line carries a token, cookie or API key", "[auth][log][socket]") {
  const auto key = keel::auth::jwt_key::hmac(keel::auth::jwt_alg::HS256, std::string(32, 'r'), "k");
  const std::string token = keel::auth::sign(claims{"alice", keel::auth::unix_now() + 600}, key);
  keel::db db{"sqlite::memory:"};
  keel::auth::sql_api_key_store keys{db};
  keys.create_schema_sync();
  const auto api_key = keel::auth::generate_api_key();
  db.execute_sync(
      "INSERT INTO keel_api_key (lookup_id, hash, owner, name, created_at) VALUES (?, ?, ?, ?, 0)",
      api_key.lookup_id, api_key.hash, std::string("bob"), std::string("k"));

  auto api = keel::router{
      keel::get<"/me">([](keel::bearer<claims> user, keel::request_context& ctx) {
        ctx.response().header("Set-Cookie", "sid=" + set_cookie_secret + "; HttpOnly");
        return user->sub;
      }),
      keel::get<"/boom">([](keel::bearer<claims>) -> std::string { throw std::runtime_error("boom"); }),
      keel::get<"/reports">([](keel::api_key<keel::auth::api_key_principal> k) {
        return k->owner;
      }).use(keel::auth::api_key_auth{keys}),
  };
  auto app = keel::app{std::move(api)}.use(
      keel::request_id{}, keel::access_log{{.callback = &collect}},  // the default fields
      keel::access_log{{.callback = &collect,
                        .request_headers = {"Authorization", "Cookie", "X-API-Key", "User-Agent", "X-Secret"},
                        .response_headers = {"Set-Cookie", "Content-Type"},
                        .redact = {"X-Secret"}}},
      keel::auth::jwt_bearer<claims>{key});
  using app_type = decltype(app);
  keel::detail::server<app_type> server(app, keel_test::local_config(1));
  const auto port = server.start();
  const std::string base = "http://127.0.0.1:" + std::to_string(port);

  // Handler exceptions are logged to stderr: capture it while the requests run.
  const auto err_path = std::filesystem::temp_directory_path() / "keel-log-redaction-stderr.txt";
  const int saved = ::dup(2);
  const int err_fd = ::open(err_path.c_str(), O_CREAT | O_TRUNC | O_WRONLY, 0600);
  REQUIRE(err_fd >= 0);
  ::dup2(err_fd, 2);
  const std::string curl = "curl -s --max-time 10 -A keel-test -H 'Cookie: session=" + cookie_secret +
                           "' -H 'X-Secret: xsecret-31337' ";
  const std::string me = run_command(curl + "-H 'Authorization: Bearer " + token + "' " + base + "/me");
  const std::string boom = run_command(curl + "-H 'Authorization: Bearer " + token + "' " + base + "/boom");
  const std::string by_header =
      run_command(curl + "-H 'X-API-Key: " + api_key.key + "' " + base + "/reports");
  const std::string by_query = run_command(curl + "'" + base + "/reports?api_key=" + api_key.key + "'");
  const std::string bad = run_command(curl + "-H 'Authorization: Bearer " + token + "x' " + base + "/me");
  server.stop();
  server.wait();
  ::fflush(stderr);
  ::dup2(saved, 2);
  ::close(saved);
  ::close(err_fd);
  std::ifstream in(err_path);
  const std::string err((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::filesystem::remove(err_path);

  CHECK(me == "alice");
  CHECK(boom.find("internal_error") != std::string::npos);
  CHECK(by_header == "bob");
  CHECK(by_query == "bob");
  CHECK(bad.find("invalid_token") != std::string::npos);
  CHECK(err.find("handler_exception") != std::string::npos);  // the exception was logged ...

  std::vector<std::string> all;
  {
    std::lock_guard lock(lines_mutex);
    all = lines;
  }
  REQUIRE(all.size() == 10);  // 5 requests, 2 access logs
  all.push_back(err);         // ... and neither log has a secret
  const std::string secrets[] = {token,          token.substr(token.rfind('.') + 1),
                                 cookie_secret,  set_cookie_secret,
                                 api_key.key,    api_key.key.substr(19),
                                 "xsecret-31337"};
  for (const auto& line : all) {
    INFO(line);
    for (const auto& secret : secrets) CHECK(line.find(secret) == std::string::npos);
  }
  // The header-logging access log shows that the headers were there, redacted.
  bool seen_redacted_authorization = false, seen_redacted_set_cookie = false, seen_agent = false;
  for (const auto& line : lines) {
    seen_redacted_authorization |= line.find(R"("authorization":"[redacted]")") != std::string::npos;
    seen_redacted_set_cookie |= line.find(R"("set-cookie":"[redacted]")") != std::string::npos;
    seen_agent |= line.find(R"("user-agent":"keel-test")") != std::string::npos;
    if (line.find("request_headers") != std::string::npos) {
      CHECK(line.find(R"("cookie":"[redacted]")") != std::string::npos);
      CHECK(line.find(R"("x-secret":"[redacted]")") != std::string::npos);
    }
  }
  CHECK(seen_redacted_authorization);
  CHECK(seen_redacted_set_cookie);
  CHECK(seen_agent);
}
