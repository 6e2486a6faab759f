// keel::http::cached_date: the IMF-fixdate for the Date header, formatted once per second per thread.
#pragma once

#include "keel/config.hpp"

#include <cstddef>
#include <cstdint>
#include <ctime>
#include <string_view>

namespace keel {
inline namespace v0 {
namespace detail {

struct cached_date_text {
  std::int64_t seconds = -1;
  char text[32] = {};
};
// One per thread, so reactor threads never share a cache line or need a lock. constinit: no thread-local
// guard or init call on each access.
inline constinit thread_local cached_date_text date_state{};

}  // namespace detail
}  // namespace v0
}  // namespace keel

namespace keel {
inline namespace v0 {
namespace http {

// Length of "Sun, 06 Nov 1994 08:49:37 GMT".
inline constexpr std::size_t imf_fixdate_size = 29;

// Writes the IMF-fixdate (RFC 9110 section 5.6.7) for `unix_seconds` into out[0..29). Pure arithmetic
// (days-to-civil), so it neither reads the time zone nor takes the locale lock that gmtime/strftime may.
constexpr void format_imf_fixdate(std::int64_t unix_seconds, char* out) noexcept {
  constexpr char weekdays[] = "ThuFriSatSunMonTueWed";  // 1970-01-01 was a Thursday
  constexpr char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
  std::int64_t days = unix_seconds / 86400;
  std::int64_t secs = unix_seconds % 86400;
  if (secs < 0) {
    secs += 86400;
    --days;
  }
  const std::int64_t weekday = ((days % 7) + 7) % 7;

  // Howard Hinnant's civil_from_days.
  const std::int64_t z = days + 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const std::int64_t doe = z - era * 146097;
  const std::int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const std::int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const std::int64_t mp = (5 * doy + 2) / 153;
  const std::int64_t day = doy - (153 * mp + 2) / 5 + 1;
  const std::int64_t month = mp < 10 ? mp + 3 : mp - 9;
  const std::int64_t year = yoe + era * 400 + (month <= 2 ? 1 : 0);

  auto two = [](char* p, std::int64_t v) {
    p[0] = static_cast<char>('0' + v / 10);
    p[1] = static_cast<char>('0' + v % 10);
  };
  for (int i = 0; i < 3; ++i) out[i] = weekdays[weekday * 3 + i];
  out[3] = ',';
  out[4] = ' ';
  two(out + 5, day);
  out[7] = ' ';
  for (int i = 0; i < 3; ++i) out[8 + i] = months[(month - 1) * 3 + i];
  out[11] = ' ';
  const std::int64_t y = year < 0 ? 0 : year % 10000;
  two(out + 12, y / 100);
  two(out + 14, y % 100);
  out[16] = ' ';
  two(out + 17, secs / 3600);
  out[19] = ':';
  two(out + 20, secs / 60 % 60);
  out[22] = ':';
  two(out + 23, secs % 60);
  out[25] = ' ';
  out[26] = 'G';
  out[27] = 'M';
  out[28] = 'T';
}

class date_cache {
 public:
  // The current Date value. Reads CLOCK_REALTIME_COARSE (a vDSO call, no syscall, a few ns) and reformats
  // only when the second changed. The coarse clock lags by at most a scheduler tick, far below Date's
  // one-second resolution.
  static std::string_view get() noexcept {
    refresh(coarse_seconds());
    return {detail::date_state.text, imf_fixdate_size};
  }

  // A reactor can call this from a periodic timer; get() stays correct without it.
  static void tick() noexcept { refresh(coarse_seconds()); }

  // The value as of this thread's last get() or tick(), without reading the clock: for a caller that ticks
  // once per batch of pipelined requests (the server's session does, before each batch it answers).
  static std::string_view current() noexcept { return {detail::date_state.text, imf_fixdate_size}; }

  // For tests: the value as of `unix_seconds`, stored in this thread's cache.
  static std::string_view at(std::int64_t unix_seconds) noexcept {
    refresh(unix_seconds);
    return {detail::date_state.text, imf_fixdate_size};
  }

 private:
  static std::int64_t coarse_seconds() noexcept {
    timespec now{};
#if defined(CLOCK_REALTIME_COARSE)
    clock_gettime(CLOCK_REALTIME_COARSE, &now);
#else
    clock_gettime(CLOCK_REALTIME, &now);
#endif
    return static_cast<std::int64_t>(now.tv_sec);
  }

  static KEEL_ALWAYS_INLINE void refresh(std::int64_t seconds) noexcept {
    if (KEEL_LIKELY(seconds == detail::date_state.seconds)) return;
    format_imf_fixdate(seconds, detail::date_state.text);
    detail::date_state.seconds = seconds;
  }
};

// The Date header value for the current second, e.g. "Sun, 06 Nov 1994 08:49:37 GMT".
inline std::string_view cached_date() noexcept { return date_cache::get(); }

}  // namespace http
}  // namespace v0
}  // namespace keel
