// run_task: drives a keel::task on an io_context the test owns until it finishes; its value, or its exception
// rethrown. For the outgoing clients (keel::http_client, keel::smtp_client) in tests.
#pragma once

#include "keel/task.hpp"

#include <asio/io_context.hpp>

#include <exception>
#include <optional>
#include <utility>

namespace keel_test {

template <class T>
T run_task(asio::io_context& io, keel::task<T> t) {
  std::optional<keel::detail::task_result<T>> out;
  keel::detail::start_detached(std::move(t),
                               [&](keel::detail::task_result<T>&& r) { out.emplace(std::move(r)); });
  io.restart();
  while (!out) io.run_one();
  if (out->exception) std::rethrow_exception(out->exception);
  if constexpr (!std::is_void_v<T>) return std::move(*out->value);
}

}  // namespace keel_test
