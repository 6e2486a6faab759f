// examples/chat as two processes sharing one redis-server (--redis URL): a message POSTed to process A
// reaches a WebSocket member and an SSE subscriber of process B, and goes on reaching them after Redis
// restarts.
#include "support/local_server.hpp"
#include "support/raw_client.hpp"
#include "support/redis_server.hpp"
#include "support/ws_client.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <climits>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <sys/wait.h>
#include <unistd.h>

using namespace std::chrono_literals;
using keel_test::raw_client;
using keel_test::ws_client;
using keel_test_support::redis_server;

namespace {

std::string chat_binary() {
  const std::filesystem::path self = std::filesystem::read_symlink("/proc/self/exe");
  return (self.parent_path().parent_path() / "examples" / "chat").string();
}

// One `chat --port 0 --redis URL` process; its port read from "listening on 127.0.0.1:PORT" in its stderr.
class chat_process {
 public:
  explicit chat_process(const std::string& redis_url) {
    const std::string binary = chat_binary();
    REQUIRE(std::filesystem::exists(binary));
    char dir[] = "/tmp/keel-chat-redis-XXXXXX";
    REQUIRE(::mkdtemp(dir) != nullptr);
    stderr_path_ = std::string(dir) + "/stderr";
    std::vector<std::string> args = {binary,    "--host",    "127.0.0.1", "--port",        "0",  "--redis",
                                     redis_url, "--threads", "2",         "--shutdown-ms", "500"};
    std::vector<char*> argv;
    for (std::string& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    pid_ = ::fork();
    REQUIRE(pid_ >= 0);
    if (pid_ == 0) {
      if (std::freopen(stderr_path_.c_str(), "w", stderr) == nullptr) ::_exit(126);
      ::execv(binary.c_str(), argv.data());
      ::_exit(127);
    }
    const auto give_up = std::chrono::steady_clock::now() + 10s;
    while (port_ == 0 && std::chrono::steady_clock::now() < give_up) {
      std::this_thread::sleep_for(10ms);
      std::ifstream in(stderr_path_);
      std::stringstream text;
      text << in.rdbuf();
      const std::string e = text.str();
      const std::size_t at = e.find("127.0.0.1:");
      if (at != std::string::npos && e.find(' ', at) != std::string::npos)
        port_ = static_cast<std::uint16_t>(std::stoi(e.substr(at + 10)));
    }
    REQUIRE(port_ != 0);
  }
  chat_process(const chat_process&) = delete;
  chat_process& operator=(const chat_process&) = delete;
  ~chat_process() {
    ::kill(pid_, SIGTERM);
    ::waitpid(pid_, nullptr, 0);
  }
  std::uint16_t port() const noexcept { return port_; }

 private:
  pid_t pid_ = -1;
  std::uint16_t port_ = 0;
  std::string stderr_path_;
};

std::string post(std::uint16_t port, const std::string& room, const std::string& user,
                 const std::string& text) {
  return keel_test::run_command(
      "curl -s -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: application/json' "
      "--data-binary '{\"user\":\"" +
      user + "\",\"text\":\"" + text + "\"}' http://127.0.0.1:" + std::to_string(port) + "/rooms/" + room +
      "/messages");
}

// PUBSUB NUMSUB through redis-cli: how many connections subscribe to `channel`.
int numsub(const redis_server& server, const std::string& channel) {
  const std::string out = keel_test::run_command("redis-cli -p " + std::to_string(server.port()) +
                                                 " PUBSUB NUMSUB " + channel + " 2>/dev/null");
  const std::size_t nl = out.find('\n');
  if (nl == std::string::npos) return -1;
  try {
    return std::stoi(out.substr(nl + 1));
  } catch (const std::exception&) {
    return -1;
  }
}

void until_numsub(const redis_server& server, const std::string& channel, int n) {
  for (int i = 0; i < 500; ++i) {
    if (numsub(server, channel) == n) return;
    std::this_thread::sleep_for(20ms);
  }
  FAIL("PUBSUB NUMSUB " << channel << " never reached " << n);
}

std::string text_of(ws_client& ws) {
  auto f = ws.read();
  return f && f->opcode == 1 ? f->payload : std::string();
}

// The next text line holding `needle`, skipping others (retried warm-up lines, own echoes); "" when none
// came within `reads` reads.
std::string next_with(ws_client& ws, const std::string& needle, int reads = 40) {
  for (int i = 0; i < reads; ++i) {
    std::string line = text_of(ws);
    if (line.find(needle) != std::string::npos) return line;
  }
  return {};
}

// Posts "<prefix> <k>" to A until B's member hears one (a process's publishing connection drops what is
// published before it is up, or while Redis is away); returns the line B's member received.
std::string post_until_heard(std::uint16_t a, ws_client& b_member, const std::string& prefix) {
  for (int k = 0; k < 100; ++k) {
    REQUIRE(post(a, "lobby", "ann", prefix + " " + std::to_string(k)) == "202");
    std::string line = next_with(b_member, prefix, 1);  // waits up to the member's receive timeout
    if (!line.empty()) return line;
  }
  FAIL("B never heard A's " << prefix);
  return {};
}

}  // namespace

TEST_CASE("chat --redis: two processes share their rooms, through a Redis restart",
          "[chat][redis_hub][socket]") {
  redis_server server;
  chat_process a(server.url());
  chat_process b(server.url());

  ws_client a_member(a.port(), 5000);
  REQUIRE(a_member.handshake("/ws?room=lobby&user=ann").starts_with("HTTP/1.1 101"));
  ws_client b_member(b.port(), 500);  // a short timeout: post_until_heard retries on it
  REQUIRE(b_member.handshake("/ws?room=lobby&user=bob").starts_with("HTTP/1.1 101"));
  raw_client b_events("127.0.0.1", b.port());
  REQUIRE(b_events.send("GET /events?room=lobby HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n"));
  REQUIRE(b_events.read_until(":\n\n"));
  until_numsub(server, "keel:hub:lobby", 2);  // process A and process B, one subscriber connection each

  const std::string first = post_until_heard(a.port(), b_member, "warm-up");
  CHECK(first.find("\"user\":\"ann\"") != std::string::npos);
  REQUIRE(b_events.read_until("data: " + first + "\n\n"));

  // From now on A's connection is up: every POST to A reaches B's WebSocket and SSE subscribers, in order
  // (retried warm-up lines that arrive late are skipped).
  std::vector<std::string> lines;
  for (int i = 1; i <= 20; ++i) REQUIRE(post(a.port(), "lobby", "carol", "m" + std::to_string(i)) == "202");
  for (int i = 1; i <= 20; ++i) {
    const std::string line = next_with(b_member, "\"user\":\"carol\"");
    REQUIRE(line.find("\"text\":\"m" + std::to_string(i) + "\"") != std::string::npos);
    REQUIRE(b_events.read_until("data: " + line + "\n\n"));
    lines.push_back(line);
  }
  // A's own member got them as well (through Redis, like everyone), in the same order.
  for (int i = 1; i <= 20; ++i) {
    const std::string line = next_with(a_member, "\"user\":\"carol\"", 200);
    REQUIRE(line.find("\"text\":\"m" + std::to_string(i) + "\"") != std::string::npos);
  }

  // A WebSocket message sent to B reaches A's member too.
  REQUIRE(b_member.text(R"({"text":"from b"})"));
  const std::string from_b = next_with(a_member, "from b");
  CHECK(from_b.find("\"user\":\"bob\"") != std::string::npos);

  // Redis restarts on the same port: B's subscription comes back, A's publishes get through again.
  server.stop();
  std::this_thread::sleep_for(100ms);
  server.start();
  until_numsub(server, "keel:hub:lobby", 2);
  const std::string again = post_until_heard(a.port(), b_member, "after restart");
  CHECK(again.find("\"user\":\"ann\"") != std::string::npos);
  REQUIRE(b_events.read_until("data: " + again + "\n\n"));
}
