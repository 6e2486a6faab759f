// keel::upgrade: a responder that takes the connection over for another protocol after its response
// (101 Switching Protocols). The socket (TCP or TLS) is handed to a coroutine that the route names, and never
// returns to HTTP. Connection limits, timeouts and graceful shutdown keep counting and closing it.
//
//   keel::get<"/echo">([](const keel::request_context& ctx) {
//     return keel::upgrade("line-echo", [](keel::upgraded_io& io) -> keel::task<> {
//       char buf[4096];
//       while (std::size_t n = co_await io.read_some(buf)) co_await io.write({buf, n});
//       if (io.stopping()) co_await io.write("bye\n");   // the server is shutting down
//     });
//   })
//
// The protocol object (the lambda and its captures) lives as long as the connection.
#pragma once

#include "keel/config.hpp"
#include "keel/context.hpp"
#include "keel/detail/upgrade_transport.hpp"
#include "keel/error.hpp"
#include "keel/http/status.hpp"
#include "keel/respond.hpp"
#include "keel/task.hpp"

#include <algorithm>
#include <chrono>
#include <coroutine>
#include <cstddef>
#include <cstring>
#include <exception>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <utility>
#include <vector>

namespace keel {
inline namespace v0 {

class upgraded_io;

// The connection, as an upgraded protocol sees it.
class upgraded_io {
 public:
  upgraded_io() = default;
  explicit upgraded_io(detail::upgrade_transport& t) noexcept : t_(&t) {}

  // co_await io.read_some(buffer): the number of bytes read, at least 1; 0 when the peer closed, the read
  // timed out, or the server began shutting down (then stopping() is true: send your goodbye and return).
  [[nodiscard]] auto read_some(std::span<char> into) {
    struct awaiter {
      upgraded_io* io;
      std::span<char> into;
      detail::upgrade_op op{};
      bool await_ready() {
        detail::upgrade_transport& t = *io->t_;
        if (t.closed || t.stopping || into.empty()) return true;
        if (!t.leftover.empty()) {
          op.bytes = std::min(into.size(), t.leftover.size());
          std::memcpy(into.data(), t.leftover.data(), op.bytes);
          t.leftover.erase(0, op.bytes);
          return true;
        }
        return false;
      }
      void await_suspend(std::coroutine_handle<> h) {
        op.waiter = h;
        io->t_->read(io->t_->connection, into, op);
      }
      std::size_t await_resume() const noexcept { return op.error ? 0 : op.bytes; }
    };
    return awaiter{this, into};
  }
  template <std::size_t N>
  [[nodiscard]] auto read_some(char (&buffer)[N]) {
    return read_some(std::span<char>(buffer, N));
  }

  // co_await io.write(bytes): writes all of `bytes`; throws keel::stream_closed when the connection is gone.
  [[nodiscard]] auto write(std::string_view bytes) {
    struct awaiter {
      upgraded_io* io;
      std::string_view bytes;
      detail::upgrade_op op{};
      bool await_ready() const noexcept { return io->t_->closed || bytes.empty(); }
      void await_suspend(std::coroutine_handle<> h) {
        op.waiter = h;
        io->t_->write(io->t_->connection, bytes, op);
      }
      void await_resume() const {
        if (io->t_->closed || op.error) throw stream_closed();
      }
    };
    return awaiter{this, bytes};
  }

  // Graceful shutdown began: reads return 0; write a goodbye and return (the server waits up to its
  // shutdown deadline, then closes the socket).
  bool stopping() const noexcept { return t_->stopping; }
  bool closed() const noexcept { return t_->closed; }
  // How long a read may wait for the peer (default: the server's idle timeout).
  void set_read_timeout(std::chrono::milliseconds t) noexcept { t_->read_timeout = t; }
  // The connection's transport itself, for protocols keel builds on this one (WebSocket reads on through a
  // shutdown to finish its close handshake).
  detail::upgrade_transport& transport() const noexcept { return *t_; }

 private:
  detail::upgrade_transport* t_ = nullptr;
};

namespace detail {
// A protocol whose `owns_request` (a static constant or a member) is true copied everything it keeps out of
// its upgrade request (keel::ws does): its connection's HTTP session is free once the 101 is written. Any
// other protocol may hold views into the request, which then stays as long as the connection.
template <class F>
bool protocol_owns_request(const F& f) noexcept {
  if constexpr (requires { static_cast<bool>(f.owns_request); }) {
    return static_cast<bool>(f.owns_request);
  } else {
    return false;
  }
}

template <class F>
struct upgrade_protocol {
  F run;
  upgraded_io io;
  static void destroy(void* self) { delete static_cast<upgrade_protocol*>(self); }
  // Starts the protocol's task; the transport's done() is called when it finishes, however it finishes.
  static void* start(void* self, void* transport) {
    auto* p = static_cast<upgrade_protocol*>(self);
    auto* t = static_cast<upgrade_transport*>(transport);
    p->io = upgraded_io(*t);
    start_detached(p->run(p->io), [t](task_result<void>&&) { t->done(t->connection); });
    return nullptr;
  }
};
}  // namespace detail

// Answer 101 Switching Protocols with `Upgrade: <protocol>` and hand the connection to `run`, a callable
// taking keel::upgraded_io& and returning keel::task<void>.
template <class F>
class upgrade {
 public:
  static_assert(std::is_same_v<std::invoke_result_t<F&, upgraded_io&>, task<void>>,
                "keel::upgrade: the protocol must be callable as `keel::task<void>(keel::upgraded_io&)`");

  upgrade(std::string_view protocol, F run) : protocol_(protocol), run_(std::move(run)) {}
  // Another header on the 101 response (Sec-WebSocket-Accept ...).
  upgrade& header(std::string_view name, std::string_view value) {
    headers_.emplace_back(std::string(name), std::string(value));
    return *this;
  }

 private:
  friend struct responder<upgrade>;
  std::string protocol_;
  F run_;
  std::vector<std::pair<std::string, std::string>> headers_;
};

template <class F>
struct responder<upgrade<F>> {
  static void respond(request_context& ctx, upgrade<F>&& u) {
    keel::response& res = ctx.response();
    res.status(http::status::switching_protocols).header("Upgrade", u.protocol_);
    for (const auto& [name, value] : u.headers_) res.header(name, value);
    detail::upgrade_slot& slot = detail::context_access::upgrade(ctx);
    slot.reset();
    const bool owns_request = detail::protocol_owns_request(u.run_);
    slot.protocol = new detail::upgrade_protocol<F>{std::move(u.run_), upgraded_io{}};
    slot.destroy = &detail::upgrade_protocol<F>::destroy;
    slot.start = &detail::upgrade_protocol<F>::start;
    slot.owns_request = owns_request;
    detail::context_access::set_kind(ctx, detail::body_kind::upgrade);
  }
};

}  // namespace v0
}  // namespace keel
