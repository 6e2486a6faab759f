// Cookie sessions and CSRF over real sockets: signed, encrypted and server-side (SQLite file) sessions round
// trip; a tampered cookie is refused; key rotation; login rotates the id (the old one stops working);
// logout invalidates; cookie flags (Secure under TLS); idle and absolute timeouts; CSRF 403/200.
#include "keel/auth/db_store.hpp"

#include "keel/app.hpp"
#include "keel/auth/csrf.hpp"
#include "keel/auth/session.hpp"
#include "keel/server/server.hpp"
#include "keel/sql/database.hpp"
#include "keel/tls.hpp"
#include "support/http_exchange.hpp"
#include "support/local_server.hpp"
#include "support/self_signed.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

using keel_test::exchange;
using keel_test::http_answer;

namespace session_test {

struct user_session {
  std::int64_t id = 0;
  std::string name;
  std::int64_t visits = 0;
};

std::atomic<std::int64_t> fake_now{1'800'000'000};
std::int64_t fake_clock() { return fake_now.load(); }

template <class Layer>
auto make_app(Layer layer) {
  using session = keel::auth::session<user_session>;
  return keel::app{keel::router{
                       keel::post<"/login">([](session& s, keel::query_string q) {
                         s.login({42, std::string(q.data.substr(q.data.find('=') + 1)), 0});
                         return std::string(s.csrf_token());
                       }),
                       keel::get<"/me">([](const session& s) -> keel::result<std::string> {
                         if (!s) return keel::unauthorized("not signed in");
                         return s->name + " " + std::to_string(s->visits);
                       }),
                       keel::post<"/visit">([](session& s) {
                         ++s.modify().visits;
                         return "ok";
                       }),
                       keel::get<"/csrf">([](session& s) { return std::string(s.csrf_token()); }),
                       keel::get<"/quiet">([] { return "quiet"; }),
                       keel::group<"/protected">(keel::post<"/note">([] { return "noted"; }),
                                                 keel::get<"/note">([] { return "read"; }),
                                                 keel::del<"/note">([] { return "deleted"; }))
                           .use(keel::auth::csrf<user_session>{}),
                       keel::post<"/logout">([](session& s) {
                         s.logout();
                         return "bye";
                       }),
                   }}
      .use(std::move(layer));
}

// A server for the app built from `layer`, on a free port.
template <class Layer>
struct running {
  decltype(make_app(std::declval<Layer>())) app;
  keel::detail::server<decltype(make_app(std::declval<Layer>()))> server;
  std::uint16_t port;
  explicit running(Layer layer, keel::server_config cfg = keel_test::local_config(2))
      : app(make_app(std::move(layer))), server(app, cfg), port(server.start()) {}
  ~running() {
    server.stop();
    server.wait();
  }
  http_answer get(const std::string& path, const std::string& cookie = {}, std::vector<std::string> h = {}) {
    if (!cookie.empty()) h.push_back("Cookie: keel_session=" + cookie);
    return exchange(port, "GET", path, h);
  }
  http_answer post(const std::string& path, const std::string& cookie = {}, std::vector<std::string> h = {},
                   std::string_view body = {}) {
    if (!cookie.empty()) h.push_back("Cookie: other=1; keel_session=" + cookie);
    return exchange(port, "POST", path, h, body);
  }
};

std::string flip(std::string s, std::size_t at) {
  s[at] = s[at] == 'A' ? 'B' : 'A';
  return s;
}

const std::string key_a = std::string(32, 'a');
const std::string key_b = std::string(32, 'b');

struct temp_dir {
  std::filesystem::path path;
  temp_dir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "keel-session-XXXXXX").string();
    REQUIRE(::mkdtemp(pattern.data()) != nullptr);
    path = pattern;
  }
  ~temp_dir() {
    std::error_code ignored;
    std::filesystem::remove_all(path, ignored);
  }
};

// What the cookie-backed kinds share: round trip, write-back, tampering, logout.
template <class Layer>
void cookie_round_trip(Layer layer) {
  running<Layer> srv(std::move(layer));
  auto anon = srv.get("/me");
  CHECK(anon.status == 401);
  CHECK(anon.all("Set-Cookie").empty());  // nothing to keep: no cookie
  CHECK(srv.get("/quiet").all("Set-Cookie").empty());

  auto login = srv.post("/login?name=ada");
  REQUIRE(login.status == 200);
  const std::string cookie = login.cookie("keel_session");
  REQUIRE(!cookie.empty());
  const std::string flags = login.set_cookie("keel_session");
  CHECK(flags.find("; Path=/") != std::string::npos);
  CHECK(flags.find("; HttpOnly") != std::string::npos);
  CHECK(flags.find("; SameSite=Lax") != std::string::npos);
  CHECK(flags.find("; Max-Age=7200") != std::string::npos);  // the idle timeout
  CHECK(flags.find("Secure") == std::string::npos);          // plain HTTP

  auto me = srv.get("/me", cookie);
  CHECK(me.status == 200);
  CHECK(me.body == "ada 0");
  CHECK(me.all("Set-Cookie").empty());  // unchanged, touched recently: not re-sent

  auto visit = srv.post("/visit", cookie);
  const std::string after_visit = visit.cookie("keel_session");
  REQUIRE(!after_visit.empty());
  CHECK(srv.get("/me", after_visit).body == "ada 1");

  // Tampered: any changed character is refused, and the bad cookie is expired.
  for (std::size_t at : {std::size_t{3}, cookie.size() / 2, cookie.size() - 2}) {
    auto bad = srv.get("/me", flip(cookie, at));
    CHECK(bad.status == 401);
    CHECK(bad.set_cookie("keel_session").find("Max-Age=0") != std::string::npos);
  }
  CHECK(srv.get("/me", cookie.substr(0, cookie.size() - 1)).status == 401);
  CHECK(srv.get("/me", "").status == 401);

  auto out = srv.post("/logout", after_visit);
  CHECK(out.set_cookie("keel_session").find("keel_session=; Path=/; Max-Age=0") == 0);
}

}  // namespace session_test

using namespace session_test;

TEST_CASE("signed cookie sessions: round trip, tampering refused, key rotation", "[auth][session][socket]") {
  cookie_round_trip(keel::auth::signed_sessions<user_session>({key_a}));

  // The payload is readable (signed, not encrypted), and a cookie of the old key still reads after rotation.
  std::string old_cookie;
  {
    running srv(keel::auth::signed_sessions<user_session>({key_a}));
    old_cookie = srv.post("/login?name=bob").cookie("keel_session");
  }
  auto payload = keel::auth::detail::base64url_decode(old_cookie.substr(0, old_cookie.find('.')));
  REQUIRE(payload);
  CHECK(payload->find("\"bob\"") != std::string::npos);
  {
    running srv(keel::auth::signed_sessions<user_session>({key_b, key_a}));
    CHECK(srv.get("/me", old_cookie).body == "bob 0");
    auto renewed = srv.post("/visit", old_cookie).cookie("keel_session");
    running only_b(keel::auth::signed_sessions<user_session>({key_b}));
    CHECK(only_b.get("/me", renewed).body == "bob 1");  // re-signed with the newest key
    CHECK(only_b.get("/me", old_cookie).status == 401);
  }
  // A cookie signed for another cookie name does not verify under this one.
  {
    keel::auth::session_options other;
    other.cookie.name = "other_session";
    running srv(keel::auth::signed_sessions<user_session>({key_a}, other));
    auto login = srv.post("/login?name=eve");
    const std::string moved = login.cookie("other_session");
    REQUIRE(!moved.empty());
    running plain(keel::auth::signed_sessions<user_session>({key_a}));
    CHECK(plain.get("/me", moved).status == 401);
  }
  CHECK_THROWS(keel::auth::signed_sessions<user_session>({"short"}));
}

TEST_CASE("encrypted cookie sessions: AES-256-GCM round trip, opaque, tampering refused, rotation",
          "[auth][session][socket]") {
  cookie_round_trip(keel::auth::encrypted_sessions<user_session>({key_a}));
  running srv(keel::auth::encrypted_sessions<user_session>({key_a}));
  const std::string c1 = srv.post("/login?name=carol").cookie("keel_session");
  const std::string c2 = srv.post("/login?name=carol").cookie("keel_session");
  CHECK(c1 != c2);  // a fresh nonce each time
  auto raw = keel::auth::detail::base64url_decode(c1);
  REQUIRE(raw);
  CHECK(raw->find("carol") == std::string::npos);
  CHECK(raw->size() > 12 + 16);
  running rotated(keel::auth::encrypted_sessions<user_session>({key_b, key_a}));
  CHECK(rotated.get("/me", c1).body == "carol 0");
  running other_key(keel::auth::encrypted_sessions<user_session>({key_b}));
  CHECK(other_key.get("/me", c1).status == 401);
  CHECK_THROWS(keel::auth::encrypted_sessions<user_session>({std::string(31, 'x')}));
}

TEST_CASE("server-side sessions in SQLite: id only in the cookie, rotation on login, logout invalidates",
          "[auth][session][socket][sql]") {
  temp_dir dir;
  keel::db db{"sqlite:" + (dir.path / "sessions.db").string()};
  keel::auth::migrate_auth_tables_sync(db);
  keel::auth::db_session_store store{db};
  auto layer = keel::auth::server_sessions<user_session>(store);
  running srv(layer);

  // An anonymous visitor asks for a CSRF token: a session without data starts (id A).
  auto first = srv.get("/csrf");
  const std::string id_a = first.cookie("keel_session");
  REQUIRE(id_a.size() == 43);
  const std::string csrf_a = first.body;

  auto login = srv.post("/login?name=ada", id_a, {"X-CSRF-Token: " + csrf_a});
  REQUIRE(login.status == 200);
  const std::string id_b = login.cookie("keel_session");
  REQUIRE(id_b.size() == 43);
  CHECK(id_b != id_a);          // rotated: session fixation
  CHECK(login.body != csrf_a);  // a new CSRF token too
  CHECK(srv.get("/me", id_b).body == "ada 0");
  CHECK(srv.get("/me", id_a).status == 401);  // the pre-login id is gone

  // The cookie carries no data, the table no usable id.
  CHECK(id_b.find("ada") == std::string::npos);
  CHECK(keel_test::eventually([&] { return layer.pending_writes() == 0; }));
  const auto stored_ids = db.query_sync<std::string>("SELECT id FROM keel_sessions");
  REQUIRE(stored_ids.size() == 1);
  CHECK(stored_ids[0] == keel::auth::detail::sha256_base64url(id_b));
  auto data = db.query_one_sync<std::string>("SELECT data FROM keel_sessions");
  REQUIRE(data);
  CHECK(data->find("\"ada\"") != std::string::npos);

  // A change is written back; the id stays.
  auto visit = srv.post("/visit", id_b);
  CHECK(visit.status == 200);
  CHECK(srv.get("/me", id_b).body == "ada 1");

  // Writes to one session reach the store in order: the last one wins, whatever the workers do.
  for (int i = 0; i < 30; ++i) REQUIRE(srv.post("/visit", id_b).status == 200);
  CHECK(srv.get("/me", id_b).body == "ada 31");
  CHECK(keel_test::eventually([&] { return layer.pending_writes() == 0; }));
  auto last = db.query_one_sync<std::string>("SELECT data FROM keel_sessions");
  REQUIRE(last);
  CHECK(last->find("\"visits\":31") != std::string::npos);

  // Logout: the record is deleted and the old cookie no longer works.
  auto out = srv.post("/logout", id_b);
  CHECK(out.set_cookie("keel_session").find("Max-Age=0") != std::string::npos);
  CHECK(srv.get("/me", id_b).status == 401);
  CHECK(keel_test::eventually([&] { return layer.pending_writes() == 0; }));
  CHECK(db.query_one_sync<std::int64_t>("SELECT count(*) FROM keel_sessions") == 0);
  CHECK(srv.get("/me", id_b).status == 401);  // also from the store, not only the pending table

  // Unknown and malformed ids: anonymous, cookie expired.
  auto unknown = srv.get("/me", keel::auth::detail::random_token(32));
  CHECK(unknown.status == 401);
  CHECK(unknown.set_cookie("keel_session").find("Max-Age=0") != std::string::npos);
  CHECK(srv.get("/me", "short").status == 401);
}

TEST_CASE("server-side sessions survive a restart of the server (same SQLite file)",
          "[auth][session][socket][sql]") {
  temp_dir dir;
  const std::string url = "sqlite:" + (dir.path / "sessions.db").string();
  std::string id;
  {
    keel::db db{url};
    keel::auth::migrate_auth_tables_sync(db);
    keel::auth::db_session_store store{db};
    auto layer = keel::auth::server_sessions<user_session>(store);
    running srv(layer);
    id = srv.post("/login?name=dan").cookie("keel_session");
    CHECK(keel_test::eventually([&] { return layer.pending_writes() == 0; }));
  }
  keel::db db{url};
  keel::auth::db_session_store store{db};
  running srv(keel::auth::server_sessions<user_session>(store));
  CHECK(srv.get("/me", id).body == "dan 0");
}

TEST_CASE("idle and absolute timeouts", "[auth][session][socket]") {
  keel::auth::session_options opts;
  opts.idle_timeout = std::chrono::seconds(600);
  opts.absolute_timeout = std::chrono::seconds(3600);
  opts.touch_interval = std::chrono::seconds(60);
  opts.clock = &fake_clock;
  keel::auth::memory_session_store store;
  running server_side(keel::auth::server_sessions<user_session>(store, opts));
  running signed_side(keel::auth::signed_sessions<user_session>({key_a}, opts));

  for (auto* srv : {static_cast<void*>(&server_side), static_cast<void*>(&signed_side)}) {
    auto call_get = [&](const std::string& path, const std::string& cookie) {
      return srv == &server_side ? server_side.get(path, cookie) : signed_side.get(path, cookie);
    };
    auto call_post = [&](const std::string& path, const std::string& cookie) {
      return srv == &server_side ? server_side.post(path, cookie) : signed_side.post(path, cookie);
    };
    fake_now = 1'800'000'000;
    std::string cookie = call_post("/login?name=ida", "").cookie("keel_session");
    REQUIRE(!cookie.empty());
    fake_now += 30;
    auto early = call_get("/me", cookie);
    CHECK(early.status == 200);
    CHECK(early.all("Set-Cookie").empty());  // within the touch interval: nothing written
    fake_now += 540;                         // 570 s idle: still valid, and touched now
    auto touched = call_get("/me", cookie);
    CHECK(touched.status == 200);
    const std::string renewed = touched.cookie("keel_session");
    REQUIRE(!renewed.empty());
    CHECK(touched.set_cookie("keel_session").find("Max-Age=600") != std::string::npos);
    fake_now += 500;  // 500 s after the touch: alive thanks to it
    CHECK(call_get("/me", renewed).status == 200);
    fake_now += 700;  // idle for 700 s: expired
    CHECK(call_get("/me", renewed).status == 401);

    // Absolute: active every 500 s, still gone an hour after login.
    fake_now = 1'900'000'000;
    cookie = call_post("/login?name=ida", "").cookie("keel_session");
    for (int i = 0; i < 7; ++i) {
      fake_now += 500;
      auto r = call_get("/me", cookie);
      if (fake_now - 1'900'000'000 < 3600) {
        CHECK(r.status == 200);
        const std::string next = r.cookie("keel_session");
        if (!next.empty()) cookie = next;
      } else {
        CHECK(r.status == 401);
      }
    }
  }
}

TEST_CASE("CSRF: unsafe methods need the session's token in X-CSRF-Token or the form",
          "[auth][csrf][socket]") {
  keel::auth::memory_session_store store;
  running srv(keel::auth::server_sessions<user_session>(store));
  auto login = srv.post("/login?name=ada");
  const std::string id = login.cookie("keel_session");
  const std::string token = login.body;
  REQUIRE(token.size() == 43);

  auto no_token = srv.post("/protected/note", id);
  CHECK(no_token.status == 403);
  CHECK(no_token.header("Content-Type") == "application/json");
  CHECK(no_token.body.find(R"("code":"csrf_failed")") != std::string::npos);
  CHECK(no_token.body.find(R"("status":403)") != std::string::npos);
  CHECK(srv.post("/protected/note", id, {"X-CSRF-Token: " + flip(token, 5)}).status == 403);
  CHECK(srv.post("/protected/note", id, {"X-CSRF-Token: " + token.substr(1)}).status == 403);
  CHECK(srv.post("/protected/note", "", {"X-CSRF-Token: " + token}).status == 403);  // no session
  auto ok = srv.post("/protected/note", id, {"X-CSRF-Token: " + token});
  CHECK(ok.status == 200);
  CHECK(ok.body == "noted");
  auto form = srv.post("/protected/note", id, {"Content-Type: application/x-www-form-urlencoded"},
                       "text=hi&csrf_token=" + token);
  CHECK(form.status == 200);
  CHECK(srv.post("/protected/note", id, {"Content-Type: application/x-www-form-urlencoded"},
                 "csrf_token=" + flip(token, 0))
            .status == 403);
  CHECK(exchange(srv.port, "DELETE", "/protected/note", {"Cookie: keel_session=" + id}).status == 403);
  CHECK(exchange(srv.port, "DELETE", "/protected/note",
                 {"Cookie: keel_session=" + id, "X-CSRF-Token: " + token})
            .status == 200);
  // Safe methods pass without a token.
  CHECK(srv.get("/protected/note", id).status == 200);
  CHECK(srv.get("/protected/note").status == 200);
}

TEST_CASE("the session cookie is Secure under TLS (curl over HTTPS)", "[auth][session][socket][tls]") {
  const keel_test::self_signed tls;
  const std::string& cert = tls.cert;
  keel::server_config cfg = tls.serve_tls(keel_test::local_config(1));
  keel::auth::session_options strict;
  strict.cookie.same_site_policy = keel::auth::same_site::strict;
  running srv(keel::auth::signed_sessions<user_session>({key_a}, strict), cfg);
  const std::string base = "https://127.0.0.1:" + std::to_string(srv.port);
  const std::string head = keel_test::run_command("curl -sS -i --max-time 10 --cacert " + cert +
                                                  " -X POST '" + base + "/login?name=tls' 2>&1");
  CHECK(head.find("HTTP/1.1 200") == 0);
  const auto at = head.find("Set-Cookie: keel_session=");
  REQUIRE(at != std::string::npos);
  const std::string line = head.substr(at, head.find("\r\n", at) - at);
  CHECK(line.find("; Secure") != std::string::npos);
  CHECK(line.find("; HttpOnly") != std::string::npos);
  CHECK(line.find("; SameSite=Strict") != std::string::npos);

  // The same layer over plain HTTP: no Secure; with secure_cookie::always, Secure everywhere.
  keel::auth::session_options always;
  always.cookie.secure = keel::auth::secure_cookie::always;
  running plain(keel::auth::signed_sessions<user_session>({key_a}, always));
  CHECK(plain.post("/login?name=x").set_cookie("keel_session").find("; Secure") != std::string::npos);
}
