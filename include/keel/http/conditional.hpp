// The conditional-request rules (RFC 9110 13.1, 13.2.2) shared by keel/static_files.hpp and
// keel/http_cache.hpp: entity-tag lists, IMF-fixdate parsing, and whether If-None-Match / If-Modified-Since
// say the client's copy is current.
#pragma once

#include "keel/config.hpp"

#include <cstdint>
#include <string_view>

namespace keel {
inline namespace v0 {
namespace detail {

inline std::string_view trim_ows(std::string_view s) noexcept {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Parses an IMF-fixdate ("Sun, 06 Nov 1994 08:49:37 GMT") into Unix seconds; false when it is not one.
inline bool parse_imf_fixdate(std::string_view s, std::int64_t& out) noexcept {
  s = trim_ows(s);
  if (s.size() != 29 || s[3] != ',' || s[4] != ' ' || s[7] != ' ' || s[11] != ' ' || s[16] != ' ' ||
      s[19] != ':' || s[22] != ':' || s[25] != ' ' || s.substr(26) != "GMT")
    return false;
  auto num = [&](std::size_t at, std::size_t n, int& v) {
    v = 0;
    for (std::size_t i = at; i < at + n; ++i) {
      if (s[i] < '0' || s[i] > '9') return false;
      v = v * 10 + (s[i] - '0');
    }
    return true;
  };
  static constexpr std::string_view months = "JanFebMarAprMayJunJulAugSepOctNovDec";
  const std::size_t m = months.find(s.substr(8, 3));
  if (m == std::string_view::npos || m % 3 != 0) return false;
  int day, year, hh, mm, ss;
  if (!num(5, 2, day) || !num(12, 4, year) || !num(17, 2, hh) || !num(20, 2, mm) || !num(23, 2, ss))
    return false;
  const int month = static_cast<int>(m / 3) + 1;
  if (day < 1 || day > 31 || hh > 23 || mm > 59 || ss > 60) return false;
  // Days from the civil date (proleptic Gregorian).
  const int y = year - (month <= 2);
  const int era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = static_cast<unsigned>((153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1);
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  const std::int64_t days = static_cast<std::int64_t>(era) * 146097 + static_cast<std::int64_t>(doe) - 719468;
  out = days * 86400 + hh * 3600 + mm * 60 + ss;
  return true;
}

// Whether the ETag `tag` is in the If-None-Match / If-Match list `header` ("*" matches any); weak comparison
// (W/ prefixes ignored) unless `strong`.
inline bool etag_listed(std::string_view header, std::string_view tag, bool strong) noexcept {
  header = trim_ows(header);
  if (header == "*") return true;
  while (!header.empty()) {
    const std::size_t comma = header.find(',');
    std::string_view item = trim_ows(header.substr(0, comma));
    header = comma == std::string_view::npos ? std::string_view{} : header.substr(comma + 1);
    const bool weak = item.starts_with("W/");
    if (weak) {
      if (strong) continue;
      item.remove_prefix(2);
    }
    std::string_view t = tag;
    if (t.starts_with("W/")) t.remove_prefix(2);
    if (item == t) return true;
  }
  return false;
}

// If-None-Match decides when present (weak comparison), else If-Modified-Since against `last_modified`
// (Unix seconds; negative: the representation has none). True: answer 304 (for GET and HEAD).
inline bool client_copy_is_current(std::string_view if_none_match, std::string_view if_modified_since,
                                   std::string_view etag, std::int64_t last_modified) noexcept {
  if (!if_none_match.empty()) {
    if (etag.empty()) return trim_ows(if_none_match) == "*";  // the representation exists, untagged
    return etag_listed(if_none_match, etag, false);
  }
  if (if_modified_since.empty() || last_modified < 0) return false;
  std::int64_t since = 0;
  return parse_imf_fixdate(if_modified_since, since) && last_modified <= since;
}

}  // namespace detail
}  // namespace v0
}  // namespace keel
