// detail::link: one Redis connection on one io_context: connect (resolve, timeout, AUTH, SELECT), pipelined
// writes, in-order reply matching, command timeouts, reconnect with backoff, and the pub/sub mode the
// subscriber uses. Everything but submit() and close() runs on the io_context's thread.
#pragma once

#include "keel/config.hpp"
#include "keel/redis/config.hpp"
#include "keel/redis/detail/resp.hpp"
#include "keel/redis/reply.hpp"
#include "keel/server/reactor.hpp"

#include <asio/connect.hpp>
#include <asio/dispatch.hpp>
#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/post.hpp>
#include <asio/steady_timer.hpp>
#include <asio/write.hpp>

#include <algorithm>
#include <chrono>
#include <coroutine>
#include <cstring>
#include <deque>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace keel {
inline namespace v0 {
namespace redis {

// One pub/sub message: `pattern` is set for a psubscribe match ("pmessage"), empty for a channel message.
struct message {
  std::string channel;
  std::string payload;
  std::string pattern;
};

namespace detail {

using clock = std::chrono::steady_clock;

// A suspended coroutine waiting for replies (a command, a batch, a subscription's confirmation, a message).
// It lives in the awaiting coroutine's frame.
struct waiter {
  std::coroutine_handle<> handle;
  asio::io_context* home = nullptr;  // the reactor to resume on (nullptr or the link's own: resume inline)
  // Keeps `home`'s run() from returning while the waiter is out on the link's thread (as keel::offload does),
  // so a shutdown cannot strand the coroutine.
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> home_work;
  std::exception_ptr error;
  std::string request;       // encoded command(s)
  std::size_t expected = 1;  // replies it takes (a batch: one per command)
  std::vector<reply>* many = nullptr;
  reply one;
  clock::time_point deadline{};
  // pub/sub: the confirmation awaited ("subscribe", "psubscribe", ...) and for what
  std::string_view confirm_kind;
  std::string confirm_name;
  message* into = nullptr;  // subscriber::next(): where the message goes
};

class link : public std::enable_shared_from_this<link> {
 public:
  enum class mode : std::uint8_t { commands, pubsub };

  link(asio::io_context& io, config cfg, mode m)
      : io_(io),
        cfg_(std::move(cfg)),
        mode_(m),
        socket_(io),
        resolver_(io),
        connect_timer_(io),
        reconnect_timer_(io),
        tick_(io),
        backoff_(cfg_.reconnect_min) {}

  link(const link&) = delete;
  link& operator=(const link&) = delete;

  const config& settings() const noexcept { return cfg_; }
  asio::io_context& io() noexcept { return io_; }

  void start() {
    asio::dispatch(io_, [self = shared_from_this()] {
      self->connect();
      self->arm_tick();
    });
  }

  // From any thread. Fails every waiter with redis::error; nothing reconnects afterwards.
  void close() {
    asio::dispatch(io_, [self = shared_from_this()] { self->close_now(); });
  }

  bool on_own_thread() const noexcept { return io_.get_executor().running_in_this_thread(); }

  // Called from a waiter's await_suspend (any thread). Returns false when the waiter finished at once
  // (the link is closed: w->error is set) and must not suspend.
  bool submit(waiter* w, void (*accept)(link&, waiter*)) {
    if (on_own_thread()) {
      if (closed_) {
        w->error = std::make_exception_ptr(error("redis: client closed"));
        return false;
      }
      accept(*this, w);
      return true;
    }
    if (w->home != nullptr) w->home_work.emplace(w->home->get_executor());
    asio::post(io_, [self = shared_from_this(), w, accept] {
      if (self->closed_) return self->fail(w, "redis: client closed");
      accept(*self, w);
    });
    return true;
  }

  // Fire and forget, from any thread: written in order with the other commands, its reply dropped; dropped
  // as well when not connected.
  void send_detached(std::string request) {
    asio::dispatch(io_, [self = shared_from_this(), r = std::move(request)] {
      if (self->closed_ || !self->connected_) return;
      self->raw_.append(r);
      self->inflight_.push_back(pending{nullptr, 1, false});
      self->flush();
    });
  }

  // --- commands mode
  static void accept_command(link& l, waiter* w) {
    w->deadline = clock::now() + l.cfg_.command_timeout;
    l.queued_.push_back(w);
    l.flush();
  }

  // --- pubsub mode
  std::function<void(message&)> on_message;
  std::function<void()> on_connect;

  // Adds or removes a channel / pattern and tells the server when connected; `w` (may be null) waits for
  // the server's confirmation.
  void change_subscription(std::string_view verb, std::string name, waiter* w) {
    const bool pattern = verb.front() == 'P';
    const bool adding = verb.find("UNSUB") == std::string_view::npos;
    std::set<std::string>& set = pattern ? patterns_ : channels_;
    if (adding) {
      set.insert(name);
    } else {
      set.erase(name);
    }
    if (w != nullptr) {
      w->confirm_kind = confirm_kind_of(verb);
      w->confirm_name = name;
      w->deadline = clock::now() + cfg_.command_timeout;
    }
    if (connected_) {
      encode_command(raw_, verb, name);
      if (w != nullptr) confirming_.push_back(w);
      flush();
    } else if (w != nullptr) {
      if (adding) {
        confirming_.push_back(w);  // confirmed once reconnected, or timed out
      } else {
        finish(w);  // nothing on the server to undo: it will not be subscribed again
      }
    }
  }

  static void accept_next(link& l, waiter* w) {
    if (!l.inbox_.empty()) {
      *w->into = std::move(l.inbox_.front());
      l.inbox_.pop_front();
      return l.finish(w);
    }
    if (l.next_ != nullptr) return l.fail(w, "redis: subscriber::next() is already being awaited");
    l.next_ = w;
  }

  std::size_t subscription_count() const noexcept { return channels_.size() + patterns_.size(); }
  bool connected() const noexcept { return connected_; }

 private:
  struct pending {
    waiter* w = nullptr;  // nullptr: timed out (the reply is dropped) or internal
    std::size_t left = 1;
    bool internal = false;  // AUTH / SELECT of the handshake
  };

  static std::string_view confirm_kind_of(std::string_view verb) {
    if (verb == "SUBSCRIBE") return "subscribe";
    if (verb == "PSUBSCRIBE") return "psubscribe";
    if (verb == "UNSUBSCRIBE") return "unsubscribe";
    return "punsubscribe";
  }

  bool stale(std::uint64_t generation) const noexcept { return closed_ || generation != generation_; }

  void connect() {
    if (closed_) return;
    const std::uint64_t g = ++generation_;
    socket_ = asio::ip::tcp::socket(io_);
    auto self = shared_from_this();
    connect_timer_.expires_after(cfg_.connect_timeout);
    connect_timer_.async_wait([self, g](const std::error_code& ec) {
      if (ec || self->stale(g) || self->connected_) return;
      self->resolver_.cancel();
      std::error_code ignored;
      self->socket_.close(ignored);
    });
    resolver_.async_resolve(
        cfg_.host, std::to_string(cfg_.port),
        [self, g](const std::error_code& ec, const asio::ip::tcp::resolver::results_type& results) {
          if (self->stale(g)) return;
          if (ec) return self->connect_failed("resolve " + self->cfg_.host + ": " + ec.message());
          asio::async_connect(self->socket_, results,
                              [self, g](const std::error_code& ec2, const asio::ip::tcp::endpoint&) {
                                if (self->stale(g)) return;
                                if (ec2) return self->connect_failed("connect: " + ec2.message());
                                self->connected(g);
                              });
        });
  }

  void connect_failed(std::string why) {
    connect_timer_.cancel();
    last_error_ = std::move(why);
    std::error_code ignored;
    socket_.close(ignored);
    schedule_reconnect();
  }

  void schedule_reconnect() {
    if (closed_) return;
    reconnect_timer_.expires_after(backoff_);
    backoff_ = std::min(backoff_ * 2, cfg_.reconnect_max);
    reconnect_timer_.async_wait([self = shared_from_this()](const std::error_code& ec) {
      if (!ec) self->connect();
    });
  }

  void connected(std::uint64_t g) {
    connect_timer_.cancel();
    connected_ = true;
    last_error_.clear();
    std::error_code ignored;
    socket_.set_option(asio::ip::tcp::no_delay(true), ignored);
    raw_.clear();
    if (!cfg_.password.empty()) {
      if (cfg_.username.empty()) {
        encode_command(raw_, "AUTH", cfg_.password);
      } else {
        encode_command(raw_, "AUTH", cfg_.username, cfg_.password);
      }
      inflight_.push_back(pending{nullptr, 1, true});
    }
    if (cfg_.db != 0) {
      encode_command(raw_, "SELECT", cfg_.db);
      inflight_.push_back(pending{nullptr, 1, true});
    }
    if (mode_ == mode::pubsub) {
      resubscribe("SUBSCRIBE", channels_);
      resubscribe("PSUBSCRIBE", patterns_);
    }
    // The backoff starts over once a connection works: at once without a handshake, else when it passed.
    if (inflight_.empty()) backoff_ = cfg_.reconnect_min;
    rstart_ = rlen_ = partial_ = 0;
    read(g);
    flush();
    if (on_connect && !stale(g)) on_connect();
  }

  void resubscribe(std::string_view verb, const std::set<std::string>& names) {
    if (names.empty()) return;
    append_array_header(raw_, names.size() + 1);
    append_bulk(raw_, verb);
    for (const std::string& n : names) append_bulk(raw_, n);
  }

  void flush() {
    if (!connected_ || writing_ || (raw_.empty() && queued_.empty())) return;
    wbuf_.swap(raw_);
    raw_.clear();
    for (waiter* w : queued_) {
      wbuf_.append(w->request);
      inflight_.push_back(pending{w, w->expected, false});
    }
    queued_.clear();
    writing_ = true;
    const std::uint64_t g = generation_;
    asio::async_write(socket_, asio::buffer(wbuf_),
                      [self = shared_from_this(), g](const std::error_code& ec, std::size_t) {
                        if (self->stale(g)) return;
                        self->writing_ = false;
                        self->wbuf_.clear();
                        if (ec) return self->connection_lost("write: " + ec.message());
                        self->flush();
                      });
  }

  void read(std::uint64_t g) {
    if (rlen_ == rbuf_.size()) rbuf_.resize(std::max<std::size_t>(16384, rbuf_.size() * 2));
    socket_.async_read_some(asio::buffer(rbuf_.data() + rlen_, rbuf_.size() - rlen_),
                            [self = shared_from_this(), g](const std::error_code& ec, std::size_t n) {
                              if (self->stale(g)) return;
                              if (ec) return self->connection_lost("read: " + ec.message());
                              self->rlen_ += n;
                              if (self->parse_later()) return self->read(g);
                              self->parse(g);
                            });
  }

  void parse(std::uint64_t g) {
    try {
      for (;;) {
        reply r;
        const std::size_t used =
            resp_parser::parse(std::string_view(rbuf_.data() + rstart_, rlen_ - rstart_), r);
        if (used == 0) {
          partial_ = rlen_ - rstart_;
          break;
        }
        partial_ = 0;
        rstart_ += used;
        if (mode_ == mode::commands) {
          dispatch_reply(std::move(r));
        } else {
          dispatch_push(std::move(r));
        }
        if (stale(g)) return;  // closed, or the connection was dropped, by what a resumed coroutine did
      }
    } catch (const protocol_error& e) {
      return connection_lost(e.what());
    }
    if (rstart_ == rlen_) {
      rstart_ = rlen_ = 0;
    } else if (rstart_ > 0) {
      std::memmove(rbuf_.data(), rbuf_.data() + rstart_, rlen_ - rstart_);
      rlen_ -= rstart_;
      rstart_ = 0;
    }
    read(g);
  }

  // A reply is parsed from its start each time: a big one arriving in many reads would cost quadratic time.
  // So after a partial parse, wait for twice its bytes while more are already waiting in the kernel
  // (available() > 0: the next read completes at once, nothing can stall).
  bool parse_later() {
    if (partial_ == 0 || rlen_ - rstart_ >= 2 * partial_) return false;
    std::error_code ec;
    return socket_.available(ec) > 0 && !ec;
  }

  // A handshake reply; false when it failed (the connection is dropped).
  bool handshake_reply(const reply& r) {
    inflight_.pop_front();
    if (!r.is_error()) {
      if (inflight_.empty() || !inflight_.front().internal) backoff_ = cfg_.reconnect_min;
      return true;
    }
    connection_lost("handshake: " + r.text);
    return false;
  }

  void dispatch_reply(reply&& r) {
    if (inflight_.empty()) throw protocol_error("redis: a reply nobody asked for");
    pending& p = inflight_.front();
    if (p.internal) {
      handshake_reply(r);
      return;
    }
    waiter* w = p.w;
    if (w != nullptr) {
      if (w->many != nullptr) {
        w->many->push_back(std::move(r));
      } else {
        w->one = std::move(r);
      }
    }
    if (--p.left != 0) return;
    inflight_.pop_front();
    if (w != nullptr) finish(w);
  }

  void dispatch_push(reply&& r) {
    if (!inflight_.empty() && inflight_.front().internal) {
      handshake_reply(r);
      return;
    }
    if (r.is_error()) return connection_lost("pub/sub: " + r.text);
    if (!r.is_array() || r.elements.empty()) throw protocol_error("redis: unexpected reply in pub/sub mode");
    std::vector<reply>& e = r.elements;
    const std::string_view kind = e[0].text;
    if (kind == "message" && e.size() == 3) {
      message m{std::move(e[1].text), std::move(e[2].text), {}};
      deliver(m);
    } else if (kind == "pmessage" && e.size() == 4) {
      message m{std::move(e[2].text), std::move(e[3].text), std::move(e[1].text)};
      deliver(m);
    } else if (e.size() >= 2 && (kind == "subscribe" || kind == "psubscribe" || kind == "unsubscribe" ||
                                 kind == "punsubscribe")) {
      confirm(kind, e[1].text);
    }  // "pong" and anything newer: ignored
  }

  void deliver(message& m) {
    if (on_message) return on_message(m);
    if (next_ != nullptr) {
      waiter* w = std::exchange(next_, nullptr);
      *w->into = std::move(m);
      return finish(w);
    }
    inbox_.push_back(std::move(m));
  }

  void confirm(std::string_view kind, std::string_view name) {
    std::vector<waiter*> done;
    std::erase_if(confirming_, [&](waiter* w) {
      if (w->confirm_kind != kind || w->confirm_name != name) return false;
      done.push_back(w);
      return true;
    });
    for (waiter* w : done) finish(w);
  }

  void finish(waiter* w) {
    if (w->home != nullptr && w->home != &io_) {
      auto work = std::move(w->home_work);
      w->home_work.reset();
      asio::post(*w->home, [h = w->handle, work = std::move(work)] { h.resume(); });
    } else {
      w->handle.resume();
    }
  }

  void fail(waiter* w, const std::string& why) {
    w->error = std::make_exception_ptr(error(why));
    finish(w);
  }

  void connection_lost(std::string why) {
    if (!connected_) return;
    ++generation_;
    connected_ = false;
    writing_ = false;
    std::error_code ignored;
    socket_.close(ignored);
    wbuf_.clear();
    raw_.clear();
    last_error_ = why;
    std::vector<waiter*> lost;
    for (const pending& p : inflight_)
      if (p.w != nullptr) lost.push_back(p.w);
    inflight_.clear();
    schedule_reconnect();
    const std::string text = "redis: connection lost (" + why + ")";
    for (waiter* w : lost) fail(w, text);
  }

  void arm_tick() {
    const auto period = std::clamp<clock::duration>(cfg_.command_timeout / 10, std::chrono::milliseconds(5),
                                                    std::chrono::milliseconds(250));
    tick_.expires_after(period);
    tick_.async_wait([self = shared_from_this()](const std::error_code& ec) {
      if (ec || self->closed_) return;
      self->expire(clock::now());
      self->arm_tick();
    });
  }

  std::string timeout_text() const {
    std::string t = "redis: timed out";
    if (!connected_ && !last_error_.empty()) t += " (not connected: " + last_error_ + ")";
    return t;
  }

  void expire(clock::time_point now) {
    std::vector<waiter*> late;
    while (!queued_.empty() && queued_.front()->deadline <= now) {
      late.push_back(queued_.front());
      queued_.pop_front();
    }
    std::erase_if(confirming_, [&](waiter* w) {
      if (w->deadline > now) return false;
      late.push_back(w);
      return true;
    });
    bool dead = false;
    for (pending& p : inflight_) {
      if (p.w == nullptr) continue;
      if (p.w->deadline <= now) {
        late.push_back(std::exchange(p.w, nullptr));
        dead = true;
      }
      break;  // the oldest decides: later ones were sent after it
    }
    const std::string text = timeout_text();
    // A server that leaves a command unanswered that long is taken for dead: reconnect.
    if (dead) connection_lost("command timed out");
    for (waiter* w : late) fail(w, text);
  }

  void close_now() {
    if (closed_) return;
    closed_ = true;
    ++generation_;
    connected_ = false;
    std::error_code ignored;
    socket_.close(ignored);
    resolver_.cancel();
    connect_timer_.cancel();
    reconnect_timer_.cancel();
    tick_.cancel();
    std::vector<waiter*> all(queued_.begin(), queued_.end());
    for (const pending& p : inflight_)
      if (p.w != nullptr) all.push_back(p.w);
    all.insert(all.end(), confirming_.begin(), confirming_.end());
    if (next_ != nullptr) all.push_back(next_);
    queued_.clear();
    inflight_.clear();
    confirming_.clear();
    next_ = nullptr;
    // Resumed later, never inside the call that closed (which may be a destructor).
    for (waiter* w : all) {
      w->error = std::make_exception_ptr(error("redis: client closed"));
      auto work = std::move(w->home_work);
      w->home_work.reset();
      asio::post(w->home != nullptr ? *w->home : io_,
                 [h = w->handle, work = std::move(work)] { h.resume(); });
    }
  }

  asio::io_context& io_;
  config cfg_;
  mode mode_;
  asio::ip::tcp::socket socket_;
  asio::ip::tcp::resolver resolver_;
  asio::steady_timer connect_timer_, reconnect_timer_, tick_;
  std::chrono::milliseconds backoff_;
  std::uint64_t generation_ = 0;
  bool connected_ = false, writing_ = false, closed_ = false;
  std::string last_error_;
  std::string raw_;   // handshake and pub/sub commands for the next write
  std::string wbuf_;  // the write in flight
  std::string rbuf_;
  std::size_t rstart_ = 0, rlen_ = 0;
  std::size_t partial_ = 0;       // bytes of the incomplete reply at the last parse, 0 when none
  std::deque<waiter*> queued_;    // commands not yet written
  std::deque<pending> inflight_;  // written, replies in this order
  std::vector<waiter*> confirming_;
  std::set<std::string> channels_, patterns_;
  std::deque<message> inbox_;  // messages nobody awaited yet (no on_message handler)
  waiter* next_ = nullptr;
};

}  // namespace detail
}  // namespace redis
}  // namespace v0
}  // namespace keel
