// keel::redis::client: commands over one pipelined connection. Any number of coroutines may await commands
// at once; they are written together and their replies matched in order.
#pragma once

#include "keel/config.hpp"
#include "keel/redis/config.hpp"
#include "keel/redis/detail/link.hpp"
#include "keel/redis/detail/resp.hpp"
#include "keel/redis/reply.hpp"
#include "keel/server/reactor.hpp"

#include <asio/io_context.hpp>

#include <chrono>
#include <coroutine>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace keel {
inline namespace v0 {
namespace redis {

// Commands to send in one write and await together: `b.add("SET", k, v); b.add("GET", k);` then
// `std::vector<reply> r = co_await c.exec(b);` (one reply per command, in order).
class batch {
 public:
  template <detail::command_argument... A>
  batch& add(const A&... args) {
    detail::encode_command(bytes_, args...);
    ++count_;
    return *this;
  }
  std::size_t size() const noexcept { return count_; }
  bool empty() const noexcept { return count_ == 0; }
  void clear() noexcept {
    bytes_.clear();
    count_ = 0;
  }

 private:
  friend class client;
  std::string bytes_;
  std::size_t count_ = 0;
};

namespace detail {

inline void accept_command_waiter(link& l, waiter* w) { link::accept_command(l, w); }

// co_await-ed for one command (or a batch): resumes on the reactor that awaited it, with the reply or a
// redis::error. `Map` turns the reply into what the awaiting coroutine gets.
template <class Map>
class command_awaiter {
 public:
  command_awaiter(std::shared_ptr<link> l, std::string request, std::size_t expected, bool many)
      : link_(std::move(l)) {
    w_.request = std::move(request);
    w_.expected = expected;
    if (many) w_.many = &replies_;
  }
  command_awaiter(const command_awaiter&) = delete;
  command_awaiter& operator=(const command_awaiter&) = delete;

  bool await_ready() const noexcept { return w_.expected == 0; }
  bool await_suspend(std::coroutine_handle<> h) {
    w_.handle = h;
    w_.home = ::keel::detail::current_reactor();
    return link_->submit(&w_, &accept_command_waiter);
  }
  auto await_resume() {
    if (w_.error) std::rethrow_exception(w_.error);
    if constexpr (std::is_invocable_v<Map, std::vector<reply>&&>) {
      return Map{}(std::move(replies_));
    } else {
      return Map{}(std::move(w_.one));
    }
  }

 private:
  std::shared_ptr<link> link_;
  waiter w_;
  std::vector<reply> replies_;
};

struct as_reply {
  reply operator()(reply&& r) const { return std::move(r); }
};
struct as_replies {
  std::vector<reply> operator()(std::vector<reply>&& r) const { return std::move(r); }
};
struct as_optional_string {
  std::optional<std::string> operator()(reply&& r) const {
    r.ok();
    if (r.is_nil()) return std::nullopt;
    return std::move(r.text);
  }
};
struct as_integer {
  std::int64_t operator()(reply&& r) const {
    r.ok();
    if (r.type != reply::kind::integer) throw protocol_error("redis: expected an integer reply");
    return r.integer;
  }
};
struct as_ok {
  void operator()(reply&& r) const { r.ok(); }
};

}  // namespace detail

class client {
 public:
  // Connects to `cfg` on `io` (a keel reactor, or an io_context a thread of yours runs); connecting, writes
  // and replies happen on that io_context's thread. Commands may be awaited from any thread: a coroutine
  // resumes on the reactor it awaited from. Returns at once; commands wait for the connection (up to
  // command_timeout).
  client(asio::io_context& io, config cfg)
      : link_(std::make_shared<detail::link>(io, std::move(cfg), detail::link::mode::commands)) {
    link_->start();
  }
  // redis://[[user]:password@]host[:port][/db]
  client(asio::io_context& io, std::string_view url) : client(io, parse_url(url)) {}
  client(const client&) = delete;
  client& operator=(const client&) = delete;
  ~client() { link_->close(); }

  // co_await c.command("SET", key, value): any mix of string-likes and integers. The reply as the server
  // sent it (an error reply is a reply of kind error; .ok() throws it). Throws redis::error when the
  // connection fails or the timeout passes.
  template <detail::command_argument... A>
  [[nodiscard]] detail::command_awaiter<detail::as_reply> command(const A&... args) {
    return {link_, encoded(args...), 1, false};
  }

  // All of the batch in one write; one reply per command, in order.
  [[nodiscard]] detail::command_awaiter<detail::as_replies> exec(const batch& b) {
    return {link_, b.bytes_, b.count_, true};
  }

  // GET: nullopt for a missing key.
  [[nodiscard]] detail::command_awaiter<detail::as_optional_string> get(std::string_view key) {
    return {link_, encoded("GET", key), 1, false};
  }
  // SET, with PX ttl when ttl > 0.
  [[nodiscard]] detail::command_awaiter<detail::as_ok> set(std::string_view key, std::string_view value,
                                                           std::chrono::milliseconds ttl = {}) {
    std::string r;
    if (ttl.count() > 0) {
      detail::encode_command(r, "SET", key, value, "PX", static_cast<std::int64_t>(ttl.count()));
    } else {
      detail::encode_command(r, "SET", key, value);
    }
    return {link_, std::move(r), 1, false};
  }
  // DEL: how many keys existed.
  [[nodiscard]] detail::command_awaiter<detail::as_integer> del(std::string_view key) {
    return {link_, encoded("DEL", key), 1, false};
  }
  // PUBLISH: how many subscribers received it.
  [[nodiscard]] detail::command_awaiter<detail::as_integer> publish(std::string_view channel,
                                                                    std::string_view payload) {
    return {link_, encoded("PUBLISH", channel, payload), 1, false};
  }
  [[nodiscard]] detail::command_awaiter<detail::as_ok> ping() { return {link_, encoded("PING"), 1, false}; }

  // Fire and forget, from any thread, for callers that cannot await (a keel::hub backend's publish): sent in
  // order with the other commands, the reply dropped. Dropped as well while not connected.
  template <detail::command_argument... A>
  void send(const A&... args) {
    link_->send_detached(encoded(args...));
  }

  // Whether the connection is up right now (read it on the client's io_context thread).
  bool connected() const noexcept { return link_->connected(); }
  const config& settings() const noexcept { return link_->settings(); }
  // Fails every waiting command with redis::error and stops reconnecting. The destructor does it too.
  void close() { link_->close(); }

 private:
  template <class... A>
  static std::string encoded(const A&... args) {
    std::string r;
    detail::encode_command(r, args...);
    return r;
  }

  std::shared_ptr<detail::link> link_;
};

}  // namespace redis
}  // namespace v0
}  // namespace keel
