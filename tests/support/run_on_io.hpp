// Runs a keel::task to completion on an io_context bound as this thread's reactor (timers, sockets and
// keel::sleep_for work), for at most `limit`; rethrows what the task threw.
#pragma once

#include "keel/server/reactor.hpp"
#include "keel/task.hpp"

#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>

#include <chrono>
#include <exception>
#include <stdexcept>

namespace keel_test_support {

template <class T>
T run_on(asio::io_context& io, keel::task<T> t, std::chrono::seconds limit = std::chrono::seconds(60)) {
  keel::detail::reactor_scope scope(io);
  keel::detail::task_result<T> out;
  bool done = false;
  keel::detail::start_detached(std::move(t), [&](keel::detail::task_result<T>&& r) {
    out = std::move(r);
    done = true;
  });
  const auto give_up = std::chrono::steady_clock::now() + limit;
  io.restart();
  // Kept running while the task waits for work posted from other threads.
  auto work = asio::make_work_guard(io);
  while (!done && std::chrono::steady_clock::now() < give_up) io.run_one_for(std::chrono::milliseconds(50));
  if (!done) throw std::runtime_error("run_on: the task did not finish in time");
  if (out.exception) std::rethrow_exception(out.exception);
  if constexpr (!std::is_void_v<T>) return std::move(*out.value);
}

}  // namespace keel_test_support
