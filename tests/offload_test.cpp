#include "keel/offload.hpp"

#include "keel/task.hpp"

#include <catch2/catch.hpp>

#include <asio/io_context.hpp>

#include <atomic>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

using namespace std::chrono_literals;

namespace {

// Runs `t` on an io_context driven by this thread, with a bound worker pool, and returns its result.
template <class T>
keel::detail::task_result<T> run_on_reactor(keel::task<T> t, keel::worker_pool& pool) {
  asio::io_context reactor;
  keel::detail::reactor_scope scope(reactor, &pool);
  keel::detail::task_result<T> out;
  bool finished = false;
  const auto reactor_thread = std::this_thread::get_id();
  bool reported_on_reactor = false;
  keel::detail::start_detached(std::move(t), [&](keel::detail::task_result<T>&& r) {
    out = std::move(r);
    finished = true;
    reported_on_reactor = std::this_thread::get_id() == reactor_thread;
  });
  reactor.run();  // returns only once the task is done: pending offloads count as work
  REQUIRE(finished);
  CHECK(reported_on_reactor);
  return out;
}

keel::task<int> offload_sum() {
  const auto reactor_thread = std::this_thread::get_id();
  std::thread::id worker_thread;
  int v = co_await keel::offload([&] {
    worker_thread = std::this_thread::get_id();
    return 40;
  });
  if (worker_thread == reactor_thread) throw std::logic_error("work ran on the reactor");
  if (std::this_thread::get_id() != reactor_thread) throw std::logic_error("resumed off the reactor");
  co_return v + 2;
}

keel::task<std::string> offload_throws() {
  co_await keel::offload([]() -> int { throw std::runtime_error("worker failed"); });
  co_return "unreachable";
}

keel::task<std::string> offload_catches() {
  try {
    co_await keel::offload([] { throw std::invalid_argument("bad"); });
  } catch (const std::invalid_argument& e) {
    co_return std::string("caught ") + e.what();
  }
  co_return "not caught";
}

// Owning state goes in as arguments (or in a named lambda): see the g++ 12 note on keel::offload.
keel::task<std::unique_ptr<std::string>> offload_move_only() {
  auto owned = std::make_unique<int>(3);
  auto r = co_await keel::offload(
      [](std::unique_ptr<int> n) { return std::make_unique<std::string>(*n, 'x'); }, std::move(owned));
  auto suffix = std::make_unique<std::string>("yz");
  auto append = [suffix = std::move(suffix)](std::unique_ptr<std::string> s) {
    *s += *suffix;
    return s;
  };
  co_return co_await keel::offload(std::move(append), std::move(r));
}

keel::task<int> nested_offloads(int depth) {
  if (depth == 0) co_return co_await keel::offload([] { return 1; });
  int below = co_await nested_offloads(depth - 1);
  int here = co_await keel::offload([depth] { return depth; });
  co_return below + here;
}

}  // namespace

TEST_CASE("offload returns the worker's result on the reactor thread", "[offload]") {
  keel::worker_pool pool(2);
  CHECK(*run_on_reactor(offload_sum(), pool).value == 42);
}

TEST_CASE("offload rethrows the worker's exception in the coroutine", "[offload]") {
  keel::worker_pool pool(2);
  auto r = run_on_reactor(offload_throws(), pool);
  REQUIRE(r.exception);
  CHECK_THROWS_WITH(std::rethrow_exception(r.exception), "worker failed");
  CHECK(*run_on_reactor(offload_catches(), pool).value == "caught bad");
}

TEST_CASE("offload moves move-only functions and results", "[offload]") {
  keel::worker_pool pool(1);
  CHECK(**run_on_reactor(offload_move_only(), pool).value == "xxxyz");
}

TEST_CASE("nested tasks offload at every level", "[offload]") {
  keel::worker_pool pool(2);
  CHECK(*run_on_reactor(nested_offloads(10), pool).value == 1 + 55);
}

TEST_CASE("many concurrent offloads all resume on their reactor", "[offload]") {
  keel::worker_pool pool(4);
  asio::io_context reactor;
  keel::detail::reactor_scope scope(reactor, &pool);
  const auto reactor_thread = std::this_thread::get_id();
  constexpr int count = 500;
  std::atomic<int> on_workers{0};
  int finished = 0;
  long long sum = 0;
  bool all_on_reactor = true;
  for (int i = 0; i < count; ++i) {
    auto work = [](int i, std::atomic<int>& on_workers) -> keel::task<int> {
      int v = co_await keel::offload([i, &on_workers] {
        on_workers.fetch_add(1, std::memory_order_relaxed);
        return i;
      });
      co_await keel::sleep_for(0ms);
      co_return v;
    };
    keel::detail::start_detached(work(i, on_workers), [&](keel::detail::task_result<int>&& r) {
      ++finished;
      sum += *r.value;
      all_on_reactor = all_on_reactor && std::this_thread::get_id() == reactor_thread;
    });
  }
  CHECK(finished == 0);  // nothing can finish before the reactor runs the resumptions
  reactor.run();
  CHECK(finished == count);
  CHECK(sum == static_cast<long long>(count) * (count - 1) / 2);
  CHECK(on_workers.load() == count);
  CHECK(all_on_reactor);
}

TEST_CASE("sleep_for suspends on the reactor's timers", "[offload]") {
  keel::worker_pool pool(1);
  auto slow = []() -> keel::task<int> {
    co_await keel::sleep_for(5ms);
    co_return 9;
  };
  CHECK(*run_on_reactor(slow(), pool).value == 9);
}

TEST_CASE("without a bound reactor offload runs inline", "[offload]") {
  auto inline_work = []() -> keel::task<int> { co_return co_await keel::offload([] { return 11; }); };
  int result = 0;
  keel::detail::start_detached(inline_work(), [&](keel::detail::task_result<int>&& r) { result = *r.value; });
  CHECK(result == 11);
}
