// keel::detail::http_session: the HTTP/1.1 state machine of one connection, independent of the transport.
//
// A transport (TCP, TLS, or the in-process test client) feeds it bytes and writes what it produces. The
// session parses every complete request in its buffer, runs the app on each, and appends the responses in
// request order to one output buffer that leaves in one write: pipelined requests cost one read and one
// write per batch. Parsed requests are views into the read buffer, so the buffer is only compacted when no
// request is in flight.
//
// Beyond that buffered fast path (each step is taken only when a response asks for it):
// - a response can be a file region (sent with sendfile where the transport allows, else in pieces), a
//   stream the handler writes as it goes (keel::stream_writer, through the stream_channel), or a protocol
//   that takes the connection over (keel::upgrade);
// - a request body can be read by the handler in pieces as it arrives (keel::body_stream): the session
//   stops after the head, asks the route for its body policy, and answers 413 before reading any body byte
//   when Content-Length is over the route's limit.
// The transport contract is the Session concept below; docs/architecture.md walks through it.
#pragma once

#include "keel/config.hpp"
#include "keel/context.hpp"
#include "keel/detail/mapped_buffer.hpp"
#include "keel/detail/output_buffer.hpp"
#include "keel/detail/stream_channel.hpp"
#include "keel/error.hpp"
#include "keel/http/body_decoder.hpp"
#include "keel/http/parser.hpp"
#include "keel/http/writer.hpp"
#include "keel/router/router.hpp"
#include "keel/server/config.hpp"
#include "keel/server/io_counters.hpp"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <concepts>
#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <new>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace keel {
inline namespace v0 {
namespace detail {

enum class session_action : std::uint8_t {
  read,       // needs more bytes: read into read_buffer(), then on_read(n), then process()
  write,      // output() holds bytes: write them all, then on_written(), then process()
  wait,       // an async handler runs: call process() again once the resume hook fired
  close,      // write output() if not empty, then close
  send_file,  // write output() (if any, then on_written()), then send file_to_send() with sendfile,
              // on_file_sent(n) as it goes, then process()
  upgrade,    // output() is empty: hand the stream to the protocol (start_upgrade), never process() again
};
enum class read_phase : std::uint8_t { idle, header, body };

// What a transport (keel::detail::connection, the test client) needs from a session. `S::action` and
// `S::phase` are enums with at least the enumerators of session_action and read_phase.
template <class S>
concept Session = requires(S& s, const S& cs, std::size_t n, void (*hook)(void*), void* self) {
  { s.read_buffer() } -> std::same_as<std::span<char>>;
  s.on_read(n);
  s.process();
  { cs.output() } -> std::convertible_to<std::string_view>;
  s.on_written();
  s.set_resume_hook(hook, self);
  cs.phase();
  s.on_timeout(cs.phase());
  { cs.idle() } -> std::same_as<bool>;
  { cs.in_flight() } -> std::same_as<bool>;
  s.request_close();
  s.abandon();  // the transport is gone: fail the handler's pending stream I/O
};

// Spare bytes kept after the data in the read buffer, so simdjson can parse a body in place.
inline constexpr std::size_t read_padding = 64;
inline constexpr std::size_t min_read_space = 4096;
// Room kept after a streamed body's head for the body's moving window.
inline constexpr std::size_t body_window = 32 * 1024;
// A file under TLS (or without a socket) goes out in pieces of this size.
inline constexpr std::size_t file_piece = 64 * 1024;

template <class App>
class http_session {
 public:
  using context_type = typename App::context_type;
  // The transport counts bytes and connections only for apps with a layer that reads them (keel::metrics).
  static constexpr bool counts_io = [] {
    if constexpr (requires { typename App::stack_type; })
      return stack_counts_io<typename App::stack_type>::value;
    else
      return false;
  }();

  http_session(const App& app, const server_config& cfg, bool is_tls)
      : app_(app), cfg_(cfg), parser_(cfg.limits) {
    in_.resize(read_buffer_size);
    parser_.split_body(true);
    if (cfg.server_header) writer_.server = *cfg.server_header;
    context_access::set_tls(ctx_, is_tls);
    context_access::on_async_complete(ctx_) = {&http_session::on_async_done, this};
    context_access::set_channel(ctx_, &channel_);
    channel_.session = this;
    channel_.hooks = &hooks;
    app_.prepare(ctx_);
  }
  http_session(const http_session&) = delete;
  http_session& operator=(const http_session&) = delete;

  // Sessions live in pages of their own: connections take them from a per-reactor pool and give them back,
  // and a freed one must not leave a hole between the connections' small objects that the heap can never
  // give back (2,000 idle connections cost 3.3 KiB each that way, 1.5 KiB this way).
  static void* operator new(std::size_t n) { return map_pages(n); }
  static void operator delete(void* p, std::size_t n) noexcept { unmap_pages(p, n); }

  std::span<char> read_buffer() {
    if (in_.size() - in_end_ < min_read_space + read_padding) make_room();
    return {in_.data() + in_end_, in_.size() - in_end_ - read_padding};
  }
  void on_read(std::size_t n) { in_end_ += n; }

  session_action process() {
    processing_ = true;
    http::date_cache::tick();  // one clock read for the batch: the responses below take date_cache::current()
    const session_action a = run();
    processing_ = false;
    return a;
  }

  std::string_view output() const noexcept { return out_.view(); }
  void on_written() noexcept { out_.clear(); }

  void set_resume_hook(void (*fn)(void*), void* self) noexcept { resume_ = {fn, self}; }
  // The transport can send a file region itself (plain TCP: sendfile). Otherwise files go out in pieces
  // through output().
  void set_sendfile(bool on) noexcept { sendfile_ok_ = on; }
  // The peer's address, for request_context::remote_address().
  void set_remote_address(std::string_view a) noexcept { context_access::set_remote_address(ctx_, a); }

  // A connection that has sent nothing yet is in its first request's header phase: the header timeout runs
  // from accept, so silent connections cannot sit on a slot for the whole idle timeout.
  read_phase phase() const noexcept {
    if (in_begin_ == in_end_ && state_ == state::running)
      return served_ ? read_phase::idle : read_phase::header;
    return headers_done_ ? read_phase::body : read_phase::header;
  }
  // Waiting between requests on a connection that has had one (keep-alive): the first to go when the
  // connection cap is reached.
  bool idle_keep_alive() const noexcept { return served_ && idle(); }
  bool idle() const noexcept { return state_ == state::running && in_begin_ == in_end_ && out_.empty(); }
  // A handler (or a file, or an upgraded protocol) still holds the session: it must outlive them.
  bool in_flight() const noexcept { return state_ != state::running; }
  bool handler_running() const noexcept { return state_ == state::waiting; }

  // Graceful shutdown: the request being served is answered with Connection: close, then the session ends.
  void request_close() noexcept {
    close_requested_ = true;
    channel_.stopping = true;  // a streaming handler sees stream_writer::stopping()
  }
  // Whether a handler is in flight with a response stream already started (the connection then watches for
  // the peer going away, since nobody reads from it).
  bool streaming_response() const noexcept { return state_ == state::waiting && channel_.started; }

  // The transport is gone (the peer left, a write failed or timed out, a forced shutdown): a handler parked
  // in a stream write or body read resumes with keel::stream_closed, and later ones fail at once.
  void abandon() {
    channel_.broken = true;
    if (channel_.writer) {
      resume(channel_.writer);
    } else if (channel_.reader) {
      resume(channel_.reader);
    }
  }
  // After abandon(): the handler finished; run the app's `after`s (they may log) and drop the request.
  void settle() {
    if (state_ != state::async_done) return;
    state_ = state::running;
    app_.complete(ctx_);
    context_access::reset_body_source(ctx_);
    ctx_.reset_for_next_request();
  }

  // A read timeout fired: a partly received request gets 408 and the connection closes; between requests the
  // connection just closes.
  void on_timeout(read_phase p) {
    // Between requests, or before a first byte ever came: just close (no 408 to a port scanner).
    if (p == read_phase::idle || (!served_ && in_begin_ == in_end_ && state_ == state::running)) {
      close_after_write_ = true;
      return;
    }
    if (state_ == state::waiting) {  // a body_stream read waited too long: the handler sees the connection go
      close_after_write_ = true;
      abandon();
      return;
    }
    reject(http::status::request_timeout);
  }

  // --- send_file
  file_region& file_to_send() noexcept { return file_; }
  void on_file_sent(std::size_t n) noexcept { file_.advance(n); }

  // --- upgrade: the protocol the last response named, and the bytes read past its request.
  upgrade_slot& upgrade_protocol() noexcept { return upgrade_; }
  std::string_view upgrade_leftover() const noexcept { return upgrade_leftover_; }

  context_type& context() noexcept { return ctx_; }

  // --- reuse by another connection (plain TCP connections lend their session back while they wait, idle,
  // for a next request; see session_pool in keel/server/connection.hpp)

  // Whether a request was answered on this connection (the header timeout runs from accept until then).
  bool served() const noexcept { return served_; }
  void set_served(bool served) noexcept { served_ = served; }
  // Puts the session back as a new connection finds it, keeping buffers of the usual size (larger ones, grown
  // by a large request or response, go back to the allocator). false when it cannot be reused: a handler or
  // an upgraded protocol still holds it.
  bool recycle() noexcept {
    // (An upgraded session is reusable once its connection took the protocol: upgrade_protocol() moved out.)
    if (state_ == state::waiting || state_ == state::async_done) return false;
    if (state_ == state::upgraded && upgrade_.protocol != nullptr) return false;
    state_ = state::running;
    parser_.reset();
    context_access::reset_body_source(ctx_);
    ctx_.reset_for_next_request();
    ctx_.response().release_storage(keep_output_capacity);  // a 50 MB answer's buffer is not passed on
    if (in_.size() > read_buffer_size) {
      try {
        in_.resize(read_buffer_size);
      } catch (const std::bad_alloc&) {
        return false;
      }
    }
    in_begin_ = in_end_ = current_size_ = 0;
    if (out_.capacity() > keep_output_capacity) out_.release();
    out_.clear();
    resume_ = {};
    headers_done_ = continue_sent_ = body_checked_ = served_ = false;
    processing_ = close_after_write_ = close_requested_ = sendfile_ok_ = stream_close_ = false;
    channel_.reset_response();
    channel_.reset_body();
    channel_.broken = channel_.stopping = false;
    if (channel_.pending.capacity() > keep_output_capacity) channel_.pending.release();
    body_start_ = body_pos_ = 0;
    file_.reset();
    upgrade_.reset();
    std::string().swap(upgrade_leftover_);
    upgrade_released_ = false;
    return true;
  }

 private:
  static constexpr std::size_t read_buffer_size = 16 * 1024;
  // Output buffers a reused session keeps (pipelined batches of small answers fit).
  static constexpr std::size_t keep_output_capacity = 64 * 1024;

  enum class state : std::uint8_t {
    running,       // parsing and answering requests
    waiting,       // a handler is in flight (it may be streaming through channel_)
    async_done,    // it finished; its response is to be written
    sending_file,  // a response's file region is going out
    upgraded,      // the connection belongs to another protocol now
  };

  session_action run() {
    for (;;) {
      switch (state_) {
        case state::running:
          break;
        case state::waiting: {
          const session_action a = service_channel();
          if (state_ == state::waiting) return a;
          continue;
        }
        case state::async_done:
          state_ = state::running;
          app_.complete(ctx_);
          finish_request();
          continue;
        case state::sending_file:
          // A transport that sends files itself also sends the head in output() first, in the same turn.
          if (!out_.empty() && !sendfile_ok_) return session_action::write;
          if (file_.length() == 0) {
            file_.reset();
            state_ = state::running;
            continue;
          }
          if (sendfile_ok_) return session_action::send_file;
          if (!read_file_piece()) {
            file_.reset();
            close_after_write_ = true;
            state_ = state::running;
            return session_action::close;
          }
          return session_action::write;
        case state::upgraded:
          if (!out_.empty()) return session_action::write;
          release_for_upgrade();
          return session_action::upgrade;
      }

      std::size_t batch = 0;
      while (state_ == state::running) {
        if (close_after_write_) return session_action::close;
        if (in_begin_ == in_end_) break;
        if (batch == cfg_.limits.max_pipelined && !out_.empty()) return session_action::write;
        http::parse_result pr = parser_.parse(in_.data() + in_begin_, in_end_ - in_begin_, ctx_.request());
        if (KEEL_LIKELY(pr.status == http::parse_status::complete)) {
          current_size_ = pr.consumed;
        } else if (pr.status == http::parse_status::incomplete) {
          headers_done_ = pr.headers_complete;
          if (pr.headers_complete && !body_checked_) {
            // The head is complete and a body follows: the route decides how it is taken.
            body_checked_ = true;
            if (!accept_body(pr.consumed)) return session_action::close;
            if (!channel_.body_streaming) continue;  // buffered: parse again, the body may be here already
            // streamed: the handler runs now and reads the body as it comes
          } else {
            if (pr.headers_complete && ctx_.request().expect_continue && !continue_sent_) {
              continue_sent_ = true;
              http::write_continue(out_);
            }
            break;
          }
        } else {
          reject(pr.error);
          return session_action::close;
        }
        ++batch;
        run_request();
      }
      if (state_ != state::running) continue;
      if (close_after_write_) return session_action::close;
      if (!out_.empty()) return session_action::write;
      // (A graceful close of an idle connection is the transport's: it waits a grace period for a request
      // already on its way, then times the connection out.)
      return session_action::read;
    }
  }

  KEEL_ALWAYS_INLINE void run_request() {
    dispatch_result r = dispatch_result::done;
    try {
      r = app_.handle(ctx_);
    } catch (...) {
      respond_to_exception(ctx_);
    }
    if (r == dispatch_result::pending) {
      if (state_ != state::async_done) {
        state_ = state::waiting;
        return;
      }
      // The coroutine finished without suspending.
      state_ = state::running;
      app_.complete(ctx_);
    }
    finish_request();
  }

  // Inlined: it is most of the per-request work between the handler and the next parse.
  KEEL_ALWAYS_INLINE void finish_request() {
    http::request& req = ctx_.request();
    bool close = !req.keep_alive || ctx_.response().close() || close_requested_;
    if (KEEL_LIKELY(context_access::kind(ctx_) == body_kind::buffered)) {
      // An HTTP/1.0 client that asked to keep the connection must read that it is kept (RFC 9112 C.2.2).
      if (KEEL_UNLIKELY(req.version_minor == 0) && !close)
        ctx_.response().append_owned_header_line("Connection: keep-alive\r\n");
      http::write_response(out_, ctx_.response(), writer_, req.method == http::method::head, close,
                           http::date_cache::current());
      in_begin_ += current_size_;
      if (in_begin_ == in_end_) in_begin_ = in_end_ = 0;
    } else {
      // A streamed body the handler left unread cannot be skipped cheaply: the connection closes after this.
      if (channel_.body_streaming && !decoder_.done()) close = true;
      close = finish_body_source(close);
      if (channel_.body_streaming) finish_body_stream();
      context_access::reset_body_source(ctx_);
      in_begin_ += current_size_;
      // (After an upgrade the bytes past its request are the new protocol's: they stay.)
      if (in_begin_ == in_end_ && state_ != state::upgraded) in_begin_ = in_end_ = 0;
    }
    if (close) close_after_write_ = true;
    current_size_ = 0;
    ctx_.reset_for_next_request();
    headers_done_ = false;
    continue_sent_ = false;
    body_checked_ = false;
    served_ = true;
  }

  // The response is a stream, a file or an upgrade. Returns whether the connection closes after it.
  bool finish_body_source(bool close) {
    const http::request& req = ctx_.request();
    keel::response& res = ctx_.response();
    switch (context_access::kind(ctx_)) {
      case body_kind::stream: {
        channel_.finish_encoding();  // a compressed stream's last bytes
        if (channel_.chunked) channel_.pending.append("0\r\n\r\n");
        // A body shorter than announced, or one delimited by the close itself: only closing tells the client.
        const bool short_body = channel_.declared_length != stream_channel::unknown_length &&
                                channel_.body_allowed && channel_.sent_length != channel_.declared_length;
        out_.append(channel_.pending.view());
        const bool stream_close = stream_close_ || short_body;
        channel_.reset_response();
        return stream_close;
      }
      case body_kind::file: {
        file_region& region = context_access::file(ctx_);
        const bool head = req.method == http::method::head;
        const bool with_body = http::status_allows_body(res.status_code());
        http::write_head(out_, res, writer_,
                         with_body ? http::body_framing::length : http::body_framing::none, region.length(),
                         close ? "close" : "", false);
        if (with_body && !head && region.length() != 0) {
          file_ = std::move(region);
          state_ = state::sending_file;
        }
        return close;
      }
      case body_kind::upgrade:
        if (res.status() == http::status::switching_protocols && !close_requested_) {
          http::write_head(out_, res, writer_, http::body_framing::none, 0, "Upgrade");
          upgrade_ = std::move(context_access::upgrade(ctx_));
          state_ = state::upgraded;
          return false;
        }
        [[fallthrough]];  // a middleware answered otherwise: a plain response, no upgrade
      case body_kind::buffered:
      case body_kind::request_body:
        break;
    }
    if (req.version_minor == 0 && !close) res.append_owned_header_line("Connection: keep-alive\r\n");
    http::write_response(out_, res, writer_, req.method == http::method::head, close);
    return close;
  }

  // The Connection header of a head written apart: "close", "keep-alive" for an HTTP/1.0 client that keeps
  // the connection, or none.
  std::string_view connection_value(bool close) const noexcept {
    if (close) return "close";
    return ctx_.request().version_minor == 0 ? "keep-alive" : "";
  }

  // Answers a request the parser (or a timeout) rejected, then closes: after a framing error nothing that
  // follows in the stream can be trusted.
  void reject(http::status s) {
    context_access::reset_body_source(ctx_);
    ctx_.reset_for_next_request();
    // Not ctx_.fail alone: app middleware that see rejected requests (keel::request_id) wrap the answer.
    detail::fail_rejected_request(app_.middleware(), ctx_, http_error(s));
    http::write_response(out_, ctx_.response(), writer_, false, true);
    close_after_write_ = true;
    in_begin_ = in_end_ = 0;
    channel_.body_streaming = false;
    body_checked_ = false;
  }

  // The connection belongs to another protocol from now on: the HTTP buffers go (an idle WebSocket should
  // cost little), keeping the bytes read past the upgrade request for the protocol. The request itself stays:
  // the protocol was made by its handler and may hold views into it (the target, a path parameter).
  void release_for_upgrade() {
    if (upgrade_released_) return;
    upgrade_released_ = true;
    upgrade_leftover_.assign(in_.data() + in_begin_, in_end_ - in_begin_);
    in_.discard_from(in_begin_);
    out_.release();
    ctx_.response().reset();
    ctx_.response().release_storage(0);
  }

  // Moves the unparsed tail to the front, or grows the buffer when a large request needs it. Only called
  // when no parsed request is in flight, so no view into the buffer is live. (A streamed body keeps its
  // window free itself: pull_body compacts it.)
  void make_room() {
    if (KEEL_UNLIKELY(channel_.body_streaming)) return;
    if (in_begin_ > 0) {
      std::memmove(in_.data(), in_.data() + in_begin_, in_end_ - in_begin_);
      in_end_ -= in_begin_;
      in_begin_ = 0;
    }
    if (in_.size() - in_end_ < min_read_space + read_padding) in_.resize(in_.size() * 2);
  }

  // --- request bodies

  // The head is complete and a body follows. false: refused (413), the connection closes.
  bool accept_body(std::size_t head_size) {
    http::request& req = ctx_.request();
    const body_policy policy = app_.body_policy(ctx_);
    const std::size_t limit = policy.limit != 0 ? policy.limit : cfg_.limits.max_body_bytes;
    if (!req.chunked && req.content_length > limit) {
      reject(http::status::payload_too_large);
      return false;
    }
    const std::size_t have = in_end_ - in_begin_ - head_size;
    const bool body_here = !req.chunked && have >= req.content_length;
    if (req.expect_continue && !body_here) {
      continue_sent_ = true;
      http::write_continue(out_);
    }
    if (!policy.streaming) {
      parser_.set_body_limit(limit);
      return true;
    }
    // Streamed: the head stays at the front of the buffer (the request's views point into it) with room
    // after it for the body's window.
    if (in_begin_ > 0) {
      std::memmove(in_.data(), in_.data() + in_begin_, in_end_ - in_begin_);
      in_end_ -= in_begin_;
      in_begin_ = 0;
    }
    if (in_.size() < head_size + body_window + read_padding)
      in_.resize(head_size + body_window + read_padding);
    parser_.refresh_head(in_.data(), req);
    parser_.reset();
    body_start_ = body_pos_ = head_size;
    if (req.chunked) {
      const std::size_t max_fields =
          std::min<std::size_t>(cfg_.limits.max_headers, http::header_list::capacity);
      decoder_.start_chunked(limit, cfg_.limits.max_header_bytes,
                             max_fields - std::min(max_fields, req.headers.size()));
    } else {
      decoder_.start_fixed(req.content_length, limit);
    }
    channel_.body_streaming = true;
    context_access::set_kind(ctx_, body_kind::request_body);  // finish_request takes its slow path
    channel_.body_done = decoder_.done();
    current_size_ = 0;
    return true;
  }

  // The streamed request's handler finished: what follows its body is the next request (finish_request
  // already closes the connection after a body the handler left unread).
  void finish_body_stream() {
    in_begin_ = body_pos_;
    channel_.body_streaming = false;
    channel_.reset_body();
  }

  static bool pull_body(void* self) {
    auto& s = *static_cast<http_session*>(self);
    stream_channel& ch = s.channel_;
    if (s.body_pos_ == s.in_end_) s.body_pos_ = s.in_end_ = s.body_start_;  // the last piece was used up
    const http::body_decoder::step step =
        s.decoder_.next(s.in_.data() + s.body_pos_, s.in_end_ - s.body_pos_);
    s.body_pos_ += step.consumed;
    ch.piece = step.data;
    if (!step.data.empty()) return true;
    if (s.decoder_.done()) {
      ch.body_done = true;
      return true;
    }
    if (s.decoder_.failed()) {
      ch.body_error = s.decoder_.error();
      s.close_after_write_ = true;  // the framing is lost
      return true;
    }
    // Needs more bytes: keep an unfinished framing line at the start of the window.
    if (s.body_pos_ != s.body_start_) {
      std::memmove(s.in_.data() + s.body_start_, s.in_.data() + s.body_pos_, s.in_end_ - s.body_pos_);
      s.in_end_ -= s.body_pos_ - s.body_start_;
      s.body_pos_ = s.body_start_;
    }
    return false;
  }

  // --- streamed responses

  // Hands the handler's stream to the transport and resumes the handler when there is room again. Called
  // while the handler is in flight.
  session_action service_channel() {
    stream_channel& ch = channel_;
    for (;;) {
      if (!out_.empty()) return session_action::write;
      if (!ch.pending.empty()) {
        std::swap(out_, ch.pending);
        if (!ch.rest.empty()) ch.append(ch.rest);
        if (ch.writer && !ch.writer_flushing && ch.rest.empty()) resume(ch.writer);
        return session_action::write;
      }
      if (ch.writer) {  // everything went out: a flush is complete, or a write has more to put in
        if (!ch.rest.empty()) {
          ch.append(ch.rest);
          continue;
        }
        resume(ch.writer);
        if (state_ != state::waiting) return session_action::wait;
        continue;
      }
      if (ch.reader) {
        if (!pull_body(this)) return session_action::read;
        resume(ch.reader);
        if (state_ != state::waiting) return session_action::wait;
        continue;
      }
      return session_action::wait;
    }
  }

  void resume(std::coroutine_handle<>& parked) {
    const std::coroutine_handle<> h = std::exchange(parked, {});
    channel_.writer_flushing = false;
    const bool was_processing = std::exchange(processing_, true);
    h.resume();
    processing_ = was_processing;
  }

  // The first write (or flush) of a stream: its head, with the framing the request and status allow.
  static void start_response(void* self) {
    auto& s = *static_cast<http_session*>(self);
    stream_channel& ch = s.channel_;
    const http::request& req = s.ctx_.request();
    const keel::response& res = s.ctx_.response();
    ch.started = true;
    context_access::set_kind(s.ctx_, body_kind::stream);
    const bool head = req.method == http::method::head;
    const bool declared = ch.declared_length != stream_channel::unknown_length;
    ch.body_allowed = http::status_allows_body(res.status_code()) && !head;
    http::body_framing framing = http::body_framing::none;
    if (ch.body_allowed) {
      if (declared) {
        framing = http::body_framing::length;
      } else if (req.version_minor >= 1) {
        framing = http::body_framing::chunked;
      } else {
        framing = http::body_framing::until_close;
      }
    }
    ch.chunked = framing == http::body_framing::chunked;
    s.stream_close_ =
        !req.keep_alive || res.close() || s.close_requested_ || framing == http::body_framing::until_close;
    http::write_head(ch.pending, res, s.writer_, framing, declared ? ch.declared_length : 0,
                     s.connection_value(s.stream_close_), head && declared);
  }

  static void wake(void* self) {
    auto& s = *static_cast<http_session*>(self);
    // Inside process() the session looks at the channel itself once the handler suspends.
    if (!s.processing_ && s.state_ == state::waiting && s.resume_.fn) s.resume_();
  }

  static constexpr stream_session_hooks hooks{&http_session::start_response, &http_session::wake,
                                              &http_session::pull_body};

  // --- files

  // Reads the next piece of the file region into the output (TLS, or no socket to sendfile on).
  bool read_file_piece() {
    const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(file_.length(), file_piece));
    char* at = out_.extend(n);
    const ssize_t got = ::pread(file_.fd(), at, n, static_cast<off_t>(file_.offset()));
    if (got <= 0) {
      out_.clear();
      return false;  // the file shrank or failed: the promised length cannot be kept
    }
    if (static_cast<std::size_t>(got) < n) {
      out_.clear();
      out_.append(std::string_view(at, static_cast<std::size_t>(got)));  // never overlaps: cleared first
    }
    file_.advance(static_cast<std::uint64_t>(got));
    return true;
  }

  static void on_async_done(void* self) {
    auto* s = static_cast<http_session*>(self);
    s->state_ = state::async_done;
    // Inside process() the session picks the result up itself; calling the transport back from there would
    // re-enter process().
    if (!s->processing_ && s->resume_.fn) s->resume_();
  }

  const App& app_;
  const server_config& cfg_;
  http::request_parser parser_;
  http::writer_options writer_{};
  context_type ctx_;
  mapped_buffer in_;  // its own pages: what a small request does not touch is never resident
  std::size_t in_begin_ = 0, in_end_ = 0, current_size_ = 0;
  output_buffer out_;
  resume_hook resume_{};
  state state_ = state::running;
  // The four a finished request resets, side by side: one store (g++ merges them).
  bool headers_done_ = false;
  bool continue_sent_ = false;
  bool body_checked_ = false;
  bool served_ = false;  // a request was answered on this connection
  bool processing_ = false;
  bool close_after_write_ = false;
  bool close_requested_ = false;
  bool sendfile_ok_ = false;
  bool stream_close_ = false;
  stream_channel channel_;
  http::body_decoder decoder_;
  std::size_t body_start_ = 0, body_pos_ = 0;
  file_region file_;
  upgrade_slot upgrade_;
  std::string upgrade_leftover_;  // after an upgrade: the bytes read past its request
  bool upgrade_released_ = false;
};

}  // namespace detail
}  // namespace v0
}  // namespace keel
