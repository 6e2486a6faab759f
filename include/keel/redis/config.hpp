// keel::redis::config and parse_url: where a Redis server is and how the client treats it.
#pragma once

#include "keel/config.hpp"

#include <charconv>
#include <chrono>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>

namespace keel {
inline namespace v0 {
namespace redis {

struct config {
  std::string host = "127.0.0.1";
  std::uint16_t port = 6379;
  std::string username;  // AUTH username password (Redis 6 ACLs) when set, else AUTH password
  std::string password;  // no AUTH when empty
  int db = 0;            // SELECT db when not 0
  std::chrono::milliseconds connect_timeout{2000};
  // A command without its reply after this long fails with redis::error, and the connection is reopened
  // (a server that does not answer is taken for dead). Pub/sub: how long subscribe() waits for confirmation.
  std::chrono::milliseconds command_timeout{5000};
  // Reconnecting waits reconnect_min after the first failure, doubling up to reconnect_max.
  std::chrono::milliseconds reconnect_min{50};
  std::chrono::milliseconds reconnect_max{2000};
};

// redis://[[username]:password@]host[:port][/db]. Throws std::invalid_argument for anything else.
inline config parse_url(std::string_view url) {
  config c;
  constexpr std::string_view scheme = "redis://";
  if (!url.starts_with(scheme)) throw std::invalid_argument("redis url: must start with redis://");
  url.remove_prefix(scheme.size());
  if (const std::size_t at = url.rfind('@'); at != std::string_view::npos) {
    const std::string_view userinfo = url.substr(0, at);
    url.remove_prefix(at + 1);
    const std::size_t colon = userinfo.find(':');
    if (colon == std::string_view::npos) throw std::invalid_argument("redis url: userinfo needs ':password'");
    c.username.assign(userinfo.substr(0, colon));
    c.password.assign(userinfo.substr(colon + 1));
  }
  std::string_view hostport = url;
  if (const std::size_t slash = url.find('/'); slash != std::string_view::npos) {
    hostport = url.substr(0, slash);
    const std::string_view db = url.substr(slash + 1);
    if (!db.empty()) {
      auto [end, ec] = std::from_chars(db.data(), db.data() + db.size(), c.db);
      if (ec != std::errc{} || end != db.data() + db.size() || c.db < 0)
        throw std::invalid_argument("redis url: the database must be a number");
    }
  }
  std::string_view host = hostport;
  if (hostport.starts_with('[')) {  // [::1]:6379
    const std::size_t close = hostport.find(']');
    if (close == std::string_view::npos) throw std::invalid_argument("redis url: unclosed '['");
    host = hostport.substr(1, close - 1);
    hostport.remove_prefix(close + 1);
    if (!hostport.empty() && hostport.front() != ':') throw std::invalid_argument("redis url: bad port");
  } else if (const std::size_t colon = hostport.rfind(':'); colon != std::string_view::npos) {
    host = hostport.substr(0, colon);
    hostport.remove_prefix(colon);
  } else {
    hostport = {};
  }
  if (hostport.starts_with(':')) {
    const std::string_view port = hostport.substr(1);
    unsigned value = 0;
    auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (port.empty() || ec != std::errc{} || end != port.data() + port.size() || value == 0 || value > 65535)
      throw std::invalid_argument("redis url: bad port");
    c.port = static_cast<std::uint16_t>(value);
  }
  if (host.empty()) throw std::invalid_argument("redis url: missing host");
  c.host.assign(host);
  return c;
}

}  // namespace redis
}  // namespace v0
}  // namespace keel
