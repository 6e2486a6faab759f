// keel::access_log: the JSON line's fields and escaping, the sinks (callback, file), asynchronous handlers,
// and no heap allocation per request once warm.
#include "keel/middleware/access_log.hpp"

#include "keel/app.hpp"
#include "keel/json/time.hpp"
#include "keel/middleware/request_id.hpp"
#include "keel/offload.hpp"
#include "keel/router/router.hpp"
#include "keel/task.hpp"
#include "keel/test_client.hpp"

#include <catch2/catch.hpp>
#include <fcntl.h>
#include <simdjson.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <new>
#include <string>
#include <type_traits>
#include <vector>

// Counts heap allocations while `counting` is on (this test binary only).
namespace {
std::atomic<bool> counting{false};
std::atomic<std::size_t> allocations{0};
}  // namespace

void* operator new(std::size_t n) {
  if (counting.load(std::memory_order_relaxed)) allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
  throw std::bad_alloc();
}
// The aligned and nothrow forms too (simdjson uses them): every new/delete pair must meet the same allocator
// (ASan checks that).
void* operator new(std::size_t n, std::align_val_t al) {
  if (counting.load(std::memory_order_relaxed)) allocations.fetch_add(1, std::memory_order_relaxed);
  auto a = static_cast<std::size_t>(al);
  if (void* p = std::aligned_alloc(a, (n + a - 1) / a * a + (n == 0 ? a : 0))) return p;
  throw std::bad_alloc();
}
void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
  try {
    return ::operator new(n);
  } catch (...) {
    return nullptr;
  }
}
void* operator new(std::size_t n, std::align_val_t al, const std::nothrow_t&) noexcept {
  try {
    return ::operator new(n, al);
  } catch (...) {
    return nullptr;
  }
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }

namespace {

struct captured_lines {
  std::vector<std::string> lines;
  static void sink(std::string_view line, void* self) {
    static_cast<captured_lines*>(self)->lines.emplace_back(line);
  }
};

keel::task<std::string> slow_handler() {
  co_await keel::sleep_for(std::chrono::milliseconds(20));
  co_return "slept";
}

auto make_router() {
  return keel::router{
      keel::get<"/users/{id}">([](std::int64_t id) { return "user " + std::to_string(id); }),
      keel::post<"/items">([] { return keel::status_only{keel::http::status::created}; }),
      keel::get<"/slow">([]() { return slow_handler(); }),
  };
}

struct parsed_line {
  std::string time, method, path, request_id, route;
  std::int64_t status = 0, bytes = -1, duration_us = -1;
};

// Parses one log line with simdjson, so a line that is not valid JSON fails the test.
parsed_line parse(const std::string& line) {
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  auto err = parser.parse(line).get(doc);
  INFO(line);
  REQUIRE(err == simdjson::SUCCESS);
  REQUIRE(doc.is_object());
  parsed_line p;
  auto str = [&](const char* key) { return std::string(std::string_view(doc[key].get_string().value())); };
  p.time = str("time");
  p.method = str("method");
  p.path = str("path");
  p.request_id = str("request_id");
  p.route = str("route");
  p.status = doc["status"].get_int64().value();
  p.bytes = doc["bytes"].get_int64().value();
  p.duration_us = doc["duration_us"].get_int64().value();
  CHECK(doc.get_object().value().size() == 8);
  return p;
}

}  // namespace

TEST_CASE("one JSON line per request with every field", "[access_log]") {
  STATIC_REQUIRE(
      keel::Middleware<keel::access_log, keel::context<std::tuple<keel::access_log::state>, std::tuple<>>>);
  captured_lines out;
  auto app = keel::app{make_router()}.use(
      keel::request_id{}, keel::access_log{{.callback = &captured_lines::sink, .user = &out}});
  keel::test_client client{app};
  auto r = client.get("/users/42?token=secret", {{"X-Request-ID", "req-1"}});
  REQUIRE(r.status == 200);
  REQUIRE(out.lines.size() == 1);
  CHECK(out.lines[0].find('\n') == std::string::npos);
  CHECK(out.lines[0].find("secret") == std::string::npos);  // the query never reaches the log
  auto p = parse(out.lines[0]);
  CHECK(p.method == "GET");
  CHECK(p.path == "/users/42");
  CHECK(p.status == 200);
  CHECK(p.bytes == static_cast<std::int64_t>(r.body.size()));
  CHECK(p.duration_us >= 0);
  CHECK(p.request_id == "req-1");
  CHECK(p.route == "/users/{id}");
  REQUIRE(p.time.size() == 24);
  CHECK(p.time[10] == 'T');
  CHECK(p.time[19] == '.');
  CHECK(p.time.back() == 'Z');
  CHECK(keel::detail::parse_rfc3339(p.time).has_value());
}

TEST_CASE("errors and unmatched requests are logged with their status", "[access_log]") {
  captured_lines out;
  auto app = keel::app{make_router()}.use(
      keel::request_id{}, keel::access_log{{.callback = &captured_lines::sink, .user = &out}});
  keel::test_client client{app};
  auto missing = client.get("/nowhere");
  auto bad = client.get("/users/abc");
  auto created = client.post("/items", "{}");
  REQUIRE(out.lines.size() == 3);
  auto p404 = parse(out.lines[0]);
  CHECK(p404.status == 404);
  CHECK(p404.route.empty());
  CHECK(p404.path == "/nowhere");
  CHECK(p404.bytes == static_cast<std::int64_t>(missing.body.size()));
  CHECK(p404.request_id == missing.header("X-Request-ID"));
  auto p400 = parse(out.lines[1]);
  CHECK(p400.status == 400);
  CHECK(p400.route == "/users/{id}");
  auto p201 = parse(out.lines[2]);
  CHECK(p201.method == "POST");
  CHECK(p201.status == 201);
  CHECK(p201.bytes == 0);
}

TEST_CASE("the duration of an asynchronous handler covers its suspension", "[access_log]") {
  captured_lines out;
  auto app =
      keel::app{make_router()}.use(keel::access_log{{.callback = &captured_lines::sink, .user = &out}});
  keel::test_client client{app};
  CHECK(client.get("/slow").body == "slept");
  REQUIRE(out.lines.size() == 1);
  auto p = parse(out.lines[0]);
  CHECK(p.route == "/slow");
  CHECK(p.duration_us >= 20000);  // a lower bound: the handler slept at least this long
}

TEST_CASE("path, method and id are JSON-escaped", "[access_log]") {
  keel::context<std::tuple<keel::access_log::state>, std::tuple<>> ctx;
  ctx.request().method = keel::http::method::unknown;
  ctx.request().method_name = "BREW";
  ctx.request().path = "/we\"ird\\path\n\x01";
  ctx.set_request_id("id\"with\tquote");
  ctx.response().status(keel::http::status::ok).body("x");
  std::string line;
  keel::access_log::format_line(line, ctx, std::chrono::system_clock::time_point{}, 7);
  auto p = parse(line);
  CHECK(p.method == "BREW");
  CHECK(p.path == "/we\"ird\\path\n\x01");
  CHECK(p.request_id == "id\"with\tquote");
  CHECK(p.time == "1970-01-01T00:00:00.000Z");
  CHECK(p.duration_us == 7);
  CHECK(p.bytes == 1);
}

TEST_CASE("a file sink appends one line per request", "[access_log]") {
  auto path =
      std::filesystem::temp_directory_path() /
      ("keel_access_log_test_" + std::to_string(std::chrono::steady_clock::now().time_since_epoch().count()));
  {
    auto app = keel::app{make_router()}.use(keel::access_log{{.path = path.string()}});
    keel::test_client client{app};
    client.get("/users/1");
    client.get("/users/2");
    // line-buffered: both lines are in the file before the log is closed
    std::ifstream early(path);
    std::string first;
    CHECK(std::getline(early, first));
    CHECK(parse(first).path == "/users/1");
  }
  {
    auto app = keel::app{make_router()}.use(keel::access_log{{.path = path.string()}});
    keel::test_client client{app};
    client.get("/users/3");  // appended, not truncated
  }
  std::ifstream in(path);
  std::vector<std::string> lines;
  for (std::string l; std::getline(in, l);) lines.push_back(l);
  std::filesystem::remove(path);
  REQUIRE(lines.size() == 3);
  CHECK(parse(lines[0]).path == "/users/1");
  CHECK(parse(lines[1]).path == "/users/2");
  CHECK(parse(lines[2]).path == "/users/3");
}

namespace {

// What `run` wrote to stderr (file descriptor 2, where the default sink writes).
template <class Run>
std::string captured_stderr(Run run) {
  auto path =
      std::filesystem::temp_directory_path() / ("keel_access_log_stderr_" + std::to_string(::getpid()));
  std::fflush(stderr);
  const int saved = ::dup(2);
  const int file = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  ::dup2(file, 2);
  ::close(file);
  run();
  std::fflush(stderr);
  ::dup2(saved, 2);
  ::close(saved);
  std::ifstream in(path);
  std::string out((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::filesystem::remove(path);
  return out;
}

}  // namespace

TEST_CASE("the default stderr sink stays quiet under test_client unless asked", "[access_log]") {
  const std::string quiet = captured_stderr([] {
    auto app = keel::app{make_router()}.use(keel::access_log{});
    keel::test_client client{app};
    CHECK(client.get("/users/1").status == 200);
  });
  CHECK(quiet.empty());
  const std::string asked = captured_stderr([] {
    auto app = keel::app{make_router()}.use(keel::access_log{{.stderr_in_tests = true}});
    keel::test_client client{app};
    CHECK(client.get("/users/7").status == 200);
  });
  REQUIRE_FALSE(asked.empty());
  CHECK(parse(asked.substr(0, asked.find('\n'))).path == "/users/7");
}

TEST_CASE("an unwritable file path throws at construction", "[access_log]") {
  CHECK_THROWS_AS(keel::access_log({.path = "/nonexistent-dir/keel/access.log"}), std::system_error);
}

TEST_CASE("logging allocates nothing once the buffers are warm", "[access_log]") {
  std::size_t lines = 0;
  auto count = [](std::string_view, void* n) { ++*static_cast<std::size_t*>(n); };
  keel::access_log log{{.callback = count, .user = &lines}};
  keel::context<std::tuple<keel::access_log::state>, std::tuple<>> ctx;
  ctx.request().method = keel::http::method::get;
  ctx.request().path = "/users/42";
  ctx.set_request_id("0123456789abcdef-1");
  keel::detail::context_access::set_route_path(ctx, "/users/{id}");
  ctx.response().body("some body");
  log.before(ctx);
  log.after(ctx);  // warms the per-thread line buffer
  allocations = 0;
  counting = true;
  for (int i = 0; i < 100; ++i) {
    log.before(ctx);
    log.after(ctx);
  }
  counting = false;
  CHECK(allocations == 0);
  CHECK(lines == 101);

  // the counter itself works
  std::vector<std::string> kept;
  counting = true;
  kept.emplace_back(200, 'x');
  counting = false;
  CHECK(allocations >= 1);
  CHECK(kept.back().size() == 200);
}
