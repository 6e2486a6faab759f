// keel/log.hpp and keel::traceparent over real sockets: log lines are JSON objects with a level, the message
// formatted by fmt, the request id and the trace id of a valid W3C traceparent (which handlers see too);
// malformed traceparent headers are ignored; keel::access_log lines carry the trace id as well.
#include "keel/log.hpp"

#include "keel/app.hpp"
#include "keel/middleware/access_log.hpp"
#include "keel/middleware/request_id.hpp"
#include "keel/middleware/trace_context.hpp"
#include "keel/router/router.hpp"
#include "keel/server/server.hpp"

#include "support/http_exchange.hpp"
#include "support/local_server.hpp"

#include <catch2/catch.hpp>
#include <fcntl.h>
#include <simdjson.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <stdexcept>

#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace {

std::mutex lines_mutex;
std::vector<std::string> lines;

void collect(std::string_view line, void*) {
  std::lock_guard lock(lines_mutex);
  lines.emplace_back(line);
}
std::vector<std::string> take_lines() {
  std::lock_guard lock(lines_mutex);
  return std::exchange(lines, {});
}

struct parsed {
  std::string level, msg, request_id, trace_id, route, path;
  bool has_trace = false;
};
// Parses a line strictly (simdjson rejects anything that is not one JSON document).
parsed parse(const std::string& line) {
  INFO(line);
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  REQUIRE(parser.parse(line).get(doc) == simdjson::SUCCESS);
  REQUIRE(doc.is_object());
  parsed p;
  auto str = [&](const char* key, std::string& out) {
    std::string_view v;
    if (doc[key].get(v) == simdjson::SUCCESS) out = std::string(v);
  };
  str("level", p.level);
  str("msg", p.msg);
  str("request_id", p.request_id);
  str("route", p.route);
  str("path", p.path);
  p.has_trace = doc["trace_id"].error() == simdjson::SUCCESS;
  str("trace_id", p.trace_id);
  return p;
}

constexpr std::string_view trace = "4bf92f3577b34da6a3ce929d0e0e4736";
constexpr std::string_view valid_header = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

}  // namespace

TEST_CASE("traceparent parsing follows the W3C rules", "[log][trace]") {
  keel::trace_context t;
  CHECK(t.parse(valid_header));
  CHECK(t.trace_id() == trace);
  CHECK(t.parent_id() == "00f067aa0ba902b7");
  CHECK(t.sampled());
  CHECK(t.parse("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00"));
  CHECK(!t.sampled());
  // A later version may carry more after a '-'.
  CHECK(t.parse("cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-what-the-future-holds"));
  CHECK(t.parse("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"));
  for (std::string_view bad : {
           "",
           "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",   // uppercase
           "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",   // version ff
           "00-00000000000000000000000000000000-00f067aa0ba902b7-01",   // zero trace id
           "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",   // zero parent id
           "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-",  // version 00 with more
           "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01",    // short trace id
           "00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",   // separator
           "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0g",   // flags not hex
           "cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01x",  // later version, no '-' before more
           "0-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01a",   // one-digit version
       }) {
    INFO(bad);
    CHECK(!t.parse(bad));
    CHECK(t.trace_id().empty());
  }
}

TEST_CASE("log lines are JSON with level, message, request id and trace id", "[log][trace]") {
  keel::configure_log({.min_level = keel::log_level::info, .callback = &collect, .user = nullptr});
  auto api = keel::router{
      keel::get<"/orders/{id}">(
          [](keel::request_context& ctx, keel::path<"id", int> id, const keel::trace_context& t) {
            keel::log_debug(ctx, "not written: below the level");
            keel::log_warn(ctx, "order {} looked up, \"quoted\" {:.1f}", *id, 2.5);
            return std::string(t.trace_id());
          }),
  };
  auto app = keel::app{api}.use(keel::request_id{}, keel::traceparent{},
                                keel::access_log{{.callback = &collect, .user = nullptr}});
  keel::detail::server<decltype(app)> server(app, keel_test::local_config(2));
  const auto port = server.start();
  take_lines();

  SECTION("a valid traceparent reaches the handler and both lines") {
    auto a = keel_test::exchange(port, "GET", "/orders/7", {"traceparent: " + std::string(valid_header)});
    REQUIRE(a.status == 200);
    CHECK(a.body == trace);
    const auto got = take_lines();
    REQUIRE(got.size() == 2);
    const auto app_line = parse(got[0]);
    CHECK(app_line.level == "warn");
    CHECK(app_line.msg == "order 7 looked up, \"quoted\" 2.5");
    CHECK(app_line.request_id == a.header("X-Request-ID"));
    CHECK(!app_line.request_id.empty());
    CHECK(app_line.trace_id == trace);
    CHECK(app_line.route == "/orders/{id}");
    const auto access = parse(got[1]);
    CHECK(access.path == "/orders/7");
    CHECK(access.request_id == a.header("X-Request-ID"));
    CHECK(access.trace_id == trace);
  }
  SECTION("malformed or repeated traceparent headers are ignored") {
    for (const std::vector<std::string>& headers : std::vector<std::vector<std::string>>{
             {"traceparent: 00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01"},
             {"traceparent: 00-00000000000000000000000000000000-00f067aa0ba902b7-01"},
             {"traceparent: garbage"},
             {"traceparent: " + std::string(valid_header), "traceparent: " + std::string(valid_header)},
             {},
         }) {
      auto a = keel_test::exchange(port, "GET", "/orders/1", headers);
      REQUIRE(a.status == 200);
      CHECK(a.body.empty());
      for (const auto& line : take_lines()) {
        const auto p = parse(line);
        CHECK(!p.has_trace);
        CHECK(p.request_id == a.header("X-Request-ID"));
      }
    }
  }
  server.stop();
  server.wait();
  keel::configure_log({});
}

TEST_CASE("log lines without a request carry no request fields", "[log]") {
  keel::configure_log({.min_level = keel::log_level::debug, .callback = &collect, .user = nullptr});
  take_lines();
  keel::log_debug("starting {} workers", 4);
  keel::log_error("a\nb");
  const auto got = take_lines();
  REQUIRE(got.size() == 2);
  CHECK(parse(got[0]).level == "debug");
  CHECK(parse(got[0]).msg == "starting 4 workers");
  CHECK(parse(got[1]).msg == "a\nb");
  CHECK(parse(got[1]).request_id.empty());
  CHECK(got[1].find("request_id") == std::string::npos);
  keel::configure_log({});
}

TEST_CASE("the line of a handler exception carries the trace id too", "[log][trace]") {
  auto api = keel::router{
      keel::get<"/boom">([]() -> std::string { throw std::runtime_error("kaput"); }),
  };
  auto app = keel::app{api}.use(keel::request_id{}, keel::traceparent{});
  keel::detail::server<decltype(app)> server(app, keel_test::local_config(1));
  const auto port = server.start();
  const auto path = std::filesystem::temp_directory_path() / ("keel_log_test_" + std::to_string(::getpid()));
  std::fflush(stderr);
  const int saved = ::dup(2);
  const int file = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  REQUIRE(file >= 0);
  ::dup2(file, 2);
  auto a = keel_test::exchange(port, "GET", "/boom", {"traceparent: " + std::string(valid_header)});
  server.stop();
  server.wait();
  std::fflush(stderr);
  ::dup2(saved, 2);
  ::close(saved);
  ::close(file);
  CHECK(a.status == 500);
  std::ifstream in(path);
  std::string line, found;
  while (std::getline(in, line))
    if (line.find("handler_exception") != std::string::npos) found = line;
  std::filesystem::remove(path);
  REQUIRE(!found.empty());
  const auto p = parse(found);
  CHECK(p.level == "error");
  CHECK(p.trace_id == trace);
  CHECK(p.request_id == a.header("X-Request-ID"));
}
