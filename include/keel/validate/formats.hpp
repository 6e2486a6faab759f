// Hand-written checks for string formats (email, UUID, URL, UTF-8 length): no std::regex, no allocation.
#pragma once

#include "keel/config.hpp"

#include <cstddef>
#include <string_view>

namespace keel {
inline namespace v0 {
namespace detail {

// Code points in valid UTF-8 (the reader has already rejected invalid UTF-8): every byte that is not a
// continuation byte starts one.
constexpr std::size_t utf8_length(std::string_view s) noexcept {
  std::size_t n = 0;
  for (char c : s) n += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  return n;
}

constexpr bool is_ascii_alnum(char c) noexcept {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}
constexpr bool is_hex_digit(char c) noexcept {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

// A DNS host name: dot-separated labels of letters, digits and inner hyphens, at least two labels when
// `need_dot`. Non-ASCII (IDN) hosts are accepted as they are.
constexpr bool is_host_name(std::string_view host, bool need_dot) noexcept {
  if (host.empty() || host.size() > 253) return false;
  std::size_t label = 0, labels = 1;
  for (std::size_t i = 0; i < host.size(); ++i) {
    char c = host[i];
    if (c == '.') {
      if (label == 0 || host[i - 1] == '-') return false;
      label = 0;
      ++labels;
      continue;
    }
    bool ok = is_ascii_alnum(c) || static_cast<unsigned char>(c) >= 0x80 || (c == '-' && label > 0);
    if (!ok || ++label > 63) return false;
  }
  return label > 0 && (!need_dot || labels >= 2);
}

// The practical subset of RFC 5321 addresses that mail systems accept: dot-atom local part, '@', a host
// name with at least one dot.
constexpr bool is_email(std::string_view s) noexcept {
  std::size_t at = s.rfind('@');
  if (at == std::string_view::npos || at == 0 || at > 64) return false;
  std::string_view local = s.substr(0, at);
  if (local.front() == '.' || local.back() == '.') return false;
  constexpr std::string_view specials = "!#$%&'*+/=?^_`{|}~-.";
  for (std::size_t i = 0; i < local.size(); ++i) {
    char c = local[i];
    if (c == '.' && i > 0 && local[i - 1] == '.') return false;
    if (!is_ascii_alnum(c) && specials.find(c) == std::string_view::npos &&
        static_cast<unsigned char>(c) < 0x80)
      return false;
  }
  return is_host_name(s.substr(at + 1), true);
}

// 8-4-4-4-12 hex digits, any case.
constexpr bool is_uuid(std::string_view s) noexcept {
  if (s.size() != 36) return false;
  for (std::size_t i = 0; i < 36; ++i) {
    bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? s[i] != '-' : !is_hex_digit(s[i])) return false;
  }
  return true;
}

// An absolute http or https URL with a host (name, IPv4 or [IPv6]), optional port, and a path, query and
// fragment free of spaces and control characters.
constexpr bool is_http_url(std::string_view s) noexcept {
  std::size_t scheme_end = s.find("://");
  if (scheme_end == std::string_view::npos) return false;
  std::string_view scheme = s.substr(0, scheme_end);
  auto lower_equals = [](std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i)
      if ((a[i] | 0x20) != b[i]) return false;
    return true;
  };
  if (!lower_equals(scheme, "http") && !lower_equals(scheme, "https")) return false;
  std::string_view rest = s.substr(scheme_end + 3);
  for (char c : rest)
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) return false;
  std::size_t authority_end = rest.find_first_of("/?#");
  std::string_view authority = rest.substr(0, authority_end);
  if (std::size_t at = authority.rfind('@'); at != std::string_view::npos)
    authority = authority.substr(at + 1);
  if (!authority.empty() && authority.front() == '[') {
    std::size_t close = authority.find(']');
    if (close == std::string_view::npos || close == 1) return false;
    authority = authority.substr(close + 1);
    if (authority.empty()) return true;
    if (authority.front() != ':') return false;
  } else {
    std::size_t colon = authority.find(':');
    if (!is_host_name(authority.substr(0, colon), false)) return false;
    if (colon == std::string_view::npos) return true;
    authority = authority.substr(colon);
  }
  std::string_view port = authority.substr(1);
  if (port.empty() || port.size() > 5) return false;
  for (char c : port)
    if (c < '0' || c > '9') return false;
  return true;
}

}  // namespace detail
}  // namespace v0
}  // namespace keel
