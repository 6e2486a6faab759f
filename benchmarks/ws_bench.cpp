// ws_bench: a WebSocket echo server for benchmarks/ws.sh and benchmarks/ws_memory.py.
//   build/benchmarks/ws_bench --port 8080 --threads 1 [--deflate]
// GET /echo upgrades to WebSocket and echoes every text and binary message (permessage-deflate only with
// --deflate, and then only when the client offers it). GET /idle is the baseline for ws_memory.py: a bare
// keel::upgrade protocol that reads one byte at a time and echoes nothing (what any upgraded connection
// costs before WebSocket adds its own state).
#include <keel.hpp>
#include <keel/websocket.hpp>

#include <cstring>
#include <vector>

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

keel::task<> idle(keel::upgraded_io& io) {
  char byte[1];
  for (;;) {
    const std::size_t n = co_await io.read_some(byte);  // named first (g++ 12)
    if (n == 0) break;
  }
}

}  // namespace

int main(int argc, char** argv) {
  keel::ws_options options;
  options.allowed_origins = {"*"};
  options.max_message_bytes = 16 * 1024 * 1024;
  std::vector<char*> args;
  for (int i = 0; i < argc; ++i) {
    if (std::strcmp(argv[i], "--deflate") == 0) {
      options.deflate.enabled = true;
    } else {
      args.push_back(argv[i]);
    }
  }
  auto api = keel::router{
      keel::ws<"/echo">(&echo, options),
      keel::get<"/idle">([] { return keel::upgrade("idle", &idle); }),
  };
  keel::app{std::move(api)}.serve(keel::server_config::from_args(static_cast<int>(args.size()), args.data()));
}
