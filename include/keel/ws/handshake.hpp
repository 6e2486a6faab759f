// The WebSocket opening handshake (RFC 6455 section 4.2): checks of the client's request, the
// Sec-WebSocket-Accept value, subprotocol selection, the Origin check, and the permessage-deflate offer
// (RFC 7692 section 7.1). Runs in the route's handler, before the 101, so a refusal is an ordinary HTTP
// error.
#pragma once

#include "keel/config.hpp"
#include "keel/error.hpp"
#include "keel/http/method.hpp"
#include "keel/http/request.hpp"
#include "keel/http/status.hpp"
#include "keel/ws/deflate.hpp"
#include "keel/ws/options.hpp"

#include <openssl/evp.h>

#include <algorithm>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace keel {
inline namespace v0 {
namespace detail {
namespace ws {

inline constexpr std::string_view accept_guid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

inline char lower_ascii(char c) noexcept { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; }
inline bool iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (lower_ascii(a[i]) != lower_ascii(b[i])) return false;
  return true;
}
inline std::string_view trim(std::string_view s) noexcept {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Calls f(item) for each comma-separated item of every field named `name` (a list may be split across
// several fields, RFC 9110 5.3). Stops early when f returns true; returns whether it did.
template <class F>
bool for_each_list_item(const http::request& req, std::string_view name, F&& f) {
  for (const http::header_field& field : req.headers) {
    if (!iequals(field.name, name)) continue;
    std::string_view rest = field.value;
    while (!rest.empty()) {
      const std::size_t comma = rest.find(',');
      const std::string_view item = trim(rest.substr(0, comma));
      rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
      if (!item.empty() && f(item)) return true;
    }
  }
  return false;
}
inline bool has_token(const http::request& req, std::string_view name, std::string_view token) {
  return for_each_list_item(req, name, [&](std::string_view item) { return iequals(item, token); });
}

// Sec-WebSocket-Accept: base64(SHA-1(key + GUID)).
inline std::string accept_key(std::string_view key) {
  std::string joined;
  joined.reserve(key.size() + accept_guid.size());
  joined.append(key).append(accept_guid);
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int digest_len = 0;
  EVP_Digest(joined.data(), joined.size(), digest, &digest_len, EVP_sha1(), nullptr);
  unsigned char out[32];
  const int n = EVP_EncodeBlock(out, digest, static_cast<int>(digest_len));
  return std::string(reinterpret_cast<const char*>(out), static_cast<std::size_t>(n));
}

inline int base64_value(char c) noexcept {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}
// The key must be the base64 form of 16 bytes: 22 characters, the last with its 4 spare bits zero, "==".
inline bool valid_key(std::string_view key) noexcept {
  if (key.size() != 24 || key[22] != '=' || key[23] != '=') return false;
  for (std::size_t i = 0; i < 22; ++i)
    if (base64_value(key[i]) < 0) return false;
  return (base64_value(key[21]) & 0x0F) == 0;
}

// "https://Example.com:8443" -> "example.com:8443"; empty when it is not scheme://authority.
inline std::string_view origin_authority(std::string_view origin) noexcept {
  const std::size_t sep = origin.find("://");
  if (sep == std::string_view::npos) return {};
  std::string_view rest = origin.substr(sep + 3);
  const std::size_t slash = rest.find('/');
  if (slash != std::string_view::npos) rest = rest.substr(0, slash);
  return rest;
}

inline bool origin_allowed(const ws_options& opts, const http::request& req) {
  const std::string_view origin = trim(req.header("Origin"));
  if (origin.empty()) return opts.allow_missing_origin;
  if (opts.allowed_origins.empty()) {  // same origin: the page came from this host
    const std::string_view authority = origin_authority(origin);
    return !authority.empty() && iequals(authority, trim(req.header("Host")));
  }
  for (const std::string& allowed : opts.allowed_origins)
    if (allowed == "*" || iequals(allowed, origin)) return true;
  return false;
}

// The first subprotocol in the client's order that the server speaks; empty when none.
inline std::string_view select_subprotocol(const ws_options& opts, const http::request& req) {
  std::string_view chosen;
  if (opts.subprotocols.empty()) return chosen;
  for_each_list_item(req, "Sec-WebSocket-Protocol", [&](std::string_view offered) {
    for (const std::string& mine : opts.subprotocols) {
      if (mine == offered) {
        chosen = offered;
        return true;
      }
    }
    return false;
  });
  return chosen;
}

// One extension parameter: name[=value], the value possibly a quoted string.
inline bool parse_window_bits(std::string_view value, int& out) noexcept {
  if (value.size() >= 2 && value.front() == '"' && value.back() == '"')
    value = value.substr(1, value.size() - 2);
  if (value.empty() || value.size() > 2) return false;
  int v = 0;
  for (char c : value) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  if (value.size() == 2 && value[0] == '0') return false;
  if (v < 8 || v > 15) return false;
  out = v;
  return true;
}

// Judges one permessage-deflate offer ("permessage-deflate; client_max_window_bits; ..." without the
// name). Returns the agreed parameters and the response text, or nullopt to decline the offer.
inline std::optional<deflate_params> negotiate_deflate_offer(std::string_view params,
                                                             const ws_deflate_options& cfg,
                                                             std::string& response) {
  bool seen_snct = false, seen_cnct = false, seen_smwb = false, seen_cmwb = false;
  int offered_smwb = 15;
  bool cmwb_offered = false;
  int offered_cmwb = 15;
  while (!params.empty()) {
    const std::size_t semi = params.find(';');
    const std::string_view param = trim(params.substr(0, semi));
    params = semi == std::string_view::npos ? std::string_view{} : params.substr(semi + 1);
    if (param.empty()) continue;
    const std::size_t eq = param.find('=');
    const std::string_view name = trim(param.substr(0, eq));
    const bool has_value = eq != std::string_view::npos;
    const std::string_view value = has_value ? trim(param.substr(eq + 1)) : std::string_view{};
    if (name == "server_no_context_takeover") {
      if (seen_snct || has_value) return std::nullopt;
      seen_snct = true;
    } else if (name == "client_no_context_takeover") {
      if (seen_cnct || has_value) return std::nullopt;
      seen_cnct = true;
    } else if (name == "server_max_window_bits") {
      if (seen_smwb || !has_value || !parse_window_bits(value, offered_smwb)) return std::nullopt;
      seen_smwb = true;
    } else if (name == "client_max_window_bits") {
      if (seen_cmwb) return std::nullopt;
      if (has_value && !parse_window_bits(value, offered_cmwb)) return std::nullopt;
      seen_cmwb = true;
      cmwb_offered = true;
    } else {
      return std::nullopt;  // an unknown parameter: decline this offer
    }
  }
  deflate_params agreed;
  agreed.server_no_context_takeover = seen_snct || cfg.server_no_context_takeover;
  agreed.client_no_context_takeover = seen_cnct || cfg.client_no_context_takeover;
  int server_bits = std::min(cfg.server_max_window_bits, offered_smwb);
  if (server_bits < 9) {
    if (seen_smwb) return std::nullopt;  // zlib's raw deflate has no 256-byte window
    server_bits = 9;
  }
  agreed.server_max_window_bits = server_bits;
  agreed.client_max_window_bits = cmwb_offered ? std::min(cfg.client_max_window_bits, offered_cmwb) : 15;
  response = "permessage-deflate";
  if (agreed.server_no_context_takeover) response += "; server_no_context_takeover";
  if (agreed.client_no_context_takeover) response += "; client_no_context_takeover";
  if (seen_smwb || server_bits < 15) response += "; server_max_window_bits=" + std::to_string(server_bits);
  if (cmwb_offered && agreed.client_max_window_bits < 15)
    response += "; client_max_window_bits=" + std::to_string(agreed.client_max_window_bits);
  return agreed;
}

// The first acceptable permessage-deflate offer of Sec-WebSocket-Extensions, in the client's order.
inline std::optional<deflate_params> negotiate_deflate(const ws_deflate_options& cfg,
                                                       const http::request& req, std::string& response) {
  std::optional<deflate_params> agreed;
  if (!cfg.enabled) return agreed;
  for_each_list_item(req, "Sec-WebSocket-Extensions", [&](std::string_view offer) {
    const std::size_t semi = offer.find(';');
    if (trim(offer.substr(0, semi)) != "permessage-deflate") return false;
    agreed = negotiate_deflate_offer(
        semi == std::string_view::npos ? std::string_view{} : offer.substr(semi + 1), cfg, response);
    return agreed.has_value();
  });
  return agreed;
}

// What the handshake decided, for the 101 response and the connection.
struct handshake_result {
  std::string accept;
  std::string_view subprotocol;
  std::optional<deflate_params> deflate;
  std::string extensions;  // Sec-WebSocket-Extensions of the response
};

// Checks the upgrade request; throws the http_error to answer instead of 101.
inline handshake_result check_handshake(const http::request& req, const ws_options& opts) {
  if (req.method != http::method::get)
    throw http_error(http::status::method_not_allowed, "WebSocket needs GET");
  if (req.version_minor < 1) throw bad_request("WebSocket needs HTTP/1.1");
  if (!has_token(req, "Upgrade", "websocket"))
    throw http_error(http::status::upgrade_required, "this endpoint speaks WebSocket only",
                     "websocket_required")
        .with_header("Upgrade", "websocket");
  if (!has_token(req, "Connection", "upgrade")) throw bad_request("Connection: Upgrade is missing");
  if (trim(req.header("Sec-WebSocket-Version")) != "13")
    throw http_error(http::status::upgrade_required, "Sec-WebSocket-Version must be 13", "websocket_version")
        .with_header("Sec-WebSocket-Version", "13");
  const std::string_view key = trim(req.header("Sec-WebSocket-Key"));
  if (!valid_key(key)) throw bad_request("Sec-WebSocket-Key must be the base64 form of 16 bytes");
  if (!origin_allowed(opts, req)) throw forbidden("this Origin may not open the WebSocket");
  handshake_result r;
  r.accept = accept_key(key);
  r.subprotocol = select_subprotocol(opts, req);
  r.deflate = negotiate_deflate(opts.deflate, req, r.extensions);
  return r;
}

}  // namespace ws
}  // namespace detail
}  // namespace v0
}  // namespace keel
