// keel::server_config::from_env / from_args: reads KEEL_* variables and --flags into a server_config.
#pragma once

#include "keel/config.hpp"
#include "keel/server/config.hpp"

#include <charconv>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>

namespace keel {
inline namespace v0 {
namespace detail {

// Whole-string unsigned decimal in [min, max]; anything else throws with the setting's name in the message.
// One out-of-line body for every integer type (three instantiations of the whole parse cost a program 3 KB).
inline unsigned long long parse_unsigned_setting(std::string_view name, std::string_view text,
                                                 unsigned long long min, unsigned long long max) {
  unsigned long long value = 0;
  const char* first = text.data();
  const char* last = first + text.size();
  const auto [end, ec] = std::from_chars(first, last, value);
  if (text.empty() || ec != std::errc{} || end != last || value < min || value > max) {
    throw std::invalid_argument("keel: invalid value '" + std::string(text) + "' for " + std::string(name) +
                                " (expected an integer from " + std::to_string(min) + " to " +
                                std::to_string(max) + ")");
  }
  return value;
}

template <class Int>
Int parse_setting(std::string_view name, std::string_view text, Int min = 0,
                  Int max = std::numeric_limits<Int>::max()) {
  return static_cast<Int>(parse_unsigned_setting(name, text, min, max));
}

inline std::chrono::milliseconds parse_millis(std::string_view name, std::string_view text) {
  return std::chrono::milliseconds(parse_setting<std::uint32_t>(name, text, 1));
}

// Applies one named setting; `name` is only used in error messages. Returns false for an unknown key.
inline bool apply_setting(server_config& cfg, std::string_view key, std::string_view value,
                          std::string_view name) {
  if (key == "host") {
    if (value.empty()) throw std::invalid_argument("keel: empty value for " + std::string(name));
    cfg.host = value;
  } else if (key == "port") {
    cfg.port = parse_setting<std::uint16_t>(name, value);
  } else if (key == "threads") {
    cfg.threads = parse_setting<unsigned>(name, value, 0, 4096);
  } else if (key == "workers") {
    cfg.workers = parse_setting<unsigned>(name, value, 0, 4096);
  } else if (key == "cpu-affinity") {
    if (value == "auto")
      cfg.affinity = cpu_affinity::per_reactor;
    else if (value == "off")
      cfg.affinity = cpu_affinity::off;
    else
      throw std::invalid_argument("keel: invalid value '" + std::string(value) + "' for " +
                                  std::string(name) + " (expected auto or off)");
  } else if (key == "max-connections") {
    cfg.max_connections = parse_setting<std::size_t>(name, value, 1);
  } else if (key == "max-body-bytes") {
    cfg.limits.max_body_bytes = parse_setting<std::size_t>(name, value);
  } else if (key == "max-header-bytes") {
    cfg.limits.max_header_bytes = parse_setting<std::size_t>(name, value, 256);
  } else if (key == "server-header") {
    if (value.empty())
      cfg.server_header.reset();
    else
      cfg.server_header = std::string(value);
  } else if (key == "tls-cert") {
    cfg.tls.certificate_file = value;
  } else if (key == "tls-key") {
    cfg.tls.private_key_file = value;
  } else if (key == "shutdown-ms") {
    cfg.timeout.shutdown = parse_millis(name, value);
  } else if (key == "header-timeout-ms") {
    cfg.timeout.header = parse_millis(name, value);
  } else if (key == "body-timeout-ms") {
    cfg.timeout.body = parse_millis(name, value);
  } else if (key == "idle-timeout-ms") {
    cfg.timeout.idle = parse_millis(name, value);
  } else if (key == "write-timeout-ms") {
    cfg.timeout.write = parse_millis(name, value);
  } else {
    return false;
  }
  return true;
}

// Every setting, as the flag (--port) and the variable (KEEL_PORT) spell it, with a line for --help.
struct setting_description {
  std::string_view key;
  std::string_view value_name;
  std::string_view description;
};

inline constexpr setting_description settings[] = {
    {"host", "HOST", "address to listen on (default 0.0.0.0; \"::\" for IPv6)"},
    {"port", "N", "port to listen on (default 8080)"},
    {"threads", "N", "reactor threads (default 0: one per hardware thread)"},
    {"workers", "N", "worker threads for blocking work (default 0: max(2, hardware threads))"},
    {"cpu-affinity", "auto|off", "auto: pin reactor thread i to the i-th usable CPU (default off)"},
    {"max-connections", "N", "open connections per server before new ones are closed (default 10000)"},
    {"max-body-bytes", "N", "largest request body; over it: 413 (default 1048576)"},
    {"max-header-bytes", "N", "largest request head; over it: 431 (default 16384)"},
    {"server-header", "TEXT", "Server header value (\"\" for none; default keel)"},
    {"tls-cert", "FILE", "PEM certificate chain (turns TLS on)"},
    {"tls-key", "FILE", "PEM private key"},
    {"shutdown-ms", "MS", "graceful shutdown: how long in-flight requests get (default 10000)"},
    {"header-timeout-ms", "MS", "time to receive a request's headers (default 10000)"},
    {"body-timeout-ms", "MS", "time to receive the rest of the body (default 30000)"},
    {"idle-timeout-ms", "MS", "keep-alive: time allowed between requests (default 60000)"},
    {"write-timeout-ms", "MS", "time allowed for one response write (default 30000)"},
};

inline bool is_setting(std::string_view key) {
  for (const setting_description& known : settings)
    if (known.key == key) return true;
  return false;
}

// "max-body-bytes" -> "KEEL_MAX_BODY_BYTES", "tls-cert" -> "KEEL_TLS_CERT".
inline std::string env_name(std::string_view key) {
  std::string name = "KEEL_";
  for (char c : key) name += c == '-' ? '_' : static_cast<char>(c >= 'a' && c <= 'z' ? c - 'a' + 'A' : c);
  return name;
}

}  // namespace detail

inline server_config server_config::from_env() {
  server_config cfg;
  for (const detail::setting_description& setting : detail::settings) {
    const std::string_view key = setting.key;
    const std::string name = detail::env_name(key);
    if (const char* value = std::getenv(name.c_str())) detail::apply_setting(cfg, key, value, name);
  }
  return cfg;
}

inline server_config server_config::from_args(int argc, char** argv) {
  server_config cfg = from_env();
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (!arg.starts_with("--")) continue;
    arg.remove_prefix(2);
    if (arg == "no-server-header") {
      cfg.server_header.reset();
      continue;
    }
    std::string_view key = arg;
    std::string_view value;
    bool inline_value = false;
    if (const auto eq = arg.find('='); eq != std::string_view::npos) {
      key = arg.substr(0, eq);
      value = arg.substr(eq + 1);
      inline_value = true;
    }
    if (!detail::is_setting(key)) continue;  // unknown flags (and their values) belong to the app
    const std::string flag = "--" + std::string(key);
    if (!inline_value) {
      if (i + 1 >= argc) throw std::invalid_argument("keel: missing value after " + flag);
      value = argv[++i];
    }
    detail::apply_setting(cfg, key, value, flag);
  }
  return cfg;
}

}  // namespace v0
}  // namespace keel
