// A chat room over WebSocket and server-sent events, sharing one keel::hub.
//   build/examples/chat --port 8080            then open http://127.0.0.1:8080/
//
// GET  /                          the page (HTML + JS from the binary): join a room, see messages live, send
// GET  /ws?room=R&user=U          WebSocket (subprotocol chat.v1, optional). Send {"text":"..."} (1..2,000
//                                 characters); every member of the room receives
//                                 {"room","user","text","ts","seq"}. Not that JSON: closed with 1008; not
//                                 UTF-8: 1007.
// GET  /events?room=R             the same messages as server-sent events (event: message, id: <seq>, one
//                                 JSON data line); Last-Event-ID resumes after a reconnect
// POST /rooms/{room}/messages     {"user","text"} -> 202, broadcast to both kinds of subscriber
// GET  /echo                      WebSocket echo (permessage-deflate when the client offers it)
//
// --redis URL (redis://host:port): the rooms are shared through Redis pub/sub by every chat process started
// with the same URL (keel::redis_hub_backend); without it they are local to this process.
#include <keel.hpp>
#include <keel/hub.hpp>
#include <keel/redis_hub.hpp>
#include <keel/tls.hpp>  // wss:// with --tls-cert/--tls-key
#include <keel/websocket.hpp>

#include "chat/page.hpp"

#include <chrono>
#include <cstdio>
#include <optional>
#include <string>
#include <string_view>

// The DTOs (named namespace: keel's field-name reflection needs types with linkage under clang).
namespace chat {

struct join_query {
  std::string room;
  std::string user;
};
struct room_query {
  std::string room;
};
struct said {  // what a WebSocket member sends
  std::string text;
};
struct posted {  // POST /rooms/{room}/messages
  std::string user;
  std::string text;
};

}  // namespace chat

namespace {

using chat::join_query;
using chat::posted;
using chat::room_query;
using chat::said;

constexpr std::size_t max_text = 2000;  // characters (code points)

std::size_t code_points(std::string_view s) {
  std::size_t n = 0;
  for (const char c : s) n += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  return n;
}
bool valid_room(std::string_view room) {
  if (room.empty() || room.size() > 64) return false;
  for (const char c : room) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
                    c == '-' || c == '.';
    if (!ok) return false;
  }
  return true;
}
bool valid_user(std::string_view user) {
  if (user.empty() || code_points(user) > 64) return false;
  for (const char c : user)
    if (static_cast<unsigned char>(c) < 0x20) return false;
  return true;
}
bool valid_text(std::string_view text) {
  const std::size_t n = code_points(text);
  return n >= 1 && n <= max_text;
}

// {"room":...,"user":...,"text":...,"ts":...}: the hub's stamp adds "seq" once the message has its number.
std::string chat_payload(std::string_view room, std::string_view user, std::string_view text) {
  const auto ts = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::system_clock::now().time_since_epoch())
                      .count();
  std::string out = "{\"room\":";
  keel::detail::append_json_string(out, room);
  out += ",\"user\":";
  keel::detail::append_json_string(out, user);
  out += ",\"text\":";
  keel::detail::append_json_string(out, text);
  out += ",\"ts\":" + std::to_string(ts) + "}";
  return out;
}
std::string add_seq(std::string_view, std::uint64_t seq, std::string_view payload) {
  std::string out(payload.substr(0, payload.size() - 1));  // without the closing brace
  out += ",\"seq\":" + std::to_string(seq) + "}";
  return out;
}

template <class Hub>
std::uint64_t publish(Hub& rooms, std::string_view room, std::string_view user, std::string_view text) {
  try {
    return rooms.publish(room, chat_payload(room, user, text));
  } catch (const std::length_error&) {
    throw keel::http_error(keel::http::status::service_unavailable, "too many rooms");
  }
}

template <class Hub>
keel::task<> member(keel::query<join_query> q, Hub& rooms, keel::websocket& ws) {
  const std::string room = q->room;
  const std::string user = q->user;
  if (!valid_room(room) || !valid_user(user)) {
    keel::task<> c = ws.close(keel::ws_close::policy_violation, "bad room or user");
    co_await std::move(c);
    co_return;
  }
  keel::hub_subscription sub = rooms.subscribe(room, ws);  // room messages join this socket's send queue
  for (;;) {
    std::optional<said> in = co_await ws.receive_json<said>();  // not {"text": string}: closed with 1008
    if (!in) break;
    if (!valid_text(in->text)) {
      keel::task<> c = ws.close(keel::ws_close::policy_violation, "text must be 1..2000 characters");
      co_await std::move(c);
      break;
    }
    publish(rooms, room, user, in->text);
  }
}

keel::ws_options member_options() {
  keel::ws_options o;
  o.subprotocols = {"chat.v1"};
  o.json_errors = keel::ws_json_errors::close_1008;
  o.max_message_bytes = 16 * 1024;  // 2,000 characters of JSON-escaped UTF-8 fit
  return o;
}

template <class Hub>
keel::task<> events(keel::query<room_query> q, Hub& rooms, keel::event_stream es) {
  const std::string room = q->room;
  if (!valid_room(room)) throw keel::bad_request("room: 1..64 of A-Z a-z 0-9 _ . -");
  keel::task<> t = rooms.stream(room, es);  // Last-Event-ID replay, keepalives; ends when the client goes
  co_await std::move(t);
}

template <class Hub>
keel::status_only post_message(std::string room, keel::json<posted> in, Hub& rooms) {
  if (!valid_room(room)) throw keel::bad_request("room: 1..64 of A-Z a-z 0-9 _ . -");
  if (!valid_user(in->user)) throw keel::unprocessable("user: 1..64 characters");
  if (!valid_text(in->text)) throw keel::unprocessable("text: 1..2000 characters");
  publish(rooms, room, in->user, in->text);
  return keel::status_only{keel::http::status::accepted};
}

keel::task<> echo(keel::websocket& ws) {
  for (;;) {
    keel::ws_message msg = co_await ws.receive();
    if (msg.closed()) break;
    if (msg.is_text()) {
      co_await ws.send_text(msg.data);
    } else {
      co_await ws.send_binary(msg.data);
    }
  }
}

keel::ws_options echo_options() {
  keel::ws_options o;
  o.deflate.enabled = true;
  o.allowed_origins = {"*"};  // an echo service: any page may use it
  o.max_message_bytes = 16 * 1024 * 1024;
  return o;
}

// The routes over either hub: keel::hub (this process) or keel::basic_hub<keel::redis_hub_backend>.
template <class Hub>
void serve(Hub& rooms, const keel::server_config& config) {
  auto api = keel::router{
      keel::get<"/">([] {
        return keel::static_body{chat::page, "text/html; charset=utf-8"};
      }),
      keel::ws<"/ws">(&member<Hub>, member_options()),
      keel::get<"/events">(&events<Hub>),
      keel::post<"/rooms/{room}/messages">(&post_message<Hub>),
      keel::ws<"/echo">(&echo, echo_options()),
  };
  keel::app{std::move(api)}.provide(rooms).serve(config);
}

}  // namespace

int main(int argc, char** argv) {
  const auto cli = keel::parse_command_line(
      argc, argv,
      {{.name = "redis",
        .value_name = "URL",
        .description =
            "Redis (redis://host:port) sharing the rooms between chat processes (default: local)"}});

  // snippet: redis-hub
  keel::hub_options ho;
  ho.stamp = &add_seq;
  if (const std::optional<std::string> url = cli.value("redis")) {
    keel::redis::config redis;
    try {
      redis = keel::redis::parse_url(*url);
    } catch (const std::invalid_argument& e) {
      std::fprintf(stderr, "chat: --redis: %s\n", e.what());
      return 2;
    }
    keel::basic_hub<keel::redis_hub_backend> rooms(ho, std::move(redis));  // outlives serve()
    serve(rooms, cli.config);
  } else {
    keel::hub rooms(ho);  // outlives serve()
    serve(rooms, cli.config);
  }
  // end snippet: redis-hub
}
