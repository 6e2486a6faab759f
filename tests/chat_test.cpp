// examples/chat over real sockets: the built program, started on a free port. Two WebSocket members and an
// SSE subscriber of one room see the same messages in the same order (sent over the socket or POSTed);
// malformed messages close with 1007/1008; Last-Event-ID resumes; the page and /echo are served.
#include "support/local_server.hpp"
#include "support/raw_client.hpp"
#include "support/ws_client.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <climits>
#include <csignal>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include <sys/wait.h>
#include <unistd.h>

using namespace std::chrono_literals;
using keel_test::raw_client;
using keel_test::ws_client;

namespace {

// build/examples/chat on a free port, its stderr in a file (where "keel listening on ...:PORT" appears).
struct chat_server {
  pid_t pid = -1;
  std::string log;
  std::uint16_t port = 0;

  chat_server() {
    char self[PATH_MAX] = {};
    const ssize_t n = ::readlink("/proc/self/exe", self, sizeof self - 1);
    REQUIRE(n > 0);
    const std::string binary =
        (std::filesystem::path(std::string(self, static_cast<std::size_t>(n))).parent_path().parent_path() /
         "examples" / "chat")
            .string();
    REQUIRE(std::filesystem::exists(binary));
    char tmpl[] = "/tmp/keel-chat-XXXXXX";
    log = std::string(::mkdtemp(tmpl)) + "/err";
    pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      std::FILE* f = std::freopen(log.c_str(), "w", stderr);
      (void)f;
      ::execl(binary.c_str(), binary.c_str(), "--host", "127.0.0.1", "--port", "0", "--threads", "2",
              "--shutdown-ms", "500", static_cast<char*>(nullptr));
      ::_exit(127);
    }
    for (int i = 0; i < 500 && port == 0; ++i) {
      std::this_thread::sleep_for(10ms);
      const std::string e = keel_test::run_command("cat " + log);
      const auto at = e.find("127.0.0.1:");
      if (at != std::string::npos && e.find(' ', at) != std::string::npos)
        port = static_cast<std::uint16_t>(std::stoi(e.substr(at + 10)));
    }
    REQUIRE(port != 0);
  }
  ~chat_server() {
    ::kill(pid, SIGTERM);
    ::waitpid(pid, nullptr, 0);
  }
};

// A member: the upgrade answered 101, the next frames read as text.
struct member {
  ws_client ws;
  member(std::uint16_t port, const std::string& room, const std::string& user, std::string_view extra = {})
      : ws(port) {
    head = ws.handshake("/ws?room=" + room + "&user=" + user, extra);
  }
  std::string head;
  std::string next_text() {
    auto f = ws.read();
    return f && f->opcode == 1 ? f->payload : std::string("<no text frame>");
  }
};

// The value of "key" in a flat JSON object (numbers and simple strings only: enough for the chat's lines).
std::string field(const std::string& json, const std::string& key) {
  const auto at = json.find("\"" + key + "\":");
  if (at == std::string::npos) return "<missing>";
  std::size_t from = at + key.size() + 3;
  if (json[from] == '"') return json.substr(from + 1, json.find('"', from + 1) - from - 1);
  return json.substr(from, json.find_first_of(",}", from) - from);
}

// Opens /events?room=R, with a Last-Event-ID when given; returns once the stream's opening comment came.
void open_events(raw_client& c, const std::string& room, const std::string& last_id = {}) {
  std::string req = "GET /events?room=" + room + " HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n";
  if (!last_id.empty()) req += "Last-Event-ID: " + last_id + "\r\n";
  REQUIRE(c.send(req + "\r\n"));
  REQUIRE(c.read_until(":\n\n"));
}

std::string post(std::uint16_t port, const std::string& room, const std::string& body) {
  return keel_test::run_command(
      "curl -s -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: application/json' "
      "--data-binary '" +
      body + "' http://127.0.0.1:" + std::to_string(port) + "/rooms/" + room + "/messages");
}

}  // namespace

TEST_CASE("chat: WebSocket members and an SSE subscriber see the same messages in order", "[chat][socket]") {
  chat_server s;
  member ann(s.port, "lobby", "ann", "Sec-WebSocket-Protocol: chat.v1\r\n");
  REQUIRE(ann.head.starts_with("HTTP/1.1 101"));
  CHECK(ann.head.find("Sec-WebSocket-Protocol: chat.v1\r\n") != std::string::npos);
  member bob(s.port, "lobby", "bob");  // no subprotocol: fine too
  REQUIRE(bob.head.starts_with("HTTP/1.1 101"));
  member other(s.port, "elsewhere", "eve");
  REQUIRE(other.head.starts_with("HTTP/1.1 101"));
  raw_client sse("127.0.0.1", s.port);
  open_events(sse, "lobby");
  std::this_thread::sleep_for(100ms);  // the members' subscriptions are made right after their 101

  REQUIRE(ann.ws.text(R"({"text":"hello \"bob\""})"));
  const std::string to_bob = bob.next_text();
  CHECK(to_bob == ann.next_text());  // the sender gets its own line back, byte for byte the same
  CHECK(field(to_bob, "room") == "lobby");
  CHECK(field(to_bob, "user") == "ann");
  CHECK(to_bob.find(R"("text":"hello \"bob\"")") != std::string::npos);
  CHECK(field(to_bob, "seq") == "1");
  CHECK(std::stoll(field(to_bob, "ts")) > 1'700'000'000'000LL);
  REQUIRE(sse.read_until("\n\n" /* after the opening comment */));
  REQUIRE(sse.read_until("id: 1\nevent: message\ndata: " + to_bob + "\n\n"));

  CHECK(post(s.port, "lobby", R"({"user":"carol","text":"posted"})") == "202");
  const std::string posted = bob.next_text();
  CHECK(field(posted, "user") == "carol");
  CHECK(field(posted, "seq") == "2");
  CHECK(ann.next_text() == posted);
  REQUIRE(sse.read_until("id: 2\nevent: message\ndata: " + posted + "\n\n"));

  REQUIRE(bob.ws.text(R"({"text":"é \u2603 ünïcode"})"));
  const std::string third = ann.next_text();
  CHECK(field(third, "seq") == "3");
  CHECK(bob.next_text() == third);
  REQUIRE(sse.read_until("id: 3\nevent: message\ndata: " + third + "\n\n"));

  // The other room heard none of it; its own first message is its seq 1.
  REQUIRE(other.ws.text(R"({"text":"anyone?"})"));
  const std::string own = other.next_text();
  CHECK(field(own, "room") == "elsewhere");
  CHECK(field(own, "seq") == "1");
}

TEST_CASE("chat: malformed messages close with 1007 or 1008", "[chat][socket]") {
  chat_server s;
  {
    member m(s.port, "r", "u");
    REQUIRE(m.ws.text("not json"));
    auto f = m.ws.read_until_close();
    REQUIRE(f);
    CHECK(f->close_code() == 1008);
  }
  {
    member m(s.port, "r", "u");
    REQUIRE(m.ws.text(R"({"txt":"wrong field"})"));
    auto f = m.ws.read_until_close();
    REQUIRE(f);
    CHECK(f->close_code() == 1008);
  }
  {
    member m(s.port, "r", "u");
    REQUIRE(m.ws.text(R"({"text":""})"));  // 0 characters
    auto f = m.ws.read_until_close();
    REQUIRE(f);
    CHECK(f->close_code() == 1008);
  }
  {
    member m(s.port, "r", "u");
    const std::string long_text = "{\"text\":\"" + std::string(2001, 'x') + "\"}";
    REQUIRE(m.ws.text(long_text));
    auto f = m.ws.read_until_close();
    REQUIRE(f);
    CHECK(f->close_code() == 1008);
  }
  {
    member m(s.port, "r", "u");  // 2,000 characters (two bytes each) are fine
    std::string ok = "{\"text\":\"";
    for (int i = 0; i < 2000; ++i) ok += "\xc3\xa9";
    ok += "\"}";
    REQUIRE(m.ws.text(ok));
    CHECK(field(m.next_text(), "seq") == "1");
  }
  {
    member m(s.port, "r", "u");
    REQUIRE(m.ws.text("{\"text\":\"\xff\xfe\"}"));  // not UTF-8
    auto f = m.ws.read_until_close();
    REQUIRE(f);
    CHECK(f->close_code() == 1007);
  }
  CHECK(post(s.port, "r", R"({"user":"u","text":""})") == "422");
  CHECK(post(s.port, "r", R"({"user":"u"})") == "422");
  CHECK(post(s.port, "bad%20room", R"({"user":"u","text":"x"})") == "400");
}

TEST_CASE("chat: /events resumes after Last-Event-ID", "[chat][socket]") {
  chat_server s;
  for (int i = 1; i <= 4; ++i)
    REQUIRE(post(s.port, "replay", R"({"user":"u","text":"m)" + std::to_string(i) + "\"}") == "202");
  raw_client c("127.0.0.1", s.port);
  open_events(c, "replay", "2");
  REQUIRE(c.read_until("\"seq\":4}\n\n"));
  const std::string got = c.take();
  CHECK(got.find("\"text\":\"m2\"") == std::string::npos);
  CHECK(got.find("id: 3\nevent: message\ndata: {") != std::string::npos);
  CHECK(got.find("id: 4\nevent: message\ndata: {") != std::string::npos);
}

TEST_CASE("chat: the page and /echo are served", "[chat][socket]") {
  chat_server s;
  raw_client c("127.0.0.1", s.port);
  REQUIRE(c.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
  const std::string page = c.read_responses(1);
  CHECK(page.starts_with("HTTP/1.1 200 OK\r\n"));
  CHECK(page.find("Content-Type: text/html; charset=utf-8\r\n") != std::string::npos);
  CHECK(page.find("new WebSocket(") != std::string::npos);
  CHECK(page.find("new EventSource(") != std::string::npos);
  CHECK(page.find("<script src") == std::string::npos);  // nothing from elsewhere

  ws_client echo(s.port);
  REQUIRE(echo.handshake("/echo").starts_with("HTTP/1.1 101"));
  REQUIRE(echo.text("ping?"));
  auto f = echo.read();
  REQUIRE(f);
  CHECK(f->payload == "ping?");
}
