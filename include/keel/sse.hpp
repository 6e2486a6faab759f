// Server-sent events (the WHATWG HTML "text/event-stream" format) over a streamed response:
// keel::event_stream is a handler parameter, like keel::stream_writer, that answers with the event-stream
// headers and writes events.
//
//   keel::get<"/ticks">([](keel::event_stream es) -> keel::task<> {
//     for (int i = 0;; ++i) {
//       const std::string id = std::to_string(i);
//       keel::sse_event ev{.id = id, .event = "tick", .data = "line one\nline two", .retry = {}};
//       co_await es.send(ev);               // named: no braced temporary inside co_await (g++ 12)
//       co_await keel::sleep_for(std::chrono::seconds(1));
//     }
//   })
//
// Events go out as soon as the handler suspends (a timer, the next message of a keel::hub), or at once with
// co_await es.flush(). A client that goes away makes the next send throw keel::stream_closed: let it
// propagate. keel::hub (keel/hub.hpp) streams a topic with Last-Event-ID replay and keepalive comments.
#pragma once

#include "keel/config.hpp"
#include "keel/context.hpp"
#include "keel/extract.hpp"
#include "keel/stream.hpp"

#include <chrono>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>

namespace keel {
inline namespace v0 {

// One event. Empty `id` / `event` are left out; `data` may hold several lines (split on CR LF, CR or LF
// into one `data:` line each); `retry` (when positive) tells the client how long to wait before reconnecting.
struct sse_event {
  std::string_view id;
  std::string_view event;
  std::string_view data;
  std::chrono::milliseconds retry{0};
};

namespace detail::sse {

inline bool has_line_break(std::string_view s) noexcept {
  return s.find_first_of(std::string_view("\r\n\0", 3)) != std::string_view::npos;
}

// "<field>: <line>\n" for each line of `value` (CR LF, CR and LF all end a line).
inline void append_lines(std::string& out, std::string_view field, std::string_view value) {
  for (;;) {
    const std::size_t eol = value.find_first_of("\r\n");
    out.append(field);
    out.append(": ");
    out.append(value.substr(0, eol));
    out.push_back('\n');
    if (eol == std::string_view::npos) return;
    const std::size_t skip = value[eol] == '\r' && eol + 1 < value.size() && value[eol + 1] == '\n' ? 2 : 1;
    value.remove_prefix(eol + skip);
  }
}

}  // namespace detail::sse

// Appends `ev` in the event-stream format to `out`. An id or event name holding CR, LF or NUL cannot be
// framed (the client would read another field): std::invalid_argument.
inline void append_sse_event(std::string& out, const sse_event& ev) {
  if (detail::sse::has_line_break(ev.id))
    throw std::invalid_argument("keel::sse_event: the id must not contain CR, LF or NUL");
  if (detail::sse::has_line_break(ev.event))
    throw std::invalid_argument("keel::sse_event: the event name must not contain CR, LF or NUL");
  if (!ev.id.empty()) {
    out.append("id: ");
    out.append(ev.id);
    out.push_back('\n');
  }
  if (!ev.event.empty()) {
    out.append("event: ");
    out.append(ev.event);
    out.push_back('\n');
  }
  if (ev.retry.count() > 0) {
    out.append("retry: ");
    out.append(std::to_string(ev.retry.count()));
    out.push_back('\n');
  }
  detail::sse::append_lines(out, "data", ev.data);
  out.push_back('\n');  // the blank line that dispatches the event
}

// Appends a comment (": text\n" per line, then the blank line): clients ignore it; it keeps proxies and
// load balancers from closing an idle stream.
inline void append_sse_comment(std::string& out, std::string_view text) {
  if (text.empty()) {
    out.append(":\n\n");
    return;
  }
  for (;;) {
    const std::size_t eol = text.find_first_of("\r\n");
    out.append(": ");
    out.append(text.substr(0, eol));
    out.push_back('\n');
    if (eol == std::string_view::npos) break;
    text.remove_prefix(eol + 1);
  }
  out.push_back('\n');
}

// The response of an event-stream handler: 200 with Content-Type: text/event-stream, Cache-Control:
// no-cache and X-Accel-Buffering: no (proxies must not buffer it), chunked. Only for coroutine handlers.
class event_stream {
 public:
  static constexpr bool keel_needs_coroutine = true;
  using clock = std::chrono::steady_clock;

  event_stream(request_context& ctx, detail::stream_channel& channel) : out_(ctx, channel), ctx_(&ctx) {
    ctx.response().content_type("text/event-stream");
    ctx.response().set_header("Cache-Control", "no-cache");
    ctx.response().set_header("X-Accel-Buffering", "no");
    last_write_ = clock::now();
  }

  // The client's Last-Event-ID header (the id of the last event it saw before reconnecting), or empty.
  std::string_view last_event_id() const noexcept { return ctx_->request().header("Last-Event-ID"); }

  // Bytes already in the event-stream format (append_sse_event, or a keel::hub message's sse()): written as
  // they are; they must stay valid until the co_await completes.
  [[nodiscard]] auto write_prepared(std::string_view bytes) {
    last_write_ = clock::now();
    return out_.write(bytes);
  }
  // co_await es.send(ev): formats and queues the event (suspending only while the connection's buffer is
  // full). Throws keel::stream_closed once the client is gone.
  [[nodiscard]] auto send(const sse_event& ev) {
    buf_.clear();
    append_sse_event(buf_, ev);
    return write_prepared(buf_);
  }
  // co_await es.comment("text"): a comment line, ignored by clients.
  [[nodiscard]] auto comment(std::string_view text = {}) {
    buf_.clear();
    append_sse_comment(buf_, text);
    return write_prepared(buf_);
  }
  // A keepalive comment (": keepalive").
  [[nodiscard]] auto keepalive() { return comment("keepalive"); }
  // co_await es.flush(): waits until everything queued was handed to the socket.
  [[nodiscard]] auto flush() { return out_.flush(); }

  // Keepalive comments: how often a stream with nothing to say sends one (keel::hub's relay follows it).
  void keepalive_interval(clock::duration d) noexcept { keepalive_ = d; }
  clock::duration keepalive_interval() const noexcept { return keepalive_; }
  // When the next keepalive comment is due (the interval after the last write).
  clock::time_point keepalive_due() const noexcept { return last_write_ + keepalive_; }

  // Whether the connection is gone (a write failed, or the server closed it): every send would throw.
  bool closed() const noexcept { return out_.closed(); }
  // The server is shutting down: end the stream (keel::hub::stream does within a second).
  bool stopping() const noexcept { return out_.stopping(); }
  stream_writer& writer() noexcept { return out_; }
  keel::response& response() noexcept { return out_.response(); }

 private:
  stream_writer out_;
  request_context* ctx_;
  std::string buf_;  // the event being written; reused (its capacity stays)
  clock::duration keepalive_ = std::chrono::seconds(15);
  clock::time_point last_write_;
};

template <>
struct extractor<event_stream> {
  static event_stream extract(request_context& ctx) {
    return event_stream(ctx, *detail::context_access::channel(ctx));
  }
};

}  // namespace v0
}  // namespace keel
