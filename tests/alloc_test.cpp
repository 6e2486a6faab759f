// Heap allocations per request in steady state: the session (parse, route, handler, write) must not allocate
// once its buffers have grown. Global operator new/delete are replaced in this binary to count.
#include "keel/server/session.hpp"

#include "keel/app.hpp"
#include "keel/json/response.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <cstddef>
#include <cstdlib>
#include <new>
#include <string>
#include <string_view>

namespace {

std::atomic<std::size_t> allocations{0};

void* counted_alloc(std::size_t n) {
  allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
  throw std::bad_alloc();
}
void* counted_aligned_alloc(std::size_t n, std::align_val_t a) {
  allocations.fetch_add(1, std::memory_order_relaxed);
  const auto align = static_cast<std::size_t>(a);
  if (void* p = std::aligned_alloc(align, (n + align - 1) / align * align)) return p;
  throw std::bad_alloc();
}

}  // namespace

void* operator new(std::size_t n) { return counted_alloc(n); }
void* operator new[](std::size_t n) { return counted_alloc(n); }
void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
  allocations.fetch_add(1, std::memory_order_relaxed);
  return std::malloc(n == 0 ? 1 : n);
}
void* operator new[](std::size_t n, const std::nothrow_t&) noexcept {
  allocations.fetch_add(1, std::memory_order_relaxed);
  return std::malloc(n == 0 ? 1 : n);
}
void* operator new(std::size_t n, std::align_val_t a) { return counted_aligned_alloc(n, a); }
void* operator new[](std::size_t n, std::align_val_t a) { return counted_aligned_alloc(n, a); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }

// A DTO outside the anonymous namespace: reflecting field names needs a type with linkage (clang).
namespace alloc_test_types {
struct message {
  std::string_view message;
};
}  // namespace alloc_test_types

namespace {

using alloc_test_types::message;

// The routes keel_bench serves, so this test guards the figures in benchmarks/RESULTS.md.
auto make_app() {
  return keel::app{keel::router{
      keel::get<"/plaintext">([] {
        return keel::static_body{"Hello, World!", "text/plain"};
      }),
      keel::get<"/json">([] { return message{"Hello, World!"}; }),
      keel::get<"/text">([] { return std::string_view("Hello, World!"); }),
      keel::get<"/users/{id}">([](int id) {
        return keel::status_only{id > 0 ? keel::http::status::ok : keel::http::status::not_found};
      }),
  }};
}

using app_type = decltype(make_app());

// Feeds `batch` (one or more complete requests) to the session like a transport would, and returns the bytes
// the session wrote.
std::string_view serve_batch(keel::detail::http_session<app_type>& session, std::string_view batch) {
  std::string_view written;
  std::size_t fed = 0;
  for (;;) {
    if (fed < batch.size()) {
      const auto space = session.read_buffer();
      const std::size_t n = std::min(space.size(), batch.size() - fed);
      std::memcpy(space.data(), batch.data() + fed, n);
      session.on_read(n);
      fed += n;
    }
    const auto action = session.process();
    if (action == keel::detail::session_action::write) {
      written = session.output();  // valid until on_written(); the caller only looks at its size and tail
      return written;
    }
    if (action != keel::detail::session_action::read || fed == batch.size()) return written;
  }
}

// Allocations per request over `rounds` batches, after warm-up batches let every buffer reach its size.
double allocations_per_request(std::string_view request, int per_batch, std::string_view expected_body) {
  const auto app = make_app();
  const keel::server_config cfg;
  keel::detail::http_session<app_type> session(app, cfg, false);
  std::string batch;
  for (int i = 0; i < per_batch; ++i) batch.append(request);

  auto run = [&] {
    const std::string_view out = serve_batch(session, batch);
    // Checked without allocating: the last response ends with the expected body.
    const bool ok =
        out.size() >= expected_body.size() && out.substr(out.size() - expected_body.size()) == expected_body;
    session.on_written();
    return ok;
  };
  for (int i = 0; i < 8; ++i) REQUIRE(run());

  constexpr int rounds = 200;
  const std::size_t before = allocations.load();
  bool all_ok = true;
  for (int i = 0; i < rounds; ++i) all_ok = run() && all_ok;
  const std::size_t used = allocations.load() - before;
  REQUIRE(all_ok);
  return static_cast<double>(used) / (rounds * per_batch);
}

constexpr std::string_view plaintext_request =
    "GET /plaintext HTTP/1.1\r\nHost: localhost\r\nAccept: */*\r\nConnection: keep-alive\r\n\r\n";
constexpr std::string_view json_request =
    "GET /json HTTP/1.1\r\nHost: localhost\r\nAccept: */*\r\nConnection: keep-alive\r\n\r\n";

}  // namespace

TEST_CASE("the counting allocator sees allocations", "[alloc]") {
  const std::size_t before = allocations.load();
  auto* p = new std::string(100, 'x');
  delete p;
  CHECK(allocations.load() - before == 2);  // the string object and its buffer
}

TEST_CASE("steady-state /plaintext allocates nothing per request", "[alloc]") {
  SECTION("one request per read") {
    CHECK(allocations_per_request(plaintext_request, 1, "Hello, World!") == 0);
  }
  SECTION("16 pipelined requests per read") {
    CHECK(allocations_per_request(plaintext_request, 16, "Hello, World!") == 0);
  }
}

TEST_CASE("steady-state /json allocates nothing per request", "[alloc]") {
  SECTION("one request per read") {
    CHECK(allocations_per_request(json_request, 1, R"({"message":"Hello, World!"})") == 0);
  }
  SECTION("16 pipelined requests per read") {
    CHECK(allocations_per_request(json_request, 16, R"({"message":"Hello, World!"})") == 0);
  }
}

TEST_CASE("steady-state text responses and path parameters allocate nothing", "[alloc]") {
  CHECK(allocations_per_request("GET /text HTTP/1.1\r\nHost: x\r\n\r\n", 16, "Hello, World!") == 0);
  CHECK(allocations_per_request("GET /users/42 HTTP/1.1\r\nHost: x\r\n\r\n", 16, "\r\n\r\n") == 0);
}
