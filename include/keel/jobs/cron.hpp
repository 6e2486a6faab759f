// keel::jobs::cron: a 5-field cron expression (minute hour day-of-month month day-of-week), evaluated in UTC.
//   auto c = keel::jobs::cron::parse("*/15 9-17 * * 1-5");   // every 15 minutes, 09:00-17:45, Monday-Friday
//   auto next = c.next_after(std::chrono::system_clock::now());
// Fields take `*`, numbers, ranges `a-b`, steps `*/n` and `a-b/n`, and lists `a,b-c`; day-of-week 0 and 7 are
// Sunday. When both day fields are restricted a day matches either one (as in Vixie cron). Named months and
// days, `@daily` and friends, and `L`/`W`/`#` are not supported (an error names the field).
#pragma once

#include "keel/config.hpp"

#include <bitset>
#include <chrono>
#include <cstdint>
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

  // The first matching minute strictly after t (UTC). Throws cron_error when none comes within 5 years
  // (e.g. "0 0 31 2 *").
  std::chrono::system_clock::time_point next_after(std::chrono::system_clock::time_point t) const {
    using namespace std::chrono;
    auto minute = floor<minutes>(t) + minutes(1);
    auto day = floor<days>(minute);
    auto first_minute_of_day = duration_cast<minutes>(minute - day).count();
    for (int d = 0; d < 5 * 366 + 1; ++d, day += days(1), first_minute_of_day = 0) {
      if (!day_matches(day)) continue;
      for (int m = static_cast<int>(first_minute_of_day); m < 24 * 60; ++m)
        if (hours_[static_cast<std::size_t>(m / 60)] && minutes_[static_cast<std::size_t>(m % 60)])
          return time_point_cast<system_clock::duration>(day + minutes(m));
    }
    throw cron_error("cron \"" + text_ + "\": no matching time within 5 years");
  }

  bool matches(std::chrono::system_clock::time_point t) const {
    using namespace std::chrono;
    auto minute = floor<minutes>(t);
    auto day = floor<days>(minute);
    auto m = duration_cast<minutes>(minute - day).count();
    return day_matches(day) && hours_[static_cast<std::size_t>(m / 60)] &&
           minutes_[static_cast<std::size_t>(m % 60)];
  }

 private:
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
};

}  // namespace jobs
}  // namespace v0
}  // namespace keel
