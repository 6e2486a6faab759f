// examples/auth as a user meets it: the built binary started on a free port of 127.0.0.1 with a temp SQLite
// file, every route over real sockets. Tokens for the refusal cases (expired, other key, other audience,
// alg none, oversized) are made here with keel::auth::sign and by hand.
#include "keel/auth/detail/base64url.hpp"
#include "keel/auth/jwt.hpp"
#include "keel/json.hpp"
#include "keel/sql/database.hpp"
#include "support/http_exchange.hpp"

#include <catch2/catch.hpp>

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <climits>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <optional>
#include <string>
#include <thread>
#include <vector>

using namespace std::chrono_literals;
using keel_test::exchange;
using keel_test::http_answer;

namespace auth_example_test {

const std::string secret = "auth-example-test-secret-0123456789abcdef";

struct claims {
  std::string sub;
  std::string username;
  std::vector<std::string> roles;
  std::int64_t iat = 0;
  std::int64_t exp = 0;
  std::string iss;
  std::string aud;
};
struct token_answer {
  std::string access_token;
  std::string token_type;
  std::int64_t expires_in = 0;
  std::string refresh_token;
};
struct user_answer {
  std::string id;
  std::string username;
};
struct me_answer {
  std::string id;
  std::string username;
  std::vector<std::string> roles;
};
struct key_answer {
  std::string key;
};
struct csrf_answer {
  std::string csrf_token;
};

template <class T>
T read_json(const http_answer& a) {
  auto r = keel::json_io::read<T>(a.body);
  INFO(a.body);
  REQUIRE(r);
  return std::move(*r);
}

std::string example_path() {
  char self[PATH_MAX] = {};
  const ssize_t n = ::readlink("/proc/self/exe", self, sizeof self - 1);
  REQUIRE(n > 0);
  return (std::filesystem::path(std::string(self, static_cast<std::size_t>(n))).parent_path().parent_path() /
          "examples" / "auth")
      .string();
}

// The example in a temp directory (its SQLite file there), killed at the end.
struct example {
  std::filesystem::path dir;
  pid_t pid = -1;
  std::uint16_t port = 0;

  explicit example(std::vector<std::string> extra = {"--admin", "ada"}) {
    char tmpl[] = "/tmp/keel-auth-example-XXXXXX";
    REQUIRE(::mkdtemp(tmpl) != nullptr);
    dir = tmpl;
    std::vector<std::string> args{
        example_path(), "--host",       "127.0.0.1", "--port",        "0", "--threads", "2", "--db",
        db_url(),       "--jwt-secret", secret,      "--behind-proxy"};
    args.insert(args.end(), extra.begin(), extra.end());
    const std::string err_file = (dir / "err").string();
    pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      const int err = ::open(err_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      ::dup2(err, 2);
      ::dup2(err, 1);
      std::vector<char*> argv;
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      ::execv(argv[0], argv.data());
      ::_exit(127);
    }
    for (int i = 0; i < 1000 && port == 0; ++i) {
      const std::string e = log();
      const auto at = e.find("127.0.0.1:");
      if (at != std::string::npos && e.find(' ', at) != std::string::npos)
        port = static_cast<std::uint16_t>(std::stoi(e.substr(at + 10)));
      else
        std::this_thread::sleep_for(10ms);
    }
    INFO(log());
    REQUIRE(port != 0);
  }
  ~example() {
    if (pid > 0) {
      ::kill(pid, SIGTERM);
      int status = 0;
      for (int i = 0; i < 300 && ::waitpid(pid, &status, WNOHANG) != pid; ++i)
        std::this_thread::sleep_for(10ms);
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
    }
    std::error_code ignored;
    std::filesystem::remove_all(dir, ignored);
  }
  std::string db_url() const { return "sqlite:" + (dir / "auth.db").string(); }
  std::string log() const {
    std::string text;
    if (FILE* f = std::fopen((dir / "err").c_str(), "r")) {
      char buf[1024];
      std::size_t n;
      while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) text.append(buf, n);
      std::fclose(f);
    }
    return text;
  }

  http_answer post_json(const std::string& path, const std::string& body) {
    return exchange(port, "POST", path, {"Content-Type: application/json"}, body);
  }
  http_answer post_form(const std::string& path, const std::string& body,
                        std::vector<std::string> headers = {}) {
    static const std::string form_type = "Content-Type: application/x-www-form-urlencoded";
    headers.push_back(form_type);
    return exchange(port, "POST", path, headers, body);
  }
  http_answer get(const std::string& path, std::vector<std::string> headers = {}) {
    return exchange(port, "GET", path, headers);
  }
  http_answer sign_up(const std::string& name, const std::string& password) {
    return post_json("/users", R"({"username":")" + name + R"(","password":")" + password + R"("})");
  }
  http_answer login(const std::string& name, const std::string& password,
                    const std::string& ip = "198.51.100.1") {
    return post_form("/token", "grant_type=password&username=" + name + "&password=" + password,
                     {"X-Forwarded-For: " + ip});
  }
  token_answer tokens(const std::string& name, const std::string& password) {
    auto a = login(name, password);
    INFO(a.body);
    REQUIRE(a.status == 200);
    return read_json<token_answer>(a);
  }
  http_answer me(const std::string& token) { return get("/me", {"Authorization: Bearer " + token}); }
};

// The claims a valid token would carry, with `now` and `exp` as given.
claims sample_claims(std::int64_t iat, std::int64_t exp) {
  return {"1", "ada", {"admin"}, iat, exp, "keel-example", "keel-example"};
}
keel::auth::jwt_key the_key() {
  return keel::auth::jwt_key::hmac(keel::auth::jwt_alg::HS256, secret, "example");
}

void check_bearer_401(const http_answer& a, const std::string& reason) {
  INFO(a.body);
  CHECK(a.status == 401);
  CHECK(a.header("WWW-Authenticate").starts_with("Bearer"));
  if (!reason.empty()) {
    CHECK(a.header("WWW-Authenticate").find("invalid_token") != std::string::npos);
    CHECK(a.body.find(reason) != std::string::npos);
  }
  CHECK(a.header("Content-Type") == "application/json");
}

}  // namespace auth_example_test

using namespace auth_example_test;

TEST_CASE("POST /users: 201 {id, username}, 409 when taken, 422 for a short password or non-UTF-8 name",
          "[auth][example][socket]") {
  example app;
  auto created = app.sign_up("ada", "correct horse");
  REQUIRE(created.status == 201);
  const auto u = read_json<user_answer>(created);
  CHECK(u.username == "ada");
  CHECK(!u.id.empty());
  CHECK(created.body.find("password") == std::string::npos);

  auto taken = app.sign_up("ada", "another password");
  CHECK(taken.status == 409);
  CHECK(taken.body.find("\"code\":\"conflict\"") != std::string::npos);

  auto short_pw = app.sign_up("bob", "1234567");
  CHECK(short_pw.status == 422);
  CHECK(short_pw.body.find("\"path\":\"password\"") != std::string::npos);

  auto bad_bytes = app.sign_up("b\xff\xfe", "long enough");
  CHECK(bad_bytes.status == 422);
  CHECK(bad_bytes.body.find("UTF-8") != std::string::npos);

  auto not_json = app.post_json("/users", R"({"username":"carol","password":)");
  CHECK(not_json.status == 400);
  CHECK(not_json.body.find("invalid_json") != std::string::npos);

  // Nothing of the refused requests was stored: bob cannot sign in, only ada is listed.
  CHECK(app.login("bob", "1234567").status == 401);
  const auto t = app.tokens("ada", "correct%20horse");
  auto all = app.get("/admin/users", {"Authorization: Bearer " + t.access_token});
  REQUIRE(all.status == 200);
  CHECK(all.body == R"([{"id":")" + u.id + R"(","username":"ada","roles":["admin"]}])");
}

TEST_CASE("POST /token: password grant, the token's claims, 401 for wrong credentials, refresh rotation",
          "[auth][example][socket]") {
  example app;
  REQUIRE(app.sign_up("ada", "correct horse").status == 201);
  REQUIRE(app.sign_up("bob", "battery staple").status == 201);

  auto ok = app.login("bob", "battery+staple");
  REQUIRE(ok.status == 200);
  CHECK(ok.header("Cache-Control") == "no-store");
  const auto t = read_json<token_answer>(ok);
  CHECK(t.token_type == "bearer");
  CHECK(t.expires_in == 900);
  CHECK(!t.refresh_token.empty());

  auto verified = keel::auth::verify<claims>(t.access_token, the_key(),
                                             {.issuer = "keel-example", .audience = "keel-example"});
  REQUIRE(verified);
  CHECK(verified->username == "bob");
  CHECK(verified->roles.empty());
  CHECK(verified->exp - verified->iat == 900);
  CHECK(verified->iss == "keel-example");
  CHECK(verified->aud == "keel-example");
  CHECK(std::abs(verified->iat - keel::auth::unix_now()) < 60);

  auto me = app.me(t.access_token);
  REQUIRE(me.status == 200);
  const auto m = read_json<me_answer>(me);
  CHECK(m.id == verified->sub);
  CHECK(m.username == "bob");
  CHECK(m.roles.empty());

  for (const auto& [name, pw] :
       std::vector<std::pair<std::string, std::string>>{{"bob", "wrong"}, {"nobody", "x"}}) {
    auto bad = app.login(name, pw);
    INFO(name);
    CHECK(bad.status == 401);
    CHECK(bad.header("WWW-Authenticate").starts_with("Bearer"));
    CHECK(bad.body.find("\"error\":\"invalid_grant\"") != std::string::npos);
  }

  // Refresh: a new pair; the new refresh token works once; the rotated one is refused and ends the family.
  auto r1 = app.post_form("/token", "grant_type=refresh_token&refresh_token=" + t.refresh_token);
  REQUIRE(r1.status == 200);
  const auto t1 = read_json<token_answer>(r1);
  CHECK(t1.refresh_token != t.refresh_token);
  CHECK(app.me(t1.access_token).status == 200);
  auto reused = app.post_form("/token", "grant_type=refresh_token&refresh_token=" + t.refresh_token);
  CHECK(reused.status == 400);
  CHECK(reused.body.find("invalid_grant") != std::string::npos);
  auto after_reuse = app.post_form("/token", "grant_type=refresh_token&refresh_token=" + t1.refresh_token);
  CHECK(after_reuse.status == 400);  // the family was revoked

  // Malformed forms change nothing and say why.
  auto bad_escape = app.post_form("/token", "grant_type=password&username=bob&password=%zz");
  CHECK(bad_escape.status == 400);
  CHECK(bad_escape.body.find("invalid_request") != std::string::npos);
  auto repeated = app.post_form("/token", "grant_type=password&username=bob&username=ada&password=x");
  CHECK(repeated.status == 400);
  auto as_json = app.post_json("/token", R"({"grant_type":"password","username":"bob","password":"x"})");
  CHECK(as_json.status == 400);
  auto not_utf8 = app.post_form("/token", "grant_type=password&username=b%FFb&password=battery+staple");
  CHECK(not_utf8.status == 422);
  CHECK(not_utf8.body.find("username") != std::string::npos);
  auto huge = app.post_form("/token", "grant_type=refresh_token&refresh_token=" + std::string(20000, 'a'));
  CHECK(huge.status == 413);
  CHECK(app.login("bob", "battery+staple").status == 200);
}

TEST_CASE(
    "GET /me: 401 with WWW-Authenticate: Bearer for missing, expired, badly signed, other-audience, "
    "alg:none and oversized tokens",
    "[auth][example][socket]") {
  example app;
  REQUIRE(app.sign_up("ada", "correct horse").status == 201);
  const auto now = keel::auth::unix_now();

  // A token this test signs with the server's secret is accepted (the control case).
  CHECK(app.me(keel::auth::sign(sample_claims(now, now + 600), the_key())).status == 200);

  auto missing = app.get("/me");
  check_bearer_401(missing, "");
  check_bearer_401(app.get("/me", {"Authorization: Basic YWRhOng="}), "");
  check_bearer_401(app.me(keel::auth::sign(sample_claims(now - 3600, now - 1800), the_key())), "expired");
  const auto other_key =
      keel::auth::jwt_key::hmac(keel::auth::jwt_alg::HS256, std::string(40, 'z'), "example");
  check_bearer_401(app.me(keel::auth::sign(sample_claims(now, now + 600), other_key)), "bad_signature");
  auto other_aud = sample_claims(now, now + 600);
  other_aud.aud = "another-api";
  check_bearer_401(app.me(keel::auth::sign(other_aud, the_key())), "bad_audience");
  auto other_iss = sample_claims(now, now + 600);
  other_iss.iss = "someone-else";
  check_bearer_401(app.me(keel::auth::sign(other_iss, the_key())), "bad_issuer");

  using keel::auth::detail::base64url_encode;
  const std::string none = base64url_encode(R"({"alg":"none","typ":"JWT"})") + "." +
                           base64url_encode(R"({"sub":"1","username":"ada","roles":["admin"],"iat":)" +
                                            std::to_string(now) + ",\"exp\":" + std::to_string(now + 600) +
                                            R"(,"iss":"keel-example","aud":"keel-example"})") +
                           ".";
  check_bearer_401(app.me(none), "alg_none");
  check_bearer_401(app.me(std::string(9000, 'a')), "token_too_large");
  check_bearer_401(app.me("not-a-jwt"), "wrong_segment_count");
}

TEST_CASE("GET /admin/users: role admin from --admin at sign-up, 403 for others, 401 without a token",
          "[auth][example][socket]") {
  example app({"--admin", "root"});
  REQUIRE(app.sign_up("root", "root password").status == 201);
  REQUIRE(app.sign_up("eve", "eve password").status == 201);
  const auto root = app.tokens("root", "root+password");
  const auto eve = app.tokens("eve", "eve+password");

  auto root_me = read_json<me_answer>(app.me(root.access_token));
  CHECK(root_me.roles == std::vector<std::string>{"admin"});
  auto eve_me = read_json<me_answer>(app.me(eve.access_token));
  CHECK(eve_me.roles.empty());

  auto listed = app.get("/admin/users", {"Authorization: Bearer " + root.access_token});
  REQUIRE(listed.status == 200);
  CHECK(listed.body.find("\"username\":\"root\"") != std::string::npos);
  CHECK(listed.body.find("\"username\":\"eve\"") != std::string::npos);
  CHECK(listed.body.find("argon2") == std::string::npos);

  auto refused = app.get("/admin/users", {"Authorization: Bearer " + eve.access_token});
  CHECK(refused.status == 403);
  CHECK(refused.body.find("insufficient_scope") != std::string::npos);
  check_bearer_401(app.get("/admin/users"), "");

  // Without --admin nobody is an admin, whatever the name.
  example plain(std::vector<std::string>{});
  REQUIRE(plain.sign_up("root", "root password").status == 201);
  const auto t = plain.tokens("root", "root+password");
  CHECK(plain.get("/admin/users", {"Authorization: Bearer " + t.access_token}).status == 403);
}

TEST_CASE("API keys: POST /api-keys shows a key once (only its hash is stored), GET /reports needs it",
          "[auth][example][socket][sql]") {
  example app;
  REQUIRE(app.sign_up("ada", "correct horse").status == 201);
  const auto t = app.tokens("ada", "correct+horse");

  check_bearer_401(exchange(app.port, "POST", "/api-keys"), "");
  auto made = exchange(app.port, "POST", "/api-keys", {"Authorization: Bearer " + t.access_token});
  REQUIRE(made.status == 201);
  const auto k = read_json<key_answer>(made);
  CHECK(k.key.starts_with("kk_"));
  CHECK(made.body == R"({"key":")" + k.key + "\"}");
  auto second = exchange(app.port, "POST", "/api-keys", {"Authorization: Bearer " + t.access_token});
  REQUIRE(second.status == 201);
  CHECK(read_json<key_answer>(second).key != k.key);

  auto reports = app.get("/reports", {"X-API-Key: " + k.key});
  REQUIRE(reports.status == 200);
  CHECK(reports.body.find("\"owner\":\"1\"") != std::string::npos);
  auto without = app.get("/reports");
  CHECK(without.status == 401);
  CHECK(without.header("WWW-Authenticate").starts_with("ApiKey"));
  CHECK(app.get("/reports", {"X-API-Key: kk_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"})
            .status == 401);
  CHECK(app.get("/reports", {"X-API-Key: " + k.key + "x"}).status == 401);

  // Shown once: the database holds no copy of the key text.
  keel::db db{app.db_url()};
  const auto rows = db.query_sync<std::string>("SELECT lookup_id || '|' || hash FROM keel_api_key");
  REQUIRE(rows.size() == 2);
  for (const auto& row : rows) CHECK(row.find(k.key.substr(3)) == std::string::npos);
}

TEST_CASE("sessions: login sets a cookie and answers the CSRF token, /session/me, logout needs X-CSRF-Token",
          "[auth][example][socket][sql]") {
  example app;
  REQUIRE(app.sign_up("ada", "correct horse").status == 201);

  CHECK(app.get("/session/me").status == 401);
  auto wrong = app.post_form("/session/login", "username=ada&password=nope");
  CHECK(wrong.status == 401);
  CHECK(wrong.set_cookie("keel_session").empty());
  auto malformed = app.post_form("/session/login", "username=ada");
  CHECK(malformed.status == 422);
  auto bad_bytes = app.post_form("/session/login", "username=%C3%28&password=correct+horse");
  CHECK(bad_bytes.status == 422);

  auto login = app.post_form("/session/login", "username=ada&password=correct+horse");
  REQUIRE(login.status == 200);
  const std::string cookie = login.cookie("keel_session");
  REQUIRE(!cookie.empty());
  CHECK(login.header("Set-Cookie").find("HttpOnly") != std::string::npos);
  const auto csrf = read_json<csrf_answer>(login).csrf_token;
  REQUIRE(!csrf.empty());

  const std::string jar = "Cookie: keel_session=" + cookie;
  auto me = app.get("/session/me", {jar});
  REQUIRE(me.status == 200);
  CHECK(read_json<me_answer>(me).username == "ada");
  CHECK(read_json<me_answer>(me).roles == std::vector<std::string>{"admin"});

  auto no_token = exchange(app.port, "POST", "/session/logout", {jar});
  CHECK(no_token.status == 403);
  CHECK(no_token.body.find("csrf_failed") != std::string::npos);
  CHECK(exchange(app.port, "POST", "/session/logout", {jar, "X-CSRF-Token: wrong"}).status == 403);
  CHECK(app.get("/session/me", {jar}).status == 200);  // still signed in

  auto out = exchange(app.port, "POST", "/session/logout", {jar, "X-CSRF-Token: " + csrf});
  CHECK(out.status == 200);
  CHECK(out.header("Set-Cookie").find("Max-Age=0") != std::string::npos);
  CHECK(keel_test::eventually([&] { return app.get("/session/me", {jar}).status == 401; }));
}

TEST_CASE(
    "more than 5 failed logins a minute for one username + client: 429 (the client from X-Forwarded-For)",
    "[auth][example][socket]") {
  example app;
  REQUIRE(app.sign_up("ada", "correct horse").status == 201);
  for (int i = 0; i < 5; ++i)
    CHECK(app.login("ada", "guess" + std::to_string(i), "203.0.113.7").status == 401);
  auto blocked = app.login("ada", "guess5", "203.0.113.7");
  CHECK(blocked.status == 429);
  CHECK(!blocked.header("Retry-After").empty());
  CHECK(blocked.body.find("rate_limited") != std::string::npos);
  CHECK(app.login("ada", "correct+horse", "203.0.113.7").status == 429);  // blocked before the password check
  CHECK(app.login("ada", "correct+horse", "203.0.113.8").status == 200);  // another client
  // The cookie login shares the throttle.
  CHECK(
      app.post_form("/session/login", "username=ada&password=correct+horse", {"X-Forwarded-For: 203.0.113.7"})
          .status == 429);
}

TEST_CASE("/docs and /openapi.json describe the routes and their security", "[auth][example][socket]") {
  example app;
  auto docs = app.get("/docs");
  CHECK(docs.status == 200);
  CHECK(docs.header("Content-Type").starts_with("text/html"));
  auto spec = app.get("/openapi.json");
  REQUIRE(spec.status == 200);
  for (const char* needle : {"\"/users\"", "\"/token\"", "\"/me\"", "\"/admin/users\"", "\"/api-keys\"",
                             "\"/reports\"", "\"/session/login\"", "bearerAuth", "apiKeyHeader"})
    CHECK(spec.body.find(needle) != std::string::npos);
}

TEST_CASE("the command line: a short or missing --jwt-secret stops it with status 2", "[auth][example]") {
  for (const std::string arg : {"--jwt-secret=short", ""}) {
    const pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      const int null = ::open("/dev/null", O_WRONLY);
      ::dup2(null, 2);
      ::dup2(null, 1);
      ::unsetenv("KEEL_JWT_SECRET");
      std::string path = example_path(), db = "--db=sqlite::memory:";
      std::vector<char*> argv{path.data(), db.data()};
      std::string a = arg;
      if (!a.empty()) argv.push_back(a.data());
      argv.push_back(nullptr);
      ::execv(argv[0], argv.data());
      ::_exit(127);
    }
    int status = 0;
    REQUIRE(::waitpid(pid, &status, 0) == pid);
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 2);
  }
}
