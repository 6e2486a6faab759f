// keel::detail::shutdown_signals: turns SIGINT/SIGTERM into a call on a reactor thread.
#pragma once

#include "keel/config.hpp"

#include <asio/io_context.hpp>
#include <asio/signal_set.hpp>

#include <csignal>
#include <system_error>

namespace keel {
inline namespace v0 {
namespace detail {

// Asio delivers the signal as an ordinary completion on `reactor`, so the callback may touch server state
// without async-signal-safety concerns.
class shutdown_signals {
 public:
  shutdown_signals(asio::io_context& reactor, void (*on_signal)(void*, int), void* context)
      : signals_(reactor, SIGINT, SIGTERM) {
    signals_.async_wait([on_signal, context](const std::error_code& ec, int signal_number) {
      if (!ec) on_signal(context, signal_number);
    });
  }
  // Stops listening (the pending wait completes as cancelled), so the reactor can run out of work.
  void cancel() {
    std::error_code ignored;
    signals_.cancel(ignored);
  }

 private:
  asio::signal_set signals_;
};

}  // namespace detail
}  // namespace v0
}  // namespace keel
