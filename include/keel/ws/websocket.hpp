// keel::websocket: one server-side WebSocket connection (RFC 6455, with permessage-deflate from RFC 7692),
// running over the stream keel::upgrade handed over (TCP or TLS).
//
//   for (;;) {
//     keel::ws_message msg = co_await ws.receive();
//     if (msg.closed()) break;
//     co_await ws.send_text(msg.data);
//   }
//
// One coroutine receives (the route's handler); sends may come from it, from other coroutines of the same
// reactor thread, or from any thread through a keel::ws_handle, which hands an already serialised
// keel::ws_frame to the connection's thread. Messages are queued and written by one writer in order (a
// handler's send with nothing queued, on plain TCP, goes to the socket at once).
#pragma once

#include "keel/config.hpp"
#include "keel/detail/handler_memory.hpp"
#include "keel/detail/upgrade_transport.hpp"
#include "keel/error.hpp"
#include "keel/server/reactor.hpp"
#include "keel/task.hpp"
#include "keel/ws/buffer_pool.hpp"
#include "keel/ws/deflate.hpp"
#include "keel/ws/options.hpp"
#include "keel/ws/protocol.hpp"

#include <asio/error.hpp>
#include <asio/io_context.hpp>
#include <asio/post.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>

namespace keel {
inline namespace v0 {

class websocket;

// What receive() returns: a whole message, or the end of the connection.
struct ws_message {
  enum class type : std::uint8_t { text, binary, closed };
  type kind = type::closed;
  // text/binary: the payload (text is valid UTF-8), valid until the next receive() on this socket.
  std::string_view data;
  // closed: the peer's close code (1005 when its close frame had none, 1006 when the connection dropped
  // without a close frame), or the code the server closed with (1002, 1007, 1009 ... after a peer's error,
  // 1001 at shutdown or idle timeout).
  std::uint16_t close_code = 0;
  std::string_view close_reason;

  bool is_text() const noexcept { return kind == type::text; }
  bool is_binary() const noexcept { return kind == type::binary; }
  bool closed() const noexcept { return kind == type::closed; }
  explicit operator bool() const noexcept { return !closed(); }
};

// A message serialised once as a server frame (header + payload, uncompressed), shareable by any number of
// connections: a hub builds one per broadcast and posts the same pointer to every subscriber.
class ws_frame {
 public:
  static std::shared_ptr<const ws_frame> text(std::string_view payload) {
    return make(ws_opcode::text, payload);
  }
  static std::shared_ptr<const ws_frame> binary(std::string_view payload) {
    return make(ws_opcode::binary, payload);
  }
  static std::shared_ptr<const ws_frame> make(ws_opcode opcode, std::string_view payload) {
    auto f = std::make_shared<ws_frame>(private_tag{});
    f->bytes_.resize(detail::ws::max_server_header + payload.size());
    const std::size_t h = detail::ws::write_header(f->bytes_.data(), opcode, payload.size());
    if (!payload.empty()) std::memcpy(f->bytes_.data() + h, payload.data(), payload.size());
    f->bytes_.resize(h + payload.size());
    f->payload_size_ = payload.size();
    return f;
  }
  // The whole frame as it goes on the wire.
  std::string_view bytes() const noexcept { return bytes_; }
  std::size_t payload_size() const noexcept { return payload_size_; }

  struct private_tag {};
  explicit ws_frame(private_tag) {}

 private:
  std::string bytes_;
  std::size_t payload_size_ = 0;
};
using ws_frame_ptr = std::shared_ptr<const ws_frame>;

namespace detail::ws {

// One message waiting to be written. Handler sends and control frames live in the sender's awaiter or in
// the connection; posted frames are allocated (heap = true) and freed once written or dropped. A frame the
// socket took only in part leaves its rest as `raw` bytes (written as they are).
struct out_node {
  enum class kind : std::uint8_t { message, shared, control, raw };
  out_node* next = nullptr;
  kind what = kind::message;
  ws_opcode opcode = ws_opcode::text;
  bool heap = false;
  bool failed = false;
  bool queued = false;
  std::string_view payload;  // message / control: framed when written; raw: written as it is
  ws_frame_ptr frame;        // shared
  std::coroutine_handle<> waiter;
};

// The part of a connection other threads may touch: where to post, and whether it is still there.
struct link {
  asio::io_context* reactor = nullptr;
  std::atomic<websocket*> socket{nullptr};
  std::atomic<std::size_t> queued{0};  // posted, not yet written or dropped (for try_send)
  std::size_t queue_limit = 0;
};

// Scratch space shared by the connections of a thread: compressed output, and the zlib streams of
// connections that negotiated no context takeover (reset after each message, so any connection may use them).
struct thread_scratch {
  std::string compressed;
  std::unique_ptr<deflater> shared_deflater;
  int shared_deflater_bits = 0;
  std::unique_ptr<inflater> shared_inflater;
  static thread_scratch& get() {
    thread_local thread_scratch s;
    return s;
  }
};

// Resumes a coroutine from the reactor's queue.
struct resume_op {
  std::coroutine_handle<> h;
  void operator()() const { h.resume(); }
};

// A read that ended because its deadline passed or shutdown began (the connection cancels it).
inline bool is_canceled(const std::error_code& ec) noexcept { return ec == asio::error::operation_aborted; }

}  // namespace detail::ws

// A thread-safe handle on one connection, for senders outside its handler (a pub/sub hub, a worker thread).
// Copyable; it does not keep the connection open (post/try_send return false once it is gone).
class ws_handle {
 public:
  ws_handle() = default;
  explicit ws_handle(std::shared_ptr<detail::ws::link> l) noexcept : link_(std::move(l)) {}

  // Hands `frame` to the connection's thread, where it joins the send queue (the route's overflow policy
  // applies there: close with 1008, or drop the oldest queued message). false when the connection is gone.
  bool post(const ws_frame_ptr& frame) const;
  // Several frames, in order: on the connection's thread with nothing queued, handed to the socket in one
  // system call (a hub delivering the messages a busy reactor had waiting); elsewhere posted one by one.
  bool post(std::span<const ws_frame_ptr> frames) const;
  // As post(), but false without posting when the queue is already at its message limit: a slow consumer
  // is skipped rather than closed.
  bool try_send(const ws_frame_ptr& frame) const;
  // Closes the connection with `code` from any thread (the close handshake runs on its thread).
  bool close(std::uint16_t code = ws_close::normal, std::string reason = {}) const;
  bool open() const noexcept { return link_ && link_->socket.load(std::memory_order_acquire) != nullptr; }
  // Messages posted and not yet written or dropped.
  std::size_t queued() const noexcept { return link_ ? link_->queued.load(std::memory_order_relaxed) : 0; }
  explicit operator bool() const noexcept { return link_ != nullptr; }
  friend bool operator==(const ws_handle& a, const ws_handle& b) noexcept { return a.link_ == b.link_; }

 private:
  std::shared_ptr<detail::ws::link> link_;
};

class websocket {
 public:
  struct accepted {
    std::string subprotocol;
    std::optional<detail::ws::deflate_params> deflate;
  };

  websocket(detail::upgrade_transport& t, const ws_options& opts, accepted agreed)
      : t_(&t), opts_(&opts), subprotocol_(std::move(agreed.subprotocol)), deflate_(agreed.deflate) {
    last_rx_ = last_ping_ = clock::now();
    if (!t.leftover.empty()) {  // bytes the client sent right behind its handshake
      take_block();
      const std::size_t n = std::min(t.leftover.size(), detail::ws::block_pool::block_size);
      std::memcpy(rbuf_, t.leftover.data(), n);
      end_ = n;
      if (n < t.leftover.size()) rest_of_leftover_.assign(t.leftover, n);
      std::string().swap(t.leftover);
    }
  }
  websocket(const websocket&) = delete;
  websocket& operator=(const websocket&) = delete;
  ~websocket() {
    if (link_) link_->socket.store(nullptr, std::memory_order_release);
    fail_queue();
    detail::ws::block_pool::release(rbuf_);
    detail::ws::block_pool::release(wblock_);
  }

  // --- receiving

  // The next text or binary message (pings are answered, pongs noted, fragments joined, text checked as
  // UTF-8 as it arrives), or a closed message when the connection ends. The payload is valid until the next
  // receive(). After a closed message, receive() returns closed again.
  [[nodiscard]] task<ws_message> receive();

  // The next message parsed as JSON into T (keel's DTO reader), or std::nullopt when the connection ended.
  // A message that is not valid JSON for T is handled by ws_options::json_errors: an error message in
  // keel's error shape is sent back and the next message is read, or the connection closes with 1007/1008.
  // (Defined in keel/ws/json.hpp, with keel's JSON layer.)
  template <class T>
  [[nodiscard]] task<std::optional<T>> receive_json();

  // --- sending (from the handler or any coroutine on this connection's thread)

  class send_awaiter {
   public:
    send_awaiter(websocket& ws, ws_opcode op, std::string_view payload) noexcept : ws_(&ws) {
      node_.what = detail::ws::out_node::kind::message;
      node_.opcode = op;
      node_.payload = payload;
    }
    send_awaiter(const send_awaiter&) = delete;
    send_awaiter& operator=(const send_awaiter&) = delete;
    bool await_ready() noexcept {
      if (!ws_->can_send()) {
        node_.failed = true;
        return true;
      }
      return false;
    }
    void await_suspend(std::coroutine_handle<> h) {
      node_.waiter = h;
      if (!ws_->send_now(node_, resume_memory_)) ws_->enqueue(&node_);
    }
    void await_resume() const {
      if (node_.failed) throw stream_closed();
    }

   private:
    websocket* ws_;
    detail::ws::out_node node_;
    detail::post_memory resume_memory_;  // the resumption's post (send_now), while the sender waits
  };
  // co_await ws.send_text(s): resumes once the message was handed to the socket; throws keel::stream_closed
  // when the connection is closing or gone. `s` must stay valid until then (it is framed, and compressed
  // when permessage-deflate was agreed and it is at least deflate.min_bytes long, when it is written).
  [[nodiscard]] send_awaiter send_text(std::string_view text) { return {*this, ws_opcode::text, text}; }
  [[nodiscard]] send_awaiter send_binary(std::string_view data) { return {*this, ws_opcode::binary, data}; }
  // T as JSON text (keel's DTO writer). Defined in keel/ws/json.hpp.
  template <class T>
  [[nodiscard]] task<> send_json(const T& value);

  // A frame serialised once (ws_frame::text), queued without waiting: the send-queue limits and overflow
  // policy apply. false when the connection is closing or gone. This thread only; elsewhere use handle().
  bool post(const ws_frame_ptr& frame) { return enqueue_shared(frame); }
  // Several frames in order (written together when nothing else is queued). false once the connection is
  // closing or gone.
  bool post(std::span<const ws_frame_ptr> frames);

  // Starts the close handshake with `code` and `reason` (at most 123 bytes of UTF-8) and waits until the
  // peer answered with its close frame or ws_options::close_timeout passed. Messages that arrive meanwhile
  // are discarded.
  [[nodiscard]] task<> close(std::uint16_t code = ws_close::normal, std::string_view reason = {});

  // --- state

  // A handle other threads can post through (allocated on first use).
  ws_handle handle() {
    if (!link_) {
      link_ = std::make_shared<detail::ws::link>();
      link_->reactor = reactor_ != nullptr ? reactor_ : detail::current_reactor();
      link_->queue_limit = opts_->send_queue_messages;
      link_->queued.store(posted_count_, std::memory_order_relaxed);
      link_->socket.store(state_ == state::closed ? nullptr : this, std::memory_order_release);
    }
    return ws_handle(link_);
  }
  bool is_open() const noexcept { return state_ == state::open && !t_->closed; }
  // The server began shutting down (the handler's receive() returns closed with 1001 after the handshake).
  bool stopping() const noexcept { return t_->stopping; }
  std::string_view subprotocol() const noexcept { return subprotocol_; }
  bool compressed() const noexcept { return deflate_.has_value(); }
  const ws_options& options() const noexcept { return *opts_; }
  // Queued posted messages not yet written.
  std::size_t queued() const noexcept { return posted_count_; }

  // Runs after the handler returned (the route wrapper calls it): closes with 1000 if still open, waits for
  // the writer to hand everything to the socket.
  [[nodiscard]] task<> finish();
  // Fails the connection: sends a close frame with `code` (unless one went already) and stops reading.
  void fail(std::uint16_t code, std::string_view reason = {});
  // Sends a close frame with `code` and keeps reading until the peer's close frame or the close timeout.
  void begin_close(std::uint16_t code, std::string_view reason = {}) {
    if (state_ != state::open) return;
    fail(code, reason);
    state_ = state::closing;
    close_deadline_ = clock::now() + opts_->close_timeout;
  }
  // The reactor this connection runs on (set by the route wrapper; for handles).
  void set_reactor(asio::io_context* r) noexcept { reactor_ = r; }

 private:
  friend class ws_handle;
  using clock = std::chrono::steady_clock;
  enum class state : std::uint8_t { open, closing, closed };
  enum class step : std::uint8_t { more, message, closed };

  static constexpr std::size_t small_size = 128;
  // A connection whose frames outgrow small_ keeps its block between messages (one read per message instead
  // of a small one and the rest), until a read waits this long: then the block goes back to the pool.
  static constexpr std::chrono::milliseconds keep_block_for{1000};

  // --- reading

  struct read_op {
    detail::upgrade_transport* t;
    std::span<char> into;
    detail::upgrade_op op{};
    bool await_ready() const noexcept { return false; }
    void await_suspend(std::coroutine_handle<> h) {
      op.waiter = h;
      t->read(t->connection, into, op);
    }
    std::size_t await_resume() const noexcept { return op.error ? 0 : op.bytes; }
  };

  void take_block() {
    if (rbuf_ == nullptr) rbuf_ = detail::ws::block_pool::acquire();
  }
  // Between messages with nothing buffered: the block goes back to the pool.
  void settle_read_buffer() {
    if (beg_ == end_ && rest_of_leftover_.empty()) {
      beg_ = end_ = 0;
      if (rbuf_ != nullptr && !in_frame_ && msg_opcode_ == 0 && !keep_block_) {
        detail::ws::block_pool::release(rbuf_);
        rbuf_ = nullptr;
      }
    }
    if (msg_.capacity() > 4096)
      std::string().swap(msg_);
    else
      msg_.clear();
  }

  // Parses what is buffered; `out` is set when a message (or the end) is ready.
  step process(ws_message& out);
  step on_frame_complete(ws_message& out);
  step handle_close_frame(ws_message& out);
  step fail_step(std::uint16_t code, std::string_view reason, ws_message& out) {
    fail(code, reason);
    out = closed_message();
    return step::closed;
  }
  ws_message closed_message() const {
    ws_message m;
    m.kind = ws_message::type::closed;
    m.close_code = close_code_;
    if (ctrl_) m.close_reason = ctrl_->close_reason;
    return m;
  }

  // --- writing

  bool can_send() const noexcept { return state_ == state::open && !t_->closed; }
  void enqueue(detail::ws::out_node* n) {
    n->next = nullptr;
    n->queued = true;
    if (tail_ != nullptr)
      tail_->next = n;
    else
      head_ = n;
    tail_ = n;
    kick();
  }
  // With nothing queued or being written, on plain TCP, a frame that fits a pooled block goes to the socket
  // at once (one system call, no writer coroutine, no asio write operation); what the socket does not take is
  // copied and queued. The sender still resumes from the reactor's queue, as it did after a queued write's
  // completion: resumed at once, it would start its next read before the peer could answer (an EAGAIN read
  // and a trip through epoll per message).
  bool send_now(detail::ws::out_node& n, detail::post_memory& memory) {
    asio::io_context* r = reactor_ != nullptr ? reactor_ : detail::current_reactor();
    if (head_ != nullptr || writing_ || t_->try_write == nullptr || r == nullptr ||
        bound_of(n) > detail::ws::block_pool::block_size)
      return false;
    const frame_parts f = parts_of(n);
    const std::string_view parts[2] = {std::string_view(f.header, f.header_size), f.payload};
    write_parts(parts, 2);
    n.failed = t_->closed;
    asio::post(*r, detail::with_memory(memory, detail::ws::resume_op{n.waiter}));
    return true;
  }
  void kick() {
    if (writing_ || head_ == nullptr) return;
    writing_ = true;
    detail::start_detached(write_loop(), [](detail::task_result<void>&&) {});
  }
  bool enqueue_shared(const ws_frame_ptr& frame, bool counted = false);
  void write_parts(const std::string_view* parts, std::size_t count);
  void drop_oldest_shared();
  void unlink_for_write(detail::ws::out_node* n) {
    if (n->what == detail::ws::out_node::kind::shared && n->heap) {
      --posted_count_;
      posted_bytes_ -= n->frame->bytes().size();
    }
  }
  void complete_node(detail::ws::out_node* n, bool failed) {
    n->queued = false;
    if (n->heap) {
      if (link_) link_->queued.fetch_sub(1, std::memory_order_relaxed);
      delete n;
      return;
    }
    n->failed = failed;
    if (n->waiter) std::exchange(n->waiter, nullptr).resume();
  }
  void fail_queue() {
    while (head_ != nullptr) {
      detail::ws::out_node* n = head_;
      head_ = n->next;
      if (head_ == nullptr) tail_ = nullptr;
      unlink_for_write(n);
      complete_node(n, true);
    }
  }
  struct frame_parts {
    char header[detail::ws::max_server_header];
    std::size_t header_size = 0;
    std::string_view payload;
  };
  frame_parts parts_of(const detail::ws::out_node& n);
  std::size_t bound_of(const detail::ws::out_node& n) const noexcept;
  task<> write_loop();

  void queue_control(detail::ws::out_node& node, ws_opcode op, const char* payload, std::size_t n,
                     char* storage) {
    if (node.queued) return;  // one of each at a time: the newest ping is answered, earlier ones dropped
    std::memcpy(storage, payload, n);
    node.what = detail::ws::out_node::kind::control;
    node.opcode = op;
    node.payload = std::string_view(storage, n);
    enqueue(&node);
  }

  // --- members
  detail::upgrade_transport* t_;
  const ws_options* opts_;
  asio::io_context* reactor_ = nullptr;
  std::shared_ptr<detail::ws::link> link_;
  std::string subprotocol_;
  std::optional<detail::ws::deflate_params> deflate_;
  std::unique_ptr<detail::ws::deflater> deflater_;  // with context takeover only
  std::unique_ptr<detail::ws::inflater> inflater_;  // with context takeover only

  state state_ = state::open;
  bool close_sent_ = false;
  bool stop_seen_ = false;
  bool keep_block_ = false;  // frames came bigger than small_: the block stays (see keep_block_for)
  bool writing_ = false;
  bool in_frame_ = false;
  bool msg_compressed_ = false;
  std::uint8_t msg_opcode_ = 0;  // the data message being assembled (0: none)
  std::uint16_t close_code_ = ws_close::abnormal;
  clock::time_point last_rx_, last_ping_, close_deadline_;

  // Read side: an idle connection waits in small_; a block from the pool holds bytes while a message is
  // being read.
  char* rbuf_ = nullptr;
  std::size_t beg_ = 0, end_ = 0;
  std::string rest_of_leftover_;
  detail::ws::frame_header fh_{};
  std::uint64_t frame_read_ = 0;
  std::size_t msg_size_ = 0;
  std::string msg_;  // a fragmented, compressed or large message, assembled
  detail::ws::utf8_validator utf8_;
  std::size_t ctrl_len_ = 0;

  // Write side.
  detail::ws::out_node* head_ = nullptr;
  detail::ws::out_node* tail_ = nullptr;
  std::size_t posted_count_ = 0, posted_bytes_ = 0;
  std::coroutine_handle<> flush_waiter_;
  char* wblock_ = nullptr;
  // The rest of a batch the socket took only in part (write_parts) and the node that queues it, allocated
  // the first time a socket is found full.
  struct spill_state {
    std::string bytes;
    detail::ws::out_node node;
  };
  std::unique_ptr<spill_state> spill_;
  detail::ws::out_node ping_node_;
  char ping_buf_[1];
  // Pings and closes from the peer, and the close reason: allocated the first time one comes or goes, so an
  // idle connection does not carry ~450 bytes it rarely needs (pongs are not kept).
  struct control_state {
    char in[125];
    char pong[125];
    char close[125];
    detail::ws::out_node pong_node, close_node;
    std::string close_reason;
  };
  std::unique_ptr<control_state> ctrl_;
  control_state& ctrl() {
    if (!ctrl_) ctrl_ = std::make_unique<control_state>();
    return *ctrl_;
  }
  char small_[small_size];
};

// --- ws_handle

inline bool ws_handle::post(const ws_frame_ptr& frame) const {
  if (!link_ || !frame) return false;
  websocket* ws = link_->socket.load(std::memory_order_acquire);
  if (ws == nullptr) return false;
  if (detail::current_reactor() == link_->reactor)  // already on the connection's thread (a hub delivering)
    return ws->enqueue_shared(frame);
  link_->queued.fetch_add(1, std::memory_order_relaxed);
  asio::post(*link_->reactor, [l = link_, f = frame]() mutable {
    if (websocket* ws = l->socket.load(std::memory_order_acquire)) {
      ws->enqueue_shared(std::move(f), true);
    } else {
      l->queued.fetch_sub(1, std::memory_order_relaxed);
    }
  });
  return true;
}

inline bool ws_handle::post(std::span<const ws_frame_ptr> frames) const {
  if (!link_) return false;
  websocket* ws = link_->socket.load(std::memory_order_acquire);
  if (ws == nullptr) return false;
  if (detail::current_reactor() == link_->reactor) return ws->post(frames);
  for (const ws_frame_ptr& f : frames)
    if (!post(f)) return false;
  return true;
}

inline bool ws_handle::try_send(const ws_frame_ptr& frame) const {
  if (link_ && link_->queued.load(std::memory_order_relaxed) >= link_->queue_limit) return false;
  return post(frame);
}

inline bool ws_handle::close(std::uint16_t code, std::string reason) const {
  if (!link_ || link_->socket.load(std::memory_order_acquire) == nullptr) return false;
  auto run = [l = link_, code, r = std::move(reason)] {
    // A handler parked in receive() returns closed once the peer answered (or the close timeout passed).
    if (websocket* ws = l->socket.load(std::memory_order_acquire)) ws->begin_close(code, r);
  };
  if (detail::current_reactor() == link_->reactor) {
    run();
  } else {
    asio::post(*link_->reactor, std::move(run));
  }
  return true;
}

// --- websocket: sending

inline bool websocket::enqueue_shared(const ws_frame_ptr& frame, bool counted) {
  // `counted`: a handle already counted this frame in link_->queued. From here on, exactly one count is
  // held for it while a link exists, and given back when it is written, dropped or refused.
  if (!frame || !can_send()) {
    if (counted) link_->queued.fetch_sub(1, std::memory_order_relaxed);
    return false;
  }
  const std::size_t size = frame->bytes().size();
  while (posted_count_ + 1 > opts_->send_queue_messages || posted_bytes_ + size > opts_->send_queue_bytes) {
    if (opts_->on_overflow == ws_overflow::close || posted_count_ == 0) {
      if (counted) link_->queued.fetch_sub(1, std::memory_order_relaxed);
      fail(ws_close::policy_violation, "send queue overflow");
      return false;
    }
    drop_oldest_shared();
  }
  if (!counted && link_) link_->queued.fetch_add(1, std::memory_order_relaxed);
  auto* n = new detail::ws::out_node;
  n->what = detail::ws::out_node::kind::shared;
  n->heap = true;
  n->frame = frame;
  ++posted_count_;
  posted_bytes_ += size;
  enqueue(n);
  return true;
}

inline bool websocket::post(std::span<const ws_frame_ptr> frames) {
  constexpr std::size_t most = detail::upgrade_transport::max_write_parts;
  std::size_t i = 0;
  // Nothing queued: straight to the socket, up to `most` frames per system call.
  while (i < frames.size() && can_send() && head_ == nullptr && !writing_ && t_->try_write != nullptr) {
    const std::size_t n = std::min(most, frames.size() - i);
    auto bytes_of = [&](std::size_t k) { return frames[k] ? frames[k]->bytes() : std::string_view(); };
    std::size_t total = 0;
    for (std::size_t k = i; k < i + n; ++k) total += bytes_of(k).size();
    if (total > opts_->send_queue_bytes) break;  // more than the queue may hold: its policy decides
    if (n == 1) {  // the usual case: one message per pass (no 64-entry array to fill)
      const std::string_view one = bytes_of(i);
      write_parts(&one, 1);  // taken whole, or its rest queued, or the connection failed
    } else {
      std::string_view parts[most];
      for (std::size_t k = 0; k < n; ++k) parts[k] = bytes_of(i + k);
      write_parts(parts, n);
    }
    i += n;
  }
  for (; i < frames.size(); ++i)
    if (frames[i] && !enqueue_shared(frames[i])) return false;
  return can_send();
}

inline void websocket::drop_oldest_shared() {
  detail::ws::out_node* prev = nullptr;
  for (detail::ws::out_node* n = head_; n != nullptr; prev = n, n = n->next) {
    if (n->what != detail::ws::out_node::kind::shared || !n->heap) continue;
    if (prev != nullptr)
      prev->next = n->next;
    else
      head_ = n->next;
    if (tail_ == n) tail_ = prev;
    unlink_for_write(n);
    complete_node(n, true);
    return;
  }
}

// The frame for `n`: a header and a payload (the payload may sit in this thread's compression scratch: copy
// it before the next frame is built).
inline websocket::frame_parts websocket::parts_of(const detail::ws::out_node& n) {
  using kind = detail::ws::out_node::kind;
  frame_parts f;
  if (n.what == kind::shared) {
    f.payload = n.frame->bytes();
    return f;
  }
  if (n.what == kind::raw) {
    f.payload = n.payload;
    return f;
  }
  std::string_view payload = n.payload;
  bool rsv1 = false;
  if (n.what == kind::message && deflate_ && payload.size() >= opts_->deflate.min_bytes) {
    auto& scratch = detail::ws::thread_scratch::get();
    scratch.compressed.clear();
    const bool reset = deflate_->server_no_context_takeover;
    detail::ws::deflater* d = nullptr;
    if (reset) {
      if (!scratch.shared_deflater || scratch.shared_deflater_bits != deflate_->server_max_window_bits) {
        scratch.shared_deflater = std::make_unique<detail::ws::deflater>(
            deflate_->server_max_window_bits, opts_->deflate.level, opts_->deflate.mem_level);
        scratch.shared_deflater_bits = deflate_->server_max_window_bits;
      }
      d = scratch.shared_deflater.get();
    } else {
      if (!deflater_)
        deflater_ = std::make_unique<detail::ws::deflater>(deflate_->server_max_window_bits,
                                                           opts_->deflate.level, opts_->deflate.mem_level);
      d = deflater_.get();
    }
    if (d->compress(payload, scratch.compressed, reset)) {
      payload = scratch.compressed;
      rsv1 = true;
    }
  }
  f.header_size = detail::ws::write_header(f.header, n.opcode, payload.size(), true, rsv1);
  f.payload = payload;
  return f;
}

// An upper bound of the bytes parts_of(n) produces (deflate may grow incompressible data a little).
inline std::size_t websocket::bound_of(const detail::ws::out_node& n) const noexcept {
  if (n.what == detail::ws::out_node::kind::shared) return n.frame->bytes().size();
  if (n.what == detail::ws::out_node::kind::raw) return n.payload.size();
  return detail::ws::max_server_header + n.payload.size() + (deflate_ ? n.payload.size() / 512 + 64 : 0);
}

// With nothing queued or being written, on plain TCP: `parts` (at most max_write_parts) to the socket in one
// system call. What it does not take is copied to spill_ and queued as raw bytes; a broken socket closes the
// connection.
inline void websocket::write_parts(const std::string_view* parts, std::size_t count) {
  const std::size_t sent = t_->try_write(t_->connection, parts, count);
  if (t_->closed) {
    state_ = state::closed;
    if (link_) link_->socket.store(nullptr, std::memory_order_release);
    return;
  }
  std::size_t skip = sent, i = 0;
  while (i < count && skip >= parts[i].size()) skip -= parts[i++].size();
  if (i == count) return;
  if (!spill_) spill_ = std::make_unique<spill_state>();
  std::string& bytes = spill_->bytes;
  bytes.assign(parts[i].substr(skip));
  while (++i < count) bytes.append(parts[i]);
  spill_->node.what = detail::ws::out_node::kind::raw;
  spill_->node.payload = bytes;
  enqueue(&spill_->node);
}

inline task<> websocket::write_loop() {
  using detail::ws::out_node;
  constexpr std::size_t block = detail::ws::block_pool::block_size;
  std::string big;  // a frame larger than a pooled block
  while (head_ != nullptr && !t_->closed) {
    // A batch: as many queued frames as fit in one block, written at once; or one large frame.
    out_node* first = head_;
    out_node* last = nullptr;
    std::string_view bytes;
    if (first->what == out_node::kind::shared && first->frame->bytes().size() >= 4096) {
      bytes = first->frame->bytes();  // shared and large: written from where it is, no copy
      last = first;
    } else if (bound_of(*first) > block) {
      const frame_parts f = parts_of(*first);
      big.assign(f.header, f.header_size);
      big.append(f.payload);
      bytes = big;
      last = first;
    } else {
      if (wblock_ == nullptr) wblock_ = detail::ws::block_pool::acquire();
      std::size_t used = 0;
      for (out_node* n = first; n != nullptr && used + bound_of(*n) <= block; n = n->next) {
        const frame_parts f = parts_of(*n);
        std::memcpy(wblock_ + used, f.header, f.header_size);
        used += f.header_size;
        if (!f.payload.empty()) std::memcpy(wblock_ + used, f.payload.data(), f.payload.size());
        used += f.payload.size();
        last = n;
      }
      bytes = std::string_view(wblock_, used);
    }
    head_ = last->next;
    if (head_ == nullptr) tail_ = nullptr;
    last->next = nullptr;
    for (out_node* n = first; n != nullptr; n = n->next) unlink_for_write(n);

    detail::upgrade_op op{};
    struct write_op {
      detail::upgrade_transport* t;
      std::string_view bytes;
      detail::upgrade_op& op;
      bool await_ready() const noexcept { return t->closed; }
      void await_suspend(std::coroutine_handle<> h) {
        op.waiter = h;
        t->write(t->connection, bytes, op);
      }
      void await_resume() const noexcept {}
    };
    write_op write{t_, bytes, op};  // named: g++ 12 mishandles braced temporaries inside co_await
    co_await write;
    const bool failed = op.error || t_->closed;
    if (big.capacity() > 0) std::string().swap(big);
    if (head_ == nullptr) {  // going idle: the block goes back to the pool
      detail::ws::block_pool::release(wblock_);
      wblock_ = nullptr;
    }
    // Completing a node may resume its sender, which may queue more: the batch was detached first.
    for (out_node* n = first; n != nullptr;) {
      out_node* next = n->next;
      complete_node(n, failed);
      n = next;
    }
    if (failed) {
      state_ = state::closed;
      if (link_) link_->socket.store(nullptr, std::memory_order_release);
      fail_queue();
    }
  }
  if (t_->closed) fail_queue();
  if (head_ == nullptr && wblock_ != nullptr) {
    detail::ws::block_pool::release(wblock_);
    wblock_ = nullptr;
  }
  if (head_ == nullptr && spill_ && spill_->bytes.capacity() > 4096) std::string().swap(spill_->bytes);
  writing_ = false;
  if (flush_waiter_) std::exchange(flush_waiter_, nullptr).resume();
}

inline void websocket::fail(std::uint16_t code, std::string_view reason) {
  if (state_ == state::closed) return;
  if (!close_sent_) {
    close_sent_ = true;
    close_code_ = code;
    ctrl().close_reason.assign(reason.substr(0, 123));
    char payload[125];
    payload[0] = static_cast<char>(code >> 8);
    payload[1] = static_cast<char>(code & 0xFF);
    const std::size_t n = std::min<std::size_t>(reason.size(), 123);
    std::memcpy(payload + 2, reason.data(), n);
    queue_control(ctrl().close_node, ws_opcode::close, payload, 2 + n, ctrl().close);
  }
  state_ = state::closed;
  if (link_) link_->socket.store(nullptr, std::memory_order_release);
}

// --- websocket: receiving

inline websocket::step websocket::on_frame_complete(ws_message& out) {
  in_frame_ = false;
  const std::uint8_t op = fh_.opcode;
  if (detail::ws::is_control(op)) {
    if (op == static_cast<std::uint8_t>(ws_opcode::ping)) {
      if (state_ == state::open)
        queue_control(ctrl().pong_node, ws_opcode::pong, ctrl().in, ctrl_len_, ctrl().pong);
      return step::more;
    }
    if (op == static_cast<std::uint8_t>(ws_opcode::pong)) return step::more;
    return handle_close_frame(out);
  }
  if (!fh_.fin) return step::more;
  // The message is complete.
  const bool text = msg_opcode_ == static_cast<std::uint8_t>(ws_opcode::text);
  if (msg_compressed_) {
    auto& scratch = detail::ws::thread_scratch::get();
    const bool reset = deflate_->client_no_context_takeover;
    detail::ws::inflater* inf = reset ? scratch.shared_inflater.get() : inflater_.get();
    const std::size_t before = msg_.size();
    const auto s = inf->finish(msg_, opts_->max_message_bytes, reset);
    if (s == detail::ws::inflate_status::too_big)
      return fail_step(ws_close::message_too_big, "message too big", out);
    if (s != detail::ws::inflate_status::ok)
      return fail_step(ws_close::invalid_payload, "bad compressed data", out);
    if (text &&
        !utf8_.feed(reinterpret_cast<const unsigned char*>(msg_.data() + before), msg_.size() - before))
      return fail_step(ws_close::invalid_payload, "invalid UTF-8", out);
  }
  if (text && !utf8_.complete()) return fail_step(ws_close::invalid_payload, "invalid UTF-8", out);
  msg_opcode_ = 0;
  if (state_ != state::open) return step::more;  // closing: data is discarded
  out.kind = text ? ws_message::type::text : ws_message::type::binary;
  out.data = msg_;
  return step::message;
}

inline websocket::step websocket::handle_close_frame(ws_message& out) {
  std::uint16_t code = ws_close::no_status;
  std::string_view reason;
  if (ctrl_len_ == 1) return fail_step(ws_close::protocol_error, "bad close frame", out);
  if (ctrl_len_ >= 2) {
    const char* in = ctrl().in;
    code = static_cast<std::uint16_t>((static_cast<unsigned char>(in[0]) << 8) |
                                      static_cast<unsigned char>(in[1]));
    if (!detail::ws::valid_close_code(code))
      return fail_step(ws_close::protocol_error, "bad close code", out);
    reason = std::string_view(in + 2, ctrl_len_ - 2);
    if (!detail::ws::utf8_validator::valid(reason))
      return fail_step(ws_close::invalid_payload, "close reason is not UTF-8", out);
  }
  if (!close_sent_) {  // the peer started: echo its code
    close_sent_ = true;
    char payload[2];
    std::size_t n = 0;
    if (code != ws_close::no_status) {
      payload[0] = static_cast<char>(code >> 8);
      payload[1] = static_cast<char>(code & 0xFF);
      n = 2;
    }
    queue_control(ctrl().close_node, ws_opcode::close, payload, n, ctrl().close);
  }
  close_code_ = code;
  if (!reason.empty() || ctrl_) ctrl().close_reason.assign(reason);
  state_ = state::closed;
  if (link_) link_->socket.store(nullptr, std::memory_order_release);
  out = closed_message();
  return step::closed;
}

inline websocket::step websocket::process(ws_message& out) {
  using detail::ws::header_status;
  char* const base = rbuf_ != nullptr ? rbuf_ : small_;
  while (beg_ < end_ || (in_frame_ && frame_read_ == fh_.length)) {
    if (!in_frame_) {
      const auto hs =
          detail::ws::parse_header(reinterpret_cast<const unsigned char*>(base + beg_), end_ - beg_, fh_);
      if (hs == header_status::incomplete) return step::more;
      if (hs == header_status::bad_length)
        return fail_step(ws_close::protocol_error, "bad frame length", out);
      const std::uint8_t op = fh_.opcode;
      if (fh_.rsv2 || fh_.rsv3) return fail_step(ws_close::protocol_error, "reserved bits set", out);
      if (!detail::ws::is_known_opcode(op)) return fail_step(ws_close::protocol_error, "unknown opcode", out);
      if (!fh_.masked) return fail_step(ws_close::protocol_error, "client frames must be masked", out);
      if (detail::ws::is_control(op)) {
        if (!fh_.fin || fh_.length > 125)
          return fail_step(ws_close::protocol_error, "bad control frame", out);
        if (fh_.rsv1) return fail_step(ws_close::protocol_error, "reserved bits set", out);
        ctrl_len_ = 0;
      } else if (op == static_cast<std::uint8_t>(ws_opcode::continuation)) {
        if (msg_opcode_ == 0)
          return fail_step(ws_close::protocol_error, "continuation without a message", out);
        if (fh_.rsv1) return fail_step(ws_close::protocol_error, "RSV1 on a continuation frame", out);
      } else {
        if (msg_opcode_ != 0)
          return fail_step(ws_close::protocol_error, "message inside a fragmented message", out);
        if (fh_.rsv1 && !deflate_) return fail_step(ws_close::protocol_error, "reserved bits set", out);
        msg_opcode_ = op;
        msg_compressed_ = fh_.rsv1;
        msg_size_ = 0;
        utf8_.reset();
        msg_.clear();
        if (msg_compressed_) {
          if (deflate_->client_no_context_takeover) {
            auto& scratch = detail::ws::thread_scratch::get();
            if (!scratch.shared_inflater) scratch.shared_inflater = std::make_unique<detail::ws::inflater>();
            scratch.shared_inflater->reset();
          } else if (!inflater_) {
            inflater_ = std::make_unique<detail::ws::inflater>();
          }
        }
      }
      if (!detail::ws::is_control(op)) {
        if (fh_.length > opts_->max_message_bytes - std::min(msg_size_, opts_->max_message_bytes))
          return fail_step(ws_close::message_too_big, "message too big", out);
        msg_size_ += static_cast<std::size_t>(fh_.length);
      }
      beg_ += fh_.header_bytes;
      in_frame_ = true;
      frame_read_ = 0;
      // The common case: a whole, unfragmented, uncompressed message in the buffer, returned in place.
      if (!detail::ws::is_control(op) && op != 0 && fh_.fin && !fh_.rsv1 && end_ - beg_ >= fh_.length) {
        char* p = base + beg_;
        const auto n = static_cast<std::size_t>(fh_.length);
        detail::ws::unmask(p, n, fh_.mask, 0);
        beg_ += n;
        in_frame_ = false;
        const bool text = op == static_cast<std::uint8_t>(ws_opcode::text);
        msg_opcode_ = 0;
        if (text && !detail::ws::utf8_validator::valid(std::string_view(p, n)))
          return fail_step(ws_close::invalid_payload, "invalid UTF-8", out);
        if (state_ != state::open) continue;  // closing: discarded
        out.kind = text ? ws_message::type::text : ws_message::type::binary;
        out.data = std::string_view(p, n);
        return step::message;
      }
    }
    // Payload bytes of the current frame.
    const std::size_t avail =
        static_cast<std::size_t>(std::min<std::uint64_t>(end_ - beg_, fh_.length - frame_read_));
    char* p = base + beg_;
    detail::ws::unmask(p, avail, fh_.mask, frame_read_);
    if (detail::ws::is_control(fh_.opcode)) {
      // A pong's payload is not needed: only pings (echoed) and closes (read) are kept.
      if (fh_.opcode != static_cast<std::uint8_t>(ws_opcode::pong))
        std::memcpy(ctrl().in + frame_read_, p, avail);
      ctrl_len_ += avail;
    } else if (msg_compressed_) {
      auto& scratch = detail::ws::thread_scratch::get();
      detail::ws::inflater* inf =
          deflate_->client_no_context_takeover ? scratch.shared_inflater.get() : inflater_.get();
      const std::size_t before = msg_.size();
      const auto s = inf->feed(p, avail, msg_, opts_->max_message_bytes);
      if (s == detail::ws::inflate_status::too_big)
        return fail_step(ws_close::message_too_big, "message too big", out);
      if (s != detail::ws::inflate_status::ok)
        return fail_step(ws_close::invalid_payload, "bad compressed data", out);
      if (msg_opcode_ == static_cast<std::uint8_t>(ws_opcode::text) &&
          !utf8_.feed(reinterpret_cast<const unsigned char*>(msg_.data() + before), msg_.size() - before))
        return fail_step(ws_close::invalid_payload, "invalid UTF-8", out);
    } else {
      if (msg_opcode_ == static_cast<std::uint8_t>(ws_opcode::text) &&
          !utf8_.feed(reinterpret_cast<const unsigned char*>(p), avail))
        return fail_step(ws_close::invalid_payload, "invalid UTF-8", out);
      msg_.append(p, avail);
    }
    beg_ += avail;
    frame_read_ += avail;
    if (frame_read_ < fh_.length) return step::more;
    const step s = on_frame_complete(out);
    if (s != step::more) return s;
  }
  return step::more;
}

inline task<ws_message> websocket::receive() {
  ws_message out;
  if (state_ == state::closed) {
    out = closed_message();
    co_return out;
  }
  settle_read_buffer();
  for (;;) {
    if (state_ == state::closed) co_return closed_message();  // failed meanwhile (a send queue overflow)
    if (beg_ < end_ || in_frame_) {
      const step s = process(out);
      if (s != step::more) co_return out;
    }
    // Need more bytes.
    if (t_->closed) {
      state_ = state::closed;
      if (!close_sent_) close_code_ = ws_close::abnormal;
      if (link_) link_->socket.store(nullptr, std::memory_order_release);
      co_return closed_message();
    }
    const auto now = clock::now();
    if (t_->stopping && !stop_seen_) {
      stop_seen_ = true;
      begin_close(ws_close::going_away, "server shutting down");  // still reading: the peer's close ends it
    }
    std::chrono::milliseconds timeout;
    if (state_ == state::closing) {
      if (now >= close_deadline_) {
        state_ = state::closed;
        co_return closed_message();
      }
      timeout = std::chrono::ceil<std::chrono::milliseconds>(close_deadline_ - now);
    } else {
      auto next = last_rx_ + opts_->idle_timeout;
      if (opts_->ping_interval.count() > 0)
        next = std::min(next, std::max(last_rx_, last_ping_) + opts_->ping_interval);
      timeout =
          std::max(std::chrono::ceil<std::chrono::milliseconds>(next - now), std::chrono::milliseconds(1));
    }
    // Waiting with an empty kept block: only so long (a timeout that ends the wait sends it back, below).
    const bool parked_block =
        rbuf_ != nullptr && keep_block_ && beg_ == end_ && !in_frame_ && msg_opcode_ == 0;
    if (parked_block) timeout = std::min(timeout, keep_block_for);
    t_->read_deadline = now + timeout;  // the connection arms it as it is (no clock read of its own)
    // Where to read: the small buffer when nothing is pending, else the block (the partial frame moved to
    // its front when room runs out).
    std::span<char> into;
    if (!rest_of_leftover_.empty()) {
      take_block();
      if (beg_ > 0) {
        std::memmove(rbuf_, rbuf_ + beg_, end_ - beg_);
        end_ -= beg_;
        beg_ = 0;
      }
      const std::size_t n = std::min(rest_of_leftover_.size(), detail::ws::block_pool::block_size - end_);
      std::memcpy(rbuf_ + end_, rest_of_leftover_.data(), n);
      rest_of_leftover_.erase(0, n);
      end_ += n;
      continue;
    }
    if (rbuf_ == nullptr && beg_ == end_ && !in_frame_) {
      beg_ = end_ = 0;
      into = std::span<char>(small_, small_size);
    } else {
      if (rbuf_ == nullptr) {  // the partial frame moves from the small buffer to a block
        take_block();
        keep_block_ = true;
        std::memcpy(rbuf_, small_ + beg_, end_ - beg_);
        end_ -= beg_;
        beg_ = 0;
      } else if (beg_ == end_) {
        beg_ = end_ = 0;
      } else if (detail::ws::block_pool::block_size - end_ < 1024 && beg_ > 0) {
        std::memmove(rbuf_, rbuf_ + beg_, end_ - beg_);
        end_ -= beg_;
        beg_ = 0;
      }
      into = std::span<char>(rbuf_ + end_, detail::ws::block_pool::block_size - end_);
    }
    read_op r{t_, into};
    const std::size_t n = co_await r;
    if (n > 0) {
      end_ += n;
      last_rx_ = clock::now();
      continue;
    }
    // Nothing read: the peer went, the read deadline passed, or shutdown cancelled the read.
    if (t_->closed || !detail::ws::is_canceled(r.op.error)) {
      if (state_ != state::closed) {
        state_ = state::closed;
        if (!close_sent_) close_code_ = ws_close::abnormal;
      }
      if (link_) link_->socket.store(nullptr, std::memory_order_release);
      co_return closed_message();
    }
    if (t_->stopping && !stop_seen_) continue;  // handled at the top
    if (parked_block) {  // quiet for keep_block_for: the block goes back, small_ takes the next read
      keep_block_ = false;
      settle_read_buffer();
    }
    const auto after = clock::now();
    if (state_ == state::closing) continue;  // the close deadline is checked at the top
    if (after - last_rx_ >= opts_->idle_timeout) {
      fail(ws_close::going_away, "idle timeout");
      co_return closed_message();
    }
    if (opts_->ping_interval.count() > 0 && after - std::max(last_rx_, last_ping_) >= opts_->ping_interval) {
      queue_control(ping_node_, ws_opcode::ping, ping_buf_, 0, ping_buf_);
      last_ping_ = after;
    }
  }
}

inline task<> websocket::close(std::uint16_t code, std::string_view reason) {
  begin_close(code, reason);
  while (state_ == state::closing) {
    ws_message m = co_await receive();
    (void)m;
  }
}

inline task<> websocket::finish() {
  if (state_ == state::open && !t_->closed) {
    task<> c = close(ws_close::normal);
    co_await std::move(c);
  }
  struct flush_op {
    websocket* ws;
    bool await_ready() const noexcept { return !ws->writing_; }
    void await_suspend(std::coroutine_handle<> h) noexcept { ws->flush_waiter_ = h; }
    void await_resume() const noexcept {}
  };
  flush_op flushed{this};
  co_await flushed;
  if (link_) link_->socket.store(nullptr, std::memory_order_release);
  state_ = state::closed;
  fail_queue();
}

}  // namespace v0
}  // namespace keel
