// WebSocket conformance over raw sockets, case group by case group, from RFC 6455 (handshake, framing,
// masking, pings, reserved bits, opcodes, fragmentation, UTF-8, close codes, limits) and RFC 7692
// (permessage-deflate negotiation, compressed messages, context takeover, deflate bombs), plus keel's own
// contract: extractors and middleware at handshake time, JSON messages, send queues, shutdown.
#include "keel/websocket.hpp"

#include "keel/app.hpp"
#include "keel/extractors/header.hpp"
#include "keel/server/server.hpp"
#include "keel/server/tls.hpp"
#include "support/local_server.hpp"
#include "support/self_signed.hpp"
#include "support/ws_client.hpp"

#include <catch2/catch.hpp>
#include <zlib.h>

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

using namespace std::chrono_literals;
using keel_test::ws_client;
using keel_test::ws_frame_in;
using keel_test::ws_frame_out;

// DTOs in a named namespace: clang reflects field names only for types with linkage.
namespace ws_test {
struct who {
  std::string user;
  int n = 0;
};
struct chat_line {
  std::string text;
  int priority = 0;
};
}  // namespace ws_test
using ws_test::chat_line;
using ws_test::who;

namespace {

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
  o.max_message_bytes = 64 * 1024;
  o.subprotocols = {"chat.v2", "chat.v1"};
  o.allowed_origins = {"https://good.example"};
  o.deflate.enabled = true;
  o.deflate.min_bytes = 0;
  return o;
}
keel::ws_options takeover_options() {
  keel::ws_options o = echo_options();
  o.deflate.server_no_context_takeover = false;
  o.deflate.client_no_context_takeover = false;
  return o;
}
keel::ws_options ping_options() {
  keel::ws_options o;
  o.ping_interval = 200ms;
  o.idle_timeout = 1000ms;
  return o;
}

struct chat_state {
  std::string ticket;
};
// Runs at handshake time: refuses without X-Ticket, hands the ticket to the handler.
struct ticket_check {
  using state = chat_state;
  template <class Ctx>
  keel::flow before(Ctx& ctx) const {
    const std::string_view t = ctx.request().header("X-Ticket");
    if (t.empty()) {
      ctx.fail(keel::forbidden("no ticket"));
      return keel::flow::respond;
    }
    ctx.template state<chat_state>().ticket = std::string(t);
    return keel::flow::next;
  }
};

keel::ws_options json_close_options() {
  keel::ws_options o;
  o.json_errors = keel::ws_json_errors::close_1007;
  return o;
}
keel::ws_options queue_options(keel::ws_overflow policy) {
  keel::ws_options o;
  o.send_queue_messages = 4;
  o.on_overflow = policy;
  return o;
}

// Posts 100 numbered frames at once, then echoes until closed.
keel::task<> flood(keel::websocket& ws) {
  for (int i = 0; i < 100; ++i) ws.post(keel::ws_frame::text(std::to_string(i)));
  co_await echo(ws);
}

// Answers each message with values taken from its upgrade request, long after the request's session went back
// to the pool and served other connections.
keel::task<> later(std::string room, keel::query<who> q, keel::header<"X-Tag", std::string> tag,
                   keel::websocket& ws) {
  while (auto msg = co_await ws.receive()) {
    co_await ws.send_text(room + ":" + q->user + ":" + *tag + ":" + std::string(ws.subprotocol()) + ":" +
                          std::string(msg.data));
  }
}

auto make_app() {
  return keel::app{keel::router{
      keel::ws<"/echo">(&echo, echo_options()),
      keel::ws<"/takeover">(&echo, takeover_options()),
      keel::ws<"/plain">(&echo),
      keel::ws<"/ping">(&echo, ping_options()),
      keel::ws<"/rooms/{room}">(
          [](std::string room, keel::query<who> q, keel::websocket& ws) -> keel::task<> {
            co_await ws.send_text(room + ":" + q->user + ":" + std::to_string(q->n) + ":" +
                                  std::string(ws.subprotocol()));
            co_await echo(ws);
          }),
      keel::ws<"/later/{room}">(&later, echo_options()),
      // A middleware state by non-const reference is a copy made at handshake time (the request's states are
      // reset for the next request once the 101 is written).
      keel::ws<"/ticket-ref">([](chat_state& s, keel::websocket& ws) -> keel::task<> {
        while (auto msg = co_await ws.receive()) co_await ws.send_text("ticket " + s.ticket);
      }).use(ticket_check{}),
      keel::ws<"/ticket">([](const chat_state& s, keel::websocket& ws) -> keel::task<> {
        co_await ws.send_text("ticket " + s.ticket);
        co_await echo(ws);
      }).use(ticket_check{}),
      keel::ws<"/json">([](keel::websocket& ws) -> keel::task<> {
        while (auto line = co_await ws.receive_json<chat_line>()) {
          chat_line reply{"got " + line->text, line->priority + 1};
          co_await ws.send_json(reply);
        }
      }),
      keel::ws<"/json-strict">(
          [](keel::websocket& ws) -> keel::task<> {
            while (auto line = co_await ws.receive_json<chat_line>()) co_await ws.send_text(line->text);
          },
          json_close_options()),
      keel::ws<"/flood-close">(&flood, queue_options(keel::ws_overflow::close)),
      keel::ws<"/flood-drop">(&flood, queue_options(keel::ws_overflow::drop_oldest)),
      keel::ws<"/handles">(
          [](keel::websocket& ws) -> keel::task<> {
            // On the connection's own thread try_send queues directly: with a limit of 4, the first four
            // (one being written, three waiting) are taken and the rest refused.
            keel::ws_handle h = ws.handle();
            auto frame = keel::ws_frame::text("queued");
            int taken = 0;
            for (int i = 0; i < 10; ++i) taken += h.try_send(frame) ? 1 : 0;
            co_await ws.send_text("taken " + std::to_string(taken));
            // Another thread closes the connection through the handle.
            std::thread([h] { h.close(4000, "closed from another thread"); }).detach();
            keel::ws_message end = co_await ws.receive();
            co_await ws.send_text("unreachable");  // closing: throws keel::stream_closed
            (void)end;
          },
          queue_options(keel::ws_overflow::close)),
      keel::ws<"/blocks">([](keel::websocket& ws) -> keel::task<> {
        // Answers each message with the read blocks this reactor thread has out (one connection here).
        while (auto msg = co_await ws.receive())
          co_await ws.send_text(std::to_string(keel::detail::ws::block_pool::in_use()));
      }),
      keel::ws<"/threads">([](keel::websocket& ws) -> keel::task<> {
        // Another thread posts through the handle; the frame is serialised once and shared.
        std::thread([h = ws.handle()] {
          auto shared = keel::ws_frame::text("from another thread");
          for (int i = 0; i < 50; ++i) h.post(shared);
          h.post(keel::ws_frame::text("done"));
        }).detach();
        co_await echo(ws);
      }),
  }};
}
using app_type = decltype(make_app());

struct fixture {
  app_type app = make_app();
  keel::detail::server<app_type> server{app, config()};
  std::uint16_t port = server.start();
  static keel::server_config config() {
    keel::server_config cfg = keel_test::local_config();
    cfg.timeout.shutdown = 3000ms;
    return cfg;
  }
  ~fixture() {
    server.stop();
    server.wait();
  }
};

std::string header_value(const std::string& head, std::string_view name) {
  const auto at = head.find(std::string(name) + ": ");
  if (at == std::string::npos) return {};
  const auto start = at + name.size() + 2;
  return head.substr(start, head.find("\r\n", start) - start);
}

// Expects the server to fail the connection: a close frame with `code`, then the TCP close.
void expect_close(ws_client& c, std::uint16_t code) {
  auto f = c.read_until_close();
  REQUIRE(f);
  CHECK(f->close_code() == code);
  CHECK(c.closed_by_server());
}

// Raw DEFLATE as a permessage-deflate client would send it (tail stripped).
class client_deflater {
 public:
  explicit client_deflater(bool takeover) : takeover_(takeover) {
    deflateInit2(&z_, 6, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY);
  }
  ~client_deflater() { deflateEnd(&z_); }
  std::string operator()(std::string_view in) {
    std::string out(in.size() + 128, '\0');
    z_.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
    z_.avail_in = static_cast<uInt>(in.size());
    z_.next_out = reinterpret_cast<Bytef*>(out.data());
    z_.avail_out = static_cast<uInt>(out.size());
    deflate(&z_, Z_SYNC_FLUSH);
    out.resize(out.size() - z_.avail_out);
    out.resize(out.size() - 4);  // 00 00 ff ff
    if (!takeover_) deflateReset(&z_);
    return out;
  }

 private:
  z_stream z_{};
  bool takeover_;
};
class client_inflater {
 public:
  client_inflater() { inflateInit2(&z_, -15); }
  ~client_inflater() { inflateEnd(&z_); }
  std::string operator()(std::string in) {
    in.append("\0\0\xff\xff", 4);
    std::string out(1 << 20, '\0');
    z_.next_in = reinterpret_cast<Bytef*>(in.data());
    z_.avail_in = static_cast<uInt>(in.size());
    z_.next_out = reinterpret_cast<Bytef*>(out.data());
    z_.avail_out = static_cast<uInt>(out.size());
    inflate(&z_, Z_SYNC_FLUSH);
    out.resize(out.size() - z_.avail_out);
    return out;
  }

 private:
  z_stream z_{};
};

constexpr std::string_view deflate_offer = "Sec-WebSocket-Extensions: permessage-deflate\r\n";

}  // namespace

// ---------------------------------------------------------------- handshake (RFC 6455 4.2)

TEST_CASE("handshake: 101 with the accept value of RFC 6455's example key", "[ws][handshake]") {
  fixture f;
  ws_client c(f.port);
  const std::string head = c.handshake("/plain");
  CHECK(head.starts_with("HTTP/1.1 101 Switching Protocols\r\n"));
  CHECK(header_value(head, "Sec-WebSocket-Accept") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
  CHECK(header_value(head, "Upgrade") == "websocket");
  CHECK(header_value(head, "Connection") == "Upgrade");
  CHECK(header_value(head, "Sec-WebSocket-Extensions").empty());
  REQUIRE(c.text("hi"));
  auto m = c.read();
  REQUIRE(m);
  CHECK(m->opcode == 1);
  CHECK(m->payload == "hi");
}

TEST_CASE("handshake: requests that are not WebSocket upgrades are refused", "[ws][handshake]") {
  fixture f;
  const std::string key = "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n";
  SECTION("no Upgrade header: 426 naming websocket") {
    ws_client c(f.port);
    const std::string r =
        c.raw_request("GET /plain HTTP/1.1\r\nHost: x\r\n" + key + "Sec-WebSocket-Version: 13\r\n\r\n");
    CHECK(r.starts_with("HTTP/1.1 426 "));
    CHECK(header_value(r, "Upgrade") == "websocket");
  }
  SECTION("no Connection: Upgrade token: 400") {
    ws_client c(f.port);
    const std::string r = c.raw_request("GET /plain HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n" + key +
                                        "Sec-WebSocket-Version: 13\r\n\r\n");
    CHECK(r.starts_with("HTTP/1.1 400 "));
  }
  SECTION("tokens are case-insensitive and may sit in lists") {
    ws_client c(f.port);
    const std::string r = c.raw_request(
        "GET /plain HTTP/1.1\r\nHost: x\r\nUpgrade: foo/1, WebSocket\r\nConnection: keep-alive, UPGRADE\r\n" +
        key + "Sec-WebSocket-Version: 13\r\n\r\n");
    CHECK(r.starts_with("HTTP/1.1 101 "));
  }
  SECTION("version 8: 426 with Sec-WebSocket-Version: 13") {
    ws_client c(f.port);
    const std::string r = c.raw_request(
        "GET /plain HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
        "Connection: Upgrade\r\n" +
        key + "Sec-WebSocket-Version: 8\r\n\r\n");
    CHECK(r.starts_with("HTTP/1.1 426 "));
    CHECK(header_value(r, "Sec-WebSocket-Version") == "13");
  }
  SECTION("a key that is not 16 bytes of base64: 400") {
    for (const char* bad :
         {"c2hvcnQ=", "dGhlIHNhbXBsZSBub25jZQ", "dGhlIHNhbXBsZSBub25jZR==", "!!!!IHNhbXBsZSBub25jZQ=="}) {
      ws_client c(f.port);
      const std::string r =
          c.raw_request(std::string("GET /plain HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
                                    "Connection: Upgrade\r\nSec-WebSocket-Key: ") +
                        bad + "\r\nSec-WebSocket-Version: 13\r\n\r\n");
      CHECK(r.starts_with("HTTP/1.1 400 "));
    }
  }
  SECTION("HTTP/1.0: 400") {
    ws_client c(f.port);
    const std::string r = c.raw_request(
        "GET /plain HTTP/1.0\r\nHost: x\r\nUpgrade: websocket\r\n"
        "Connection: Upgrade\r\n" +
        key + "Sec-WebSocket-Version: 13\r\n\r\n");
    CHECK(r.starts_with("HTTP/1.1 400 "));
  }
  SECTION("POST: 405") {
    ws_client c(f.port);
    const std::string r = c.raw_request(
        "POST /plain HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
        "Connection: Upgrade\r\n" +
        key + "Sec-WebSocket-Version: 13\r\nContent-Length: 0\r\n\r\n");
    CHECK(r.starts_with("HTTP/1.1 405 "));
  }
}

TEST_CASE("handshake: the Origin check refuses cross-site pages with 403", "[ws][handshake][origin]") {
  fixture f;
  {
    ws_client c(f.port);
    CHECK(c.handshake("/echo", "Origin: https://evil.example\r\n").starts_with("HTTP/1.1 403 "));
  }
  {
    ws_client c(f.port);
    CHECK(c.handshake("/echo", "Origin: https://good.example\r\n").starts_with("HTTP/1.1 101 "));
  }
  {
    ws_client c(f.port);  // not a browser: no Origin
    CHECK(c.handshake("/echo").starts_with("HTTP/1.1 101 "));
  }
  // Without an allow-list: same origin only (the Origin's authority is the Host).
  {
    ws_client c(f.port);
    CHECK(c.handshake("/plain", "Origin: http://127.0.0.1\r\n").starts_with("HTTP/1.1 101 "));
  }
  {
    ws_client c(f.port);
    CHECK(c.handshake("/plain", "Origin: http://attacker.example\r\n").starts_with("HTTP/1.1 403 "));
  }
}

TEST_CASE("handshake: subprotocols follow the client's preference among the server's", "[ws][handshake]") {
  fixture f;
  {
    ws_client c(f.port);
    const std::string head = c.handshake("/echo", "Sec-WebSocket-Protocol: chat.v1, chat.v2\r\n");
    CHECK(header_value(head, "Sec-WebSocket-Protocol") == "chat.v1");
  }
  {
    ws_client c(f.port);
    const std::string head =
        c.handshake("/echo", "Sec-WebSocket-Protocol: other\r\nSec-WebSocket-Protocol: chat.v2\r\n");
    CHECK(header_value(head, "Sec-WebSocket-Protocol") == "chat.v2");
  }
  {
    ws_client c(f.port);
    const std::string head = c.handshake("/echo", "Sec-WebSocket-Protocol: mqtt\r\n");
    CHECK(head.starts_with("HTTP/1.1 101 "));
    CHECK(header_value(head, "Sec-WebSocket-Protocol").empty());
  }
}

TEST_CASE("handshake: path parameters, extractors and middleware run before the upgrade", "[ws][handshake]") {
  fixture f;
  {
    ws_client c(f.port);
    REQUIRE(c.handshake("/rooms/lobby?user=ann&n=3").starts_with("HTTP/1.1 101 "));
    auto m = c.read();
    REQUIRE(m);
    CHECK(m->payload == "lobby:ann:3:");
  }
  {
    ws_client c(f.port);  // a bad query value: the extractor's 422, no upgrade
    const std::string r = c.handshake("/rooms/lobby?user=ann&n=many");
    CHECK(r.starts_with("HTTP/1.1 422 "));
    CHECK(r.find("\"location\":\"query\"") != std::string::npos);
  }
  {
    ws_client c(f.port);
    CHECK(c.handshake("/ticket").starts_with("HTTP/1.1 403 "));
  }
  {
    ws_client c(f.port);
    REQUIRE(c.handshake("/ticket", "X-Ticket: t-42\r\n").starts_with("HTTP/1.1 101 "));
    auto m = c.read();
    REQUIRE(m);
    CHECK(m->payload == "ticket t-42");
  }
}

TEST_CASE("handshake: the handler's values outlive the upgrade request's session",
          "[ws][handshake][memory]") {
  // The ws route copies what its handler keeps, so the HTTP session (request, read buffer) goes back to the
  // reactor's pool right after the 101; the next connections' requests are parsed into that same buffer.
  fixture f;
  std::vector<std::unique_ptr<ws_client>> clients;
  for (int i = 0; i < 8; ++i) {
    auto c = std::make_unique<ws_client>(f.port);
    const std::string id = std::to_string(i);
    const std::string head = c->handshake("/later/room-" + id + "?user=user-" + id + "&n=" + id,
                                          "X-Tag: tag-" + id + "\r\nSec-WebSocket-Protocol: chat.v1\r\n");
    REQUIRE(head.starts_with("HTTP/1.1 101 "));
    clients.push_back(std::move(c));
  }
  ws_client by_ref(f.port);
  REQUIRE(by_ref.handshake("/ticket-ref", "X-Ticket: t-7\r\n").starts_with("HTTP/1.1 101 "));
  {
    ws_client other(f.port);  // a plain request, also through a pooled session
    CHECK(other.handshake("/no-such-route").starts_with("HTTP/1.1 404 "));
    ws_client another(f.port);
    REQUIRE(another.handshake("/ticket", "X-Ticket: t-8\r\n").starts_with("HTTP/1.1 101 "));
  }
  REQUIRE(by_ref.text("again"));
  auto ticket = by_ref.read();
  REQUIRE(ticket);
  CHECK(ticket->payload == "ticket t-7");
  for (int i = 7; i >= 0; --i) {
    const std::string id = std::to_string(i);
    REQUIRE(clients[static_cast<std::size_t>(i)]->text("hi " + id));
    auto m = clients[static_cast<std::size_t>(i)]->read();
    REQUIRE(m);
    CHECK(m->payload == "room-" + id + ":user-" + id + ":tag-" + id + ":chat.v1:hi " + id);
  }
}

TEST_CASE("handshake: frames sent right behind the request are read", "[ws][handshake]") {
  fixture f;
  ws_client c(f.port);
  const std::string frame = keel_test::encode_frame({.opcode = 1, .payload = "early"});
  const std::string head = c.raw_request(
      "GET /plain HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n" +
      frame);
  REQUIRE(head.starts_with("HTTP/1.1 101 "));
  auto m = c.read();
  REQUIRE(m);
  CHECK(m->payload == "early");
}

// ---------------------------------------------------------------- framing and masking (RFC 6455 5.2, 5.3)

TEST_CASE("framing: 7-, 16- and 64-bit payload lengths both ways", "[ws][framing]") {
  fixture f;
  ws_client c(f.port);
  REQUIRE(c.handshake("/plain").starts_with("HTTP/1.1 101 "));
  for (std::size_t n : {0u, 1u, 125u, 126u, 127u, 300u, 65535u, 65536u, 200000u}) {
    std::string payload(n, 'a');
    for (std::size_t i = 0; i < n; ++i) payload[i] = static_cast<char>('a' + i % 26);
    INFO("payload bytes: " << n);
    REQUIRE(c.binary(payload));
    auto m = c.read();
    REQUIRE(m);
    CHECK(m->opcode == 2);
    CHECK(m->fin);
    CHECK(m->payload == payload);
  }
}

TEST_CASE("framing: a length in a longer encoding than needed is a protocol error", "[ws][framing]") {
  fixture f;
  ws_client c(f.port);
  REQUIRE(c.handshake("/plain").starts_with("HTTP/1.1 101 "));
  REQUIRE(c.send({.opcode = 1, .payload = "short", .length_bytes = 8}));
  expect_close(c, 1002);
}

TEST_CASE("framing: frames bigger than the small buffer keep a block while they come, not while idle",
          "[ws][framing]") {
  fixture f;  // one reactor thread, this connection its only one
  ws_client c(f.port);
  REQUIRE(c.handshake("/blocks").starts_with("HTTP/1.1 101 "));
  auto blocks_after = [&](std::size_t bytes) {
    REQUIRE(c.binary(std::string(bytes, 'b')));
    auto m = c.read();
    REQUIRE(m);
    return m->payload;
  };
  CHECK(blocks_after(32) == "0");    // read whole into the connection's small buffer
  CHECK(blocks_after(4096) == "1");  // needed a block, which it keeps for the next messages
  CHECK(blocks_after(32) == "1");
  CHECK(blocks_after(4096) == "1");     // read in one go into the kept block
  std::this_thread::sleep_for(2500ms);  // a read waited over a second: the block went back
  CHECK(blocks_after(32) == "0");
}

TEST_CASE("masking: an unmasked client frame is a protocol error (1002)", "[ws][masking]") {
  fixture f;
  ws_client c(f.port);
  REQUIRE(c.handshake("/plain").starts_with("HTTP/1.1 101 "));
  REQUIRE(c.send({.opcode = 1, .payload = "plain", .mask = false}));
  expect_close(c, 1002);
}

TEST_CASE("masking: server frames are never masked", "[ws][masking]") {
  fixture f;
  ws_client c(f.port);
  REQUIRE(c.handshake("/plain").starts_with("HTTP/1.1 101 "));
  REQUIRE(c.text("x"));
  REQUIRE(c.raw().read_until("x"));
  const std::string raw = c.raw().take();
  REQUIRE(raw.size() >= 2);
  CHECK((static_cast<unsigned char>(raw[1]) & 0x80) == 0);
}

// ---------------------------------------------------------------- pings (RFC 6455 5.5.2, 5.5.3)

TEST_CASE("pings: a ping is answered with a pong carrying its payload", "[ws][ping]") {
  fixture f;
  ws_client c(f.port);
  REQUIRE(c.handshake("/plain").starts_with("HTTP/1.1 101 "));
  REQUIRE(c.send({.opcode = 9, .payload = "are you there?"}));
  auto m = c.read();
  REQUIRE(m);
  CHECK(m->opcode == 10);
  CHECK(m->payload == "are you there?");
  REQUIRE(c.send({.opcode = 10, .payload = "unsolicited"}));  // an unsolicited pong is ignored
  REQUIRE(c.text("still here"));
  m = c.read();
  REQUIRE(m);
  CHECK(m->payload == "still here");
}

TEST_CASE("pings: keepalive pings while idle; no answer closes after the idle timeout", "[ws][ping]") {
  fixture f;
  ws_client c(f.port);
  REQUIRE(c.handshake("/ping").starts_with("HTTP/1.1 101 "));
  auto m = c.read();
  REQUIRE(m);
  CHECK(m->opcode == 9);
  REQUIRE(c.send({.opcode = 10, .payload = m->payload}));  // answered: the connection lives on
  m = c.read();
  REQUIRE(m);
  CHECK(m->opcode == 9);
  // No more answers: closed with 1001 within the idle timeout (1 s) plus a sweep tick.
  const auto start = std::chrono::steady_clock::now();
  auto close = c.read_until_close();
  REQUIRE(close);
  CHECK(close->close_code() == 1001);
  CHECK(std::chrono::steady_clock::now() - start < 3s);
}

// ---------------------------------------------------------------- reserved bits and opcodes (RFC 6455 5.2)

TEST_CASE("reserved bits without an extension are a protocol error", "[ws][rsv]") {
  fixture f;
  for (int bit = 1; bit <= 3; ++bit) {
    ws_client c(f.port);
    REQUIRE(c.handshake("/plain").starts_with("HTTP/1.1 101 "));
    REQUIRE(c.send({.opcode = 1, .payload = "x", .rsv1 = bit == 1, .rsv2 = bit == 2, .rsv3 = bit == 3}));
    expect_close(c, 1002);
  }
}

TEST_CASE("unknown opcodes are a protocol error", "[ws][opcode]") {
  fixture f;
  for (std::uint8_t op : {3, 7, 0xB, 0xF}) {
    ws_client c(f.port);
    REQUIRE(c.handshake("/plain").starts_with("HTTP/1.1 101 "));
    REQUIRE(c.send({.opcode = op, .payload = "x"}));
    expect_close(c, 1002);
  }
}

// ---------------------------------------------------------------- fragmentation (RFC 6455 5.4)

TEST_CASE("fragmentation: fragments are joined, control frames may come between them", "[ws][fragments]") {
  fixture f;
  ws_client c(f.port);
  REQUIRE(c.handshake("/plain").starts_with("HTTP/1.1 101 "));
  REQUIRE(c.send({.opcode = 1, .payload = "frag", .fin = false}));
  REQUIRE(c.send({.opcode = 9, .payload = "p"}));
  REQUIRE(c.send({.opcode = 0, .payload = "men", .fin = false}));
  REQUIRE(c.send({.opcode = 0, .payload = "", .fin = false}));
  REQUIRE(c.send({.opcode = 0, .payload = "ted", .fin = true}));
  auto pong = c.read();
  REQUIRE(pong);
  CHECK(pong->opcode == 10);
  auto m = c.read();
  REQUIRE(m);
  CHECK(m->opcode == 1);
  CHECK(m->payload == "fragmented");
}

TEST_CASE("fragmentation errors are protocol errors", "[ws][fragments]") {
  fixture f;
  SECTION("a continuation with no message started") {
    ws_client c(f.port);
    REQUIRE(c.handshake("/plain").starts_with("HTTP/1.1 101 "));
    REQUIRE(c.send({.opcode = 0, .payload = "x"}));
    expect_close(c, 1002);
  }
  SECTION("a new message inside a fragmented one") {
    ws_client c(f.port);
    REQUIRE(c.handshake("/plain").starts_with("HTTP/1.1 101 "));
    REQUIRE(c.send({.opcode = 1, .payload = "a", .fin = false}));
    REQUIRE(c.send({.opcode = 2, .payload = "b"}));
    expect_close(c, 1002);
  }
  SECTION("a fragmented control frame") {
    ws_client c(f.port);
    REQUIRE(c.handshake("/plain").starts_with("HTTP/1.1 101 "));
    REQUIRE(c.send({.opcode = 9, .payload = "a", .fin = false}));
    expect_close(c, 1002);
  }
  SECTION("a control frame over 125 bytes") {
    ws_client c(f.port);
    REQUIRE(c.handshake("/plain").starts_with("HTTP/1.1 101 "));
    const std::string big(126, 'p');
    REQUIRE(c.send({.opcode = 9, .payload = big}));
    expect_close(c, 1002);
  }
}

// ---------------------------------------------------------------- UTF-8 (RFC 6455 8.1)

TEST_CASE("UTF-8: valid text passes, whole or with code points split across frames", "[ws][utf8]") {
  fixture f;
  ws_client c(f.port);
  REQUIRE(c.handshake("/plain").starts_with("HTTP/1.1 101 "));
  const std::string text = "κόσμε \xE2\x82\xAC \xF0\x9F\x98\x80 \xEF\xBF\xBF \xF4\x8F\xBF\xBF";
  REQUIRE(c.text(text));
  auto m = c.read();
  REQUIRE(m);
  CHECK(m->payload == text);
  // The euro sign split after its first byte, and a 4-byte code point split byte by byte.
  REQUIRE(c.send({.opcode = 1, .payload = "\xE2", .fin = false}));
  REQUIRE(c.send({.opcode = 0, .payload = "\x82\xAC \xF0", .fin = false}));
  REQUIRE(c.send({.opcode = 0, .payload = "\x9F", .fin = false}));
  REQUIRE(c.send({.opcode = 0, .payload = "\x98\x80", .fin = true}));
  m = c.read();
  REQUIRE(m);
  CHECK(m->payload == "\xE2\x82\xAC \xF0\x9F\x98\x80");
}

TEST_CASE("UTF-8: invalid text closes with 1007", "[ws][utf8]") {
  fixture f;
  for (std::string_view bad :
       {std::string_view("\xC0\xAF"), std::string_view("\xED\xA0\x80"), std::string_view("\xF4\x90\x80\x80"),
        std::string_view("abc\xFF"), std::string_view("\xE2\x82")}) {
    ws_client c(f.port);
    REQUIRE(c.handshake("/plain").starts_with("HTTP/1.1 101 "));
    REQUIRE(c.text(bad));
    expect_close(c, 1007);
  }
}

TEST_CASE("UTF-8: an invalid fragment fails fast, before the message ends", "[ws][utf8]") {
  fixture f;
  ws_client c(f.port);
  REQUIRE(c.handshake("/plain").starts_with("HTTP/1.1 101 "));
  REQUIRE(c.send({.opcode = 1, .payload = "good start", .fin = false}));
  REQUIRE(c.send({.opcode = 0, .payload = "then \xC3\x28 bad", .fin = false}));
  // No final fragment is ever sent: the close comes anyway.
  expect_close(c, 1007);
}

TEST_CASE("UTF-8: a message ending inside a code point closes with 1007", "[ws][utf8]") {
  fixture f;
  ws_client c(f.port);
  REQUIRE(c.handshake("/plain").starts_with("HTTP/1.1 101 "));
  REQUIRE(c.send({.opcode = 1, .payload = "ok \xF0\x9F", .fin = false}));
  REQUIRE(c.send({.opcode = 0, .payload = "\x98", .fin = true}));
  expect_close(c, 1007);
}

// ---------------------------------------------------------------- close (RFC 6455 5.5.1, 7.4)

TEST_CASE("close: the server echoes the code and closes the TCP connection", "[ws][close]") {
  fixture f;
  for (std::uint16_t code : {1000, 1001, 1003, 1007, 1011, 3000, 4999}) {
    ws_client c(f.port);
    REQUIRE(c.handshake("/plain").starts_with("HTTP/1.1 101 "));
    REQUIRE(c.close(code, "bye"));
    auto reply = c.read();
    REQUIRE(reply);
    CHECK(reply->opcode == 8);
    CHECK(reply->close_code() == code);
    CHECK(c.closed_by_server());
  }
  ws_client c(f.port);  // no code at all: an empty close back
  REQUIRE(c.handshake("/plain").starts_with("HTTP/1.1 101 "));
  REQUIRE(c.send({.opcode = 8, .payload = ""}));
  auto reply = c.read();
  REQUIRE(reply);
  CHECK(reply->opcode == 8);
  CHECK(reply->payload.empty());
}

TEST_CASE("close: invalid codes and payloads", "[ws][close]") {
  fixture f;
  for (std::uint16_t code : {0, 999, 1004, 1005, 1006, 1015, 1016, 2000, 2999, 5000, 65535}) {
    ws_client c(f.port);
    REQUIRE(c.handshake("/plain").starts_with("HTTP/1.1 101 "));
    REQUIRE(c.close(code));
    expect_close(c, 1002);
  }
  {
    ws_client c(f.port);  // one byte cannot hold a code
    REQUIRE(c.handshake("/plain").starts_with("HTTP/1.1 101 "));
    REQUIRE(c.send({.opcode = 8, .payload = "\x03"}));
    expect_close(c, 1002);
  }
  {
    ws_client c(f.port);  // a reason that is not UTF-8
    REQUIRE(c.handshake("/plain").starts_with("HTTP/1.1 101 "));
    REQUIRE(c.close(1000, "\xFF\xFE"));
    expect_close(c, 1007);
  }
}

// ---------------------------------------------------------------- limits

TEST_CASE("limits: a message over max_message_bytes closes with 1009", "[ws][limits]") {
  fixture f;
  {
    ws_client c(f.port);
    REQUIRE(c.handshake("/echo").starts_with("HTTP/1.1 101 "));
    const std::string big(64 * 1024 + 1, 'x');
    REQUIRE(c.binary(big));
    expect_close(c, 1009);
  }
  {
    ws_client c(f.port);  // the limit counts all fragments together
    REQUIRE(c.handshake("/echo").starts_with("HTTP/1.1 101 "));
    const std::string half(40 * 1024, 'x');
    REQUIRE(c.send({.opcode = 2, .payload = half, .fin = false}));
    REQUIRE(c.send({.opcode = 0, .payload = half, .fin = true}));
    expect_close(c, 1009);
  }
  {
    ws_client c(f.port);  // exactly at the limit is fine
    REQUIRE(c.handshake("/echo").starts_with("HTTP/1.1 101 "));
    const std::string max(64 * 1024, 'y');
    REQUIRE(c.binary(max));
    auto m = c.read();
    REQUIRE(m);
    CHECK(m->payload.size() == max.size());
  }
}

// ---------------------------------------------------------------- permessage-deflate (RFC 7692)

TEST_CASE("compression: negotiation", "[ws][deflate]") {
  fixture f;
  auto negotiate = [&](std::string_view path, std::string_view offer) {
    ws_client c(f.port);
    const std::string head = c.handshake(path, "Sec-WebSocket-Extensions: " + std::string(offer) + "\r\n");
    REQUIRE(head.starts_with("HTTP/1.1 101 "));
    return header_value(head, "Sec-WebSocket-Extensions");
  };
  CHECK(negotiate("/echo", "permessage-deflate") ==
        "permessage-deflate; server_no_context_takeover; client_no_context_takeover");
  CHECK(negotiate("/takeover", "permessage-deflate").empty() == false);
  CHECK(negotiate("/takeover", "permessage-deflate") == "permessage-deflate");
  CHECK(negotiate("/takeover", "permessage-deflate; client_max_window_bits") == "permessage-deflate");
  CHECK(negotiate("/takeover", "permessage-deflate; server_no_context_takeover") ==
        "permessage-deflate; server_no_context_takeover");
  CHECK(negotiate("/takeover", "permessage-deflate; server_max_window_bits=10") ==
        "permessage-deflate; server_max_window_bits=10");
  CHECK(negotiate("/takeover", "permessage-deflate; server_max_window_bits=\"12\"") ==
        "permessage-deflate; server_max_window_bits=12");
  // Offers the server cannot accept are declined; the next one is tried.
  CHECK(negotiate("/takeover", "permessage-deflate; unknown=1").empty());
  CHECK(negotiate("/takeover", "permessage-deflate; server_max_window_bits=16").empty());
  CHECK(negotiate("/takeover", "permessage-deflate; server_max_window_bits").empty());
  CHECK(negotiate("/takeover", "permessage-deflate; server_no_context_takeover; server_no_context_takeover")
            .empty());
  CHECK(negotiate("/takeover", "permessage-deflate; server_max_window_bits=8, permessage-deflate") ==
        "permessage-deflate");
  CHECK(negotiate("/takeover", "x-webkit-deflate-frame, permessage-deflate; client_no_context_takeover") ==
        "permessage-deflate; client_no_context_takeover");
  CHECK(negotiate("/plain", "permessage-deflate").empty());  // compression off on this route
}

TEST_CASE("compression: compressed messages both ways, RSV1 on the first frame only", "[ws][deflate]") {
  fixture f;
  ws_client c(f.port);
  REQUIRE(c.handshake("/echo", deflate_offer).starts_with("HTTP/1.1 101 "));
  client_deflater deflate(false);
  client_inflater inflate;
  const std::string text = "Hello, compressed world! Hello, compressed world! Hello, compressed world!";
  const std::string z = deflate(text);
  REQUIRE(c.send({.opcode = 1, .payload = z, .rsv1 = true}));
  auto m = c.read();
  REQUIRE(m);
  CHECK(m->rsv1);
  CHECK(m->opcode == 1);
  CHECK(m->payload.size() < text.size());
  CHECK(inflate(m->payload) == text);
  // A compressed message in three fragments: RSV1 on the first only.
  const std::string z2 = deflate(text + text);
  REQUIRE(c.send({.opcode = 1, .payload = std::string_view(z2).substr(0, 5), .fin = false, .rsv1 = true}));
  REQUIRE(c.send({.opcode = 0, .payload = std::string_view(z2).substr(5, 7), .fin = false}));
  REQUIRE(c.send({.opcode = 0, .payload = std::string_view(z2).substr(12), .fin = true}));
  m = c.read();
  REQUIRE(m);
  CHECK(inflate(m->payload) == text + text);
  // An uncompressed message on the same connection is fine too.
  REQUIRE(c.text("plain"));
  m = c.read();
  REQUIRE(m);
  CHECK(inflate(m->payload) == "plain");
  // RSV1 on a continuation frame is a protocol error.
  REQUIRE(c.send({.opcode = 1, .payload = std::string_view(z2).substr(0, 5), .fin = false, .rsv1 = true}));
  REQUIRE(c.send({.opcode = 0, .payload = std::string_view(z2).substr(5), .fin = true, .rsv1 = true}));
  expect_close(c, 1002);
}

TEST_CASE("compression: context takeover carries the window from message to message", "[ws][deflate]") {
  fixture f;
  ws_client c(f.port);
  REQUIRE(c.handshake("/takeover", deflate_offer).starts_with("HTTP/1.1 101 "));
  client_deflater deflate(true);
  client_inflater inflate;
  const std::string text = "a message long enough that the second copy is a back-reference into the first";
  const std::string z1 = deflate(text), z2 = deflate(text);
  CHECK(z2.size() < z1.size());  // the client's second message refers to its first
  REQUIRE(c.send({.opcode = 1, .payload = z1, .rsv1 = true}));
  auto m1 = c.read();
  REQUIRE(c.send({.opcode = 1, .payload = z2, .rsv1 = true}));
  auto m2 = c.read();
  REQUIRE(m1);
  REQUIRE(m2);
  CHECK(inflate(m1->payload) == text);
  CHECK(inflate(m2->payload) == text);
  CHECK(m2->payload.size() < m1->payload.size());  // and the server's second reply refers to its first
}

TEST_CASE("compression: invalid compressed data closes with 1007", "[ws][deflate]") {
  fixture f;
  ws_client c(f.port);
  REQUIRE(c.handshake("/echo", deflate_offer).starts_with("HTTP/1.1 101 "));
  REQUIRE(c.send({.opcode = 2, .payload = "\xFF\xFF\xFF\xFF\xFF", .rsv1 = true}));
  expect_close(c, 1007);
}

TEST_CASE("compression: a deflate bomb is stopped at the message limit (1009)", "[ws][deflate]") {
  fixture f;
  ws_client c(f.port);
  REQUIRE(c.handshake("/echo", deflate_offer).starts_with("HTTP/1.1 101 "));
  client_deflater deflate(false);
  const std::string zeros(10 * 1024 * 1024, '\0');
  const std::string bomb = deflate(zeros);
  CHECK(bomb.size() < 64 * 1024);  // small on the wire
  REQUIRE(c.send({.opcode = 2, .payload = bomb, .rsv1 = true}));
  expect_close(c, 1009);
}

// ---------------------------------------------------------------- JSON messages

TEST_CASE("JSON: typed messages, validation errors answered or closing", "[ws][json]") {
  fixture f;
  {
    ws_client c(f.port);
    REQUIRE(c.handshake("/json").starts_with("HTTP/1.1 101 "));
    REQUIRE(c.text(R"({"text":"hi","priority":2})"));
    auto m = c.read();
    REQUIRE(m);
    CHECK(m->payload == R"({"text":"got hi","priority":3})");
    REQUIRE(c.text(R"({"text":5})"));
    m = c.read();
    REQUIRE(m);
    CHECK(m->payload.find("\"code\":\"validation_failed\"") != std::string::npos);
    CHECK(m->payload.find("\"location\":\"message\"") != std::string::npos);
    REQUIRE(c.text("{not json"));
    m = c.read();
    REQUIRE(m);
    CHECK(m->payload.find("\"code\":\"invalid_json\"") != std::string::npos);
    REQUIRE(c.text(R"({"text":"still open","priority":0})"));
    m = c.read();
    REQUIRE(m);
    CHECK(m->payload == R"({"text":"got still open","priority":1})");
  }
  {
    ws_client c(f.port);
    REQUIRE(c.handshake("/json-strict").starts_with("HTTP/1.1 101 "));
    REQUIRE(c.text(R"({"priority":"high"})"));
    auto close = c.read_until_close();
    REQUIRE(close);
    CHECK(close->close_code() == 1007);
  }
}

// ---------------------------------------------------------------- backpressure and other threads

TEST_CASE("backpressure: a full send queue closes with 1008", "[ws][queue]") {
  fixture f;
  ws_client c(f.port);
  REQUIRE(c.handshake("/flood-close").starts_with("HTTP/1.1 101 "));
  int texts = 0;
  std::uint16_t code = 0;
  while (auto m = c.read()) {
    if (m->opcode == 1) ++texts;
    if (m->opcode == 8) {
      code = m->close_code();
      break;
    }
  }
  CHECK(code == 1008);
  CHECK(texts < 100);
}

TEST_CASE("backpressure: drop_oldest keeps the newest messages", "[ws][queue]") {
  fixture f;
  ws_client c(f.port);
  REQUIRE(c.handshake("/flood-drop").starts_with("HTTP/1.1 101 "));
  std::vector<std::string> got;
  REQUIRE(c.text("end"));
  while (auto m = c.read()) {
    if (m->payload == "end") break;
    got.push_back(m->payload);
  }
  REQUIRE(!got.empty());
  CHECK(got.size() < 100);
  CHECK(got.back() == "99");
}

TEST_CASE("other threads post shared frames through a handle", "[ws][queue]") {
  fixture f;
  ws_client c(f.port);
  REQUIRE(c.handshake("/threads").starts_with("HTTP/1.1 101 "));
  int from_thread = 0;
  for (;;) {
    auto m = c.read();
    REQUIRE(m);
    if (m->payload == "done") break;
    CHECK(m->payload == "from another thread");
    ++from_thread;
  }
  CHECK(from_thread == 50);
  REQUIRE(c.text("echo still works"));
  auto m = c.read();
  REQUIRE(m);
  CHECK(m->payload == "echo still works");
}

TEST_CASE("handles: try_send refuses past the queue limit; close works from another thread", "[ws][queue]") {
  fixture f;
  ws_client c(f.port);
  REQUIRE(c.handshake("/handles").starts_with("HTTP/1.1 101 "));
  int queued = 0;
  std::string report;
  for (;;) {
    auto m = c.read();
    REQUIRE(m);
    if (m->payload == "queued") {
      ++queued;
      continue;
    }
    report = m->payload;
    break;
  }
  CHECK(queued == 4);
  CHECK(report == "taken 4");
  auto close = c.read();
  REQUIRE(close);
  CHECK(close->opcode == 8);
  CHECK(close->close_code() == 4000);
  CHECK(close->payload.substr(2) == "closed from another thread");
  REQUIRE(c.close(4000));
  CHECK(c.closed_by_server());
}

// ---------------------------------------------------------------- shutdown

TEST_CASE("shutdown: every client gets a 1001 close and the server waits for the handshake",
          "[ws][shutdown]") {
  auto app = make_app();
  keel::server_config cfg = keel_test::local_config(2);
  cfg.timeout.shutdown = 3000ms;
  keel::detail::server<app_type> server(app, cfg);
  const auto port = server.start();
  std::vector<std::unique_ptr<ws_client>> clients;
  for (int i = 0; i < 6; ++i) {
    clients.push_back(std::make_unique<ws_client>(port));
    REQUIRE(clients.back()->handshake(i % 2 ? "/plain" : "/echo").starts_with("HTTP/1.1 101 "));
  }
  REQUIRE(clients[0]->text("before"));
  REQUIRE(clients[0]->read());
  const auto start = std::chrono::steady_clock::now();
  server.stop();
  for (auto& c : clients) {
    auto close = c->read_until_close();
    REQUIRE(close);
    CHECK(close->close_code() == 1001);
    REQUIRE(c->close(1001));
    CHECK(c->closed_by_server());
  }
  server.wait();
  CHECK(std::chrono::steady_clock::now() - start < 2500ms);  // answered handshakes end it before the deadline
}

// ---------------------------------------------------------------- over TLS

TEST_CASE("wss: a real client over TLS echoes, then gets 1001 at shutdown", "[ws][tls]") {
  const keel_test::self_signed tls;  // cert.pem and key.pem in tls.dir
  const std::filesystem::path& dir = tls.dir;
  const std::string& cert = tls.cert;
  auto app = make_app();
  keel::server_config cfg = tls.serve_tls(keel_test::local_config());
  cfg.timeout.shutdown = 3000ms;
  keel::detail::server<app_type> server(app, cfg);
  const auto port = server.start();
  // Debian's python3-websockets: echo one message, then wait for the server's close and print its code.
  const std::string script = (dir / "client.py").string();
  std::ofstream(script) << "import asyncio, ssl, sys, websockets\n"
                           "async def main():\n"
                           "    ctx = ssl.create_default_context(cafile=sys.argv[2])\n"
                           "    url = 'wss://127.0.0.1:%s/echo' % sys.argv[1]\n"
                           "    async with websockets.connect(url, ssl=ctx, compression='deflate') as ws:\n"
                           "        await ws.send('over tls ' * 50)\n"
                           "        print((await ws.recv())[:8], flush=True)\n"
                           "        open(sys.argv[3], 'w').write('echoed')\n"
                           "        try:\n"
                           "            await ws.recv()\n"
                           "        except websockets.ConnectionClosed as e:\n"
                           "            print(e.code, flush=True)\n"
                           "asyncio.run(main())\n";
  const std::string marker = (dir / "echoed").string();
  std::string out;
  std::thread client([&] {
    out = keel_test::run_command("timeout 20 /usr/bin/python3 " + script + " " + std::to_string(port) + " " +
                                 cert + " " + marker + " 2>&1");
  });
  CHECK(keel_test::eventually([&] { return std::filesystem::exists(marker); }));
  server.stop();
  client.join();
  server.wait();
  CHECK(out == "over tls\n1001\n");
}
