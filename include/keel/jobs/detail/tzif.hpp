// keel::jobs::detail: a reader of TZif files (RFC 8536, versions 1 to 4) and of the POSIX TZ rule in their
// footer. Parsing is done once (time_zone::load, at configuration time); the queries are pure computation:
//   tz_data z = parse_tzif(bytes, "Europe/Berlin");
//   std::int32_t offset = z.offset_at(unix_seconds);          // UTC offset in seconds at that instant
//   std::optional<std::int64_t> t = z.next_change(unix_seconds);  // first instant after it with another
//   offset
// Version 2+ files are read through their 64-bit block; instants after the last transition follow the footer
// rule ("CET-1CEST,M3.5.0,M10.5.0/3": Mm.w.d, Jn and n dates, times up to +-167 h as RFC 8536 allows).
#pragma once

#include "keel/config.hpp"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace keel {
inline namespace v0 {
namespace jobs {
namespace detail {

class tz_parse_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// One date of a POSIX TZ rule: Jn (1-365, February 29 never counted), n (0-365) or Mm.w.d; time is the
// local time of day (in the offset in force before the change) at which it happens, in seconds.
struct posix_date {
  enum class kind : std::uint8_t { julian1, julian0, month_week_day };
  kind k = kind::month_week_day;
  int day = 0;  // Jn / n: the number; Mm.w.d: d (0 = Sunday)
  int month = 0;
  int week = 0;  // 1-5, 5 = the last
  std::int32_t time = 2 * 3600;

  // The instant it happens in year y, given the UTC offset in force before it.
  std::int64_t instant(int y, std::int32_t offset_before) const {
    using namespace std::chrono;
    sys_days d;
    if (k == kind::month_week_day) {
      sys_days first = sys_days(year(y) / month / 1);
      unsigned wd = weekday(first).c_encoding();
      int dom = 1 + (day - static_cast<int>(wd) + 7) % 7 + 7 * (week - 1);
      int month_days = static_cast<int>(static_cast<unsigned>((year(y) / month / std::chrono::last).day()));
      while (dom > month_days) dom -= 7;
      d = first + days(dom - 1);
    } else if (k == kind::julian1) {
      d = sys_days(year(y) / 1 / 1) + days(day - 1);
      if (year(y).is_leap() && day >= 60) d += days(1);
    } else {
      d = sys_days(year(y) / 1 / 1) + days(day);
    }
    return static_cast<std::int64_t>(d.time_since_epoch().count()) * 86400 + time - offset_before;
  }
};

struct posix_rule {
  std::int32_t std_offset = 0;  // seconds east of UTC
  bool has_dst = false;
  std::int32_t dst_offset = 0;
  posix_date start;  // DST begins (given in standard time)
  posix_date end;    // DST ends (given in daylight time)

  std::int32_t offset_at(std::int64_t t) const {
    if (!has_dst) return std_offset;
    // The last change at or before t among the changes of the neighbouring years decides.
    int y = year_of(t);
    std::int64_t best = INT64_MIN;
    std::int32_t off = std_offset;
    for (int yy = y - 1; yy <= y + 1; ++yy) {
      std::int64_t e = end.instant(yy, dst_offset);
      std::int64_t s = start.instant(yy, std_offset);
      if (e <= t && e >= best) best = e, off = std_offset;
      if (s <= t && s >= best) best = s, off = dst_offset;  // a start at the same instant as an end wins
    }
    return off;
  }

  // The first instant > t at which the offset differs from the one at t.
  std::optional<std::int64_t> next_change(std::int64_t t) const {
    if (!has_dst || std_offset == dst_offset) return std::nullopt;
    std::int32_t now = offset_at(t);
    int y = year_of(t);
    for (int yy = y - 1; yy <= y + 2; ++yy) {
      std::int64_t cand[2] = {start.instant(yy, std_offset), end.instant(yy, dst_offset)};
      std::sort(cand, cand + 2);
      for (std::int64_t c : cand)
        if (c > t && offset_at(c) != now) return c;
    }
    return std::nullopt;  // all-year daylight time ("0/0,J365/25"): no change
  }

  static int year_of(std::int64_t t) {
    using namespace std::chrono;
    std::int64_t d = t >= 0 ? t / 86400 : -((-t + 86399) / 86400);
    return static_cast<int>(year_month_day(sys_days(days(d))).year());
  }
};

struct tz_type {
  std::int32_t offset = 0;
  bool dst = false;
};

struct tz_data {
  std::vector<std::int64_t> times;   // transition instants, ascending
  std::vector<std::uint8_t> index;   // the type in force from times[i]
  std::vector<tz_type> types;        // at least one
  std::optional<posix_rule> footer;  // instants after the last transition

  std::int32_t offset_at(std::int64_t t) const {
    if (times.empty() || t < times.front()) {
      if (times.empty() && footer) return footer->offset_at(t);
      return types.front().offset;
    }
    if (t >= times.back() && footer) return footer->offset_at(t);
    auto it = std::upper_bound(times.begin(), times.end(), t);
    return types[index[static_cast<std::size_t>(it - times.begin()) - 1]].offset;
  }

  std::optional<std::int64_t> next_change(std::int64_t t) const {
    std::int32_t now = offset_at(t);
    for (auto it = std::upper_bound(times.begin(), times.end(), t); it != times.end(); ++it)
      if (offset_at(*it) != now) return *it;
    if (!footer) return std::nullopt;
    std::int64_t from = times.empty() ? t : std::max(t, times.back());
    if (from > t && footer->offset_at(from) != now) return from;
    return footer->next_change(from);
  }
};

class posix_reader {
 public:
  explicit posix_reader(std::string_view s) : s_(s) {}

  posix_rule read() {
    posix_rule r;
    name();
    r.std_offset = -offset(24);
    if (done()) return r;
    name();
    r.has_dst = true;
    r.dst_offset = r.std_offset + 3600;
    if (!done() && peek() != ',') r.dst_offset = -offset(24);
    if (done()) {  // POSIX's default rule is implementation-defined; glibc and tzcode use the US one
      r.start = {posix_date::kind::month_week_day, 0, 3, 2, 7200};
      r.end = {posix_date::kind::month_week_day, 0, 11, 1, 7200};
      return r;
    }
    expect(',');
    r.start = date();
    expect(',');
    r.end = date();
    if (!done()) fail("trailing characters");
    return r;
  }

 private:
  bool done() const { return i_ == s_.size(); }
  char peek() const { return done() ? '\0' : s_[i_]; }
  [[noreturn]] void fail(const char* why) const {
    throw tz_parse_error("TZ rule \"" + std::string(s_) + "\": " + why);
  }
  void expect(char c) {
    if (peek() != c) fail("unexpected character");
    ++i_;
  }
  void name() {
    if (peek() == '<') {
      std::size_t close = s_.find('>', i_);
      if (close == std::string_view::npos) fail("unterminated <name>");
      i_ = close + 1;
      return;
    }
    std::size_t start = i_;
    while (!done() && ((peek() >= 'A' && peek() <= 'Z') || (peek() >= 'a' && peek() <= 'z'))) ++i_;
    if (i_ - start < 3) fail("expected a zone abbreviation");
  }
  int number(int max) {
    if (done() || peek() < '0' || peek() > '9') fail("expected a number");
    int v = 0;
    while (!done() && peek() >= '0' && peek() <= '9') {
      v = v * 10 + (s_[i_++] - '0');
      if (v > max) fail("number out of range");
    }
    return v;
  }
  // [+-]hh[:mm[:ss]] in seconds (POSIX sign: positive is west of UTC for offsets).
  std::int32_t offset(int max_hours) {
    int sign = 1;
    if (peek() == '+' || peek() == '-') sign = s_[i_++] == '-' ? -1 : 1;
    std::int32_t v = number(max_hours) * 3600;
    if (peek() == ':') {
      ++i_;
      v += number(59) * 60;
      if (peek() == ':') {
        ++i_;
        v += number(59);
      }
    }
    return sign * v;
  }
  posix_date date() {
    posix_date d;
    if (peek() == 'M') {
      ++i_;
      d.k = posix_date::kind::month_week_day;
      d.month = number(12);
      expect('.');
      d.week = number(5);
      expect('.');
      d.day = number(6);
      if (d.month < 1 || d.week < 1) fail("bad Mm.w.d date");
    } else if (peek() == 'J') {
      ++i_;
      d.k = posix_date::kind::julian1;
      d.day = number(365);
      if (d.day < 1) fail("bad Jn date");
    } else {
      d.k = posix_date::kind::julian0;
      d.day = number(365);
    }
    if (peek() == '/') {
      ++i_;
      d.time = offset(167);  // RFC 8536 (version 3): -167 to 167 hours
    }
    return d;
  }

  std::string_view s_;
  std::size_t i_ = 0;
};

class tzif_reader {
 public:
  tzif_reader(std::string_view bytes, std::string_view what) : b_(bytes), what_(what) {}

  tz_data read() {
    header h = read_header();
    tz_data out;
    if (h.version == 0) {
      read_block(h, 4, out);
      return out;
    }
    skip(block_size(h, 4));  // the version 1 block: the 64-bit one follows
    header h2 = read_header();
    read_block(h2, 8, out);
    if (need(1), b_[pos_] != '\n') fail("missing footer");
    std::size_t end = b_.find('\n', pos_ + 1);
    if (end == std::string_view::npos) fail("unterminated footer");
    std::string_view rule = b_.substr(pos_ + 1, end - pos_ - 1);
    if (!rule.empty()) out.footer = posix_reader(rule).read();
    return out;
  }

 private:
  struct header {
    int version = 0;
    std::uint32_t isutcnt, isstdcnt, leapcnt, timecnt, typecnt, charcnt;
  };

  [[noreturn]] void fail(const std::string& why) const {
    throw tz_parse_error(std::string(what_) + ": not a valid TZif file (" + why + ")");
  }
  void need(std::size_t n) const {
    if (b_.size() - pos_ < n) fail("truncated");
  }
  void skip(std::size_t n) {
    need(n);
    pos_ += n;
  }
  std::uint8_t u8() {
    need(1);
    return static_cast<std::uint8_t>(b_[pos_++]);
  }
  std::uint32_t u32() {
    std::uint32_t v = 0;
    for (int k = 0; k < 4; ++k) v = (v << 8) | u8();
    return v;
  }
  std::int64_t i64() {
    std::uint64_t v = 0;
    for (int k = 0; k < 8; ++k) v = (v << 8) | u8();
    return static_cast<std::int64_t>(v);
  }
  header read_header() {
    if (b_.substr(pos_, 4) != "TZif") fail("no TZif magic");
    need(44);
    header h;
    char v = b_[pos_ + 4];
    if (v == '\0')
      h.version = 0;
    else if (v >= '2' && v <= '4')
      h.version = v - '0';
    else
      fail("unknown version");
    pos_ += 20;
    h.isutcnt = u32();
    h.isstdcnt = u32();
    h.leapcnt = u32();
    h.timecnt = u32();
    h.typecnt = u32();
    h.charcnt = u32();
    if (h.typecnt == 0 || h.typecnt > 256 || h.timecnt > 100000 || h.charcnt > 100000 || h.leapcnt > 100000)
      fail("bad counts");
    return h;
  }
  static std::size_t block_size(const header& h, std::size_t time_size) {
    return h.timecnt * time_size + h.timecnt + h.typecnt * 6 + h.charcnt + h.leapcnt * (time_size + 4) +
           h.isstdcnt + h.isutcnt;
  }
  void read_block(const header& h, std::size_t time_size, tz_data& out) {
    need(block_size(h, time_size));
    if (h.leapcnt != 0) fail("leap-second (\"right/\") zones are not supported");
    out.times.resize(h.timecnt);
    for (std::int64_t& t : out.times) t = time_size == 8 ? i64() : static_cast<std::int32_t>(u32());
    out.index.resize(h.timecnt);
    for (std::uint8_t& i : out.index) {
      i = u8();
      if (i >= h.typecnt) fail("bad type index");
    }
    for (std::size_t k = 1; k < out.times.size(); ++k)
      if (out.times[k] <= out.times[k - 1]) fail("transitions out of order");
    out.types.resize(h.typecnt);
    for (tz_type& t : out.types) {
      t.offset = static_cast<std::int32_t>(u32());
      t.dst = u8() != 0;
      u8();  // abbreviation index
      if (t.offset <= -25 * 3600 || t.offset >= 26 * 3600) fail("offset out of range");
    }
    skip(h.charcnt + h.leapcnt * (time_size + 4) + h.isstdcnt + h.isutcnt);
  }

  std::string_view b_;
  std::string_view what_;
  std::size_t pos_ = 0;
};

inline tz_data parse_tzif(std::string_view bytes, std::string_view what) {
  return tzif_reader(bytes, what).read();
}

}  // namespace detail
}  // namespace jobs
}  // namespace v0
}  // namespace keel
