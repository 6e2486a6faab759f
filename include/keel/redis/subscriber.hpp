// keel::redis::subscriber: a pub/sub connection. It remembers its channels and patterns and subscribes to
// them again after every reconnect (a Redis restart, a dropped connection), so a subscription lasts until
// unsubscribed. Messages arrive through on_message (a callback) or co_await next() (a stream).
#pragma once

#include "keel/config.hpp"
#include "keel/redis/config.hpp"
#include "keel/redis/detail/link.hpp"
#include "keel/redis/reply.hpp"
#include "keel/server/reactor.hpp"

#include <asio/dispatch.hpp>
#include <asio/post.hpp>
#include <asio/io_context.hpp>

#include <coroutine>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

namespace keel {
inline namespace v0 {
namespace redis {
namespace detail {

// Awaits the server's confirmation of one SUBSCRIBE / PSUBSCRIBE / UNSUBSCRIBE / PUNSUBSCRIBE.
class subscription_awaiter {
 public:
  subscription_awaiter(std::shared_ptr<link> l, std::string_view verb, std::string name)
      : link_(std::move(l)), verb_(verb) {
    w_.confirm_name = std::move(name);
  }
  subscription_awaiter(const subscription_awaiter&) = delete;
  subscription_awaiter& operator=(const subscription_awaiter&) = delete;

  bool await_ready() const noexcept { return false; }
  bool await_suspend(std::coroutine_handle<> h) {
    w_.handle = h;
    w_.home = ::keel::detail::current_reactor();
    w_.request.assign(verb_);  // carried to the link's thread with the waiter
    return link_->submit(&w_, [](link& l, waiter* w) {
      std::string name = w->confirm_name;
      l.change_subscription(w->request, std::move(name), w);
    });
  }
  void await_resume() const {
    if (w_.error) std::rethrow_exception(w_.error);
  }

 private:
  std::shared_ptr<link> link_;
  std::string_view verb_;
  waiter w_;
};

class message_awaiter {
 public:
  explicit message_awaiter(std::shared_ptr<link> l) : link_(std::move(l)) { w_.into = &message_; }
  message_awaiter(const message_awaiter&) = delete;
  message_awaiter& operator=(const message_awaiter&) = delete;

  bool await_ready() const noexcept { return false; }
  bool await_suspend(std::coroutine_handle<> h) {
    w_.handle = h;
    w_.home = ::keel::detail::current_reactor();
    return link_->submit(&w_, &link::accept_next);
  }
  message await_resume() {
    if (w_.error) std::rethrow_exception(w_.error);
    return std::move(message_);
  }

 private:
  std::shared_ptr<link> link_;
  waiter w_;
  message message_;
};

}  // namespace detail

class subscriber {
 public:
  // Connects to `cfg` on `io` (see client); messages are handled on that io_context's thread.
  subscriber(asio::io_context& io, config cfg)
      : link_(std::make_shared<detail::link>(io, std::move(cfg), detail::link::mode::pubsub)) {
    link_->start();
  }
  subscriber(asio::io_context& io, std::string_view url) : subscriber(io, parse_url(url)) {}
  subscriber(const subscriber&) = delete;
  subscriber& operator=(const subscriber&) = delete;
  ~subscriber() { link_->close(); }

  // Every message of every channel and pattern, on the io_context's thread, in the order Redis sent them.
  // Set it before the first subscribe (it replaces next()). The message's strings may be moved from.
  template <class F>
  void on_message(F handler) {
    asio::dispatch(link_->io(),
                   [l = link_, h = std::move(handler)]() mutable { l->on_message = std::move(h); });
  }
  // Called on the io_context's thread each time the connection is (re)established, right after the
  // subscriptions were sent again. Messages published while it was down are lost (pub/sub is at most once):
  // this is the place to re-read state a message would have changed.
  template <class F>
  void on_connect(F handler) {
    asio::dispatch(link_->io(),
                   [l = link_, h = std::move(handler)]() mutable { l->on_connect = std::move(h); });
  }

  // Each resumes once Redis confirmed; throws redis::error after command_timeout without confirmation (the
  // channel stays wanted: it is subscribed when the connection comes back). unsubscribe() while
  // disconnected returns at once.
  [[nodiscard]] detail::subscription_awaiter subscribe(std::string_view channel) {
    return {link_, "SUBSCRIBE", std::string(channel)};
  }
  [[nodiscard]] detail::subscription_awaiter unsubscribe(std::string_view channel) {
    return {link_, "UNSUBSCRIBE", std::string(channel)};
  }
  // Glob patterns, as Redis matches them: news.* , user:[0-9]* ...
  [[nodiscard]] detail::subscription_awaiter psubscribe(std::string_view pattern) {
    return {link_, "PSUBSCRIBE", std::string(pattern)};
  }
  [[nodiscard]] detail::subscription_awaiter punsubscribe(std::string_view pattern) {
    return {link_, "PUNSUBSCRIBE", std::string(pattern)};
  }

  // The same without waiting for the confirmation, from any thread, never blocking (for callers that cannot
  // await: a keel::hub backend's subscribe/unsubscribe, called under the hub's lock). The wanted set
  // changes as with the awaitables: a channel stays subscribed across reconnects until removed.
  void subscribe_detached(std::string_view channel) { change_detached("SUBSCRIBE", channel); }
  void unsubscribe_detached(std::string_view channel) { change_detached("UNSUBSCRIBE", channel); }
  void psubscribe_detached(std::string_view pattern) { change_detached("PSUBSCRIBE", pattern); }
  void punsubscribe_detached(std::string_view pattern) { change_detached("PUNSUBSCRIBE", pattern); }

  // Without an on_message handler: the next message (buffered ones first). One next() at a time.
  [[nodiscard]] detail::message_awaiter next() { return detail::message_awaiter(link_); }

  bool connected() const noexcept { return link_->connected(); }
  void close() { link_->close(); }

 private:
  void change_detached(std::string_view verb, std::string_view name) {
    asio::post(link_->io(), [l = link_, verb, n = std::string(name)]() mutable {
      l->change_subscription(verb, std::move(n), nullptr);
    });
  }

  std::shared_ptr<detail::link> link_;
};

}  // namespace redis
}  // namespace v0
}  // namespace keel
