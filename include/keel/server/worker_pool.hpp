// keel::worker_pool: the threads that run blocking work (SQL, hashing, files) away from the reactors.
#pragma once

#include "keel/config.hpp"

#include <asio/post.hpp>
#include <asio/thread_pool.hpp>

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <mutex>
#include <optional>
#include <thread>
#include <utility>

namespace keel {
inline namespace v0 {

// The threads start with the first job (or the first executor() call): an app that never offloads keeps
// only its reactor threads, and their stacks stay out of its resident memory.
class worker_pool {
 public:
  // 0 threads = max(2, hardware threads): blocking calls must not starve each other on a small machine.
  explicit worker_pool(unsigned threads = 0) : threads_(resolve(threads)) {}
  worker_pool(const worker_pool&) = delete;
  worker_pool& operator=(const worker_pool&) = delete;
  ~worker_pool() { join(); }

  unsigned size() const noexcept { return threads_; }
  // Whether any thread has been started yet.
  bool started() const noexcept { return started_.load(std::memory_order_acquire) != nullptr; }
  asio::thread_pool::executor_type executor() { return pool().get_executor(); }

  // Runs fn() on one of the pool's threads.
  template <class F>
  void post(F&& fn) {
    asio::post(pool(), std::forward<F>(fn));
  }

  // Waits until every posted job has finished and the threads have exited; no new work is accepted after.
  void join() {
    std::lock_guard lock(start_mutex_);
    joined_ = true;
    if (pool_) pool_->join();
  }

 private:
  static unsigned resolve(unsigned n) {
    if (n != 0) return n;
    return std::max(2u, std::thread::hardware_concurrency());
  }

  asio::thread_pool& pool() {
    if (asio::thread_pool* ready = started_.load(std::memory_order_acquire)) return *ready;
    std::lock_guard lock(start_mutex_);
    if (!pool_) {
      pool_.emplace(threads_);
      // A pool asked for after join() gets no threads, as asio's own would after join(): its jobs never run.
      if (joined_) pool_->join();
    }
    started_.store(&*pool_, std::memory_order_release);
    return *pool_;
  }

  unsigned threads_;
  std::mutex start_mutex_;  // taken once per pool start and at join, never per job
  bool joined_ = false;
  std::atomic<asio::thread_pool*> started_{nullptr};
  std::optional<asio::thread_pool> pool_;
};

}  // namespace v0
}  // namespace keel
