// RFC 3339 timestamps (UTC, milliseconds) for std::chrono::system_clock::time_point.
#pragma once

#include "keel/config.hpp"

#include <chrono>
#include <cstdint>
#include <optional>
#include <string_view>

// Written as UTC with milliseconds ("2026-11-21T12:00:00.000Z"); read with any fraction and any offset
// ("...+02:00").

namespace keel {
inline namespace v0 {
namespace detail {

inline constexpr std::size_t rfc3339_length = 24;

// Writes exactly rfc3339_length chars. Years outside 0000..9999 are clamped: JSON APIs have no use for them.
inline char* format_rfc3339(char* out, std::chrono::system_clock::time_point tp) noexcept {
  using namespace std::chrono;
  auto ms = floor<milliseconds>(tp);
  auto day = floor<days>(ms);
  year_month_day ymd{day};
  hh_mm_ss<milliseconds> hms{ms - day};
  int year = static_cast<int>(ymd.year());
  if (year < 0) year = 0;
  if (year > 9999) year = 9999;
  auto two = [&out](unsigned v) {
    *out++ = static_cast<char>('0' + v / 10);
    *out++ = static_cast<char>('0' + v % 10);
  };
  two(static_cast<unsigned>(year / 100));
  two(static_cast<unsigned>(year % 100));
  *out++ = '-';
  two(static_cast<unsigned>(ymd.month()));
  *out++ = '-';
  two(static_cast<unsigned>(ymd.day()));
  *out++ = 'T';
  two(static_cast<unsigned>(hms.hours().count()));
  *out++ = ':';
  two(static_cast<unsigned>(hms.minutes().count()));
  *out++ = ':';
  two(static_cast<unsigned>(hms.seconds().count()));
  *out++ = '.';
  auto millis = static_cast<unsigned>(hms.subseconds().count());
  *out++ = static_cast<char>('0' + millis / 100);
  two(millis % 100);
  *out++ = 'Z';
  return out;
}

// Parses "YYYY-MM-DDTHH:MM:SS[.fraction](Z|+HH:MM|-HH:MM)" ('t', 'z' and ' ' as separator accepted, as RFC
// 3339 allows). Digits beyond the clock's precision are truncated. Leap second 60 is refused.
inline std::optional<std::chrono::system_clock::time_point> parse_rfc3339(std::string_view s) noexcept {
  using namespace std::chrono;
  std::size_t at = 0;
  auto digits = [&](std::size_t n, int& value) {
    if (at + n > s.size()) return false;
    value = 0;
    for (std::size_t i = 0; i < n; ++i) {
      char c = s[at + i];
      if (c < '0' || c > '9') return false;
      value = value * 10 + (c - '0');
    }
    at += n;
    return true;
  };
  auto expect = [&](char a, char b = 0, char c = 0) {
    if (at >= s.size() || (s[at] != a && (b == 0 || s[at] != b) && (c == 0 || s[at] != c))) return false;
    ++at;
    return true;
  };
  int y, mo, d, h, mi, sec;
  if (!digits(4, y) || !expect('-') || !digits(2, mo) || !expect('-') || !digits(2, d) ||
      !expect('T', 't', ' ') || !digits(2, h) || !expect(':') || !digits(2, mi) || !expect(':') ||
      !digits(2, sec))
    return std::nullopt;
  year_month_day ymd{year{y}, month{static_cast<unsigned>(mo)}, day{static_cast<unsigned>(d)}};
  if (!ymd.ok() || h > 23 || mi > 59 || sec > 59) return std::nullopt;
  std::int64_t nanos = 0;
  if (at < s.size() && s[at] == '.') {
    ++at;
    std::size_t start = at;
    std::int64_t scale = 100'000'000;
    while (at < s.size() && s[at] >= '0' && s[at] <= '9') {
      nanos += (s[at] - '0') * scale;
      scale /= 10;
      ++at;
    }
    if (at == start) return std::nullopt;
  }
  int offset_minutes = 0;
  if (expect('Z', 'z')) {
  } else if (at < s.size() && (s[at] == '+' || s[at] == '-')) {
    int sign = s[at++] == '-' ? -1 : 1;
    int oh, om;
    if (!digits(2, oh) || !expect(':') || !digits(2, om) || oh > 23 || om > 59) return std::nullopt;
    offset_minutes = sign * (oh * 60 + om);
  } else {
    return std::nullopt;
  }
  if (at != s.size()) return std::nullopt;
  auto local = sys_days{ymd} + hours{h} + minutes{mi} + seconds{sec} - minutes{offset_minutes};
  return time_point_cast<system_clock::duration>(local +
                                                 duration_cast<system_clock::duration>(nanoseconds{nanos}));
}

}  // namespace detail
}  // namespace v0
}  // namespace keel
