// keel::redis::io_thread: an io_context with a thread of its own for Redis connections, so a keel app can
// share one client between all its reactors: a coroutine awaiting a command resumes on its own reactor.
#pragma once

#include "keel/config.hpp"

#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>

#include <thread>

namespace keel {
inline namespace v0 {
namespace redis {

class io_thread {
 public:
  io_thread() : work_(asio::make_work_guard(io_)), thread_([this] { io_.run(); }) {}
  io_thread(const io_thread&) = delete;
  io_thread& operator=(const io_thread&) = delete;
  // Destroy the clients and subscribers on it first: their close() is what lets the thread finish (it runs
  // until no connection, timer or posted work is left).
  ~io_thread() {
    work_.reset();
    thread_.join();
  }

  asio::io_context& context() noexcept { return io_; }

 private:
  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> work_;
  std::thread thread_;
};

}  // namespace redis
}  // namespace v0
}  // namespace keel
