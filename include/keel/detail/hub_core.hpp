// keel::detail::hub_core: the local half of keel::hub. Topics with a sequence number and a replay buffer,
// subscribers grouped by the reactor thread their connection runs on, and the delivery of one message
// (serialised once, shared by every subscriber) to each reactor that has subscribers of its topic.
//
// Threads: deliver() may run on any thread. It takes the topic's lock, assigns the next sequence number,
// builds the message and posts it, still under the lock, to every reactor with subscribers: each reactor
// runs its part in the order the sequence numbers were assigned. A reactor's subscriber list (a shard) is
// only read and changed on that reactor's thread; subscribers may be dropped from any thread (an atomic
// flag, removed at the next delivery).
#pragma once

#include "keel/config.hpp"
#include "keel/server/reactor.hpp"
#include "keel/sse.hpp"
#include "keel/ws/options.hpp"
#include "keel/ws/websocket.hpp"

#include <asio/io_context.hpp>
#include <asio/post.hpp>
#include <asio/steady_timer.hpp>

#include <atomic>
#include <chrono>
#include <coroutine>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace keel {
inline namespace v0 {

// Turns a published payload into what subscribers receive, given its topic and sequence number (called
// once per message, under the topic's lock). The chat example adds "seq" to its JSON this way.
using hub_stamp = std::string (*)(std::string_view topic, std::uint64_t seq, std::string_view payload);

struct hub_options {
  std::size_t replay = 256;          // messages kept per topic for Last-Event-ID resumption (0: none)
  std::size_t queue_messages = 256;  // per queued (SSE) subscriber; WebSocket ones use their ws_options
  ws_overflow on_overflow = ws_overflow::close;  // queued subscribers: end the stream, or drop the oldest
  std::size_t max_topics = 10'000;               // a new topic beyond this throws std::length_error
  std::string sse_event = "message";             // the `event:` field of the SSE form ("" leaves it out)
  hub_stamp stamp = nullptr;                     // nullptr: subscribers receive the payload as published
};

// One published message, immutable and shared by every subscriber: the payload framed once as a WebSocket
// text frame and once as a server-sent event (`id: <seq>`, `event:`, `data:` lines).
class hub_message {
 public:
  hub_message(std::string_view topic, std::uint64_t seq, std::string_view payload, std::string_view event)
      : seq_(seq), topic_(topic), frame_(ws_frame::text(payload)) {
    const std::string id = std::to_string(seq);
    sse_event ev;
    ev.id = id;
    ev.event = event;
    ev.data = payload;
    append_sse_event(sse_, ev);
  }
  std::uint64_t seq() const noexcept { return seq_; }
  std::string_view topic() const noexcept { return topic_; }
  std::string_view payload() const noexcept {
    const std::string_view b = frame_->bytes();
    return b.substr(b.size() - frame_->payload_size());
  }
  const ws_frame_ptr& frame() const noexcept { return frame_; }
  std::string_view sse() const noexcept { return sse_; }

 private:
  std::uint64_t seq_;
  std::string topic_;
  ws_frame_ptr frame_;
  std::string sse_;
};
using hub_message_ptr = std::shared_ptr<const hub_message>;

namespace detail {

struct hub_topic;

// One subscriber: a WebSocket connection (delivered through its handle, on its thread, under its route's
// send-queue policy) or a queue a coroutine reads (SSE streams).
struct hub_sub {
  std::atomic<bool> active{true};
  std::uint64_t first_seq = 0;  // messages numbered below were published before it subscribed
  hub_topic* topic = nullptr;
  asio::io_context* reactor = nullptr;
  ws_handle ws;
  // --- the queue (its reactor's thread only)
  std::deque<hub_message_ptr> queue;
  std::size_t limit = 0;
  ws_overflow policy = ws_overflow::close;
  bool overflowed = false;  // the close policy ended it
  std::coroutine_handle<> waiter;
  std::optional<asio::steady_timer> timer;
  std::uint64_t wait_gen = 0;

  // Queues `m`; true when a parked reader must be resumed.
  bool push(hub_message_ptr m) {
    if (overflowed) return false;
    if (queue.size() >= limit) {
      if (policy == ws_overflow::close || limit == 0) {
        overflowed = true;
        queue.clear();
        return waiter != nullptr;
      }
      queue.pop_front();
    }
    queue.push_back(std::move(m));
    return waiter != nullptr;
  }
  void wake() {
    if (!waiter) return;
    ++wait_gen;
    if (timer) timer->cancel();
    std::exchange(waiter, nullptr).resume();
  }
};

// The subscribers of one topic on one reactor thread.
struct hub_shard {
  asio::io_context* reactor = nullptr;
  std::size_t count = 0;  // active subscribers (under the topic's lock)
  // Published, not yet delivered (under the topic's lock). A publish posts a delivery only when this was
  // empty: a reactor running behind its publishers takes every waiting message in one pass, and each
  // WebSocket subscriber gets them in one write.
  std::vector<hub_message_ptr> pending;
  std::vector<std::shared_ptr<hub_sub>> subs;  // this reactor's thread only
  std::vector<hub_message_ptr> batch;          // this reactor's thread only: the pass's messages
  std::vector<ws_frame_ptr> frames;            // ... and their frames

  // On the reactor's thread: delivers what is pending.
  void drain(std::mutex& topic_lock) {
    {
      std::lock_guard<std::mutex> lock(topic_lock);
      batch.swap(pending);
    }
    frames.clear();
    for (const hub_message_ptr& m : batch) frames.push_back(m->frame());
    deliver();
    batch.clear();
    frames.clear();
  }

  void deliver() {
    // WebSocket subscribers: the whole batch at once. Queued ones are only noted here.
    bool queued = false;
    std::size_t keep = 0;
    for (std::size_t i = 0; i < subs.size(); ++i) {
      std::shared_ptr<hub_sub>& s = subs[i];
      if (!s->active.load(std::memory_order_acquire)) continue;  // unsubscribed: dropped here
      if (s->ws) {
        std::size_t from = 0;  // the messages published since it subscribed (in sequence order)
        while (from < batch.size() && batch[from]->seq() < s->first_seq) ++from;
        // On this thread: written at once when its queue is empty, else queued (the route's overflow
        // policy applies).
        s->ws.post(std::span<const ws_frame_ptr>(frames).subspan(from));
      } else {
        queued = true;
      }
      if (keep != i) subs[keep] = std::move(s);
      ++keep;
    }
    subs.resize(keep);
    if (!queued) return;
    // Queued subscribers: message by message, each parked reader resumed after each, as if the messages had
    // come one by one (a reader keeping up is not taken for one falling behind).
    std::vector<std::shared_ptr<hub_sub>> to_wake;  // allocates only when a reader is parked
    for (const hub_message_ptr& m : batch) {
      for (std::size_t i = 0; i < subs.size(); ++i) {
        const std::shared_ptr<hub_sub>& s = subs[i];
        if (s->ws || !s->active.load(std::memory_order_acquire) || m->seq() < s->first_seq) continue;
        if (s->push(m)) to_wake.push_back(s);
      }
      // Resumed after the loop: a resumed reader may subscribe again (to this shard) or unsubscribe.
      for (auto& s : to_wake) s->wake();
      to_wake.clear();
    }
  }
};

struct hub_topic {
  std::mutex m;
  std::string name;
  std::uint64_t last_seq = 0;
  std::size_t subscribers = 0;
  std::deque<hub_message_ptr> replay;
  std::vector<std::unique_ptr<hub_shard>> shards;

  hub_shard& shard_for(asio::io_context* reactor) {
    for (auto& s : shards)
      if (s->reactor == reactor) return *s;
    shards.push_back(std::make_unique<hub_shard>());
    shards.back()->reactor = reactor;
    return *shards.back();
  }
};

// What the typed hub wants to hear about (not on the delivery path): a topic got its first local
// subscriber, or lost its last one.
struct hub_listener {
  void* self = nullptr;
  void (*first)(void* self, std::string_view topic) = nullptr;
  void (*last)(void* self, std::string_view topic) = nullptr;
};

class hub_core {
 public:
  explicit hub_core(hub_options o) : opts_(std::move(o)) {}
  hub_core(const hub_core&) = delete;
  hub_core& operator=(const hub_core&) = delete;

  const hub_options& options() const noexcept { return opts_; }
  void set_listener(hub_listener l) noexcept { listener_ = l; }

  // Numbers `payload` within its topic, frames it once and hands it to every subscriber's reactor. Any
  // thread. Returns the sequence number.
  std::uint64_t deliver(std::string_view topic, std::string_view payload) {
    hub_topic& t = find(topic);
    std::lock_guard<std::mutex> lock(t.m);
    const std::uint64_t seq = ++t.last_seq;
    hub_message_ptr msg;
    if (opts_.stamp != nullptr) {
      const std::string stamped = opts_.stamp(topic, seq, payload);
      msg = std::make_shared<const hub_message>(topic, seq, stamped, opts_.sse_event);
    } else {
      msg = std::make_shared<const hub_message>(topic, seq, payload, opts_.sse_event);
    }
    if (opts_.replay > 0) {
      if (t.replay.size() >= opts_.replay) t.replay.pop_front();
      t.replay.push_back(msg);
    }
    for (auto& shard : t.shards) {
      if (shard->count == 0) continue;
      shard->pending.push_back(msg);
      if (shard->pending.size() == 1)
        asio::post(*shard->reactor, [s = shard.get(), lock = &t.m] { s->drain(*lock); });
    }
    return seq;
  }

  // A subscriber on the calling reactor thread. `after`: replay the kept messages numbered above it into
  // the queue (Last-Event-ID).
  std::shared_ptr<hub_sub> subscribe(std::string_view topic, ws_handle ws,
                                     std::optional<std::uint64_t> after) {
    asio::io_context* reactor = current_reactor();
    if (reactor == nullptr) throw std::logic_error("keel::hub: subscribe on a reactor thread (a handler)");
    auto sub = std::make_shared<hub_sub>();
    sub->reactor = reactor;
    sub->ws = std::move(ws);
    sub->limit = opts_.queue_messages;
    sub->policy = opts_.on_overflow;
    hub_topic& t = find(topic);
    sub->topic = &t;
    bool first = false;
    {
      std::lock_guard<std::mutex> lock(t.m);
      sub->first_seq = t.last_seq + 1;
      if (after &&
          !sub->ws) {  // the newest of the kept messages numbered above `after`, at most a queue's worth
        std::size_t skip = 0;
        for (const hub_message_ptr& m : t.replay) skip += m->seq() <= *after;
        const std::size_t wanted = t.replay.size() - skip;
        if (wanted > sub->limit) skip += wanted - sub->limit;
        for (std::size_t i = skip; i < t.replay.size(); ++i) sub->queue.push_back(t.replay[i]);
      }
      hub_shard& shard = t.shard_for(reactor);
      shard.subs.push_back(sub);
      ++shard.count;
      first = t.subscribers++ == 0;
      if (first && listener_.first != nullptr) listener_.first(listener_.self, t.name);
    }
    return sub;
  }

  // Any thread; idempotent.
  void unsubscribe(hub_sub& sub) {
    if (!sub.active.exchange(false, std::memory_order_acq_rel)) return;
    hub_topic& t = *sub.topic;
    std::lock_guard<std::mutex> lock(t.m);
    for (auto& shard : t.shards)
      if (shard->reactor == sub.reactor && --shard->count == 0)
        shard->pending.clear();  // nobody to take them
    if (--t.subscribers == 0 && listener_.last != nullptr) listener_.last(listener_.self, t.name);
  }

  // The last sequence number given out in `topic` (0: none yet).
  std::uint64_t last_seq(std::string_view topic) {
    hub_topic& t = find(topic);
    std::lock_guard<std::mutex> lock(t.m);
    return t.last_seq;
  }
  std::size_t subscribers(std::string_view topic) {
    hub_topic& t = find(topic);
    std::lock_guard<std::mutex> lock(t.m);
    return t.subscribers;
  }

 private:
  hub_topic& find(std::string_view topic) {
    std::lock_guard<std::mutex> lock(m_);
    auto it = topics_.find(topic);
    if (it != topics_.end()) return *it->second;
    if (topics_.size() >= opts_.max_topics) throw std::length_error("keel::hub: too many topics");
    auto t = std::make_unique<hub_topic>();
    t->name.assign(topic);
    hub_topic& ref = *t;
    topics_.emplace(t->name, std::move(t));
    return ref;
  }

  hub_options opts_;
  hub_listener listener_;
  std::mutex m_;
  std::map<std::string, std::unique_ptr<hub_topic>, std::less<>> topics_;
};

}  // namespace detail
}  // namespace v0
}  // namespace keel
