// keel::ws_options: what a WebSocket route can tune (limits, keepalive, origins, subprotocols, compression,
// backpressure, JSON errors). Plain data: one per route, shared by its connections.
#pragma once

#include "keel/config.hpp"

#include <chrono>
#include <cstddef>
#include <string>
#include <vector>

namespace keel {
inline namespace v0 {

// permessage-deflate (RFC 7692). Off unless `enabled`; then accepted when the client offers it.
struct ws_deflate_options {
  bool enabled = false;
  // Ask for a fresh compression context per message in each direction. Without context takeover a
  // connection keeps no zlib state between messages (the streams are per thread, reset after each message):
  // slightly worse ratio, far less memory (a connection with takeover holds ~300 KiB of zlib state).
  bool server_no_context_takeover = true;
  bool client_no_context_takeover = true;
  int server_max_window_bits = 15;  // 9..15 (zlib cannot deflate with a 256-byte window)
  int client_max_window_bits = 15;  // 8..15; only sent when the client offered the parameter
  int level = 1;                    // zlib level 1..9: 1 is several times faster and most of the gain
  int mem_level = 8;                // zlib memLevel 1..9 for the server's deflater
  std::size_t min_bytes = 64;       // smaller messages go out uncompressed (per-message choice)
};

// What happens when a connection's send queue (messages handed over by post/try_send, see ws_handle) is
// full: the connection is closed with 1008, or the oldest queued message is dropped to make room.
enum class ws_overflow : unsigned char { close, drop_oldest };

// What receive_json<T>() does with a message that is not valid JSON for T: send back an error message
// (keel's error JSON shape, as a text message) and wait for the next message, or close the connection with
// 1007 (invalid payload data) or 1008 (policy violation).
enum class ws_json_errors : unsigned char { reply, close_1007, close_1008 };

struct ws_options {
  std::size_t max_message_bytes = 1024 * 1024;      // a larger message (decompressed size) closes with 1009
  std::chrono::milliseconds ping_interval{30'000};  // a ping after this long without traffic; 0: never
  std::chrono::milliseconds idle_timeout{75'000};   // nothing received for this long: closed with 1001
  std::chrono::milliseconds close_timeout{5'000};   // how long the close handshake waits for the peer
  // Subprotocols the server speaks, e.g. {"chat.v2", "chat.v1"}: the first of the client's (in its order)
  // that is here is selected and answered in Sec-WebSocket-Protocol.
  std::vector<std::string> subprotocols;
  // Origins allowed to open the socket from a browser ("https://app.example.com", scheme://host[:port]),
  // or {"*"} for any. Empty: same origin only (the Origin's host[:port] equals the Host header). Anything
  // else is refused with 403 before the upgrade: cross-site WebSocket hijacking.
  std::vector<std::string> allowed_origins;
  bool allow_missing_origin = true;  // clients that are not browsers send no Origin
  ws_deflate_options deflate{};
  // Backpressure for messages posted from elsewhere (ws_handle::post / try_send): at most this many
  // messages or bytes wait in the send queue; beyond that `on_overflow` applies.
  std::size_t send_queue_messages = 256;
  std::size_t send_queue_bytes = 4 * 1024 * 1024;
  ws_overflow on_overflow = ws_overflow::close;
  ws_json_errors json_errors = ws_json_errors::reply;
};

}  // namespace v0
}  // namespace keel
