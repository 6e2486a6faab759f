// keel's own HTTP session behind the real server: a keel::app over sockets on 127.0.0.1, with coroutine
// handlers that sleep and offload, graceful shutdown and curl as the client.
#include "keel/server/server.hpp"

#include "keel/app.hpp"
#include "keel/offload.hpp"
#include "support/local_server.hpp"
#include "support/raw_client.hpp"

#include <catch2/catch.hpp>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>

using namespace std::chrono_literals;
using keel_test::eventually;
using keel_test::raw_client;

namespace {

using keel_test::run_command;

std::atomic<int> slow_started{0};

std::uint16_t free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0)
    throw std::runtime_error("free_port: no port");
  ::close(fd);
  return ntohs(a.sin_port);
}

// The CPUs the calling thread may run on, as "0,1,3".
std::string cpus_of_this_thread() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (::pthread_getaffinity_np(::pthread_self(), sizeof set, &set) != 0) return "error";
  std::string out;
  for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu)
    if (CPU_ISSET(cpu, &set)) out += (out.empty() ? "" : ",") + std::to_string(cpu);
  return out;
}

auto make_app() {
  return keel::app{keel::router{
      keel::get<"/hello">([] { return "Hello, World!"; }),
      keel::get<"/offload/{n}">([](int n) -> keel::task<std::string> {
        const auto reactor = std::this_thread::get_id();
        const int doubled = co_await keel::offload([](int v) { return v * 2; }, n);
        if (std::this_thread::get_id() != reactor) throw std::logic_error("resumed off the reactor");
        co_return std::to_string(doubled);
      }),
      keel::get<"/throws">([]() -> keel::task<std::string> {
        co_await keel::offload([]() -> int { throw std::runtime_error("worker failed"); });
        co_return "unreachable";
      }),
      keel::post<"/echo">([](keel::body b) { return std::string(b.data); }),
      keel::get<"/cpus">([] { return cpus_of_this_thread(); }),
      keel::get<"/slow">([]() -> keel::task<std::string> {
        ++slow_started;
        co_await keel::sleep_for(300ms);
        co_return "slow done";
      }),
  }};
}
using app_type = decltype(make_app());

keel::server_config test_config() { return keel_test::local_config(2); }

}  // namespace

TEST_CASE("curl gets answers from a keel app, sync and async", "[server][socket]") {
  const auto app = make_app();
  keel::detail::server<const app_type> server(app, test_config());
  const auto base = "http://127.0.0.1:" + std::to_string(server.start());
  CHECK(run_command("curl -sS --max-time 10 " + base + "/hello") == "Hello, World!");
  CHECK(run_command("curl -sS --max-time 10 " + base + "/offload/21") == "42");
  CHECK(run_command("curl -s --max-time 10 -o /dev/null -w '%{http_code}' " + base + "/throws") == "500");
  CHECK(run_command("curl -s --max-time 10 -o /dev/null -w '%{http_code}' " + base + "/nope") == "404");
}

TEST_CASE("pipelined sync and async requests come back in order over a socket", "[server][socket]") {
  const auto app = make_app();
  keel::detail::server<const app_type> server(app, test_config());
  raw_client c("127.0.0.1", server.start());
  REQUIRE(
      c.send("GET /offload/1 HTTP/1.1\r\nHost: t\r\n\r\n"
             "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n"
             "GET /offload/2 HTTP/1.1\r\nHost: t\r\n\r\n"
             "GET /throws HTTP/1.1\r\nHost: t\r\n\r\n"
             "GET /offload/3 HTTP/1.1\r\nHost: t\r\n\r\n"));
  const std::string out = c.read_responses(5);
  const auto p1 = out.find("\r\n\r\n2"), hello = out.find("Hello, World!"), p2 = out.find("\r\n\r\n4"),
             err = out.find("HTTP/1.1 500"), p3 = out.find("\r\n\r\n6");
  REQUIRE(p1 != std::string::npos);
  REQUIRE(hello != std::string::npos);
  REQUIRE(p2 != std::string::npos);
  REQUIRE(err != std::string::npos);
  REQUIRE(p3 != std::string::npos);
  CHECK(p1 < hello);
  CHECK(hello < p2);
  CHECK(p2 < err);
  CHECK(err < p3);
}

TEST_CASE("a graceful stop lets an async handler in flight answer, with Connection: close",
          "[server][socket]") {
  const auto app = make_app();
  keel::detail::server<const app_type> server(app, test_config());
  const auto port = server.start();
  raw_client idle("127.0.0.1", port);
  REQUIRE(idle.send("GET /hello HTTP/1.1\r\nHost: t\r\n\r\n"));
  REQUIRE(idle.read_responses(1).ends_with("Hello, World!"));

  const int before = slow_started.load();
  raw_client busy("127.0.0.1", port);
  REQUIRE(busy.send("GET /slow HTTP/1.1\r\nHost: t\r\n\r\n"));
  REQUIRE(eventually([&] { return slow_started.load() == before + 1; }));
  server.stop();

  std::string out;
  CHECK(busy.read_until_closed(&out));
  CHECK(out.starts_with("HTTP/1.1 200"));
  CHECK(out.find("Connection: close") != std::string::npos);
  CHECK(out.ends_with("slow done"));
  std::string idle_out;
  CHECK(idle.read_until_closed(&idle_out));  // the idle keep-alive connection was closed without a word
  CHECK(idle_out.empty());
  server.wait();
  CHECK_FALSE(raw_client("127.0.0.1", port).connected());
}

TEST_CASE("a slowloris client gets 408 from keel's session", "[server][socket]") {
  const auto app = make_app();
  auto cfg = test_config();
  cfg.timeout.header = 200ms;
  keel::detail::server<const app_type> server(app, cfg);
  raw_client c("127.0.0.1", server.start());
  REQUIRE(c.send("GET /hello HTTP/1.1\r\nHost: t"));
  std::string out;
  CHECK(c.read_until_closed(&out));
  CHECK(out.starts_with("HTTP/1.1 408"));
}

TEST_CASE("a body that stops arriving gets 408 after the body timeout", "[server][socket]") {
  const auto app = make_app();
  auto cfg = test_config();
  cfg.timeout.body = 200ms;
  keel::detail::server<const app_type> server(app, cfg);
  raw_client c("127.0.0.1", server.start());
  REQUIRE(c.send("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\nabcde"));
  std::string out;
  CHECK(c.read_until_closed(&out));
  CHECK(out.starts_with("HTTP/1.1 408"));
}

TEST_CASE("a complete body is echoed over a keep-alive connection", "[server][socket]") {
  const auto app = make_app();
  keel::detail::server<const app_type> server(app, test_config());
  raw_client c("127.0.0.1", server.start());
  REQUIRE(c.send("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\nabcde"));
  REQUIRE(c.send("fghij"));
  CHECK(c.read_responses(1).ends_with("abcdefghij"));
  REQUIRE(c.send("GET /hello HTTP/1.1\r\nHost: t\r\n\r\n"));
  CHECK(c.read_responses(1).ends_with("Hello, World!"));
}

TEST_CASE(
    "cpu_affinity::per_reactor (--cpu-affinity auto) pins each reactor thread to a CPU of its own, and gives "
    "the caller's set back",
    "[server][socket]") {
  const std::string all = cpus_of_this_thread();
  const auto usable = static_cast<std::size_t>(std::count(all.begin(), all.end(), ',') + 1);
  const auto app = make_app();
  auto cfg = test_config();  // 2 reactors
  cfg.affinity = keel::cpu_affinity::per_reactor;
  cfg.port = free_port();
  keel::detail::server<const app_type> server(app, cfg);
  std::string before_run, after_run;
  std::thread caller([&] {  // runs the first reactor itself, as main() does with serve()
    before_run = cpus_of_this_thread();
    server.run();
    after_run = cpus_of_this_thread();
  });
  REQUIRE(eventually([&] { return raw_client("127.0.0.1", cfg.port).connected(); }));
  // SO_REUSEPORT spreads new connections over both reactors: 32 of them reach both but with a chance of
  // 2^-31.
  std::set<std::string> seen;
  for (int i = 0; i < 32; ++i) {
    raw_client c("127.0.0.1", cfg.port);
    REQUIRE(c.send("GET /cpus HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"));
    std::string out;
    REQUIRE(c.read_until_closed(&out));
    seen.insert(out.substr(out.rfind("\r\n\r\n") + 4));
  }
  server.stop();
  caller.join();
  CHECK(after_run == before_run);
  for (const std::string& cpus : seen) CHECK(cpus.find(',') == std::string::npos);  // one CPU each
  CHECK(seen.size() == std::min<std::size_t>(usable, 2));

  // Off (the default): reactors run wherever the process may.
  keel::detail::server<const app_type> unpinned(app, test_config());
  raw_client c("127.0.0.1", unpinned.start());
  REQUIRE(c.send("GET /cpus HTTP/1.1\r\nHost: t\r\n\r\n"));
  CHECK(c.read_responses(1).ends_with("\r\n\r\n" + all));
}
