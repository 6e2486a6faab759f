// keel::detail::current_reactor / current_worker_pool: which io_context and pool this thread serves.
#pragma once

#include "keel/config.hpp"
#include "keel/server/worker_pool.hpp"

#include <asio/io_context.hpp>

namespace keel {
inline namespace v0 {
namespace detail {

struct reactor_binding {
  asio::io_context* reactor = nullptr;
  worker_pool* workers = nullptr;
  const bool* shutting_down = nullptr;  // the server's flag for this reactor, set when shutdown begins
};

inline reactor_binding& current_binding() noexcept {
  thread_local reactor_binding binding;
  return binding;
}

// The io_context this thread runs (a reactor thread, or a test driving one by hand); nullptr elsewhere.
inline asio::io_context* current_reactor() noexcept { return current_binding().reactor; }
// The pool keel::offload sends work to from this thread; nullptr when none was bound.
inline worker_pool* current_worker_pool() noexcept { return current_binding().workers; }

// Whether the server running this reactor thread began its graceful shutdown (false off reactor threads).
inline bool reactor_shutting_down() noexcept {
  const bool* flag = current_binding().shutting_down;
  return flag != nullptr && *flag;
}

// Binds a reactor (and optionally a worker pool) to the current thread for the scope's lifetime; nests.
class reactor_scope {
 public:
  explicit reactor_scope(asio::io_context& reactor, worker_pool* workers = nullptr,
                         const bool* shutting_down = nullptr) noexcept
      : previous_(current_binding()) {
    current_binding() = reactor_binding{&reactor, workers, shutting_down};
  }
  reactor_scope(const reactor_scope&) = delete;
  reactor_scope& operator=(const reactor_scope&) = delete;
  ~reactor_scope() { current_binding() = previous_; }

 private:
  reactor_binding previous_;
};

}  // namespace detail
}  // namespace v0
}  // namespace keel
