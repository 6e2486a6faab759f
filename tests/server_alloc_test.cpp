// Heap allocations per request on a real server whose handlers suspend (keel::offload, keel::db reads through
// the read batcher) under 32 concurrent keep-alive connections: asio's operations and posts must take their
// memory from the connection, the batcher and the awaiters, not from the heap. Global operator new and
// aligned_alloc (asio's aligned_new calls it directly) are replaced in this binary to count.
#include "keel/detail/handler_memory.hpp"

#include "keel/app.hpp"
#include "keel/json.hpp"
#include "keel/offload.hpp"
#include "keel/server/connection.hpp"
#include "keel/server/server.hpp"
#include "keel/sql/database.hpp"
#include "keel/static_files.hpp"
#include "keel/stream.hpp"
#include "support/raw_client.hpp"

#include <catch2/catch.hpp>

#include <asio/io_context.hpp>

#include <malloc.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <latch>
#include <new>
#include <string>
#include <thread>
#include <utility>
#include <vector>

// ASan brings its own allocation functions and reports blocks from them freed by ours as mismatches (g++ and
// clang both define this macro under -fsanitize=address). There the servers still run under ASan's eye and
// every answer is checked, but allocations are not counted.
#ifdef __SANITIZE_ADDRESS__
constexpr bool counts_allocations = false;
#else
constexpr bool counts_allocations = true;
#endif

namespace {

std::atomic<bool> counting{false};
std::atomic<std::size_t> allocations{0};
// The client threads and the test's own thread: their allocations are not the server's.
thread_local bool not_server = false;

}  // namespace

#ifndef __SANITIZE_ADDRESS__
namespace {

void count() {
  if (counting.load(std::memory_order_relaxed) && !not_server)
    allocations.fetch_add(1, std::memory_order_relaxed);
}
void* counted(std::size_t n) {
  count();
  if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
  throw std::bad_alloc();
}
void* counted_aligned(std::size_t n, std::align_val_t a) {
  count();
  if (void* p = ::memalign(static_cast<std::size_t>(a), n == 0 ? 1 : n)) return p;
  throw std::bad_alloc();
}

}  // namespace

// libstdc++'s array and nothrow forms call these, so replacing the basic ones counts every form.
void* operator new(std::size_t n) { return counted(n); }
void* operator new(std::size_t n, std::align_val_t a) { return counted_aligned(n, a); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }

// asio's recycling allocator falls back to std::aligned_alloc, which is not operator new.
extern "C" void* aligned_alloc(std::size_t align, std::size_t size) noexcept {
  count();
  return ::memalign(align, size);
}
#endif  // __SANITIZE_ADDRESS__

// A DTO outside the anonymous namespace: reflecting field names needs a type with linkage (clang).
namespace server_alloc_test_types {
struct kv_row {
  std::int64_t id;
  std::int64_t v;
};
}  // namespace server_alloc_test_types

namespace {

using server_alloc_test_types::kv_row;

struct temp_db_file {
  std::string path;
  temp_db_file() {
    path = (std::filesystem::temp_directory_path() /
            ("keel-server-alloc-" + std::to_string(::getpid()) + ".sqlite"))
               .string();
    remove_all();
  }
  ~temp_db_file() { remove_all(); }
  void remove_all() const {
    for (const char* suffix : {"", "-wal", "-shm"}) std::remove((path + suffix).c_str());
  }
};

constexpr int rows = 64;

void seed(keel::db& db) {
  db.execute_script_sync("CREATE TABLE kv (id INTEGER PRIMARY KEY, v INTEGER NOT NULL)");
  db.blocking(keel::sql::access::write, [](keel::sql::connection& c) {
    c.execute_script("BEGIN");
    for (int i = 1; i <= rows; ++i)
      keel::sql::detail::execute(c, "INSERT INTO kv (id, v) VALUES (?, ?)", i, i * 7);
    c.execute_script("COMMIT");
  });
}

struct load_result {
  double allocations_per_request = 0;
  int wrong = 0;
  std::string first_wrong;
};

// `clients` keep-alive connections, each sending one request at a time: `warmup` requests each first (the
// session buffers and asio's per-thread caches settle), then `measured` requests each while counting.
template <class Path, class Expect>
load_result load(std::uint16_t port, Path path_for, Expect expected_in_body) {
  constexpr int clients = 32;
  constexpr int warmup = 30;
  constexpr int measured = 100;
  std::latch warmed(clients + 1);
  std::latch go(1);
  std::atomic<int> wrong{0};
  std::vector<std::string> first_wrong(clients);
  std::vector<std::thread> threads;
  not_server = true;
  for (int t = 0; t < clients; ++t) {
    threads.emplace_back([&, t] {
      not_server = true;
      keel_test::raw_client client("127.0.0.1", port);
      auto one = [&](int i) {
        const std::string request = "GET " + path_for(t, i) + " HTTP/1.1\r\nHost: t\r\n\r\n";
        const std::string response = client.send(request) ? client.read_responses(1) : std::string();
        const std::string expected = expected_in_body(t, i);
        if (response.rfind("HTTP/1.1 200", 0) != 0 || response.find(expected) == std::string::npos) {
          if (wrong++ == 0)
            first_wrong[static_cast<std::size_t>(t)] = "expected " + expected + " in: " + response;
        }
      };
      for (int i = 0; i < warmup; ++i) one(i);
      warmed.count_down();
      go.wait();
      for (int i = 0; i < measured; ++i) one(warmup + i);
    });
  }
  warmed.arrive_and_wait();
  allocations = 0;
  counting = true;
  go.count_down();
  for (auto& th : threads) th.join();
  counting = false;
  load_result r;
  r.allocations_per_request = static_cast<double>(allocations.load()) / (clients * measured);
  r.wrong = wrong.load();
  for (const auto& w : first_wrong)
    if (!w.empty()) r.first_wrong = w;
  return r;
}

// Serves `app` on an ephemeral port while load() runs, then checks every answer and the count.
template <class App, class Path, class Expect>
void check_no_allocations_per_request(App& app, Path path_for, Expect expected_in_body) {
  keel::server_config cfg;
  cfg.host = "127.0.0.1";
  cfg.port = 0;
  cfg.threads = 2;  // two reactors: one read batch completes on both
  cfg.workers = 2;
  cfg.handle_signals = false;
  keel::detail::server<App> server(app, cfg);
  const load_result r = load(server.start(), path_for, expected_in_body);
  server.stop();
  server.wait();
  INFO(r.first_wrong);
  CHECK(r.wrong == 0);
  INFO("allocations per request: " << r.allocations_per_request);
  if (counts_allocations) CHECK(r.allocations_per_request < 0.05);
}

}  // namespace

TEST_CASE("handler_memory serves one operation from its storage and the rest from the heap",
          "[server][alloc]") {
  keel::detail::handler_memory<64> memory;
  keel::detail::handler_allocator<std::uint64_t, 64> alloc(memory);
  std::uint64_t* first = alloc.allocate(4);
  CHECK(memory.in_use());
  first[3] = 1;
  allocations = 0;
  counting = true;
  std::uint64_t* second = alloc.allocate(2);  // the storage is busy
  std::uint64_t* too_big = alloc.allocate(9);
  counting = false;
  if (counts_allocations) CHECK(allocations.load() == 2);
  CHECK(second != first);
  CHECK(too_big != first);
  second[1] = too_big[8] = 2;
  alloc.deallocate(too_big, 9);
  alloc.deallocate(second, 2);
  CHECK(memory.in_use());  // freeing heap blocks leaves the storage's owner alone
  alloc.deallocate(first, 4);
  CHECK_FALSE(memory.in_use());
  counting = true;
  std::uint64_t* again = alloc.allocate(8);
  counting = false;
  CHECK(again == first);
  if (counts_allocations) CHECK(allocations.load() == 2);
  alloc.deallocate(again, 8);

  struct alignas(64) wide {
    char bytes[64];
  };
  keel::detail::handler_allocator<wide, 64> over_aligned(memory);
  wide* w = over_aligned.allocate(1);  // fits, but the storage is only max_align_t aligned
  CHECK(reinterpret_cast<std::uintptr_t>(w) % 64 == 0);
  CHECK_FALSE(memory.in_use());
  over_aligned.deallocate(w, 1);
}

TEST_CASE("handlers suspended on keel::offload allocate nothing per request under 32 connections",
          "[server][alloc]") {
  auto app = keel::app{keel::router{
      keel::get<"/square/{n}">([](int n) -> keel::task<kv_row> {
        const std::int64_t squared = co_await keel::offload([n] { return std::int64_t{n} * n; });
        co_return kv_row{n, squared};
      }),
  }};
  check_no_allocations_per_request(
      app, [](int t, int i) { return "/square/" + std::to_string(t * 1000 + i); },
      [](int t, int i) {
        const std::int64_t n = t * 1000 + i;
        return "\"v\":" + std::to_string(n * n);
      });
}

TEST_CASE("handlers suspended on batched keel::db reads allocate nothing per request under 32 connections",
          "[server][alloc]") {
  temp_db_file file;
  keel::db db{"sqlite:" + file.path};
  seed(db);
  auto app = keel::app{
      keel::router{
          keel::get<"/kv/{id}">([](int id, keel::db& d) -> keel::task<kv_row> {
            auto row = co_await d.query_one<kv_row>("SELECT id, v FROM kv WHERE id = ?", id);
            co_return *row;
          }),
      }}.provide(db);
  const auto id = [](int t, int i) { return (t * 7 + i) % rows + 1; };
  check_no_allocations_per_request(
      app, [&](int t, int i) { return "/kv/" + std::to_string(id(t, i)); },
      [&](int t, int i) { return "\"v\":" + std::to_string(id(t, i) * 7); });
}

namespace {

// A connection reduced to its place on the reactor's ready list: it records each hand-back.
class ready_probe final : public keel::detail::connection_base {
 public:
  using log = std::vector<std::pair<int, bool>>;
  ready_probe(keel::detail::connection_registry& registry, log& handed_back, int id)
      : connection_base(registry), log_(&handed_back), id_(id) {}
  ~ready_probe() override = default;

  void queue(asio::io_context& reactor, bool again = false) {
    again_ = again;
    queue_ready(reactor, [](connection_base& base, bool run) {
      auto& self = static_cast<ready_probe&>(base);
      self.log_->emplace_back(self.id_, run);
      if (run && std::exchange(self.again_, false)) self.queue(*self.reactor_);
    });
    reactor_ = &reactor;
  }
  void begin_graceful_close() override {}
  void force_close() override {}
  bool idle_keep_alive() const override { return false; }

 private:
  void on_deadline() override {}
  log* log_;
  int id_;
  bool again_ = false;
  asio::io_context* reactor_ = nullptr;
};

}  // namespace

TEST_CASE("connections resumed in one round are driven by one post, in order; an unrun list lets them go",
          "[server][alloc]") {
  keel::detail::connection_registry registry;
  ready_probe::log handed_back;
  ready_probe a(registry, handed_back, 1), b(registry, handed_back, 2), c(registry, handed_back, 3);
  {
    asio::io_context reactor;
    a.queue(reactor);
    b.queue(reactor, true);  // queues itself again from its turn: that takes a second post
    c.queue(reactor);
    CHECK(reactor.run() == 2);
    CHECK(handed_back == ready_probe::log{{1, true}, {2, true}, {3, true}, {2, true}});

    handed_back.clear();
    c.queue(reactor);
    a.queue(reactor);
    reactor.restart();
    CHECK(reactor.run() == 1);
    CHECK(handed_back == ready_probe::log{{3, true}, {1, true}});

    handed_back.clear();
    b.queue(reactor);
    a.queue(reactor);
  }  // the io_context goes with the post unrun
  CHECK(handed_back == ready_probe::log{{2, false}, {1, false}});
}

TEST_CASE("a streamed response allocates nothing per chunk", "[server][alloc]") {
  auto app = keel::app{keel::router{
      keel::get<"/chunks/{n}">([](int n, keel::stream_writer out) -> keel::task<> {
        const std::string piece(1024, 'x');
        for (int i = 0; i < n; ++i) co_await out.write(piece);
      }),
  }};
  keel::server_config cfg;
  cfg.host = "127.0.0.1";
  cfg.port = 0;
  cfg.threads = 1;
  cfg.workers = 2;
  cfg.handle_signals = false;
  keel::detail::server<decltype(app)> server(app, cfg);
  const auto port = server.start();
  not_server = true;
  keel_test::raw_client client("127.0.0.1", port);
  // The allocations of one whole request streaming n chunks, on a warmed-up connection.
  auto allocations_for = [&](int n) {
    const std::string request = "GET /chunks/" + std::to_string(n) + " HTTP/1.1\r\nHost: t\r\n\r\n";
    allocations = 0;
    counting = true;
    REQUIRE(client.send(request));
    REQUIRE(client.read_until("\r\n0\r\n\r\n"));
    counting = false;
    const std::string got = client.take();
    CHECK(got.size() > static_cast<std::size_t>(n) * 1024);
    return allocations.load();
  };
  allocations_for(3000);  // buffers and frames settle
  allocations_for(100);
  const std::size_t few = allocations_for(100);
  const std::size_t many = allocations_for(3000);
  INFO("allocations: " << few << " for 100 chunks, " << many << " for 3,000");
  if (counts_allocations) CHECK(many <= few + 2);  // not one per chunk (2,900 more chunks)
  server.stop();
  server.wait();
}

TEST_CASE("static files answered from the open-file cache allocate nothing per request under 32 connections",
          "[static][alloc]") {
  char tmpl[] = "/tmp/keel-static-alloc-XXXXXX";
  const std::string dir = ::mkdtemp(tmpl);
  for (int i = 0; i < 4; ++i) {
    FILE* f = std::fopen((dir + "/f" + std::to_string(i) + ".txt").c_str(), "w");
    REQUIRE(f != nullptr);
    std::fprintf(f, "file-%d-%s", i, std::string(2000, 'x').c_str());
    std::fclose(f);
  }
  keel::static_files_options opt;
  opt.open_file_cache_valid = std::chrono::hours(1);  // the warm-up fills the caches; no revalidation after
  auto app = keel::app{keel::router{keel::static_files<"/">(dir, std::move(opt))}};
  check_no_allocations_per_request(
      app, [](int t, int i) { return "/f" + std::to_string((t + i) % 4) + ".txt"; },
      [](int t, int i) { return "file-" + std::to_string((t + i) % 4) + "-x"; });
  std::filesystem::remove_all(dir);
}
