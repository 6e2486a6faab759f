// keel::detail::stream_channel: what a streaming handler and its connection's session share while a body
// flows in pieces: the response bytes a keel::stream_writer produced and the session has not yet handed to
// the socket, and the request body a keel::body_stream reads as it arrives.
//
// The session owns the channel; the handler's objects hold a pointer to it. Each side only ever parks a
// coroutine here and asks the session to act (wake): the session, running on the connection's thread,
// decides when to resume it. Nothing here is touched from another thread.
#pragma once

#include "keel/config.hpp"
#include "keel/detail/output_buffer.hpp"
#include "keel/http/status.hpp"

#include <algorithm>
#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <string_view>

namespace keel {
inline namespace v0 {
namespace detail {

struct stream_channel;

// The session's side, as plain function pointers: streaming is not on the buffered hot path, and the
// handler-facing types must not depend on the app's session type.
struct stream_session_hooks {
  // Writes the response head (from the context's response) into channel.pending; decides the framing.
  void (*start_response)(void* session);
  // The channel has something for the connection (bytes to write, a reader that needs bytes).
  void (*wake)(void* session);
  // Decodes the next piece of the request body from the session's buffer into channel.piece. false: no
  // bytes are buffered, the reader must wait for the next read.
  bool (*pull_body)(void* session);
};

// A layer's encoding of streamed bodies (keel::compress). The layer's before() names it for the request; the
// stream's first write asks it, with the response about to go out, whether to encode; every piece then goes
// through encode(), and the end of the body asks for the last bytes (a gzip trailer).
struct stream_filter {
  // Before the head is written. `ctx` is the request_context; the filter may change the response's headers.
  // Returns the state of this stream's encoder, or nullptr to leave the body as it is.
  void* (*start)(const void* layer, void* ctx, bool length_declared);
  // Encodes `in` (finish: and ends the encoded stream). The result stays valid until the next call.
  std::string_view (*encode)(void* encoder, std::string_view in, bool finish);
  void (*release)(void* encoder) noexcept;
};

struct stream_channel {
  static constexpr std::uint64_t unknown_length = std::numeric_limits<std::uint64_t>::max();

  stream_channel() = default;
  stream_channel(const stream_channel&) = delete;
  stream_channel& operator=(const stream_channel&) = delete;
  ~stream_channel() { release_encoder(); }

  void* session = nullptr;
  const stream_session_hooks* hooks = nullptr;

  // --- the response
  output_buffer pending;           // bytes produced, not yet taken by the connection
  std::string_view rest;           // what a write() could not fit under high_water; taken later
  std::coroutine_handle<> writer;  // parked in write() (buffer full) or flush()
  bool writer_flushing = false;    // parked in flush(): resumed when everything is written
  bool started = false;            // the head is written: the response is a stream now
  bool chunked = false;            // pieces are framed as chunks
  bool body_allowed = true;        // false for HEAD, 204 and 304: pieces are dropped
  bool broken = false;             // the connection is gone: every write fails
  bool stopping = false;           // the server is shutting down: a long stream should end soon
  std::uint64_t declared_length = unknown_length;  // set_length() before the first write
  std::uint64_t sent_length = 0;                   // body bytes produced so far
  std::size_t high_water = 64 * 1024;              // pending's bound before a writer waits
  const stream_filter* filter = nullptr;           // named by a layer for this request (see stream_filter)
  const void* filter_layer = nullptr;              // ... and the layer's object
  const stream_filter* encoding = nullptr;         // the filter that took this stream's body, and its state
  void* encoder = nullptr;

  // --- the request body
  bool body_streaming = false;     // the route reads its body with keel::body_stream
  bool body_done = false;          // the whole body was read
  http::status body_error{};       // non-zero: the body's framing failed (400/413/431)
  std::coroutine_handle<> reader;  // parked in read(): needs the connection to read
  std::string_view piece;          // the piece pull_body() found

  // After a streamed response ended (the buffers keep their capacity).
  void reset_response() noexcept {
    pending.clear();
    rest = {};
    writer = {};
    writer_flushing = started = chunked = false;
    body_allowed = true;
    declared_length = unknown_length;
    sent_length = 0;
    release_encoder();
    filter = nullptr;
    filter_layer = nullptr;
  }
  void release_encoder() noexcept {
    if (encoder != nullptr) encoding->release(encoder);
    encoder = nullptr;
    encoding = nullptr;
  }
  // The head is about to go out: a filter the request's layers named may take the body.
  void start_encoding(void* ctx) {
    if (filter == nullptr) return;
    encoder = filter->start(filter_layer, ctx, declared_length != unknown_length);
    if (encoder != nullptr) encoding = filter;
  }
  // The end of the body: the encoder's last bytes, all of them whatever the bound, then its state goes.
  void finish_encoding() {
    if (encoder == nullptr) return;
    const std::string_view tail = encoding->encode(encoder, {}, true);
    const std::size_t bound = high_water;
    high_water = std::numeric_limits<std::size_t>::max();
    append(tail);
    high_water = bound;
    release_encoder();
  }
  // After a streamed request body's handler finished.
  void reset_body() noexcept {
    reader = {};
    body_streaming = body_done = false;
    body_error = {};
    piece = {};
  }

  // Appends body bytes as the framing says, moving what does not fit under high_water to `rest`.
  // Returns true when all of `bytes` went in.
  bool append(std::string_view bytes) {
    if (!body_allowed || bytes.empty()) return true;
    std::size_t take = bytes.size();
    if (pending.size() >= high_water) {
      take = 0;
    } else if (take > high_water - pending.size()) {
      // Never split off less than 4 KiB: tiny chunks would cost more framing than they save memory.
      take = std::max(high_water - pending.size(), std::min<std::size_t>(4096, take));
    }
    if (take != 0) {
      const std::string_view now = bytes.substr(0, take);
      if (chunked) {
        char size_line[20];
        const std::size_t n = hex_line(now.size(), size_line);
        pending.append(std::string_view(size_line, n));
        pending.append(now);
        pending.append("\r\n");
      } else {
        pending.append(now);
      }
    }
    rest = bytes.substr(take);
    return rest.empty();
  }

  // "<hex>\r\n" for a chunk of n bytes.
  static std::size_t hex_line(std::size_t n, char (&out)[20]) noexcept {
    constexpr char digits[] = "0123456789abcdef";
    char tmp[16];
    std::size_t len = 0;
    do {
      tmp[len++] = digits[n & 15];
      n >>= 4;
    } while (n != 0);
    for (std::size_t i = 0; i < len; ++i) out[i] = tmp[len - 1 - i];
    out[len] = '\r';
    out[len + 1] = '\n';
    return len + 2;
  }

  void wake() const { hooks->wake(session); }
};

}  // namespace detail
}  // namespace v0
}  // namespace keel
