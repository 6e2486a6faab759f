// detail::single_flight: at most one computation per key at a time. The first miss computes; concurrent
// misses of the same key (from any reactor) wait for its result instead of computing again.
#pragma once

#include "keel/config.hpp"
#include "keel/server/reactor.hpp"

#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>
#include <asio/post.hpp>

#include <coroutine>
#include <exception>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace keel {
inline namespace v0 {
namespace cache {
namespace detail {

struct flight {
  struct follower {
    std::coroutine_handle<> handle;
    asio::io_context* home = nullptr;
    // Keeps home's run() from returning while the follower waits (a shutdown cannot strand it).
    std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work;
  };
  std::vector<follower> followers;
  bool done = false;
  std::string value;  // the result as JSON
  std::exception_ptr error;
};

class single_flight {
 public:
  // The flight to wait on, or nullptr: the caller leads (it computes, then calls land()).
  std::shared_ptr<flight> join(std::string_view key) {
    std::lock_guard lock(mutex_);
    auto it = flights_.find(std::string(key));
    if (it != flights_.end()) return it->second;
    flights_.emplace(std::string(key), std::make_shared<flight>());
    return nullptr;
  }

  // The leader's result (value JSON or error): wakes every follower on its own reactor.
  void land(std::string_view key, std::string value, std::exception_ptr error) {
    std::shared_ptr<flight> f;
    std::vector<flight::follower> followers;
    {
      std::lock_guard lock(mutex_);
      auto it = flights_.find(std::string(key));
      if (it == flights_.end()) return;
      f = std::move(it->second);
      flights_.erase(it);
      f->value = std::move(value);
      f->error = std::move(error);
      f->done = true;
      followers = std::move(f->followers);
    }
    asio::io_context* here = ::keel::detail::current_reactor();
    for (flight::follower& w : followers) {
      if (w.home != nullptr && w.home != here) {
        asio::post(*w.home, [h = w.handle, work = std::move(w.work)] { h.resume(); });
      } else {
        w.handle.resume();
      }
    }
  }

  // co_await wait(f): resumes once the leader landed (at once if it already has).
  struct waiter {
    single_flight* owner;
    std::shared_ptr<flight> f;
    bool await_ready() const noexcept { return false; }
    bool await_suspend(std::coroutine_handle<> h) {
      std::lock_guard lock(owner->mutex_);
      if (f->done) return false;
      asio::io_context* home = ::keel::detail::current_reactor();
      f->followers.push_back(flight::follower{h, home, std::nullopt});
      if (home != nullptr) f->followers.back().work.emplace(home->get_executor());
      return true;
    }
    // The flight itself, shared: a reference would die with this awaiter (a temporary of the co_await
    // expression) when it held the last reference.
    std::shared_ptr<const flight> await_resume() const {
      if (f->error) std::rethrow_exception(f->error);
      return f;
    }
  };
  waiter wait(std::shared_ptr<flight> f) { return waiter{this, std::move(f)}; }

  std::size_t in_flight() const {
    std::lock_guard lock(mutex_);
    return flights_.size();
  }

 private:
  mutable std::mutex mutex_;
  std::unordered_map<std::string, std::shared_ptr<flight>> flights_;
};

}  // namespace detail
}  // namespace cache
}  // namespace v0
}  // namespace keel
