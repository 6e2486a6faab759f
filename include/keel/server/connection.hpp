// keel::detail::connection: drives one session over one socket (plain TCP or TLS) on its reactor thread.
#pragma once

#include "keel/config.hpp"
#include "keel/detail/handler_memory.hpp"
#include "keel/server/config.hpp"

#include "keel/detail/upgrade_transport.hpp"

#include <asio/buffer.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/post.hpp>
#include <asio/write.hpp>

#include <sys/sendfile.h>
#include <sys/socket.h>

#include <cerrno>
#include <chrono>
#include <cstddef>
#include <memory>
#include <cstdint>
#include <string_view>
#include <algorithm>
#include <system_error>
#include <type_traits>
#include <utility>

namespace keel::inline v0::detail {

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

  bool empty() const noexcept { return head_ == nullptr; }
  std::size_t size() const noexcept { return size_; }

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
};

inline connection_base::connection_base(connection_registry& registry) noexcept : registry_(&registry) {
  registry.add(this);
}
inline connection_base::~connection_base() { registry_->remove(this); }
inline void connection_base::queue_ready(asio::io_context& reactor, ready_fn fn) {
  ready_fn_ = fn;
  registry_->push_ready(this, reactor);
}

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
      : connection_base(registry),
        stream_(std::move(stream)),
        cfg_(cfg),
        session_(app, cfg, is_tls_stream<Stream>) {
    session_.set_resume_hook(&connection::resume_thunk, this);
    if constexpr (!is_tls_stream<Stream> && requires { session_.set_sendfile(true); })
      session_.set_sendfile(true);
    // Resumed connections are driven from their reactor's ready list, posted to the io_context's own
    // executor: a post through the socket's type-erased executor always heap-allocates an executor_function.
    const auto executor = stream_.get_executor();  // target() points into it
    if (auto* ex = executor.template target<asio::io_context::executor_type>()) reactor_ = &ex->context();
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
    session_.request_close();
    // An idle keep-alive connection (now, or once its request is answered): a request may be on its way.
    // Closing at once would answer it with a reset; instead the connection waits a short grace period, and
    // what arrives is answered with Connection: close.
    grace_deadline_ = clock::now() + std::min(cfg_.timeout.shutdown, std::chrono::milliseconds(500));
    if (state_ == io_state::reading && session_.idle()) {
      arm(grace_deadline_);
      read_deadline_set_ = true;
      read_deadline_phase_ = read_phase::idle;
    }
  }
  bool idle_keep_alive() const override {
    if constexpr (requires { session_.idle_keep_alive(); }) {
      return !closed_ && !transport_ && state_ == io_state::reading && session_.idle_keep_alive();
    } else {
      return false;
    }
  }
  void force_close() override { close_socket(); }

  Session& session() noexcept { return session_; }

 private:
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
      switch (session_.process()) {
        case session_action::read:
          return start_read();
        case session_action::write:
          return start_write(false);
        case session_action::close:
          if (!session_.output().empty()) return start_write(true);
          // Nothing owed and nothing unread (a timeout between requests, a shutdown): no response to protect
          // from a reset, so no lingering either.
          if (session_.idle()) return finish();
          return linger();
        case session_action::send_file:
          if constexpr (requires { session_.file_to_send(); }) {
            if constexpr (!is_tls_stream<Stream>) return start_send_file();
          }
          return finish();  // a session asks only transports that told it they can
        case session_action::upgrade:
          if constexpr (requires { session_.upgrade_protocol(); }) return start_upgrade();
          return finish();
        case session_action::wait:
          if (std::exchange(resumed_early_, false)) continue;
          state_ = io_state::waiting;
          read_deadline_set_ = false;
          disarm();
          ++refs_;  // the pending async handler's reference, dropped in resume()
          return;
      }
    }
    finish();
  }

  static void resume_thunk(void* self) { static_cast<connection*>(self)->on_resume(); }
  void on_resume() {
    if (state_ != io_state::waiting) {
      resumed_early_ = true;  // the session finished its handler before returning `wait`
      return;
    }
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
    state_ = io_state::none;
    --refs_;  // the reference taken when `wait` began; the caller holds another
    if (closed_) {
      session_.settle();
      return finish();
    }
    drive();
  }

  // The last reference went. A handler still running (streaming, or awaiting something of its own) holds
  // the session: the connection stays until it finished, and its parked stream I/O fails now.
  void release() {
    if (!dropped_ && session_.handler_running()) {
      ++refs_;  // the handler's, dropped when it finished (after_wait)
      state_ = io_state::waiting;
      close_socket();
      return;
    }
    delete this;
  }

  void start_read() {
    // A phase's deadline runs from when the phase began, not from the last read: a client trickling one
    // header byte at a time must still hit the header timeout.
    const read_phase phase = session_.phase();
    if (!read_deadline_set_ || phase != read_deadline_phase_) {
      read_deadline_set_ = true;
      read_deadline_phase_ = phase;
      arm(clock::now() + timeout_for(phase));
      if (KEEL_UNLIKELY(grace_deadline_ != clock::time_point::max()) && session_.idle())
        arm(grace_deadline_);  // shutting down: an idle connection waits only the grace period
    }
    state_ = io_state::reading;
    const auto space = session_.read_buffer();
    stream_.async_read_some(
        asio::buffer(space.data(), space.size()),
        with_memory(read_memory_, [self = ref(this)](const std::error_code& ec, std::size_t n) {
          self->state_ = io_state::none;
          self->on_read(ec, n);
        }));
  }

  void on_read(const std::error_code& ec, std::size_t n) {
    // Bytes that arrived as the deadline fired win over the deadline: a request racing the idle or shutdown
    // grace period is answered rather than dropped.
    if (std::exchange(read_timed_out_, false) && !closed_ && (ec || n == 0)) {
      session_.on_timeout(read_deadline_phase_);
      read_deadline_set_ = false;
      return drive();
    }
    if (ec || closed_) return finish();
    session_.on_read(n);
    drive();
  }

  void start_write(bool then_close) {
    state_ = io_state::writing;
    close_after_write_ = then_close;
    read_deadline_set_ = false;
    arm(clock::now() + cfg_.timeout.write);
    const std::string_view out = session_.output();
    asio::async_write(stream_, asio::buffer(out.data(), out.size()),
                      with_memory(write_memory_, [self = ref(this)](const std::error_code& ec, std::size_t) {
                        self->state_ = io_state::none;
                        if (ec || self->closed_) return self->finish();
                        self->session_.on_written();
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
    auto& file = session_.file_to_send();
    auto& socket = stream_.lowest_layer();
    std::error_code ec;
    if (!socket.native_non_blocking()) socket.native_non_blocking(true, ec);
    // The head (and any pipelined answers before it) goes first, corked with MSG_MORE so that it leaves in
    // the same segments as the file's first bytes. What the socket does not take now is written the usual
    // way, and the file follows on the next turn.
    const std::string_view head = session_.output();
    if (!head.empty()) {
      const ssize_t sent = ::send(socket.native_handle(), head.data(), head.size(), MSG_MORE | MSG_NOSIGNAL);
      if (sent < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) return finish();
      const std::size_t done = sent > 0 ? static_cast<std::size_t>(sent) : 0;
      if (done < head.size()) return write_rest(head.substr(done));
      session_.on_written();
    }
    std::uint64_t budget = std::uint64_t{16} << 20;
    while (file.length() != 0 && budget != 0) {
      off_t offset = static_cast<off_t>(file.offset());
      const std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(file.length(), 1u << 20));
      const ssize_t n = ::sendfile(socket.native_handle(), file.fd(), &offset, want);
      if (n > 0) {
        session_.on_file_sent(static_cast<std::size_t>(n));
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
    asio::async_write(stream_, asio::buffer(rest.data(), rest.size()),
                      with_memory(write_memory_, [self = ref(this)](const std::error_code& ec, std::size_t) {
                        self->state_ = io_state::none;
                        if (ec || self->closed_) return self->finish();
                        self->session_.on_written();
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
    transport_->leftover.assign(session_.upgrade_leftover());
    // Graceful shutdown began while the 101 was being written: the protocol starts already stopping.
    transport_->stopping = grace_deadline_ != clock::time_point::max();
    ++refs_;  // the protocol's, dropped when its task ends
    auto& slot = session_.upgrade_protocol();
    slot.start(slot.protocol, transport_.get());
  }
  static void upgraded_read(void* c, std::span<char> into, upgrade_op& op) {
    auto* self = static_cast<connection*>(c);
    const auto timeout = self->transport_->read_timeout.count() != 0 ? self->transport_->read_timeout
                                                                     : self->cfg_.timeout.idle;
    self->state_ = io_state::reading;
    self->arm(clock::now() + timeout);
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
    if (session_.handler_running()) {
      session_.abandon();  // a handler parked in stream I/O resumes with keel::stream_closed
      // It may have finished at once: then nobody else calls the resume hook for the waiting reference.
      if (!session_.handler_running() && state_ == io_state::waiting) on_resume();
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
  Session session_;
  std::uint32_t refs_ = 0;
  io_state state_ = io_state::none;
  read_phase read_deadline_phase_ = read_phase::idle;
  bool read_deadline_set_ = false;
  bool read_timed_out_ = false;
  bool close_after_write_ = false;
  bool resumed_early_ = false;
  bool closed_ = false;
  bool dropped_ = false;
  clock::time_point grace_deadline_ = clock::time_point::max();  // set when graceful shutdown began
  std::unique_ptr<upgrade_transport> transport_;                 // only once upgraded
  char drain_buffer_[256];
};

}  // namespace keel::inline v0::detail
