// keel::redis_hub_backend: keel::hub across processes over Redis pub/sub. Every process publishes to and
// subscribes at one Redis, so a message published in any of them reaches the subscribers of all of them.
//
//   keel::basic_hub<keel::redis_hub_backend> rooms(options, "redis://127.0.0.1:6379");
//
// publish(topic, payload) is a PUBLISH of `prefix + topic` on a pipelined client connection (fire and
// forget); the first local subscriber of a topic SUBSCRIBEs to its channel on a subscriber connection, the
// last one leaving UNSUBSCRIBEs. Each message Redis delivers on the subscriber connection is handed to
// hub_local::deliver once, on the connection's thread, in the order Redis sent it: every process sees one
// topic's messages in the same order. Pub/sub is at most once: what is published while the publishing
// connection is down, or while a subscriber connection is down, is lost (docs/realtime.md).
#pragma once

#include "keel/config.hpp"
#include "keel/hub.hpp"
#include "keel/redis/client.hpp"
#include "keel/redis/config.hpp"
#include "keel/redis/io_thread.hpp"
#include "keel/redis/subscriber.hpp"

#include <asio/io_context.hpp>

#include <atomic>
#include <cstdint>
#include <exception>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>

namespace keel {
inline namespace v0 {
namespace detail {

// What the subscriber's message handler reaches: the hub's local side until the backend goes (the handler
// runs on the connection's thread and may outlive the backend by a moment when that io_context is not ours).
struct redis_hub_gate {
  std::mutex m;
  hub_local* local = nullptr;
  std::string prefix;
  std::atomic<std::uint64_t> undelivered{0};

  void on_message(redis::message& msg) {
    if (!msg.pattern.empty() || !std::string_view(msg.channel).starts_with(prefix)) return;
    const std::string_view topic = std::string_view(msg.channel).substr(prefix.size());
    std::lock_guard<std::mutex> lock(m);
    if (local == nullptr) return;
    try {
      local->deliver(topic, msg.payload);
    } catch (const std::exception&) {  // hub_options::max_topics reached: not this process's topic
      undelivered.fetch_add(1, std::memory_order_relaxed);
    }
  }
};

}  // namespace detail

class redis_hub_backend {
 public:
  static constexpr std::string_view default_prefix = "keel:hub:";

  // Connections on an io_thread of the backend's own: redis://[[user]:password@]host[:port][/db].
  explicit redis_hub_backend(std::string_view url, std::string prefix = std::string(default_prefix))
      : redis_hub_backend(redis::parse_url(url), std::move(prefix)) {}
  explicit redis_hub_backend(redis::config cfg, std::string prefix = std::string(default_prefix))
      : own_io_(std::make_unique<redis::io_thread>()),
        publisher_(own_io_->context(), cfg),
        subscriber_(own_io_->context(), std::move(cfg)) {
    wire(std::move(prefix));
  }
  // Connections on `io` (a thread of yours runs it; it must outlive the backend).
  redis_hub_backend(asio::io_context& io, redis::config cfg, std::string prefix = std::string(default_prefix))
      : publisher_(io, cfg), subscriber_(io, std::move(cfg)) {
    wire(std::move(prefix));
  }
  redis_hub_backend(const redis_hub_backend&) = delete;
  redis_hub_backend& operator=(const redis_hub_backend&) = delete;
  ~redis_hub_backend() {
    std::lock_guard<std::mutex> lock(gate_->m);
    gate_->local = nullptr;
  }

  // --- keel::hub_backend
  void attach(hub_local& local) {
    std::lock_guard<std::mutex> lock(gate_->m);
    gate_->local = &local;
  }
  // Any thread. 0: the message is numbered when it comes back from Redis (in every process subscribed).
  std::uint64_t publish(std::string_view topic, std::string_view payload) {
    publisher_.send("PUBLISH", channel(topic), payload);
    return 0;
  }
  void subscribe(std::string_view topic) { subscriber_.subscribe_detached(channel(topic)); }
  void unsubscribe(std::string_view topic) { subscriber_.unsubscribe_detached(channel(topic)); }

  // The Redis channel of `topic`: the prefix, then the topic.
  std::string channel(std::string_view topic) const {
    std::string c;
    c.reserve(gate_->prefix.size() + topic.size());
    c.append(gate_->prefix).append(topic);
    return c;
  }
  std::string_view prefix() const noexcept { return gate_->prefix; }
  // The connections, e.g. co_await rooms.backend().client().ping() waits until publishing can work.
  redis::client& client() noexcept { return publisher_; }
  redis::subscriber& subscriber() noexcept { return subscriber_; }
  // Messages received for a topic this process could not open (hub_options::max_topics).
  std::uint64_t undelivered() const noexcept { return gate_->undelivered.load(std::memory_order_relaxed); }

 private:
  void wire(std::string prefix) {
    gate_->prefix = std::move(prefix);
    subscriber_.on_message([g = gate_](redis::message& m) { g->on_message(m); });
  }

  std::shared_ptr<detail::redis_hub_gate> gate_ = std::make_shared<detail::redis_hub_gate>();
  std::unique_ptr<redis::io_thread> own_io_;  // before the connections: stopped after them
  redis::client publisher_;
  redis::subscriber subscriber_;
};

static_assert(hub_backend<redis_hub_backend>);

}  // namespace v0
}  // namespace keel
