// keel::hub: publish/subscribe topics (rooms) for WebSocket and server-sent-event subscribers, across reactor
// threads. Include next to <keel.hpp>; it brings <keel/websocket.hpp> and <keel/sse.hpp>.
//
//   keel::ws<"/ws">([](keel::query<join> q, keel::hub& rooms, keel::websocket& ws) -> keel::task<> {
//     keel::hub_subscription sub = rooms.subscribe(q->room, ws);   // delivered through ws's send queue
//     while (auto msg = co_await ws.receive()) rooms.publish(q->room, msg.data);
//   }),
//   keel::get<"/events">([](keel::query<join> q, keel::hub& rooms, keel::event_stream es) -> keel::task<> {
//     keel::task<> t = rooms.stream(q->room, es);   // Last-Event-ID replay, keepalives, ends when the client
//     goes co_await std::move(t);
//   }),
//   // main(): keel::hub rooms; keel::app{api}.provide(rooms).serve(...);   the hub outlives serve()
//   rooms.publish("lobby", R"({"text":"hi"})");   // any thread
//
// A message is numbered within its topic (1, 2, ...) when published, serialised once (a WebSocket frame and
// an SSE event sharing one immutable, reference-counted message) and delivered to each subscriber on its own
// connection's reactor thread, in that order, whatever the kind of subscriber.
//
// The backend seam: keel::basic_hub<Backend> takes where messages travel between publishers and
// subscribers as a type satisfying keel::hub_backend. keel::local_hub_backend (the default) hands a
// published message straight to this process's subscribers; a distributed backend (Redis pub/sub) sends it to
// a bus and hands what comes back from the bus to hub_local::deliver. No virtual call on the way.
#pragma once

#include "keel/config.hpp"
#include "keel/detail/hub_core.hpp"
#include "keel/sse.hpp"
#include "keel/task.hpp"
#include "keel/websocket.hpp"

#include <asio/steady_timer.hpp>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <concepts>
#include <coroutine>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>

namespace keel {
inline namespace v0 {

// This process's subscribers, as a backend sees them: `deliver(topic, payload)` (any thread) numbers the
// message in its topic, serialises it once and hands it to every local subscriber; it returns the number.
using hub_local = detail::hub_core;

// What keel::basic_hub needs from a backend. Every member is called by the hub:
//   b.attach(local)          once, from the hub's constructor, before anything else; `local` outlives the
//                            backend's use of it (the hub owns both; the backend is destroyed first)
//   b.publish(topic, bytes)  from any thread, for hub.publish(): get the message to every hub on the bus,
//                            this one included, each calling local.deliver(topic, bytes) exactly once, in the
//                            bus's order. Returns the local sequence number when it delivered synchronously,
//                            0 when delivery happens later (an asynchronous bus).
//   b.subscribe(topic)       the topic got its first subscriber in this process: start receiving it
//   b.unsubscribe(topic)     its last subscriber left: stop receiving it
// subscribe/unsubscribe run under the topic's lock, from any thread: they must not block (queue the
// command) nor call back into the hub. The views are valid for the call only.
template <class B>
concept hub_backend = requires(B& b, hub_local& local, std::string_view topic, std::string_view payload) {
  b.attach(local);
  { b.publish(topic, payload) } -> std::convertible_to<std::uint64_t>;
  b.subscribe(topic);
  b.unsubscribe(topic);
};

// One process, no bus: publishing delivers at once.
class local_hub_backend {
 public:
  void attach(hub_local& local) noexcept { local_ = &local; }
  std::uint64_t publish(std::string_view topic, std::string_view payload) {
    return local_->deliver(topic, payload);
  }
  void subscribe(std::string_view) noexcept {}
  void unsubscribe(std::string_view) noexcept {}

 private:
  hub_local* local_ = nullptr;
};

// A subscription; unsubscribes when destroyed (on the thread it was made on: the handler's). For a queued
// subscriber (an SSE stream, or any coroutine), co_await next(timeout) takes the messages one by one.
class hub_subscription {
 public:
  using clock = std::chrono::steady_clock;

  hub_subscription() = default;
  hub_subscription(hub_local* core, std::shared_ptr<detail::hub_sub> sub) noexcept
      : core_(core), sub_(std::move(sub)) {}
  hub_subscription(hub_subscription&& o) noexcept : core_(o.core_), sub_(std::move(o.sub_)) {}
  hub_subscription& operator=(hub_subscription&& o) noexcept {
    if (this != &o) {
      reset();
      core_ = o.core_;
      sub_ = std::move(o.sub_);
    }
    return *this;
  }
  ~hub_subscription() { reset(); }

  // co_await sub.next(timeout): the next message (in sequence order), or nullptr when `timeout` passed
  // first or the subscription was closed for falling behind (closed()).
  [[nodiscard]] auto next(clock::duration timeout) {
    struct awaiter {
      const std::shared_ptr<detail::hub_sub>* sub;
      clock::duration timeout;
      bool await_ready() const noexcept {
        const detail::hub_sub& s = **sub;
        return !s.queue.empty() || s.overflowed || timeout <= clock::duration::zero();
      }
      void await_suspend(std::coroutine_handle<> h) {
        detail::hub_sub& s = **sub;
        s.waiter = h;
        const std::uint64_t gen = ++s.wait_gen;
        if (!s.timer) s.timer.emplace(*s.reactor);
        s.timer->expires_after(timeout);
        s.timer->async_wait([keep = *sub, gen](const std::error_code&) {
          if (keep->waiter && keep->wait_gen == gen) {
            ++keep->wait_gen;
            std::exchange(keep->waiter, nullptr).resume();
          }
        });
      }
      hub_message_ptr await_resume() const {
        detail::hub_sub& s = **sub;
        if (s.queue.empty() || s.overflowed) return nullptr;
        hub_message_ptr m = std::move(s.queue.front());
        s.queue.pop_front();
        return m;
      }
    };
    return awaiter{&sub_, timeout};
  }
  // Whether the subscriber fell behind under ws_overflow::close (its queue is gone; resubscribe, e.g. the
  // SSE client reconnects with Last-Event-ID).
  bool closed() const noexcept { return sub_ && sub_->overflowed; }
  // Messages waiting in the queue.
  std::size_t queued() const noexcept { return sub_ ? sub_->queue.size() : 0; }
  explicit operator bool() const noexcept { return sub_ != nullptr; }

  void reset() noexcept {
    if (!sub_) return;
    sub_->waiter = nullptr;
    // Gone now, on the reactor's thread: the hub may keep the subscription until a publish prunes it, and it
    // may outlive the reactor (a hub the app provides is destroyed after serve() returned). A pending wait
    // completes with operation_aborted.
    sub_->timer.reset();
    core_->unsubscribe(*sub_);
    sub_.reset();
  }

 private:
  hub_local* core_ = nullptr;
  std::shared_ptr<detail::hub_sub> sub_;
};

namespace detail {
// Last-Event-ID as a sequence number; nothing when it is not one.
inline std::optional<std::uint64_t> parse_event_id(std::string_view id) noexcept {
  std::uint64_t n = 0;
  if (id.empty() || id.size() > 20) return std::nullopt;
  const auto [end, ec] = std::from_chars(id.data(), id.data() + id.size(), n);
  if (ec != std::errc{} || end != id.data() + id.size()) return std::nullopt;
  return n;
}
}  // namespace detail

template <hub_backend Backend = local_hub_backend>
class basic_hub {
 public:
  basic_hub() : basic_hub(hub_options{}) {}
  // `backend_args` construct the backend in place (a backend with a connection need not be movable).
  template <class... A>
  explicit basic_hub(hub_options options, A&&... backend_args)
      : core_(std::move(options)), backend_(std::forward<A>(backend_args)...) {
    core_.set_listener(detail::hub_listener{this, &basic_hub::on_first, &basic_hub::on_last});
    backend_.attach(core_);
  }
  basic_hub(const basic_hub&) = delete;
  basic_hub& operator=(const basic_hub&) = delete;

  // Publishes `payload` (text: a WebSocket text frame, SSE data lines) to `topic`, from any thread. Returns
  // its sequence number (0 with an asynchronous backend). std::length_error past hub_options::max_topics.
  std::uint64_t publish(std::string_view topic, std::string_view payload) {
    return backend_.publish(topic, payload);
  }

  // Delivers `topic` to a WebSocket (call on its handler): messages published from now on join its send
  // queue on its reactor thread, under its route's send_queue_messages / on_overflow policy.
  [[nodiscard]] hub_subscription subscribe(std::string_view topic, websocket& ws) {
    return hub_subscription(&core_, core_.subscribe(topic, ws.handle(), std::nullopt));
  }
  // A queued subscription read with co_await next(...) (on a reactor thread: a handler). With `after`, the
  // kept messages numbered above it come first (the replay buffer, hub_options::replay).
  [[nodiscard]] hub_subscription subscribe(std::string_view topic, std::optional<std::uint64_t> after = {}) {
    return hub_subscription(&core_, core_.subscribe(topic, ws_handle{}, after));
  }

  // Streams `topic` as server-sent events until the client goes: resumes after the client's Last-Event-ID
  // from the replay buffer, writes each message as `id: <seq>`, `event: <hub_options::sse_event>` and its
  // `data:` lines, and a keepalive comment when the stream was quiet for es.keepalive_interval(). Returns
  // when the client is gone (noticed at the next write: a message or a keepalive) or, under
  // ws_overflow::close, when it fell behind (the client reconnects and resumes from its Last-Event-ID).
  task<> stream(std::string topic, event_stream& es) {
    using clock = std::chrono::steady_clock;
    const std::optional<std::uint64_t> after = detail::parse_event_id(es.last_event_id());
    hub_subscription sub = subscribe(topic, after);
    co_await es.comment();  // the head goes out: the client sees the stream open
    for (;;) {
      if (es.closed() || es.stopping()) co_return;
      // Wake at least once a second: a client gone or a shutdown begun ends the loop promptly.
      const clock::duration until_keepalive = es.keepalive_due() - clock::now();
      const clock::duration wait = std::min<clock::duration>(until_keepalive, std::chrono::seconds(1));
      hub_message_ptr m = co_await sub.next(wait);
      if (m) {
        co_await es.write_prepared(m->sse());
        continue;
      }
      if (sub.closed()) co_return;
      if (clock::now() >= es.keepalive_due()) co_await es.keepalive();
    }
  }

  // The last sequence number given out in `topic`, and its subscribers in this process.
  std::uint64_t last_seq(std::string_view topic) { return core_.last_seq(topic); }
  std::size_t subscribers(std::string_view topic) { return core_.subscribers(topic); }
  const hub_options& options() const noexcept { return core_.options(); }
  Backend& backend() noexcept { return backend_; }
  hub_local& local() noexcept { return core_; }

 private:
  static void on_first(void* self, std::string_view topic) {
    static_cast<basic_hub*>(self)->backend_.subscribe(topic);
  }
  static void on_last(void* self, std::string_view topic) {
    static_cast<basic_hub*>(self)->backend_.unsubscribe(topic);
  }

  hub_local core_;
  Backend backend_;  // declared after core_: destroyed first
};

using hub = basic_hub<>;

}  // namespace v0
}  // namespace keel
