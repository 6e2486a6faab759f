// keel::detail::connection: drives one session over one socket (plain TCP or TLS) on its reactor thread.
#pragma once

#include "keel/config.hpp"
#include "keel/detail/handler_memory.hpp"
#include "keel/server/config.hpp"
#include "keel/server/io_counters.hpp"

#include "keel/detail/upgrade_transport.hpp"

#include <asio/buffer.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/post.hpp>
#include <asio/write.hpp>

#include <sys/sendfile.h>
#include <sys/socket.h>

#include <cerrno>
#include <array>
#include <chrono>
#include <cstddef>
#include <memory>
#include <new>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <algorithm>
#include <system_error>
#include <type_traits>
#include <utility>
#include <vector>

namespace keel {
inline namespace v0 {
namespace detail {

class connection_registry;

// What the server needs from any connection at shutdown. Virtual calls happen only there, never per request.
class connection_base {
 public:
  connection_base(const connection_base&) = delete;
  connection_base& operator=(const connection_base&) = delete;

  // Graceful shutdown: an idle keep-alive connection closes now, a busy one finishes its request first.
  virtual void begin_graceful_close() = 0;
  // The shutdown deadline passed: close the socket whatever the session is doing.
  virtual void force_close() = 0;
  // Waiting for a next request on a keep-alive connection (nothing read, nothing owed): the connection the
  // server closes first when it is at its connection cap.
  virtual bool idle_keep_alive() const = 0;

  using clock = std::chrono::steady_clock;
  clock::time_point deadline() const noexcept { return deadline_; }

  // How the reactor's ready list hands a connection back: run = false when the list is dropped unrun (the
  // io_context was stopped and destroyed), so the connection only lets go of its waiting reference.
  using ready_fn = void (*)(connection_base&, bool run);

 protected:
  // When the deadline set with arm() passes, the reactor's sweep (connection_registry::sweep) calls this
  // once.
  virtual void on_deadline() = 0;
  void arm(clock::time_point deadline) noexcept { deadline_ = deadline; }
  void disarm() noexcept { deadline_ = clock::time_point::max(); }
  // Calls fn(*this, true) from the next run of this reactor's ready list.
  void queue_ready(asio::io_context& reactor, ready_fn fn);

 protected:
  explicit connection_base(connection_registry& registry) noexcept;
  virtual ~connection_base();

 private:
  friend class connection_registry;
  connection_registry* registry_;
  connection_base* prev_ = nullptr;
  connection_base* next_ = nullptr;
  connection_base* ready_next_ = nullptr;
  ready_fn ready_fn_ = nullptr;
  clock::time_point deadline_ = clock::time_point::max();
};

// The open connections of one reactor thread, as an intrusive list so shutdown can reach each of them.
// Touched only on that thread.
class connection_registry {
 public:
  connection_registry() = default;
  connection_registry(const connection_registry&) = delete;
  connection_registry& operator=(const connection_registry&) = delete;

  ~connection_registry() {
    if (spares_ != nullptr) spares_destroy_(spares_);
  }

  bool empty() const noexcept { return head_ == nullptr; }
  std::size_t size() const noexcept { return size_; }

  // The reactor's cache of spare connection state (Pool: session_pool<Session>), made on first use with
  // `args`. One pool per registry: every connection of a registry has the same session type.
  template <class Pool, class... Args>
  Pool& spares(Args&&... args) {
    if (spares_ == nullptr) {
      spares_ = new Pool(std::forward<Args>(args)...);
      spares_destroy_ = [](void* p) { delete static_cast<Pool*>(p); };
      spares_trim_ = [](void* p, connection_base::clock::time_point now) {
        static_cast<Pool*>(p)->trim(now);
      };
    }
    return *static_cast<Pool*>(spares_);
  }

  // Called with `context` each time a connection ends (the server keeps its global count with it).
  void on_connection_end(void (*fn)(void*), void* context) noexcept {
    on_end_ = fn;
    on_end_context_ = context;
  }

  // Fires every deadline that has passed. The server calls it from one coarse periodic timer per reactor, so
  // that setting or moving a connection's deadline on every request is a plain store, not a timer operation.
  void sweep(connection_base::clock::time_point now) {
    for_each([now](connection_base& c) {
      if (c.deadline_ <= now) {
        c.deadline_ = connection_base::clock::time_point::max();
        c.on_deadline();
      }
    });
    if (spares_ != nullptr) spares_trim_(spares_, now);
  }

  // At the connection cap: closes the longest-open connection that sits idle between keep-alive requests,
  // as nginx does, so a newcomer is served instead of refused. false when none is idle.
  bool close_oldest_idle() {
    for (connection_base* c = tail_; c != nullptr; c = c->prev_) {
      if (c->idle_keep_alive()) {
        c->force_close();
        return true;
      }
    }
    return false;
  }

  template <class F>
  void for_each(F&& f) {
    // Closing a socket never runs a completion handler inline, so no connection is destroyed during the walk;
    // reading `next_` first is cheap insurance anyway.
    for (connection_base* c = head_; c != nullptr;) {
      connection_base* next = c->next_;
      f(*c);
      c = next;
    }
  }

 private:
  friend class connection_base;
  // Newest first: the tail is the connection open longest.
  void add(connection_base* c) noexcept {
    c->next_ = head_;
    if (head_ != nullptr) head_->prev_ = c;
    head_ = c;
    if (tail_ == nullptr) tail_ = c;
    ++size_;
  }
  void remove(connection_base* c) noexcept {
    if (c->prev_ != nullptr)
      c->prev_->next_ = c->next_;
    else
      head_ = c->next_;
    if (c->next_ != nullptr)
      c->next_->prev_ = c->prev_;
    else
      tail_ = c->prev_;
    --size_;
    if (on_end_ != nullptr) on_end_(on_end_context_);
  }

  // Connections whose handlers finished, to be driven again. When one batch of worker-pool results resumes
  // many handlers at once, one post runs them all instead of one post (and one event-loop turn) each.
  class ready_runner {
   public:
    explicit ready_runner(connection_registry* r) noexcept : r_(r) {}
    ready_runner(ready_runner&& o) noexcept : r_(std::exchange(o.r_, nullptr)) {}
    ready_runner& operator=(ready_runner&&) = delete;
    ~ready_runner() {
      if (r_ != nullptr) r_->run_ready(false);
    }
    void operator()() { std::exchange(r_, nullptr)->run_ready(true); }

   private:
    connection_registry* r_;
  };
  void push_ready(connection_base* c, asio::io_context& reactor) {
    c->ready_next_ = nullptr;
    *ready_tail_ = c;
    ready_tail_ = &c->ready_next_;
    if (std::exchange(ready_posted_, true)) return;
    asio::post(reactor.get_executor(), with_memory(ready_memory_, ready_runner(this)));
  }
  void run_ready(bool run) {
    // Taken whole first: a connection queued while these run gets the next post.
    ready_posted_ = false;
    connection_base* c = std::exchange(ready_head_, nullptr);
    ready_tail_ = &ready_head_;
    while (c != nullptr) {
      connection_base* next = c->ready_next_;  // c may be gone after its turn
      c->ready_fn_(*c, run);
      c = next;
    }
  }

  connection_base* head_ = nullptr;
  connection_base* tail_ = nullptr;
  std::size_t size_ = 0;
  connection_base* ready_head_ = nullptr;
  connection_base** ready_tail_ = &ready_head_;
  bool ready_posted_ = false;
  post_memory ready_memory_;
  void (*on_end_)(void*) = nullptr;
  void* on_end_context_ = nullptr;
  void* spares_ = nullptr;
  void (*spares_destroy_)(void*) = nullptr;
  void (*spares_trim_)(void*, connection_base::clock::time_point) = nullptr;
};

// The spare sessions of one reactor. A plain-TCP connection holds a session (its request state and 16 KiB
// read buffer) only while it has bytes to work on: waiting, idle, for a next request it gives the session
// back here and waits for readability alone, so 10,000 idle connections cost 10,000 small connection
// objects, not 200 MB of buffers. Taking and giving back are a vector push and pop on the reactor's own
// thread: a connection that goes idle between pipelined batches allocates nothing. Once a second the sweep
// frees the sessions no connection needed in that second.
template <class Session>
class session_pool {
 public:
  template <class App>
  session_pool(const App& app, const server_config& cfg)
      : app_(&app), cfg_(&cfg), make_([](const void* a, const server_config& c) {
          return new Session(*static_cast<const App*>(a), c, false);
        }) {}
  session_pool(const session_pool&) = delete;
  session_pool& operator=(const session_pool&) = delete;
  ~session_pool() {
    for (Session* s : free_) delete s;
  }

  Session* take() {
    if (free_.empty()) return make_(app_, *cfg_);
    Session* s = free_.back();
    free_.pop_back();
    if (free_.size() < low_) low_ = free_.size();
    return s;
  }
  // A session its connection is done with, for the next connection that has bytes; deleted when it
  // cannot be reused.
  void give(Session* s) {
    if (!s->recycle()) {
      delete s;
      return;
    }
    free_.push_back(s);
  }
  // The sweep's turn, acted on once a second: the sessions that stayed spare for that second are not needed.
  void trim(std::chrono::steady_clock::time_point now) {
    if (now - last_trim_ < std::chrono::seconds(1)) return;
    last_trim_ = now;
    const std::size_t unused = std::min(low_, free_.size());
    if (unused != 0) {
      // (Sessions and their read buffers are pages of their own: freeing them returns the pages at once.)
      for (std::size_t i = 0; i < unused; ++i) delete free_[i];
      free_.erase(free_.begin(), free_.begin() + static_cast<std::ptrdiff_t>(unused));
      if (free_.empty()) std::vector<Session*>().swap(free_);
    }
    low_ = free_.size();
  }
  std::size_t spare() const noexcept { return free_.size(); }

 private:
  const void* app_;
  const server_config* cfg_;
  Session* (*make_)(const void*, const server_config&);
  std::vector<Session*> free_;
  std::size_t low_ = 0;  // the fewest spare sessions since the last trim
  std::chrono::steady_clock::time_point last_trim_{};
};

inline connection_base::connection_base(connection_registry& registry) noexcept : registry_(&registry) {
  registry.add(this);
}
inline connection_base::~connection_base() { registry_->remove(this); }
inline void connection_base::queue_ready(asio::io_context& reactor, ready_fn fn) {
  ready_fn_ = fn;
  registry_->push_ready(this, reactor);
}

// The type of the protocol a session names for an upgrade (a placeholder for sessions that never upgrade).
template <class S>
struct upgrade_slot_of {
  using type = char;
};
template <class S>
requires requires(S& s) { s.upgrade_protocol(); }
struct upgrade_slot_of<S> {
  using type = std::remove_reference_t<decltype(std::declval<S&>().upgrade_protocol())>;
};

// Spelled as a shape (an asio::ssl::stream has a next layer and a handshake) so that this header needs no
// <asio/ssl>: TLS and OpenSSL come in only with keel/tls.hpp.
template <class Stream>
inline constexpr bool is_tls_stream = requires(Stream& s) {
  s.next_layer();
  s.async_handshake(Stream::server, [](const std::error_code&) {});
};

// Owns the stream and the session; alive while any asynchronous operation (read, write, handshake, a
// resumption, an async handler the session waits for) holds a reference. Everything runs on the thread of the
// io_context the socket belongs to.
//
// Session follows the contract of keel/server/session.hpp (process() -> action, read_buffer/on_read,
// output/on_written, phase/on_timeout, idle/request_close, set_resume_hook). The action and phase enums are
// taken from the session's own signatures, so this header does not depend on the HTTP layer.
template <class Session, class Stream>
class connection final : public connection_base {
  using session_action = decltype(std::declval<Session&>().process());
  using read_phase = decltype(std::declval<const Session&>().phase());

 public:
  template <class App>
  connection(Stream stream, App& app, const server_config& cfg, connection_registry& registry)
      : connection_base(registry), stream_(std::move(stream)), cfg_(cfg) {
    {
      std::error_code ec;
      const auto peer = stream_.lowest_layer().remote_endpoint(ec);
      if (!ec) {
        const std::string text = peer.address().to_string();
        remote_size_ = static_cast<std::uint8_t>(text.copy(remote_.data(), remote_.size()));
      }
    }
    if constexpr (pooled) {
      pool_ = &registry.template spares<session_pool<Session>>(app, cfg);
      std::error_code ignored;
      stream_.non_blocking(true, ignored);  // a read tried on the spot returns would_block, never waits
    } else {
      session_ = new Session(app, cfg, is_tls_stream<Stream>);
      session_->set_resume_hook(&connection::resume_thunk, this);
      if constexpr (requires { session_->set_remote_address(std::string_view()); })
        session_->set_remote_address(std::string_view(remote_.data(), remote_size_));
    }
    // Resumed connections are driven from their reactor's ready list, posted to the io_context's own
    // executor: a post through the socket's type-erased executor always heap-allocates an executor_function.
    const auto executor = stream_.get_executor();  // target() points into it
    if (auto* ex = executor.template target<asio::io_context::executor_type>()) reactor_ = &ex->context();
  }

  ~connection() override {
    if constexpr (pooled) {
      if (session_ != nullptr) pool_->give(session_);
    } else {
      delete session_;
    }
  }

  // Starts the connection's loop; the connection deletes itself when its last operation ends.
  void start() {
    ref self(this);
    if constexpr (is_tls_stream<Stream>) {
      state_ = io_state::handshaking;
      arm(clock::now() + cfg_.timeout.header);
      stream_.async_handshake(Stream::server, with_memory(read_memory_, [self](const std::error_code& ec) {
                                self->state_ = io_state::none;
                                if (ec || self->closed_) return self->finish();
                                self->drive();
                              }));
    } else if constexpr (pooled) {
      start_read();  // a session comes with the first bytes
    } else {
      drive();
    }
  }

  void begin_graceful_close() override {
    if (closed_) return;
    if (transport_) {  // an upgraded protocol: it reads 0, says its goodbye and returns
      transport_->stopping = true;
      if (state_ == io_state::reading) {
        std::error_code ignored;
        stream_.lowest_layer().cancel(ignored);
      }
      return;
    }
    close_requested_ = true;  // a session taken later learns it too
    if (session_ != nullptr) session_->request_close();
    // An idle keep-alive connection (now, or once its request is answered): a request may be on its way.
    // Closing at once would answer it with a reset; instead the connection waits a short grace period, and
    // what arrives is answered with Connection: close.
    grace_deadline_ = clock::now() + std::min(cfg_.timeout.shutdown, std::chrono::milliseconds(500));
    if (state_ == io_state::reading && session_idle()) {
      park_armed_ = false;
      arm(grace_deadline_);
      read_deadline_set_ = true;
      read_deadline_phase_ = read_phase::idle;
    }
  }
  bool idle_keep_alive() const override {
    if constexpr (requires { session_->idle_keep_alive(); }) {
      if (session_ == nullptr) return !closed_ && !transport_ && state_ == io_state::reading && served_;
      return !closed_ && !transport_ && state_ == io_state::reading && session_->idle_keep_alive();
    } else {
      return false;
    }
  }
  void force_close() override { close_socket(); }

  // Null while a plain-TCP connection waits, idle, without one.
  Session* session() noexcept { return session_; }

 private:
  // Plain TCP connections of a session that can be reused lend it back to the reactor's pool when idle.
  // How long an idle keep-alive connection keeps its session before it parks (gives it back): long enough
  // that a client between two requests of a page never pays for it, short enough that idle connections
  // cost little.
  static constexpr std::chrono::milliseconds park_after{1000};
  static constexpr bool pooled = !is_tls_stream<Stream> && requires(Session & s, const Session& cs) {
    s.recycle();
    cs.served();
    s.set_served(true);
    s.set_sendfile(true);
    s.set_remote_address(std::string_view());
  };

  enum class io_state : std::uint8_t { none, handshaking, reading, writing, waiting, lingering };

  // Intrusive reference: the handlers hold one each, so there is no separate control block to allocate.
  class ref {
   public:
    explicit ref(connection* c) noexcept : c_(c) { ++c_->refs_; }
    ref(const ref& o) noexcept : c_(o.c_) { ++c_->refs_; }
    ref(ref&& o) noexcept : c_(std::exchange(o.c_, nullptr)) {}
    ref& operator=(const ref&) = delete;
    ref& operator=(ref&&) = delete;
    ~ref() {
      if (c_ != nullptr && --c_->refs_ == 0) c_->release();
    }
    connection* operator->() const noexcept { return c_; }

   private:
    connection* c_;
  };

  void drive() {
    while (!closed_) {
      switch (session_->process()) {
        case session_action::read:
          return start_read();
        case session_action::write:
          return start_write(false);
        case session_action::close:
          if (!session_->output().empty()) return start_write(true);
          // Nothing owed and nothing unread (a timeout between requests, a shutdown): no response to protect
          // from a reset, so no lingering either.
          if (session_->idle()) return finish();
          return linger();
        case session_action::send_file:
          if constexpr (requires { session_->file_to_send(); }) {
            if constexpr (!is_tls_stream<Stream>) return start_send_file();
          }
          return finish();  // a session asks only transports that told it they can
        case session_action::upgrade:
          if constexpr (requires { session_->upgrade_protocol(); }) return start_upgrade();
          return finish();
        case session_action::wait:
          if (std::exchange(resumed_early_, false)) continue;
          state_ = io_state::waiting;
          read_deadline_set_ = false;
          disarm();
          ++refs_;  // the pending async handler's reference, dropped in resume()
          if constexpr (!is_tls_stream<Stream>) watch_peer();
          return;
      }
    }
    finish();
  }

  // While a handler streams a response nobody reads the socket: a client that left (an EventSource closed,
  // a download cancelled) would only be noticed by a later write. A readiness wait notices its FIN at once
  // and closes, so the handler's next write or wait ends (keel::stream_closed). Bytes instead of a FIN (a
  // pipelined request) end the watch: they are read after the stream. Plain TCP only: under TLS a close
  // is a record, not a FIN.
  void watch_peer() {
    if constexpr (requires { session_->streaming_response(); }) {
      if (peer_watched_ || closed_ || session_ == nullptr || !session_->streaming_response()) return;
    } else {
      return;
    }
    peer_watched_ = true;
    stream_.async_wait(asio::socket_base::wait_read, [self = ref(this)](const std::error_code& ec) {
      self->peer_watched_ = false;
      if (ec || self->closed_) return;
      char byte;
      const auto n = ::recv(self->stream_.native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
      if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR))
        self->close_socket();
    });
  }

  static void resume_thunk(void* self) { static_cast<connection*>(self)->on_resume(); }
  void on_resume() {
    if (state_ != io_state::waiting) {
      resumed_early_ = true;  // the session finished its handler before returning `wait`
      return;
    }
    // Once per wait: a handler resumed by something else (a timer, the worker pool) may wake the session
    // twice in one turn (a stream write, then its completion); a second after_wait would start a second
    // write of the same output while the first is in flight.
    if (std::exchange(resume_queued_, true)) return;
    // Queued rather than called: the hook fires from inside the session's completion path, which must unwind
    // before process() runs again.
    if (reactor_ != nullptr) return queue_ready(*reactor_, &connection::on_ready);
    asio::post(stream_.get_executor(), [self = ref(this)] { self->after_wait(); });
  }
  static void on_ready(connection_base& base, bool run) {
    ref self(static_cast<connection*>(&base));
    if (run) return self->after_wait();
    self->dropped_ = true;  // the reactor is gone: nothing can run any more
    --self->refs_;
  }
  void after_wait() {
    resume_queued_ = false;
    state_ = io_state::none;
    --refs_;  // the reference taken when `wait` began; the caller holds another
    if (closed_) {
      session_->settle();
      return finish();
    }
    drive();
  }

  // The last reference went. A handler still running (streaming, or awaiting something of its own) holds
  // the session: the connection stays until it finished, and its parked stream I/O fails now.
  void release() {
    if (!dropped_ && session_ != nullptr && session_->handler_running()) {
      ++refs_;  // the handler's, dropped when it finished (after_wait)
      state_ = io_state::waiting;
      close_socket();
      return;
    }
    delete this;
  }

  bool session_idle() const noexcept { return session_ == nullptr || session_->idle(); }

  void start_read() {
    // A phase's deadline runs from when the phase began, not from the last read: a client trickling one
    // header byte at a time must still hit the header timeout.
    const read_phase phase = session_ != nullptr ? session_->phase()
                             : served_           ? read_phase::idle
                                                 : read_phase::header;
    if (!read_deadline_set_ || phase != read_deadline_phase_) {
      read_deadline_set_ = true;
      read_deadline_phase_ = phase;
      const clock::time_point now = clock::now();
      arm(now + timeout_for(phase));
      park_armed_ = false;
      if constexpr (pooled) {
        // Waiting for a next request: after park_after the session goes back to the pool (on_deadline).
        if (phase == read_phase::idle && session_ != nullptr && cfg_.timeout.idle > park_after) {
          idle_deadline_ = now + cfg_.timeout.idle;
          arm(now + park_after);
          park_armed_ = true;
        }
      }
      if (KEEL_UNLIKELY(grace_deadline_ != clock::time_point::max()) && session_idle()) {
        arm(grace_deadline_);  // shutting down: an idle connection waits only the grace period
        park_armed_ = false;
      }
    }
    state_ = io_state::reading;
    if constexpr (pooled) {
      if (session_ == nullptr) return wait_readable();
    }
    const auto space = session_->read_buffer();
    stream_.async_read_some(
        asio::buffer(space.data(), space.size()),
        with_memory(read_memory_, [self = ref(this)](const std::error_code& ec, std::size_t n) {
          self->state_ = io_state::none;
          self->on_read(ec, n);
        }));
  }

  // An idle keep-alive connection's read was stopped after park_after: the session goes back to the pool
  // and the connection waits for readability without it, until the idle deadline.
  void park() {
    if constexpr (pooled) {
      served_ = session_->served();
      pool_->give(std::exchange(session_, nullptr));
      arm(std::min(idle_deadline_, grace_deadline_));  // a shutdown that began meanwhile keeps its grace
      state_ = io_state::reading;
      wait_readable();
    }
  }
  // Without a session: wait until the socket has bytes (a session comes with them, in on_readable).
  void wait_readable() {
    stream_.async_wait(asio::socket_base::wait_read,
                       with_memory(read_memory_, [self = ref(this)](const std::error_code& ec) {
                         self->state_ = io_state::none;
                         self->on_readable(ec);
                       }));
  }
  void on_readable(const std::error_code& ec) {
    if constexpr (pooled) {
      const bool timed_out = std::exchange(read_timed_out_, false);
      if (closed_ || (ec && ec != asio::error::operation_aborted)) return finish();
      try {
        session_ = pool_->take();
      } catch (const std::bad_alloc&) {
        return finish();  // no memory for this connection's session: it closes, the others go on
      }
      session_->set_resume_hook(&connection::resume_thunk, this);
      session_->set_sendfile(true);
      session_->set_served(served_);
      session_->set_remote_address(std::string_view(remote_.data(), remote_size_));
      if (close_requested_) session_->request_close();
      // Read on the spot (the socket is non-blocking). Bytes that arrived as the deadline fired win over it,
      // as in on_read.
      const auto space = session_->read_buffer();
      std::error_code read_ec;
      const std::size_t n = stream_.read_some(asio::buffer(space.data(), space.size()), read_ec);
      if (read_ec == asio::error::would_block || read_ec == asio::error::try_again) {
        if (timed_out) return finish();  // nothing buffered, nothing asked: no 408, just close
        return start_read();             // woken for nothing: read as usual, with the session
      }
      read_timed_out_ = timed_out;  // on_read: bytes that won over a deadline keep it due
      on_read(read_ec, n);
    }
  }

  void on_read(const std::error_code& ec, std::size_t n) {
    if constexpr (pooled) {
      if (KEEL_UNLIKELY(parking_)) {
        parking_ = false;
        if (n == 0 && ec == asio::error::operation_aborted && !closed_) return park();
      }
    }
    // Bytes that arrived as the deadline fired win over the deadline: a request racing the idle or shutdown
    // grace period is answered rather than dropped.
    const bool timed_out = std::exchange(read_timed_out_, false);
    if (timed_out && !closed_ && (ec || n == 0)) {
      session_->on_timeout(read_deadline_phase_);
      read_deadline_set_ = false;
      return drive();
    }
    if (ec || closed_) return finish();
    // The bytes won over the deadline, which still stands: due now, so a phase that does not end with them
    // (a header still incomplete) times out at the next sweep instead of never.
    if (KEEL_UNLIKELY(timed_out)) arm(clock::now());
    if constexpr (session_counts_io<Session>) bump(io_counters::local().bytes_in, n);
    session_->on_read(n);
    drive();
  }

  void start_write(bool then_close) {
    state_ = io_state::writing;
    close_after_write_ = then_close;
    read_deadline_set_ = false;
    arm(clock::now() + cfg_.timeout.write);
    const std::string_view out = session_->output();
    asio::async_write(
        stream_, asio::buffer(out.data(), out.size()),
        with_memory(write_memory_, [self = ref(this)](const std::error_code& ec, std::size_t n) {
          if constexpr (session_counts_io<Session>) bump(io_counters::local().bytes_out, n);
          self->state_ = io_state::none;
          if (ec || self->closed_) return self->finish();
          self->session_->on_written();
          if (self->close_after_write_) return self->linger();
          self->drive();
        }));
  }

  // Sends the session's file region with sendfile(2): no copy through user space. A turn sends at most
  // 16 MiB, so one fast download cannot hold the reactor from its other connections.
  void start_send_file() {
    state_ = io_state::writing;
    read_deadline_set_ = false;
    arm(clock::now() + cfg_.timeout.write);
    auto& file = session_->file_to_send();
    auto& socket = stream_.lowest_layer();
    std::error_code ec;
    if (!socket.native_non_blocking()) socket.native_non_blocking(true, ec);
    // The head (and any pipelined answers before it) goes first, corked with MSG_MORE so that it leaves in
    // the same segments as the file's first bytes. What the socket does not take now is written the usual
    // way, and the file follows on the next turn.
    const std::string_view head = session_->output();
    if (!head.empty()) {
      const ssize_t sent = ::send(socket.native_handle(), head.data(), head.size(), MSG_MORE | MSG_NOSIGNAL);
      if (sent < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) return finish();
      const std::size_t done = sent > 0 ? static_cast<std::size_t>(sent) : 0;
      if constexpr (session_counts_io<Session>) bump(io_counters::local().bytes_out, done);
      if (done < head.size()) return write_rest(head.substr(done));
      session_->on_written();
    }
    std::uint64_t budget = std::uint64_t{16} << 20;
    while (file.length() != 0 && budget != 0) {
      off_t offset = static_cast<off_t>(file.offset());
      const std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(file.length(), 1u << 20));
      const ssize_t n = ::sendfile(socket.native_handle(), file.fd(), &offset, want);
      if (n > 0) {
        if constexpr (session_counts_io<Session>)
          bump(io_counters::local().bytes_out, static_cast<std::uint64_t>(n));
        session_->on_file_sent(static_cast<std::size_t>(n));
        budget -= std::min<std::uint64_t>(budget, static_cast<std::uint64_t>(n));
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
      return finish();  // 0: the file shrank under us, the promised length cannot be kept; or an error
    }
    if (file.length() == 0) {
      state_ = io_state::none;
      return drive();
    }
    socket.async_wait(asio::socket_base::wait_write,
                      with_memory(write_memory_, [self = ref(this)](const std::error_code& wait_ec) {
                        self->state_ = io_state::none;
                        if (wait_ec || self->closed_) return self->finish();
                        self->start_send_file();
                      }));
  }

  // Writes the rest of output() that a direct send left, then drives on (start_send_file resumes the file).
  void write_rest(std::string_view rest) {
    asio::async_write(
        stream_, asio::buffer(rest.data(), rest.size()),
        with_memory(write_memory_, [self = ref(this)](const std::error_code& ec, std::size_t n) {
          if constexpr (session_counts_io<Session>) bump(io_counters::local().bytes_out, n);
          self->state_ = io_state::none;
          if (ec || self->closed_) return self->finish();
          self->session_->on_written();
          self->drive();
        }));
  }

  // Hands the stream to the protocol the session's last response named. The connection stays registered
  // (counted by the cap, reached by shutdown) until the protocol's task ends.
  void start_upgrade() {
    disarm();
    read_deadline_set_ = false;
    transport_ = std::make_unique<upgrade_transport>();
    transport_->connection = this;
    transport_->read = &connection::upgraded_read;
    transport_->write = &connection::upgraded_write;
    transport_->done = &connection::upgraded_done;
    if constexpr (!is_tls_stream<Stream>) transport_->try_write = &connection::upgraded_try_write;
    transport_->leftover.assign(session_->upgrade_leftover());
    // Graceful shutdown began while the 101 was being written: the protocol starts already stopping.
    transport_->stopping = grace_deadline_ != clock::time_point::max();
    ++refs_;  // the protocol's, dropped when its task ends
    park_armed_ = parking_ = false;
    protocol_ = std::move(session_->upgrade_protocol());
    // The session stays until the connection ends: the protocol was made by the handler, and may hold views
    // into its request (the target, a path parameter, a header), which live in the session's buffer. A
    // protocol that copied what it keeps (keel::ws) lets a plain-TCP connection give it back to the pool now.
    if constexpr (pooled) {
      if (protocol_.owns_request) pool_->give(std::exchange(session_, nullptr));
    }
    protocol_.start(protocol_.protocol, transport_.get());
  }
  static void upgraded_read(void* c, std::span<char> into, upgrade_op& op) {
    auto* self = static_cast<connection*>(c);
    upgrade_transport& t = *self->transport_;
    self->state_ = io_state::reading;
    if (t.read_deadline != clock::time_point{})
      self->arm(t.read_deadline);
    else
      self->arm(clock::now() + (t.read_timeout.count() != 0 ? t.read_timeout : self->cfg_.timeout.idle));
    self->stream_.async_read_some(
        asio::buffer(into.data(), into.size()),
        with_memory(self->read_memory_, [s = ref(self), &op](const std::error_code& ec, std::size_t n) {
          s->state_ = io_state::none;
          s->disarm();
          s->read_timed_out_ = false;
          op.error = ec;
          op.bytes = n;
          op.waiter.resume();
        }));
  }
  static void upgraded_write(void* c, std::string_view bytes, upgrade_op& op) {
    auto* self = static_cast<connection*>(c);
    self->arm(clock::now() + self->cfg_.timeout.write);
    asio::async_write(
        self->stream_, asio::buffer(bytes.data(), bytes.size()),
        with_memory(self->write_memory_, [s = ref(self), &op](const std::error_code& ec, std::size_t) {
          if (s->state_ != io_state::reading) s->disarm();
          op.error = ec;
          if (ec) s->close_socket();
          op.waiter.resume();
        }));
  }
  static std::size_t upgraded_try_write(void* c, const std::string_view* parts, std::size_t count) {
    auto* self = static_cast<connection*>(c);
    iovec iov[upgrade_transport::max_write_parts];
    std::size_t k = 0, total = 0;
    for (std::size_t i = 0; i < count && k < upgrade_transport::max_write_parts; ++i)
      if (!parts[i].empty()) {
        iov[k++] = iovec{const_cast<char*>(parts[i].data()), parts[i].size()};
        total += parts[i].size();
      }
    if (k == 0) return 0;
    const int fd = self->stream_.native_handle();
    constexpr int flags = MSG_DONTWAIT | MSG_NOSIGNAL;
    ssize_t n = 0;
    // send(2) on one buffer costs the kernel less than sendmsg(2) on an iovec array (no msghdr or iovec to
    // copy in): a lone part goes as it is, small frames (a header and its payload) are joined on the stack.
    constexpr std::size_t join_below = 512;
    if (k == 1) {
      n = ::send(fd, iov[0].iov_base, iov[0].iov_len, flags);
    } else if (total <= join_below) {
      char joined[join_below];
      std::size_t at = 0;
      for (std::size_t i = 0; i < k; ++i) {
        std::memcpy(joined + at, iov[i].iov_base, iov[i].iov_len);
        at += iov[i].iov_len;
      }
      n = ::send(fd, joined, at, flags);
    } else {
      msghdr msg{};
      msg.msg_iov = iov;
      msg.msg_iovlen = k;
      n = ::sendmsg(fd, &msg, flags);
    }
    if (n >= 0) return static_cast<std::size_t>(n);
    if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) self->close_socket();
    return 0;
  }
  static void upgraded_done(void* c) {
    ref self(static_cast<connection*>(c));
    --self->refs_;  // the protocol's reference; `self` keeps the connection until this returns
    self->transport_->closed = true;
    self->linger();
  }

  // Closes the way browsers and proxies expect: say we are done, then drain what the peer still sends for a
  // moment. Closing with unread input would make the kernel send RST, which can destroy the response we
  // just wrote before the peer reads it.
  void linger() {
    if (closed_) return finish();
    state_ = io_state::lingering;
    arm(clock::now() + linger_time());
    if constexpr (is_tls_stream<Stream>) {
      stream_.async_shutdown(
          with_memory(write_memory_, [self = ref(this)](const std::error_code&) { self->finish(); }));
    } else {
      std::error_code ignored;
      stream_.shutdown(asio::ip::tcp::socket::shutdown_send, ignored);
      drain();
    }
  }
  void drain() {
    stream_.async_read_some(
        asio::buffer(drain_buffer_),
        with_memory(read_memory_, [self = ref(this)](const std::error_code& ec, std::size_t) {
          if (ec || self->closed_) return self->finish();
          self->drain();
        }));
  }
  std::chrono::milliseconds linger_time() const {
    return std::min(cfg_.timeout.write, std::chrono::milliseconds(2000));
  }

  std::chrono::milliseconds timeout_for(read_phase phase) const {
    switch (phase) {
      case read_phase::idle:
        return cfg_.timeout.idle;
      case read_phase::header:
        return cfg_.timeout.header;
      case read_phase::body:
        return cfg_.timeout.body;
    }
    return cfg_.timeout.header;
  }

  void on_deadline() override {
    if (closed_) return;
    switch (state_) {
      case io_state::reading: {
        if (std::exchange(park_armed_, false)) {  // idle long enough: the read stops, the session goes back
          parking_ = true;
          std::error_code ignored;
          stream_.lowest_layer().cancel(ignored);
          break;
        }
        // Stop the read; its handler reports the timeout to the session, which may still answer 408.
        read_timed_out_ = true;
        std::error_code ignored;
        stream_.lowest_layer().cancel(ignored);
        break;
      }
      case io_state::waiting:
        break;
      case io_state::none:
        if (transport_) close_socket();  // an upgraded protocol's write took too long
        break;
      default:  // handshake, write or linger took too long
        close_socket();
    }
  }
  void close_socket() {
    if (closed_) return;
    closed_ = true;
    std::error_code ignored;
    stream_.lowest_layer().close(ignored);
    if (transport_) transport_->closed = true;
    if (session_ != nullptr && session_->handler_running()) {
      session_->abandon();  // a handler parked in stream I/O resumes with keel::stream_closed
      // It may have finished at once: then nobody else calls the resume hook for the waiting reference.
      if (!session_->handler_running() && state_ == io_state::waiting) on_resume();
    }
  }
  void finish() { close_socket(); }

  // One per kind of operation that can be outstanding: a read (or handshake, or drain) and a write (or TLS
  // shutdown); the resumption post lives in the registry. Sized from the operations measured on g++ 12 and
  // clang 16 (plain TCP: read 224, async_write 272, post 56 bytes; TLS: up to 392) with room to spare; a
  // larger one still works, from the heap.
  static constexpr std::size_t op_bytes = is_tls_stream<Stream> ? 512 : 384;
  handler_memory<op_bytes> read_memory_;
  handler_memory<op_bytes> write_memory_;
  Stream stream_;
  asio::io_context* reactor_ = nullptr;
  const server_config& cfg_;
  Session* session_ = nullptr;  // owned; pooled connections hold one only while they have bytes to work on
  session_pool<Session>* pool_ = nullptr;
  std::uint32_t refs_ = 0;
  io_state state_ = io_state::none;
  read_phase read_deadline_phase_ = read_phase::idle;
  bool read_deadline_set_ = false;
  bool read_timed_out_ = false;
  bool close_after_write_ = false;
  bool resumed_early_ = false;
  bool resume_queued_ = false;  // an after_wait is queued for the current wait
  bool peer_watched_ = false;   // watch_peer's readiness wait is pending
  bool closed_ = false;
  bool dropped_ = false;
  bool park_armed_ = false;  // the deadline is park_after's, not the idle timeout's
  bool parking_ = false;     // the read was stopped to park the session
  bool served_ = false;      // while without a session: a request was answered on this connection
  std::uint8_t remote_size_ = 0;
  std::array<char, 46> remote_{};  // the peer's address as text, handed to each session this connection takes
  bool close_requested_ = false;   // graceful shutdown began (told to every session this connection takes)
  clock::time_point grace_deadline_ = clock::time_point::max();  // set when graceful shutdown began
  clock::time_point idle_deadline_{};                            // the idle timeout, while park_after runs
  // The protocol the connection was upgraded to; declared before transport_, so it goes after it (as when
  // the session held it).
  typename upgrade_slot_of<Session>::type protocol_{};
  std::unique_ptr<upgrade_transport> transport_;  // only once upgraded
  char drain_buffer_[256];
};

}  // namespace detail
}  // namespace v0
}  // namespace keel
