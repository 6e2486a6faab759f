// keel::jobs::cron: a 5-field cron expression (minute hour day-of-month month day-of-week), evaluated in UTC
// or in the wall time of a named zone.
//   auto c = keel::jobs::cron::parse("*/15 9-17 * * 1-5");   // every 15 minutes, 09:00-17:45, Monday-Friday
//   auto next = c.next_after(std::chrono::system_clock::now());
//   auto b = keel::jobs::cron::parse("30 2 * * *").in_zone("Europe/Berlin");  // loads the zone file now
// In a zone, a wall time skipped by a spring-forward gap fires once, at the first instant after the gap (all
// matches inside one gap collapse into that one run); a wall time repeated by a fall-back overlap fires once,
// at its first occurrence: each matching wall time runs once, when the wall clock first reaches it.
// Fields take `*`, numbers, ranges `a-b`, steps `*/n` and `a-b/n`, and lists `a,b-c`; day-of-week 0 and 7 are
// Sunday. When both day fields are restricted a day matches either one (as in Vixie cron). Named months and
// days, `@daily` and friends, and `L`/`W`/`#` are not supported (an error names the field).
#pragma once

#include "keel/config.hpp"
#include "keel/jobs/time_zone.hpp"

#include <bitset>
#include <chrono>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace keel {
inline namespace v0 {
namespace jobs {

class cron_error : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

class cron {
 public:
  static cron parse(std::string_view text) {
    cron c;
    c.text_ = std::string(text);
    std::string_view fields[5];
    std::size_t n = 0;
    std::size_t i = 0;
    while (i < text.size()) {
      while (i < text.size() && (text[i] == ' ' || text[i] == '\t')) ++i;
      if (i == text.size()) break;
      std::size_t start = i;
      while (i < text.size() && text[i] != ' ' && text[i] != '\t') ++i;
      if (n == 5) throw cron_error("cron \"" + c.text_ + "\": more than 5 fields");
      fields[n++] = text.substr(start, i - start);
    }
    if (n != 5)
      throw cron_error("cron \"" + c.text_ + "\": expected 5 fields (minute hour day month weekday)");
    parse_field(c, fields[0], "minute", 0, 59, c.minutes_);
    parse_field(c, fields[1], "hour", 0, 23, c.hours_);
    parse_field(c, fields[2], "day-of-month", 1, 31, c.days_);
    parse_field(c, fields[3], "month", 1, 12, c.months_);
    parse_field(c, fields[4], "day-of-week", 0, 7, c.weekdays_);
    if (c.weekdays_[7]) c.weekdays_[0] = true;
    c.days_any_ = fields[2] == "*";
    c.weekdays_any_ = fields[4] == "*";
    return c;
  }

  const std::string& text() const noexcept { return text_; }

  // The same schedule in the wall time of a zone: in_zone("Europe/Berlin") reads the zone file (file I/O:
  // call it at configuration time) and throws time_zone_error for a bad or unknown name.
  cron in_zone(std::string_view zone_name) const { return in_zone(time_zone::load(zone_name)); }
  cron in_zone(time_zone zone) const {
    cron c = *this;
    c.zone_ = std::move(zone);
    return c;
  }
  const time_zone& zone() const noexcept { return zone_; }

  // The first matching minute strictly after t, as an instant. Throws cron_error when none comes within 5
  // years (e.g. "0 0 31 2 *"). In a zone the minutes are wall-clock minutes (gaps and overlaps: see above).
  std::chrono::system_clock::time_point next_after(std::chrono::system_clock::time_point t) const {
    using namespace std::chrono;
    using out = std::optional<system_clock::time_point>;
    if (zone_.is_utc())
      return search(floor<minutes>(sys_seconds(floor<seconds>(t))) + minutes(1),
                    [](sys_seconds m) -> out { return time_point_cast<system_clock::duration>(m); });
    local_seconds wall = zone_.to_local(floor<seconds>(t));
    return search(sys_seconds(floor<minutes>(wall).time_since_epoch() + minutes(1)),
                  [&](sys_seconds m) -> out {
                    time_zone::resolution r = zone_.resolve(local_seconds(m.time_since_epoch()));
                    auto at = time_point_cast<system_clock::duration>(r.instant);
                    if (at > t) return at;
                    return std::nullopt;  // the first occurrence of a repeated wall time that already passed
                  });
  }

  // Whether the (wall-clock, in a zone) minute of t matches.
  bool matches(std::chrono::system_clock::time_point t) const {
    using namespace std::chrono;
    auto minute = floor<minutes>(sys_seconds(zone_.to_local(floor<seconds>(t)).time_since_epoch()));
    auto day = floor<days>(minute);
    auto m = duration_cast<minutes>(minute - day).count();
    return day_matches(day) && hours_[static_cast<std::size_t>(m / 60)] &&
           minutes_[static_cast<std::size_t>(m % 60)];
  }

 private:
  // Walks calendar minutes from `minute` on (UTC minutes, or wall-clock ones in sys_seconds clothing) and
  // returns the first accepted match.
  template <class Accept>
  std::chrono::system_clock::time_point search(std::chrono::sys_seconds minute, Accept accept) const {
    using namespace std::chrono;
    auto day = floor<days>(minute);
    auto first_minute_of_day = duration_cast<minutes>(minute - day).count();
    for (int d = 0; d < 5 * 366 + 1; ++d, day += days(1), first_minute_of_day = 0) {
      if (!day_matches(day)) continue;
      for (int m = static_cast<int>(first_minute_of_day); m < 24 * 60; ++m)
        if (hours_[static_cast<std::size_t>(m / 60)] && minutes_[static_cast<std::size_t>(m % 60)])
          if (auto at = accept(sys_seconds(day) + minutes(m))) return *at;
    }
    throw cron_error("cron \"" + text_ + "\": no matching time within 5 years");
  }

  bool day_matches(std::chrono::sys_days day) const {
    using namespace std::chrono;
    year_month_day ymd{day};
    if (!months_[static_cast<unsigned>(ymd.month())]) return false;
    bool dom = days_[static_cast<unsigned>(ymd.day())];
    bool dow = weekdays_[weekday{day}.c_encoding()];
    if (days_any_ || weekdays_any_) return dom && dow;
    return dom || dow;
  }

  template <std::size_t N>
  static void parse_field(const cron& c, std::string_view field, const char* name, int lo, int hi,
                          std::bitset<N>& out) {
    auto fail = [&](const std::string& why) {
      throw cron_error("cron \"" + c.text_ + "\": " + name + " field \"" + std::string(field) + "\": " + why);
    };
    auto number = [&](std::string_view s) {
      if (s.empty() || s.size() > 4) fail("expected a number");
      int v = 0;
      for (char ch : s) {
        if (ch < '0' || ch > '9') fail("expected a number");
        v = v * 10 + (ch - '0');
      }
      if (v < lo || v > hi) fail("out of range " + std::to_string(lo) + "-" + std::to_string(hi));
      return v;
    };
    if (field.empty()) fail("empty");
    std::size_t pos = 0;
    while (pos <= field.size()) {
      std::size_t comma = field.find(',', pos);
      std::string_view part = field.substr(pos, comma == std::string_view::npos ? field.npos : comma - pos);
      int step = 1;
      if (auto slash = part.find('/'); slash != std::string_view::npos) {
        std::string_view s = part.substr(slash + 1);
        if (s.empty() || s.size() > 4) fail("bad step");
        step = 0;
        for (char ch : s) {
          if (ch < '0' || ch > '9') fail("bad step");
          step = step * 10 + (ch - '0');
        }
        if (step == 0) fail("step 0");
        part = part.substr(0, slash);
      }
      int from = lo;
      int to = hi;
      if (part == "*") {
      } else if (auto dash = part.find('-'); dash != std::string_view::npos) {
        from = number(part.substr(0, dash));
        to = number(part.substr(dash + 1));
        if (from > to) fail("range goes backwards");
      } else {
        from = number(part);
        to = step == 1 ? from : hi;  // "5/10": 5, 15, 25, ...
      }
      for (int v = from; v <= to; v += step) out[static_cast<std::size_t>(v)] = true;
      if (comma == std::string_view::npos) break;
      pos = comma + 1;
    }
  }

  std::string text_;
  std::bitset<60> minutes_;
  std::bitset<24> hours_;
  std::bitset<32> days_;
  std::bitset<13> months_;
  std::bitset<8> weekdays_;
  bool days_any_ = true;
  bool weekdays_any_ = true;
  time_zone zone_;
};

}  // namespace jobs
}  // namespace v0
}  // namespace keel
