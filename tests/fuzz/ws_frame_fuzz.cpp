// libFuzzer target for the WebSocket frame reader (keel::websocket::receive and everything under it: frame
// headers, unmasking, fragmentation, control frames, UTF-8, close payloads, permessage-deflate, limits). The
// input's first byte picks the connection's options (compression, context takeover, a small message limit);
// the rest arrives as the client's bytes, in pieces whose sizes the input also decides. The transport is a
// fake that completes every read and write at once.
//
// Invariants: every message handed to the app respects the limit and, when text, is valid UTF-8 (checked
// by an independent decoder); everything the server writes parses as unmasked server frames, in order; a
// close frame it sends carries a valid code; after a closed message, receive() keeps returning closed.
#include "keel/ws/websocket.hpp"

#include <asio/error.hpp>

#include <algorithm>
#include <chrono>
#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <utility>

namespace {

void require(bool condition, const char* what) {
  if (!condition) {
    std::fprintf(stderr, "ws_frame_fuzz invariant failed: %s\n", what);
    std::abort();
  }
}

// An independent UTF-8 check: decode each code point and judge its value.
bool reference_utf8(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    const auto b = static_cast<unsigned char>(s[i]);
    std::uint32_t cp = 0;
    std::size_t len = 0;
    if (b < 0x80) {
      ++i;
      continue;
    } else if ((b & 0xE0) == 0xC0) {
      cp = b & 0x1F;
      len = 2;
    } else if ((b & 0xF0) == 0xE0) {
      cp = b & 0x0F;
      len = 3;
    } else if ((b & 0xF8) == 0xF0) {
      cp = b & 0x07;
      len = 4;
    } else {
      return false;
    }
    if (i + len > s.size()) return false;
    for (std::size_t k = 1; k < len; ++k) {
      const auto c = static_cast<unsigned char>(s[i + k]);
      if ((c & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (c & 0x3F);
    }
    if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000)) return false;
    if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += len;
  }
  return true;
}

struct fake_connection {
  std::string_view input;  // what the client still has to send
  std::string_view sizes;  // how much each read gets
  std::string written;
  std::size_t reads = 0;
  // Completions run from the driver's loop, not inside the initiating call (as asio does).
  std::coroutine_handle<> pending_read, pending_write;
};

void fake_read(void* c, std::span<char> into, keel::detail::upgrade_op& op) {
  auto* f = static_cast<fake_connection*>(c);
  ++f->reads;
  if (f->input.empty()) {
    op.error = asio::error::eof;
    op.bytes = 0;
  } else {
    std::size_t want = 1;
    if (!f->sizes.empty()) {
      want = static_cast<unsigned char>(f->sizes.front()) * 37 + 1;
      f->sizes.remove_prefix(1);
    } else {
      want = f->input.size();
    }
    const std::size_t n = std::min({want, into.size(), f->input.size()});
    std::memcpy(into.data(), f->input.data(), n);
    f->input.remove_prefix(n);
    op.bytes = n;
  }
  f->pending_read = op.waiter;
}
void fake_write(void* c, std::string_view bytes, keel::detail::upgrade_op& op) {
  auto* f = static_cast<fake_connection*>(c);
  f->written.append(bytes);
  op.bytes = bytes.size();
  f->pending_write = op.waiter;
}
void fake_done(void*) {}

// Parses what the server wrote: unmasked frames, valid close codes, nothing left over.
void check_output(std::string_view out) {
  while (!out.empty()) {
    keel::detail::ws::frame_header h;
    const auto s =
        keel::detail::ws::parse_header(reinterpret_cast<const unsigned char*>(out.data()), out.size(), h);
    require(s == keel::detail::ws::header_status::ok, "server frame header");
    require(!h.masked, "server frames are unmasked");
    require(h.header_bytes + h.length <= out.size(), "server frame complete");
    if (h.opcode == 0x8 && h.length >= 2) {
      const auto code = static_cast<std::uint16_t>((static_cast<unsigned char>(out[h.header_bytes]) << 8) |
                                                   static_cast<unsigned char>(out[h.header_bytes + 1]));
      require(keel::detail::ws::valid_close_code(code), "server close code");
    }
    out.remove_prefix(h.header_bytes + static_cast<std::size_t>(h.length));
  }
}

keel::task<> run(keel::websocket& ws, std::size_t limit, bool* finished) {
  int after_close = 0;
  for (int i = 0; i < 10000; ++i) {
    keel::ws_message m = co_await ws.receive();
    if (m.closed()) {
      if (++after_close == 2) break;  // once more: still closed
      continue;
    }
    require(after_close == 0, "a message after closed");
    require(m.data.size() <= limit, "message within the limit");
    if (m.is_text()) require(reference_utf8(m.data), "text is UTF-8");
    if (m.data.size() < 64) co_await ws.send_binary(m.data);  // exercise the writer too
  }
  keel::task<> f = ws.finish();
  co_await std::move(f);
  *finished = true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  const std::uint8_t flags = data[0];
  const std::size_t split = std::min<std::size_t>(data[1], size - 2);
  fake_connection conn;
  conn.sizes = std::string_view(reinterpret_cast<const char*>(data) + 2, split);
  conn.input = std::string_view(reinterpret_cast<const char*>(data) + 2 + split, size - 2 - split);

  keel::ws_options opts;
  opts.max_message_bytes = (flags & 1) ? 256 : 64 * 1024;
  opts.ping_interval = std::chrono::milliseconds(0);
  opts.deflate.enabled = (flags & 2) != 0;
  opts.deflate.min_bytes = 0;
  keel::websocket::accepted agreed;
  if (flags & 2) {
    keel::detail::ws::deflate_params p;
    p.client_no_context_takeover = (flags & 4) != 0;
    p.server_no_context_takeover = (flags & 8) != 0;
    p.server_max_window_bits = 9 + (flags >> 4) % 7;
    agreed.deflate = p;
  }

  keel::detail::upgrade_transport t;
  t.connection = &conn;
  t.read = &fake_read;
  t.write = &fake_write;
  t.done = &fake_done;
  bool finished = false;
  {
    keel::websocket ws(t, opts, agreed);
    keel::detail::start_detached(
        run(ws, opts.max_message_bytes, &finished),
        [](keel::detail::task_result<void>&& r) { require(!r.exception, "no exception escapes"); });
    while (conn.pending_read || conn.pending_write) {
      if (conn.pending_write) {
        std::exchange(conn.pending_write, nullptr).resume();
      } else {
        std::exchange(conn.pending_read, nullptr).resume();
      }
    }
    require(finished, "the session ran to its end");
  }
  check_output(conn.written);
  return 0;
}
