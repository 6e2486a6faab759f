// keel::worker_pool: no threads until the first job, then jobs run on the pool's threads; join drains.
#include "keel/server/worker_pool.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <filesystem>
#include <thread>

namespace {

std::size_t threads_of_this_process() {
  std::size_t n = 0;
  for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator("/proc/self/task")) ++n;
  return n;
}

}  // namespace

TEST_CASE("a worker pool starts its threads with the first job, not before", "[worker_pool]") {
  const std::size_t before = threads_of_this_process();
  keel::worker_pool pool(3);
  CHECK(pool.size() == 3);
  CHECK_FALSE(pool.started());
  CHECK(threads_of_this_process() == before);

  std::atomic<int> ran{0};
  std::atomic<bool> off_caller{true};
  const auto caller = std::this_thread::get_id();
  for (int i = 0; i < 50; ++i)
    pool.post([&] {
      if (std::this_thread::get_id() == caller) off_caller = false;
      ++ran;
    });
  CHECK(pool.started());
  CHECK(threads_of_this_process() == before + 3);
  pool.join();
  CHECK(ran.load() == 50);
  CHECK(off_caller.load());
}

TEST_CASE("a worker pool that never ran a job joins at once", "[worker_pool]") {
  keel::worker_pool pool;
  CHECK(pool.size() >= 2);
  pool.join();
  CHECK_FALSE(pool.started());
}
