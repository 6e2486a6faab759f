// keel::task<T>: the lazy coroutine type handlers return, plus the detached starter the pipeline uses.
#pragma once

#include "keel/config.hpp"
#include "keel/detail/frame_allocator.hpp"

#include <coroutine>
#include <exception>
#include <optional>
#include <type_traits>
#include <utility>

namespace keel {
inline namespace v0 {

template <class T = void>
class task;

namespace detail {

// Resumes whoever awaited the finished task by symmetric transfer, so a long chain of co_awaits that
// complete synchronously does not grow the stack.
struct final_transfer {
  bool await_ready() const noexcept { return false; }
  template <class Promise>
  std::coroutine_handle<> await_suspend(std::coroutine_handle<Promise> finished) noexcept {
    if (auto next = finished.promise().continuation) return next;
    return std::noop_coroutine();
  }
  void await_resume() const noexcept {}
};

struct task_promise_base : recycled_frame {
  std::coroutine_handle<> continuation;
  std::exception_ptr exception;

  std::suspend_always initial_suspend() const noexcept { return {}; }
  final_transfer final_suspend() const noexcept { return {}; }
  void unhandled_exception() noexcept { exception = std::current_exception(); }
};

template <class T>
struct task_promise : task_promise_base {
  std::optional<T> value;
  task<T> get_return_object() noexcept;
  // By value, so `co_return {a, b};` works for aggregates; costs one move.
  void return_value(T v) { value.emplace(std::move(v)); }
  T take() {
    if (exception) std::rethrow_exception(exception);
    return std::move(*value);
  }
};

template <>
struct task_promise<void> : task_promise_base {
  task<void> get_return_object() noexcept;
  void return_void() const noexcept {}
  void take() const {
    if (exception) std::rethrow_exception(exception);
  }
};

}  // namespace detail

// A task does nothing until it is awaited (or handed to detail::start_detached); it owns its frame.
template <class T>
class [[nodiscard]] task {
 public:
  using promise_type = detail::task_promise<T>;
  using value_type = T;

  task() noexcept = default;
  explicit task(std::coroutine_handle<promise_type> h) noexcept : handle_(h) {}
  task(task&& other) noexcept : handle_(std::exchange(other.handle_, {})) {}
  task& operator=(task&& other) noexcept {
    if (this != &other) {
      destroy();
      handle_ = std::exchange(other.handle_, {});
    }
    return *this;
  }
  task(const task&) = delete;
  task& operator=(const task&) = delete;
  ~task() { destroy(); }

  bool valid() const noexcept { return static_cast<bool>(handle_); }

  auto operator co_await() && noexcept {
    struct awaiter {
      std::coroutine_handle<promise_type> callee;
      bool await_ready() const noexcept { return !callee || callee.done(); }
      std::coroutine_handle<> await_suspend(std::coroutine_handle<> caller) noexcept {
        callee.promise().continuation = caller;
        return callee;
      }
      T await_resume() { return callee.promise().take(); }
    };
    return awaiter{handle_};
  }

 private:
  void destroy() noexcept {
    if (handle_) handle_.destroy();
    handle_ = {};
  }
  std::coroutine_handle<promise_type> handle_;
};

namespace detail {

template <class T>
task<T> task_promise<T>::get_return_object() noexcept {
  return task<T>{std::coroutine_handle<task_promise<T>>::from_promise(*this)};
}
inline task<void> task_promise<void>::get_return_object() noexcept {
  return task<void>{std::coroutine_handle<task_promise<void>>::from_promise(*this)};
}

template <class T>
struct task_result {
  std::exception_ptr exception;
  std::optional<T> value;
};
template <>
struct task_result<void> {
  std::exception_ptr exception;
};

// A fire-and-forget coroutine: runs at once, frees its own frame when it finishes.
struct detached_coroutine {
  struct promise_type : recycled_frame {
    detached_coroutine get_return_object() const noexcept { return {}; }
    std::suspend_never initial_suspend() const noexcept { return {}; }
    std::suspend_never final_suspend() const noexcept { return {}; }
    void return_void() const noexcept {}
    // `done` must not throw: there is nobody left to tell.
    void unhandled_exception() const noexcept { std::terminate(); }
  };
};

template <class T, class F>
detached_coroutine run_detached(task<T> t, F done) {
  task_result<T> result;
  try {
    if constexpr (std::is_void_v<T>) {
      co_await std::move(t);
    } else {
      result.value.emplace(co_await std::move(t));
    }
  } catch (...) {
    result.exception = std::current_exception();
  }
  t = task<T>{};  // release the callee's frame before reporting, so `done` may start the next task at once
  done(std::move(result));
}

// Starts `t` now on this thread; calls done(task_result<T>&&) when it finishes, on the thread that resumed it
// last (the reactor thread that started it, when it only suspends through keel::offload / keel::sleep_for).
template <class T, class F>
void start_detached(task<T> t, F done) {
  run_detached(std::move(t), std::move(done));
}

}  // namespace detail
}  // namespace v0
}  // namespace keel
