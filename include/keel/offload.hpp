// keel::offload / keel::sleep_for: awaitables that leave the reactor thread (or wait on it) without blocking
// it.
#pragma once

#include "keel/config.hpp"
#include "keel/detail/handler_memory.hpp"
#include "keel/server/reactor.hpp"

#include <asio/execution/outstanding_work.hpp>
#include <asio/post.hpp>
#include <asio/prefer.hpp>
#include <asio/steady_timer.hpp>

#include <chrono>
#include <coroutine>
#include <exception>
#include <functional>
#include <optional>
#include <thread>
#include <tuple>
#include <type_traits>
#include <utility>

namespace keel {
inline namespace v0 {
namespace detail {

template <class F, class... Args>
class offload_awaiter {
 public:
  using result_type = std::remove_cvref_t<std::invoke_result_t<F&, Args&&...>>;

  explicit offload_awaiter(F fn, Args... args) : fn_(std::move(fn)), args_(std::move(args)...) {}
  // On `pool` instead of the reactor's worker pool (nullptr: the reactor's).
  offload_awaiter(worker_pool* pool, F fn, Args... args)
      : pool_(pool), fn_(std::move(fn)), args_(std::move(args)...) {}

  bool await_ready() const noexcept { return false; }

  // Returns false (resume at once) when this thread has no reactor or no pool: then the work simply runs
  // here, which keeps handlers usable from plain unit tests.
  bool await_suspend(std::coroutine_handle<> awaiting) {
    asio::io_context* reactor = current_reactor();
    worker_pool* workers = current_worker_pool();
    if (reactor == nullptr ||
        workers == nullptr) {  // (a dedicated pool too: no reactor, no resumption there)
      run();
      return false;
    }
    // The tracked executor keeps the reactor's run() from returning while the work is out on the pool, so a
    // shutdown cannot strand the coroutine.
    auto home = asio::prefer(reactor->get_executor(), asio::execution::outstanding_work.tracked);
    // Both posts take their memory from this awaiter, which lives in the coroutine frame: asio releases the
    // first before its handler runs, so the second finds the storage free again.
    if (pool_ != nullptr) workers = pool_;
    workers->post(with_memory(post_memory_, [this, awaiting, home = std::move(home)]() mutable {
      run();
      asio::post(home, with_memory(post_memory_, [awaiting] { awaiting.resume(); }));
    }));
    return true;
  }

  result_type await_resume() {
    if (error_) std::rethrow_exception(error_);
    if constexpr (!std::is_void_v<result_type>) return std::move(*result_);
  }

 private:
  void run() noexcept {
    try {
      if constexpr (std::is_void_v<result_type>) {
        std::apply(fn_, std::move(args_));
      } else {
        result_.emplace(std::apply(fn_, std::move(args_)));
      }
    } catch (...) {
      error_ = std::current_exception();
    }
  }

  struct no_value {};
  worker_pool* pool_ = nullptr;
  post_memory post_memory_;
  F fn_;
  [[no_unique_address]] std::tuple<Args...> args_;
  [[no_unique_address]] std::conditional_t<std::is_void_v<result_type>, no_value, std::optional<result_type>>
      result_;
  std::exception_ptr error_;
};

class sleep_awaiter {
 public:
  explicit sleep_awaiter(std::chrono::steady_clock::duration d) : duration_(d) {}
  bool await_ready() const noexcept { return duration_ <= std::chrono::steady_clock::duration::zero(); }
  bool await_suspend(std::coroutine_handle<> awaiting) {
    asio::io_context* reactor = current_reactor();
    if (reactor == nullptr) {
      std::this_thread::sleep_for(duration_);
      return false;
    }
    timer_.emplace(*reactor, duration_);
    timer_->async_wait([awaiting](const std::error_code&) { awaiting.resume(); });
    return true;
  }
  void await_resume() const noexcept {}

 private:
  std::chrono::steady_clock::duration duration_;
  std::optional<asio::steady_timer> timer_;
};

}  // namespace detail

// co_await keel::offload(fn): runs fn() on the worker pool and resumes the awaiting coroutine on the reactor
// thread it was running on, with fn's result (or its exception rethrown). Without a bound reactor and pool
// (see detail::reactor_scope) fn runs inline on the calling thread.
//
// offload(fn, args...) moves args into the awaiter and calls fn(std::move(args)...) on the worker. Prefer it
// over a lambda whose captures own resources written inside the co_await expression: g++ 12 destroys such a
// closure twice (a double free; GCC's coroutine temporaries bug, fixed in later releases). Naming the lambda
// first (`auto work = [s = std::move(s)] {...}; co_await keel::offload(std::move(work));`) also avoids it.
template <class F, class... Args>
requires std::is_invocable_v < std::decay_t<F>
&, std::decay_t<Args>&&... > [[nodiscard]] auto offload(F&& fn, Args&&... args) {
  return detail::offload_awaiter<std::decay_t<F>, std::decay_t<Args>...>(std::forward<F>(fn),
                                                                         std::forward<Args>(args)...);
}

namespace detail {
// co_await offload_on(pool, fn): keel::offload on a given pool (nullptr: the reactor's worker pool).
// keel::sql runs a PostgreSQL connection's statements on a thread of its own this way.
template <class F>
[[nodiscard]] auto offload_on(worker_pool* pool, F&& fn) {
  return offload_awaiter<std::decay_t<F>>(pool, std::forward<F>(fn));
}
}  // namespace detail

// co_await keel::sleep_for(d): suspends for d on the current reactor's timer queue (blocks when there is
// none).
template <class Rep, class Period>
[[nodiscard]] detail::sleep_awaiter sleep_for(std::chrono::duration<Rep, Period> d) {
  return detail::sleep_awaiter(std::chrono::duration_cast<std::chrono::steady_clock::duration>(d));
}

}  // namespace v0
}  // namespace keel
