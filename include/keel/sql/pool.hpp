// keel::sql::connection_slots / connection_lease: hands connections to coroutines without blocking a thread
// while they wait, and the debug check that no SQL runs on a reactor thread.
#pragma once

#include "keel/config.hpp"
#include "keel/server/reactor.hpp"
#include "keel/sql/connection.hpp"
#include "keel/sql/error.hpp"
#include "keel/sql/request_errors.hpp"

#include <asio/execution/outstanding_work.hpp>
#include <asio/post.hpp>
#include <asio/prefer.hpp>

#include <condition_variable>
#include <coroutine>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

// On by default in debug builds: a synchronous SQL call made on a reactor thread throws
// keel::sql::blocking_call_error instead of silently stalling every connection of that reactor.
#ifndef KEEL_SQL_CHECK_BLOCKING
#ifdef NDEBUG
#define KEEL_SQL_CHECK_BLOCKING 0
#else
#define KEEL_SQL_CHECK_BLOCKING 1
#endif
#endif

namespace keel {
inline namespace v0 {
namespace sql {
namespace detail {

inline void check_not_on_reactor() {
#if KEEL_SQL_CHECK_BLOCKING
  if (keel::detail::current_reactor() != nullptr)
    throw blocking_call_error(
        "keel::sql: a blocking SQL call ran on a reactor thread; use the co_await API (it runs on the worker "
        "pool), or bind a worker pool to this reactor");
#endif
}

}  // namespace detail

class connection_slots;

// Exclusive use of one connection until destroyed; then it goes to the next waiter.
class connection_lease {
 public:
  connection_lease() = default;
  connection_lease(connection_slots* slots, connection* c) noexcept : slots_(slots), conn_(c) {}
  connection_lease(connection_lease&& o) noexcept
      : slots_(std::exchange(o.slots_, nullptr)), conn_(std::exchange(o.conn_, nullptr)) {}
  connection_lease& operator=(connection_lease&& o) noexcept {
    if (this != &o) {
      release();
      slots_ = std::exchange(o.slots_, nullptr);
      conn_ = std::exchange(o.conn_, nullptr);
    }
    return *this;
  }
  ~connection_lease() { release(); }

  connection& operator*() const noexcept { return *conn_; }
  connection* operator->() const noexcept { return conn_; }
  connection* get() const noexcept { return conn_; }
  explicit operator bool() const noexcept { return conn_ != nullptr; }
  inline void release() noexcept;

 private:
  connection_slots* slots_ = nullptr;
  connection* conn_ = nullptr;
};

// A set of interchangeable connections (SQLite's readers, its one writer, PostgreSQL's pool).
class connection_slots {
  using tracked_executor = decltype(asio::prefer(std::declval<asio::io_context::executor_type>(),
                                                 asio::execution::outstanding_work.tracked));

  struct waiter {
    std::coroutine_handle<> handle;
    std::optional<tracked_executor> home;  // the reactor to resume on; none: resume on the releasing thread
    connection* given = nullptr;
  };

 public:
  connection_slots() = default;
  connection_slots(const connection_slots&) = delete;
  connection_slots& operator=(const connection_slots&) = delete;

  void add(connection* c) {
    std::lock_guard lock(mutex_);
    free_.push_back(c);
    ++total_;
  }
  // Connections in the pool, idle ones, and callers waiting for one, read together (for keel::metrics).
  struct usage_counts {
    std::size_t total = 0, idle = 0, waiting = 0;
  };
  usage_counts usage() const {
    std::lock_guard lock(mutex_);
    return {total_, free_.size(), waiters_.size() + static_cast<std::size_t>(blocked_)};
  }
  std::size_t size_hint() const {
    std::lock_guard lock(mutex_);
    return free_.size();
  }

  // How many co_await acquire() calls may wait at once. One more is refused at once: a request gets 503
  // with Retry-After (an sql::busy_error turned into an http_error) instead of queueing without bound.
  void set_wait_limit(std::size_t n) {
    std::lock_guard lock(mutex_);
    wait_limit_ = n;
  }
  std::size_t waiting() const {
    std::lock_guard lock(mutex_);
    return waiters_.size();
  }

  // co_await slots.acquire(): a lease, suspending (not blocking) while all connections are in use. When
  // wait_limit() callers already wait, it throws the 503 http_error (its nested sql::busy_error says why).
  auto acquire() {
    struct awaiter {
      connection_slots& slots;
      waiter self{};
      bool refused = false;
      bool await_ready() {
        std::lock_guard lock(slots.mutex_);
        if (slots.free_.empty()) {
          refused = slots.waiters_.size() >= slots.wait_limit_;
          return refused;
        }
        self.given = slots.free_.back();
        slots.free_.pop_back();
        return true;
      }
      bool await_suspend(std::coroutine_handle<> h) {
        std::lock_guard lock(slots.mutex_);
        if (!slots.free_.empty()) {
          self.given = slots.free_.back();
          slots.free_.pop_back();
          return false;
        }
        if (slots.waiters_.size() >= slots.wait_limit_) {
          refused = true;
          return false;
        }
        self.handle = h;
        if (asio::io_context* reactor = keel::detail::current_reactor())
          self.home.emplace(asio::prefer(reactor->get_executor(), asio::execution::outstanding_work.tracked));
        slots.waiters_.push_back(&self);
        return true;
      }
      connection_lease await_resume() {
        if (KEEL_UNLIKELY(refused)) refuse(slots.wait_limit_);
        return connection_lease(&slots, self.given);
      }
    };
    return awaiter{*this};
  }

  // Blocks the calling thread until a connection is free (start-up code, tests, the worker pool).
  connection_lease acquire_blocking() {
    std::unique_lock lock(mutex_);
    ++blocked_;
    available_.wait(lock, [&] { return !free_.empty(); });
    --blocked_;
    connection* c = free_.back();
    free_.pop_back();
    return connection_lease(this, c);
  }

  void give_back(connection* c) noexcept {
    std::unique_lock lock(mutex_);
    if (!waiters_.empty()) {
      waiter* next = waiters_.front();
      waiters_.pop_front();
      lock.unlock();
      next->given = c;
      if (next->home) {
        auto home = std::move(*next->home);
        asio::post(home, [h = next->handle] { h.resume(); });
      } else {
        next->handle.resume();
      }
      return;
    }
    free_.push_back(c);
    if (blocked_ > 0) available_.notify_one();
  }

 private:
  mutable std::mutex mutex_;
  std::condition_variable available_;
  std::vector<connection*> free_;
  std::deque<waiter*> waiters_;
  std::size_t wait_limit_ = default_wait_limit;
  int blocked_ = 0;
  std::size_t total_ = 0;

 public:
  static constexpr std::size_t default_wait_limit = 1024;

 private:
  [[noreturn]] static void refuse(std::size_t limit) {
    try {
      throw busy_error("keel::sql: every connection is in use and " + std::to_string(limit) +
                       " requests already wait for one (db_options::max_waiting)");
    } catch (const busy_error&) {
      detail::rethrow_for_request();
    }
  }
};

inline void connection_lease::release() noexcept {
  if (conn_ != nullptr && slots_ != nullptr) slots_->give_back(conn_);
  conn_ = nullptr;
  slots_ = nullptr;
}

}  // namespace sql
}  // namespace v0
}  // namespace keel
