// keel::detail::client_url: the http:// and https:// URLs the HTTP client accepts, taken apart, and the
// Location of a redirect resolved against the URL that answered it (RFC 3986 section 5.2, the reference
// forms servers send: absolute, scheme-relative, absolute-path and relative-path).
#pragma once

#include "keel/config.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace keel {
inline namespace v0 {
namespace detail {

struct client_url {
  bool tls = false;
  std::string host;  // without brackets for an IPv6 literal
  std::uint16_t port = 0;
  std::string target;  // path and query ("/" when empty); the fragment is dropped

  // "scheme://host:port": two URLs with the same origin may share a connection and credentials.
  std::string origin() const {
    std::string out = tls ? "https://" : "http://";
    out += authority(true);
    return out;
  }
  // The Host header: the port only when it is not the scheme's default (or always, with `always_port`).
  std::string authority(bool always_port = false) const {
    std::string out = host.find(':') != std::string::npos ? "[" + host + "]" : host;
    if (always_port || port != (tls ? 443 : 80)) out += ":" + std::to_string(port);
    return out;
  }
  std::string text() const { return origin() + target; }
};

// nullopt for anything but an absolute http(s) URL with a host; userinfo ("user@host") is refused.
inline std::optional<client_url> parse_client_url(std::string_view url) {
  client_url out;
  const std::size_t colon = url.find("://");
  if (colon == std::string_view::npos) return std::nullopt;
  std::string scheme(url.substr(0, colon));
  for (char& c : scheme) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  if (scheme == "https")
    out.tls = true;
  else if (scheme != "http")
    return std::nullopt;
  std::string_view rest = url.substr(colon + 3);
  const std::size_t fragment = rest.find('#');
  if (fragment != std::string_view::npos) rest = rest.substr(0, fragment);
  const std::size_t path = rest.find_first_of("/?");
  std::string_view authority = rest.substr(0, path);
  out.target = path == std::string_view::npos ? "/" : std::string(rest.substr(path));
  if (!out.target.empty() && out.target.front() == '?') out.target.insert(0, "/");
  if (authority.empty() || authority.find('@') != std::string_view::npos) return std::nullopt;
  std::string_view port_text;
  if (authority.front() == '[') {
    const std::size_t close = authority.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    out.host = std::string(authority.substr(1, close - 1));
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return std::nullopt;
      port_text = after.substr(1);
    }
  } else {
    const std::size_t port_colon = authority.rfind(':');
    out.host = std::string(authority.substr(0, port_colon));
    if (port_colon != std::string_view::npos) port_text = authority.substr(port_colon + 1);
  }
  if (out.host.empty()) return std::nullopt;
  for (char& c : out.host) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  unsigned port = out.tls ? 443 : 80;
  if (!port_text.empty()) {
    if (port_text.size() > 5) return std::nullopt;
    port = 0;
    for (const char c : port_text) {
      if (c < '0' || c > '9') return std::nullopt;
      port = port * 10 + static_cast<unsigned>(c - '0');
    }
    if (port == 0 || port > 65535) return std::nullopt;
  }
  out.port = static_cast<std::uint16_t>(port);
  for (const char c : out.target)
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) return std::nullopt;  // no raw spaces or CTLs
  return out;
}

// The URL a redirect's Location names, from the URL that sent it; nullopt when it is not http(s).
inline std::optional<client_url> resolve_location(const client_url& base, std::string_view location) {
  const std::size_t fragment = location.find('#');
  if (fragment != std::string_view::npos) location = location.substr(0, fragment);
  if (location.find("://") != std::string_view::npos) return parse_client_url(location);
  if (location.substr(0, 2) == "//")
    return parse_client_url(std::string(base.tls ? "https:" : "http:") += location);
  client_url out = base;
  if (location.empty()) return out;
  if (location.front() == '/') {
    out.target = std::string(location);
  } else if (location.front() == '?') {
    out.target = base.target.substr(0, base.target.find('?')) + std::string(location);
  } else {
    const std::string path = base.target.substr(0, base.target.find('?'));
    out.target = path.substr(0, path.rfind('/') + 1) + std::string(location);
  }
  for (const char c : out.target)
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) return std::nullopt;
  return out;
}

}  // namespace detail
}  // namespace v0
}  // namespace keel
