// Streaming bodies: keel::stream_writer (a response the handler writes as it goes) and keel::body_stream (a
// request body the handler reads as it arrives). Both are handler parameters of coroutine handlers:
//
//   keel::get<"/numbers">([](keel::stream_writer out) -> keel::task<> {
//     out.content_type("text/plain");
//     for (int i = 0; i < 1000; ++i) co_await out.write(std::to_string(i) + "\n");
//   })
//   keel::post<"/upload">([](keel::body_stream body) -> keel::task<std::string> {
//     std::size_t n = 0;
//     for (std::string_view piece; !(piece = co_await body.read()).empty();) n += piece.size();
//     co_return std::to_string(n);
//   }).body_limit(std::size_t(4) << 30)
//
// Backpressure: a write returns at once while the connection's buffer is below its bound (64 KiB), and
// suspends the handler until the socket has taken the data otherwise, so a slow client never grows the
// server's memory. When the client goes away, the next write throws keel::stream_closed and the handler's
// frame unwinds.
#pragma once

#include "keel/config.hpp"
#include "keel/context.hpp"
#include "keel/detail/stream_channel.hpp"
#include "keel/error.hpp"
#include "keel/extract.hpp"
#include "keel/http/response.hpp"

#include <coroutine>
#include <cstdint>
#include <string_view>

namespace keel {
inline namespace v0 {

// The response of a streaming handler. Set the status and headers (response(), content_type(),
// set_length()) before the first write: the first write or flush sends the head. Without set_length() the
// body is chunked (HTTP/1.1) or delimited by closing the connection (HTTP/1.0). A handler that never writes
// answers like any other handler, from ctx.response().
class stream_writer {
 public:
  static constexpr bool keel_needs_coroutine = true;

  stream_writer(request_context& ctx, detail::stream_channel& channel) noexcept
      : ctx_(&ctx), channel_(&channel) {}

  keel::response& response() noexcept { return ctx_->response(); }
  stream_writer& content_type(std::string_view type) {
    ctx_->response().content_type(type);
    return *this;
  }
  // Announces the body's exact length: sent with Content-Length instead of chunked. Writing more throws;
  // writing less closes the connection after the handler returns (the client sees a short body).
  stream_writer& set_length(std::uint64_t bytes) noexcept {
    channel_->declared_length = bytes;
    return *this;
  }
  // Whether the head went out (status and headers can no longer change).
  bool started() const noexcept { return channel_->started; }
  // Whether the connection is gone: every write would throw keel::stream_closed.
  bool closed() const noexcept { return channel_->broken; }
  // Whether the server is shutting down (graceful stop): an endless stream (events, a feed) should end now;
  // the connection closes after it.
  bool stopping() const noexcept { return channel_->stopping; }

  // co_await out.write(bytes): copies `bytes` into the connection's buffer, suspending while it is full.
  // `bytes` must stay valid until the co_await completes (it does, as an argument of the expression).
  [[nodiscard]] auto write(std::string_view bytes) {
    struct awaiter {
      stream_writer* w;
      std::string_view bytes;
      bool await_ready() { return w->put(bytes); }
      void await_suspend(std::coroutine_handle<> h) noexcept { w->park(h, false); }
      void await_resume() const { w->check(); }
    };
    return awaiter{this, bytes};
  }
  // co_await out.flush(): waits until everything written so far has been handed to the socket. Use it
  // between events that must reach the client now (server-sent events do); plain writes are sent as soon as
  // the handler suspends anyway.
  [[nodiscard]] auto flush() {
    struct awaiter {
      stream_writer* w;
      bool await_ready() {
        if (w->channel_->broken) return true;
        w->begin();
        return false;
      }
      void await_suspend(std::coroutine_handle<> h) noexcept { w->park(h, true); }
      void await_resume() const { w->check(); }
    };
    return awaiter{this};
  }

 private:
  void begin() {
    detail::stream_channel& ch = *channel_;
    if (ch.started) return;
    ch.start_encoding(ctx_);  // keel::compress may take the body (and change the headers) now
    ch.hooks->start_response(ch.session);
  }
  // true: all of `bytes` is buffered, no need to suspend.
  bool put(std::string_view bytes) {
    detail::stream_channel& ch = *channel_;
    if (ch.broken) return true;
    begin();
    if (ch.declared_length != detail::stream_channel::unknown_length &&
        bytes.size() > ch.declared_length - ch.sent_length)
      throw std::length_error("keel::stream_writer: more bytes written than set_length() announced");
    ch.sent_length += bytes.size();
    if (ch.encoder != nullptr && !bytes.empty() && ch.body_allowed)
      bytes = ch.encoding->encode(ch.encoder, bytes, false);  // valid until the next write: rest may view it
    const bool was_empty = ch.pending.empty();
    const bool all_in = ch.append(bytes);
    if (was_empty && !ch.pending.empty() && all_in) ch.wake();  // the connection writes it when it can
    return all_in;
  }
  void park(std::coroutine_handle<> h, bool flushing) noexcept {
    channel_->writer = h;
    channel_->writer_flushing = flushing;
    channel_->wake();
  }
  void check() const {
    if (channel_->broken) throw stream_closed();
  }

  request_context* ctx_;
  detail::stream_channel* channel_;
};

// The request body, read in pieces as they arrive (Content-Length or chunked; trailers are checked and
// dropped). A route whose handler takes it does not buffer its body: its limit (route.body_limit(n), or the
// server's max_body_bytes) is checked against Content-Length before any byte is read, and against the
// decoded size as a chunked body arrives (then read() throws a 413 http_error).
class body_stream {
 public:
  static constexpr bool keel_needs_coroutine = true;
  static constexpr bool keel_reads_body_stream = true;

  body_stream(request_context& ctx, detail::stream_channel& channel) noexcept
      : ctx_(&ctx), channel_(&channel) {}

  // co_await body.read(): the next piece of the body, or an empty view at its end. A piece is a view into
  // the connection's buffer, valid until the next read().
  [[nodiscard]] auto read() {
    struct awaiter {
      body_stream* b;
      bool await_ready() {
        detail::stream_channel& ch = *b->channel_;
        if (ch.broken || ch.body_done || ch.body_error != http::status{}) {
          ch.piece = {};
          return true;
        }
        return ch.hooks->pull_body(ch.session);
      }
      void await_suspend(std::coroutine_handle<> h) noexcept {
        b->channel_->reader = h;
        b->channel_->wake();
      }
      std::string_view await_resume() const {
        const detail::stream_channel& ch = *b->channel_;
        if (ch.broken) throw stream_closed();
        if (ch.body_error != http::status{}) throw http_error(ch.body_error);
        return ch.piece;
      }
    };
    return awaiter{this};
  }
  // Whether the whole body has been read.
  bool done() const noexcept { return channel_->body_done; }
  // The announced length (Content-Length), or nothing for a chunked body.
  bool chunked() const noexcept { return ctx_->request().chunked; }
  std::uint64_t content_length() const noexcept { return ctx_->request().content_length; }

 private:
  request_context* ctx_;
  detail::stream_channel* channel_;
};

template <>
struct extractor<stream_writer> {
  static stream_writer extract(request_context& ctx) {
    return stream_writer(ctx, *detail::context_access::channel(ctx));
  }
};
template <>
struct extractor<body_stream> {
  static body_stream extract(request_context& ctx) {
    return body_stream(ctx, *detail::context_access::channel(ctx));
  }
};

}  // namespace v0
}  // namespace keel
