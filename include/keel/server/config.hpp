// keel::server_config: everything an app can tune at start-up, with defaults that are safe on the public
// internet. Read from the environment (KEEL_*) and/or the command line (--port, --threads, ...).
#pragma once

#include "keel/config.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

namespace keel {
inline namespace v0 {

// Limits the parser and the connection enforce on every request.
struct http_limits {
  std::size_t max_header_bytes = 16 * 1024;  // request line + header section; over it: 431
  std::size_t max_target_bytes = 8 * 1024;   // request-target; over it: 414
  std::size_t max_body_bytes = 1024 * 1024;  // decoded body; over it: 413 (from Content-Length up front)
  std::size_t max_headers = 64;              // header fields; over it: 431 (capped by KEEL_MAX_HEADERS)
  std::size_t max_pipelined = 64;            // requests answered per read before writing
};

struct timeouts {
  std::chrono::milliseconds header{10'000};    // from the first byte of a request to the end of its headers
  std::chrono::milliseconds body{30'000};      // for the rest of the body
  std::chrono::milliseconds idle{60'000};      // keep-alive: between requests
  std::chrono::milliseconds write{30'000};     // one response write
  std::chrono::milliseconds shutdown{10'000};  // graceful shutdown: in-flight requests get this long
};

struct tls_config {
  std::string certificate_file;  // PEM chain
  std::string private_key_file;  // PEM key
  bool enabled() const { return !certificate_file.empty(); }
};

// Where reactor threads may run. `per_reactor` pins reactor i to the i-th CPU the process may use (round
// robin over sched_getaffinity's set), as nginx's `worker_cpu_affinity auto` does: a reactor keeps its caches
// and two reactors never queue on one core while another idles. Worker-pool threads are not pinned.
enum class cpu_affinity : std::uint8_t { off, per_reactor };

struct server_config {
  std::string host = "0.0.0.0";  // "::" for IPv6 (dual-stack where the OS allows)
  std::uint16_t port = 8080;
  unsigned threads = 0;  // reactor threads; 0 = hardware threads
  unsigned workers = 0;  // worker-pool threads for blocking work; 0 = max(2, hardware threads)
  cpu_affinity affinity = cpu_affinity::off;  // --cpu-affinity auto: one CPU per reactor thread
  std::size_t max_connections = 10'000;       // per server; beyond it new connections are closed at once
  std::optional<std::string> server_header = std::string("keel");  // nullopt: no Server header
  bool reuse_port = true;  // one acceptor per reactor thread with SO_REUSEPORT (else one shared)
  http_limits limits{};
  timeouts timeout{};
  tls_config tls{};
  bool handle_signals = true;  // SIGINT/SIGTERM start a graceful shutdown

  // KEEL_HOST, KEEL_PORT, KEEL_THREADS, KEEL_WORKERS, KEEL_CPU_AFFINITY, KEEL_MAX_CONNECTIONS,
  // KEEL_SERVER_HEADER ("" = none), KEEL_MAX_BODY_BYTES, KEEL_MAX_HEADER_BYTES, KEEL_TLS_CERT, KEEL_TLS_KEY,
  // KEEL_SHUTDOWN_MS.
  static server_config from_env();
  // --host H --port N --threads T --workers W --tls-cert F --tls-key F --max-body-bytes N ... applied on top
  // of from_env(). Unknown flags are left for the app, so a typo goes unnoticed: main() should rather use
  // keel::parse_command_line (server/command_line.hpp), which rejects them. Throws std::invalid_argument on
  // bad values.
  static server_config from_args(int argc, char** argv);
};

}  // namespace v0
}  // namespace keel

// The definitions of from_env() and from_args().
#include "keel/server/config_parse.hpp"
