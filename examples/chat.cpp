// WebSocket example (a skeleton: the chat room, server-sent events and the pub/sub hub come later).
//   build/examples/chat --port 8080
// GET /echo upgrades to WebSocket and echoes every text and binary message verbatim; permessage-deflate is
// used when the client offers it.
#include <keel.hpp>
#include <keel/tls.hpp>  // wss:// with --tls-cert/--tls-key
#include <keel/websocket.hpp>

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
  o.deflate.enabled = true;
  o.allowed_origins = {"*"};  // an echo service: any page may use it
  o.max_message_bytes = 16 * 1024 * 1024;
  return o;
}

}  // namespace

int main(int argc, char** argv) {
  auto api = keel::router{
      keel::ws<"/echo">(&echo, echo_options()),
  };
  keel::app{std::move(api)}.serve(keel::server_config::from_args(argc, argv));
}
