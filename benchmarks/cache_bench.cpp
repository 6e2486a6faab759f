// keel::cache and keel::redis throughput: ops/s of the memory store (raw bytes and typed through JSON), and
// of a Redis server with 1, 16 and 256 commands in flight on one connection, and with batches of 100. Usage:
// cache_bench [--redis-port N] [--runs R]   (benchmarks/cache.sh starts the redis-server)
#include "keel/cache.hpp"
#include "keel/json.hpp"
#include "keel/offload.hpp"

#include <asio/io_context.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

// DTOs outside the anonymous namespace: clang needs linkage for their reflection.
namespace cache_bench {
struct item {
  int id = 0;
  std::string name;
  std::vector<int> scores;
};

}  // namespace cache_bench
using cache_bench::item;

namespace {

using bench_clock = std::chrono::steady_clock;

template <class T>
void run_task(asio::io_context& io, keel::task<T> t) {
  keel::detail::reactor_scope scope(io);
  bool done = false;
  keel::detail::start_detached(std::move(t), [&](auto&& r) {
    if (r.exception) std::rethrow_exception(r.exception);
    done = true;
  });
  io.restart();
  while (!done) io.run_one();
}

void report(const char* what, std::vector<double> rates) {
  std::sort(rates.begin(), rates.end());
  std::printf("| %s | %.0f | %.0f - %.0f |\n", what, rates[rates.size() / 2], rates.front(), rates.back());
}

template <class F>
std::vector<double> measure(int runs, long ops, F&& body) {
  std::vector<double> rates;
  for (int r = 0; r < runs; ++r) {
    const auto t0 = bench_clock::now();
    body();
    const double s = std::chrono::duration<double>(bench_clock::now() - t0).count();
    rates.push_back(static_cast<double>(ops) / s);
  }
  return rates;
}

keel::task<void> worker(keel::redis::client& c, long ops, int id) {
  const std::string key = "bench:" + std::to_string(id);
  for (long i = 0; i < ops; i += 2) {
    co_await c.set(key, "value-0123456789");
    auto v = co_await c.get(key);
    if (!v) std::abort();
  }
}

keel::task<void> in_flight(keel::redis::client& c, long ops, int width) {
  int finished = 0;
  for (int w = 0; w < width; ++w)
    keel::detail::start_detached(worker(c, ops / width, w), [&finished](auto&&) { ++finished; });
  while (finished < width) co_await keel::sleep_for(std::chrono::microseconds(200));
}

keel::task<void> batches(keel::redis::client& c, long ops) {
  keel::redis::batch b;
  for (int i = 0; i < 50; ++i)
    b.add("SET", "bench:b" + std::to_string(i), "value-0123456789").add("GET", "bench:b0");
  for (long i = 0; i < ops; i += 100) {
    std::vector<keel::redis::reply> r = co_await c.exec(b);
    if (r.size() != 100) std::abort();
  }
}

}  // namespace

int main(int argc, char** argv) {
  int redis_port = 0, runs = 5;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--redis-port") == 0) redis_port = std::atoi(argv[i + 1]);
    if (std::strcmp(argv[i], "--runs") == 0) runs = std::atoi(argv[i + 1]);
  }
  std::printf("| benchmark | median ops/s | min - max (%d runs) |\n|---|---:|---:|\n", runs);

  constexpr long mem_ops = 2'000'000;
  keel::cache::memory_store store;
  const std::string value(64, 'v');
  std::vector<std::string> keys;
  for (int i = 0; i < 10'000; ++i) keys.push_back("key:" + std::to_string(i));
  report("memory_store set (64 B values, 10k keys)", measure(runs, mem_ops, [&] {
           for (long i = 0; i < mem_ops; ++i) (void)store.set(keys[i % keys.size()], value);
         }));
  report("memory_store get (hit)", measure(runs, mem_ops, [&] {
           for (long i = 0; i < mem_ops; ++i)
             if (!store.get(keys[i % keys.size()]).await_resume()) std::abort();
         }));

  asio::io_context io;
  keel::cache::cache<> typed;
  const item it{7, "seven", {1, 2, 3, 4, 5}};
  constexpr long typed_ops = 500'000;
  report("cache<> set + get, typed DTO through JSON (per op)", measure(runs, typed_ops, [&] {
           run_task(io,
                    [](keel::cache::cache<>& c, const item& it,
                       std::vector<std::string>& keys) -> keel::task<void> {
                      for (long i = 0; i < typed_ops; i += 2) {
                        co_await c.set(keys[i % keys.size()], it);
                        auto got = co_await c.get<item>(keys[i % keys.size()]);
                        if (!got) std::abort();
                      }
                    }(typed, it, keys));
         }));

  if (redis_port != 0) {
    keel::redis::client c(io, "redis://127.0.0.1:" + std::to_string(redis_port));
    constexpr long redis_ops = 200'000;
    for (int width : {1, 16, 256}) {
      const long ops = width == 1 ? redis_ops / 10 : redis_ops;
      const std::string what = "redis SET/GET, " + std::to_string(width) + " in flight on one connection";
      report(what.c_str(), measure(runs, ops, [&] { run_task(io, in_flight(c, ops, width)); }));
    }
    report("redis batch of 100 (exec)",
           measure(runs, redis_ops, [&] { run_task(io, batches(c, redis_ops)); }));
  }
  return 0;
}
