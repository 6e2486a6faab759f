// keel::worker_pool: the threads that run blocking work (SQL, hashing, files) away from the reactors.
#pragma once

#include "keel/config.hpp"

#include <asio/post.hpp>
#include <asio/thread_pool.hpp>

#include <algorithm>
#include <cstddef>
#include <thread>
#include <utility>

namespace keel::inline v0 {

class worker_pool {
 public:
  // 0 threads = max(2, hardware threads): blocking calls must not starve each other on a small machine.
  explicit worker_pool(unsigned threads = 0) : threads_(resolve(threads)), pool_(threads_) {}
  worker_pool(const worker_pool&) = delete;
  worker_pool& operator=(const worker_pool&) = delete;
  ~worker_pool() { join(); }

  unsigned size() const noexcept { return threads_; }
  asio::thread_pool::executor_type executor() noexcept { return pool_.get_executor(); }

  // Runs fn() on one of the pool's threads.
  template <class F>
  void post(F&& fn) {
    asio::post(pool_, std::forward<F>(fn));
  }

  // Waits until every posted job has finished and the threads have exited; no new work is accepted after.
  void join() { pool_.join(); }

 private:
  static unsigned resolve(unsigned n) {
    if (n != 0) return n;
    return std::max(2u, std::thread::hardware_concurrency());
  }
  unsigned threads_;
  asio::thread_pool pool_;
};

}  // namespace keel::inline v0
