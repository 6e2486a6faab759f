// keel::jobs::time_zone and zoned cron schedules against the real tz database (Debian's tzdata in
// /usr/share/zoneinfo) and two independent implementations as oracles: CPython's zoneinfo module and glibc's
// `date` (which also evaluates raw POSIX TZ rules). The transitions come from `zdump -v` (glibc). Every
// oracle runs once per zone over a file of instants: thousands of random ones and some around each transition
// from 1970 to 2040, plus instants up to 2100 that only the footer rule of the file covers.
#include "keel/jobs.hpp"

#include "support/env_guard.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <sys/wait.h>
#include <unistd.h>

namespace cron_tz_test {

using keel::jobs::cron;
using keel::jobs::time_zone;
using namespace std::chrono_literals;
using sys_clock = std::chrono::system_clock;

const char* const zones[] = {"Europe/Berlin", "America/New_York",  "Australia/Lord_Howe",
                             "Asia/Kolkata",  "America/Sao_Paulo", "Pacific/Apia",
                             "UTC",           "America/St_Johns",  "Africa/Casablanca"};

constexpr std::int64_t y1970 = 0;
constexpr std::int64_t y2041 = 2240524800;  // 2041-01-01T00:00:00Z
constexpr std::int64_t y2100 = 4102444800;  // 2100-01-01T00:00:00Z

// Runs a shell command and returns its standard output; a failing command fails the test.
std::string run(const std::string& command) {
  FILE* p = ::popen(command.c_str(), "r");
  REQUIRE(p != nullptr);
  std::string out;
  char buf[65536];
  std::size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  int status = ::pclose(p);
  INFO(command);
  REQUIRE(WIFEXITED(status));
  REQUIRE(WEXITSTATUS(status) == 0);
  return out;
}

struct temp_dir {
  std::filesystem::path path;
  temp_dir() {
    static int n = 0;
    path = std::filesystem::temp_directory_path() /
           ("keel-cron-tz-" + std::to_string(::getpid()) + "-" + std::to_string(++n));
    std::filesystem::remove_all(path);
    std::filesystem::create_directories(path);
  }
  ~temp_dir() { std::filesystem::remove_all(path); }
  std::string write(const std::string& name, const std::string& text) const {
    std::filesystem::path f = path / name;
    std::filesystem::create_directories(f.parent_path());
    std::ofstream(f, std::ios::binary) << text;
    return f.string();
  }
};

std::vector<std::int64_t> numbers(const std::string& text) {
  std::vector<std::int64_t> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) out.push_back(std::stoll(line));
  return out;
}

// "+0530" / "-0330" -> seconds east of UTC
std::vector<std::int64_t> percent_z(const std::string& text) {
  std::vector<std::int64_t> out;
  std::istringstream in(text);
  std::string z;
  while (in >> z) {
    REQUIRE(z.size() == 5);
    std::int64_t v = std::stoll(z.substr(1, 2)) * 3600 + std::stoll(z.substr(3, 2)) * 60;
    out.push_back(z[0] == '-' ? -v : v);
  }
  return out;
}

// glibc's `date` over a file of "@N" lines, in the zone (or POSIX rule) tz.
std::vector<std::int64_t> date_offsets(const temp_dir& dir, const std::string& tz,
                                       const std::vector<std::int64_t>& instants) {
  std::string lines;
  for (std::int64_t t : instants) lines += "@" + std::to_string(t) + "\n";
  std::string file = dir.write("date-input", lines);
  return percent_z(run("TZ='" + tz + "' date -f '" + file + "' +%z"));
}

// CPython's zoneinfo (exact seconds).
std::vector<std::int64_t> python_offsets(const temp_dir& dir, const std::string& zone,
                                         const std::vector<std::int64_t>& instants) {
  std::string lines;
  for (std::int64_t t : instants) lines += std::to_string(t) + "\n";
  std::string file = dir.write("py-input", lines);
  std::string script = dir.write("offsets.py",
                                 "import sys, datetime, zoneinfo\n"
                                 "z = zoneinfo.ZoneInfo(sys.argv[1])\n"
                                 "for line in open(sys.argv[2]):\n"
                                 "    d = datetime.datetime.fromtimestamp(int(line), z)\n"
                                 "    print(int(d.utcoffset().total_seconds()))\n");
  return numbers(run("python3 '" + script + "' '" + zone + "' '" + file + "'"));
}

// zdump -v: the instants at which the UTC offset changes in [1970, 2041).
std::vector<std::int64_t> zdump_changes(const std::string& zone) {
  std::string out = run("zdump -v -c 1970,2041 '" + zone + "'");
  static const char* const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                       "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  std::vector<std::int64_t> changes;
  std::istringstream in(out);
  std::string line;
  std::int64_t prev_t = 0;
  std::int64_t prev_off = 0;
  bool have_prev = false;
  while (std::getline(in, line)) {
    if (line.find(" UT = ") == std::string::npos) continue;
    std::istringstream f(line);
    std::string name, wd, mon, hms;
    unsigned day = 0;
    int year = 0;
    f >> name >> wd >> mon >> day >> hms >> year;
    unsigned m = 0;
    while (m < 12 && mon != months[m]) ++m;
    REQUIRE(m < 12);
    std::int64_t t =
        std::chrono::sys_days(std::chrono::year(year) / (m + 1) / day).time_since_epoch().count() * 86400 +
        std::stoll(hms.substr(0, 2)) * 3600 + std::stoll(hms.substr(3, 2)) * 60 +
        std::stoll(hms.substr(6, 2));
    std::int64_t off = std::stoll(line.substr(line.rfind("gmtoff=") + 7));
    if (have_prev && prev_t == t - 1 && prev_off != off) changes.push_back(t);
    prev_t = t;
    prev_off = off;
    have_prev = true;
  }
  return changes;
}

std::vector<std::int64_t> our_changes(const time_zone& z, std::int64_t from, std::int64_t to) {
  std::vector<std::int64_t> out;
  auto t = std::chrono::sys_seconds(std::chrono::seconds(from));
  while (auto c = z.next_change(t)) {
    if (c->time_since_epoch().count() >= to) break;
    out.push_back(c->time_since_epoch().count());
    t = *c;
  }
  return out;
}

sys_clock::time_point utc(int y, unsigned mo, unsigned d, int h, int mi) {
  return sys_clock::time_point(std::chrono::sys_days(std::chrono::year(y) / mo / d)) + std::chrono::hours(h) +
         std::chrono::minutes(mi);
}

}  // namespace cron_tz_test

using namespace cron_tz_test;

TEST_CASE("cron_tz: UTC offsets match zdump, python zoneinfo and date for thousands of instants",
          "[jobs][tz]") {
  temp_dir dir;
  std::mt19937_64 rng(20261205);
  std::size_t compared = 0;
  for (const char* zone : zones) {
    INFO(zone);
    time_zone z = time_zone::load(zone);
    CHECK(z.name() == zone);
    std::vector<std::int64_t> changes = zdump_changes(zone);
    std::vector<std::int64_t> ours = our_changes(z, y1970, y2041);
    if (std::string_view(zone) == "Europe/Berlin") CHECK(changes.size() > 100);  // DST since 1980
    CHECK(ours == changes);

    std::vector<std::int64_t> instants;
    for (std::int64_t c : changes)
      for (std::int64_t d : {-3600, -1800, -1, 0, 1, 1799, 3600}) instants.push_back(c + d);
    std::uniform_int_distribution<std::int64_t> until_2041(y1970, y2041 - 1);
    std::uniform_int_distribution<std::int64_t> until_2100(y2041, y2100 - 1);  // footer rule only
    for (int i = 0; i < 2000; ++i) instants.push_back(until_2041(rng));
    for (int i = 0; i < 400; ++i) instants.push_back(until_2100(rng));

    std::vector<std::int64_t> py = python_offsets(dir, zone, instants);
    std::vector<std::int64_t> gnu = date_offsets(dir, zone, instants);
    REQUIRE(py.size() == instants.size());
    REQUIRE(gnu.size() == instants.size());
    std::size_t mismatches = 0;
    for (std::size_t i = 0; i < instants.size(); ++i) {
      std::int64_t mine = z.offset_at(std::chrono::sys_seconds(std::chrono::seconds(instants[i]))).count();
      if (mine != py[i] || mine / 60 != gnu[i] / 60) {
        if (++mismatches <= 5) {
          INFO("at " << instants[i] << ": keel " << mine << ", zoneinfo " << py[i] << ", date " << gnu[i]);
          CHECK(false);
        }
      }
    }
    CHECK(mismatches == 0);
    compared += instants.size();
  }
  CHECK(compared > 20000);
}

TEST_CASE("cron_tz: POSIX TZ rules (Mm.w.d, Jn, n, v3 hours) match glibc's date", "[jobs][tz]") {
  temp_dir dir;
  std::mt19937_64 rng(42);
  // The footers the TZif files carry are "CET-1CEST,M3.5.0,M10.5.0/3"-like; these also cover the rarer forms.
  const char* const rules[] = {
      "CET-1CEST,M3.5.0,M10.5.0/3",
      "EST5EDT,M3.2.0,M11.1.0",
      "<+1030>-10:30<+11>-11,M10.1.0,M4.1.0",  // Lord Howe: half-hour DST, southern hemisphere
      "XST3XDT,J60/2,J300/2",                  // Jn: February 29 is never counted
      "YST3YDT,59/2,299/2",                    // n: zero-based, counting February 29
      "<-03>3<-02>,M3.5.0/-2,M10.5.0/-1",      // America/Nuuk: negative times (RFC 8536 version 3)
      "<-02>2<-01>,M3.5.0/47,M10.5.0/49",      // hours beyond 24
      "IST-2IDT,M3.4.4/26,M10.5.0",            // Asia/Jerusalem
      "<+0545>-5:45",                          // no DST
  };
  for (const char* text : rules) {
    INFO(text);
    keel::jobs::detail::posix_rule r = keel::jobs::detail::posix_reader(text).read();
    std::vector<std::int64_t> instants;
    std::uniform_int_distribution<std::int64_t> any(y1970, y2100);
    for (int i = 0; i < 1500; ++i) instants.push_back(any(rng));
    std::int64_t t = y1970;
    while (auto c = r.next_change(t)) {
      if (*c >= y2100) break;
      for (std::int64_t d : {-1, 0, 1}) instants.push_back(*c + d);
      t = *c;
    }
    std::vector<std::int64_t> gnu = date_offsets(dir, text, instants);
    REQUIRE(gnu.size() == instants.size());
    std::size_t mismatches = 0;
    for (std::size_t i = 0; i < instants.size(); ++i) {
      std::int64_t mine = r.offset_at(instants[i]);
      if (mine / 60 != gnu[i] / 60 && ++mismatches <= 5) {
        INFO("at " << instants[i] << ": keel " << mine << ", date " << gnu[i]);
        CHECK(false);
      }
    }
    CHECK(mismatches == 0);
  }
}

TEST_CASE("cron_tz: wall times in a spring-forward gap and a fall-back overlap", "[jobs][tz]") {
  time_zone berlin = time_zone::load("Europe/Berlin");
  auto wall = [](int y, unsigned mo, unsigned d, int h, int mi) {
    return std::chrono::local_seconds(
        std::chrono::local_days(std::chrono::year(y) / mo / d).time_since_epoch() + std::chrono::hours(h) +
        std::chrono::minutes(mi));
  };
  auto secs = [](sys_clock::time_point t) { return std::chrono::floor<std::chrono::seconds>(t); };
  time_zone::resolution r = berlin.resolve(wall(2026, 3, 29, 2, 30));
  CHECK(r.what == time_zone::resolution::kind::skipped);
  CHECK(r.instant == secs(utc(2026, 3, 29, 1, 0)));
  r = berlin.resolve(wall(2026, 10, 25, 2, 30));
  CHECK(r.what == time_zone::resolution::kind::repeated);
  CHECK(r.instant == secs(utc(2026, 10, 25, 0, 30)));
  CHECK(r.later == secs(utc(2026, 10, 25, 1, 30)));
  r = berlin.resolve(wall(2026, 7, 1, 12, 0));
  CHECK(r.what == time_zone::resolution::kind::unique);
  CHECK(r.instant == secs(utc(2026, 7, 1, 10, 0)));
  // Samoa skipped 30 December 2011 entirely.
  r = time_zone::load("Pacific/Apia").resolve(wall(2011, 12, 30, 12, 0));
  CHECK(r.what == time_zone::resolution::kind::skipped);
  CHECK(r.instant == secs(utc(2011, 12, 30, 10, 0)));  // 23:59:59 -10 on the 29th -> 00:00 +14 on the 31st
}

TEST_CASE("cron_tz: next fire across spring-forward and fall-back (Berlin, New York, Lord Howe)",
          "[jobs][tz]") {
  // Berlin 2026: 02:00 CET -> 03:00 CEST on 29 March (01:00Z); 03:00 CEST -> 02:00 CET on 25 October
  // (01:00Z).
  cron daily = cron::parse("30 2 * * *").in_zone("Europe/Berlin");
  CHECK(daily.zone().name() == "Europe/Berlin");
  CHECK(daily.next_after(utc(2026, 3, 27, 12, 0)) == utc(2026, 3, 28, 1, 30));    // CET
  CHECK(daily.next_after(utc(2026, 3, 28, 12, 0)) == utc(2026, 3, 29, 1, 0));     // in the gap: at its end
  CHECK(daily.next_after(utc(2026, 3, 29, 1, 0)) == utc(2026, 3, 30, 0, 30));     // CEST
  CHECK(daily.next_after(utc(2026, 10, 24, 12, 0)) == utc(2026, 10, 25, 0, 30));  // first 02:30 (CEST)
  CHECK(daily.next_after(utc(2026, 10, 25, 0, 30)) == utc(2026, 10, 26, 1, 30));  // not the second one
  CHECK(daily.next_after(utc(2026, 10, 25, 1, 10)) == utc(2026, 10, 26, 1, 30));  // from inside the repeat
  // Two matches in one gap run once.
  cron twice = cron::parse("0,30 2 * * *").in_zone("Europe/Berlin");
  CHECK(twice.next_after(utc(2026, 3, 28, 23, 0)) == utc(2026, 3, 29, 1, 0));
  CHECK(twice.next_after(utc(2026, 3, 29, 1, 0)) == utc(2026, 3, 30, 0, 0));
  // Every 30 minutes through both transitions: the gap's matches coincide with 03:00; the repeated hour is
  // silent (its wall times already fired in the first pass).
  cron half = cron::parse("*/30 * * * *").in_zone("Europe/Berlin");
  std::vector<sys_clock::time_point> fires;
  for (auto t = utc(2026, 3, 29, 0, 10); fires.size() < 4;) fires.push_back(t = half.next_after(t));
  CHECK(fires == std::vector<sys_clock::time_point>{utc(2026, 3, 29, 0, 30), utc(2026, 3, 29, 1, 0),
                                                    utc(2026, 3, 29, 1, 30), utc(2026, 3, 29, 2, 0)});
  fires.clear();
  for (auto t = utc(2026, 10, 24, 23, 40); fires.size() < 5;) fires.push_back(t = half.next_after(t));
  CHECK(fires == std::vector<sys_clock::time_point>{utc(2026, 10, 25, 0, 0), utc(2026, 10, 25, 0, 30),
                                                    utc(2026, 10, 25, 2, 0), utc(2026, 10, 25, 2, 30),
                                                    utc(2026, 10, 25, 3, 0)});
  CHECK(half.matches(utc(2026, 10, 25, 1, 30)));  // 02:30 CET matches as a wall time, yet did not fire

  // New York 2026: 02:00 EST -> 03:00 EDT on 8 March (07:00Z); 02:00 EDT -> 01:00 EST on 1 November (06:00Z).
  cron ny = cron::parse("30 2 * * *").in_zone("America/New_York");
  CHECK(ny.next_after(utc(2026, 3, 7, 12, 0)) == utc(2026, 3, 8, 7, 0));
  CHECK(ny.next_after(utc(2026, 3, 8, 7, 0)) == utc(2026, 3, 9, 6, 30));
  cron ny_early = cron::parse("30 1 * * *").in_zone("America/New_York");
  CHECK(ny_early.next_after(utc(2026, 10, 31, 12, 0)) == utc(2026, 11, 1, 5, 30));  // 01:30 EDT
  CHECK(ny_early.next_after(utc(2026, 11, 1, 5, 30)) == utc(2026, 11, 2, 6, 30));   // 01:30 EST, next day
  cron weekdays = cron::parse("0 9 * * 1-5").in_zone("America/New_York");
  CHECK(weekdays.next_after(utc(2026, 3, 6, 15, 0)) == utc(2026, 3, 9, 13, 0));  // Friday -> Monday 09:00 EDT

  // Lord Howe: +10:30 -> +11 at 02:00 on 4 October 2026 (15:30Z on the 3rd), a 30-minute gap.
  cron lh = cron::parse("15 2 * * *").in_zone("Australia/Lord_Howe");
  CHECK(lh.next_after(utc(2026, 10, 3, 12, 0)) == utc(2026, 10, 3, 15, 30));
  CHECK(lh.next_after(utc(2026, 10, 3, 15, 30)) == utc(2026, 10, 4, 15, 15));

  // Kolkata has no DST: a plain +05:30.
  CHECK(cron::parse("0 9 * * *").in_zone("Asia/Kolkata").next_after(utc(2026, 12, 5, 0, 0)) ==
        utc(2026, 12, 5, 3, 30));
  // UTC by name is the same schedule as the default.
  CHECK(cron::parse("0 3 * * *").in_zone("UTC").next_after(utc(2026, 12, 5, 10, 3)) ==
        utc(2026, 12, 6, 3, 0));
}

TEST_CASE("cron_tz: every matching wall time runs once, when the wall clock first reaches it", "[jobs][tz]") {
  // A brute-force reference walks every UTC minute of a year with a DST change (or Samoa's skipped day) and
  // fires at minute u when the wall clock, advancing from its highest value so far to wall(u), passes a
  // matching wall minute. next_after must produce exactly those instants.
  struct zone_year {
    const char* zone;
    int year;
  };
  const zone_year cases[] = {{"Europe/Berlin", 2026},
                             {"America/New_York", 2026},
                             {"Australia/Lord_Howe", 2026},
                             {"America/Sao_Paulo", 2018},
                             {"Pacific/Apia", 2011}};
  const char* const schedules[] = {"30 2 * * *", "0,30 2 * * *", "*/15 * * * *",
                                   "17 * * * *", "0 0,12 * * *", "45 1 * * 0"};
  for (const zone_year& c : cases) {
    time_zone z = time_zone::load(c.zone);
    auto from = utc(c.year, 1, 1, 0, 0);
    auto to = utc(c.year + 1, 1, 1, 0, 0);
    std::vector<std::chrono::local_seconds> wall;
    for (auto u = from; u < to; u += 1min)
      wall.push_back(z.to_local(std::chrono::floor<std::chrono::seconds>(u)));
    for (const char* text : schedules) {
      INFO(c.zone << " " << c.year << " \"" << text << "\"");
      cron plain = cron::parse(text);
      cron zoned = plain.in_zone(z);
      std::vector<sys_clock::time_point> expected;
      std::chrono::local_seconds reached = wall[0];
      for (std::size_t i = 1; i < wall.size(); ++i) {
        bool fire = false;
        for (auto m = reached + 1min; m <= wall[i]; m += 1min)
          fire = fire || plain.matches(sys_clock::time_point(
                             std::chrono::duration_cast<sys_clock::duration>(m.time_since_epoch())));
        reached = std::max(reached, wall[i]);
        if (fire) expected.push_back(from + std::chrono::minutes(i));
      }
      std::vector<sys_clock::time_point> actual;
      for (auto t = zoned.next_after(from); t < to; t = zoned.next_after(t)) actual.push_back(t);
      CHECK(actual.size() == expected.size());
      CHECK(actual == expected);
    }
  }
}

TEST_CASE("cron_tz: far-future instants follow the zone's footer rule", "[jobs][tz]") {
  // Beyond the last transition stored in the file: the POSIX rule "CET-1CEST,M3.5.0,M10.5.0/3" decides.
  // 2100: the last Sunday of March is the 28th, of October the 31st.
  cron daily = cron::parse("30 2 * * *").in_zone("Europe/Berlin");
  CHECK(daily.next_after(utc(2100, 3, 27, 12, 0)) == utc(2100, 3, 28, 1, 0));     // the gap
  CHECK(daily.next_after(utc(2100, 7, 1, 0, 0)) == utc(2100, 7, 1, 0, 30));       // CEST
  CHECK(daily.next_after(utc(2100, 10, 30, 12, 0)) == utc(2100, 10, 31, 0, 30));  // first of the repeat
  CHECK(daily.next_after(utc(2100, 10, 31, 0, 30)) == utc(2100, 11, 1, 1, 30));   // CET
  cron ny = cron::parse("0 12 * * *").in_zone("America/New_York");
  CHECK(ny.next_after(utc(2099, 1, 15, 0, 0)) == utc(2099, 1, 15, 17, 0));
  CHECK(ny.next_after(utc(2099, 7, 15, 0, 0)) == utc(2099, 7, 15, 16, 0));
}

TEST_CASE("cron_tz: bad zone names and files are refused when the schedule is made", "[jobs][tz]") {
  using keel::jobs::time_zone_error;
  CHECK_THROWS_WITH(time_zone::load("../../etc/passwd"), Catch::Contains("\"..\" path components"));
  CHECK_THROWS_WITH(time_zone::load("Europe/../UTC"), Catch::Contains("\"..\" path components"));
  CHECK_THROWS_WITH(time_zone::load("/usr/share/zoneinfo/UTC"), Catch::Contains("absolute paths"));
  CHECK_THROWS_WITH(time_zone::load("Europe//Berlin"), Catch::Contains("path components"));
  CHECK_THROWS_WITH(time_zone::load(""), Catch::Contains("empty name"));
  CHECK_THROWS_WITH(time_zone::load("Europe/Berlin;rm"), Catch::Contains("invalid character"));
  CHECK_THROWS_WITH(time_zone::load("Mars/Olympus_Mons"),
                    Catch::Contains("time zone \"Mars/Olympus_Mons\": no such zone in /usr/share/zoneinfo"));
  CHECK_THROWS_AS(time_zone::load("Europe"), time_zone_error);  // a directory
  CHECK_THROWS_AS(cron::parse("0 3 * * *").in_zone("Europe/Berln"), time_zone_error);
  CHECK_THROWS_AS(cron::parse("0 3 * * *").in_zone("../UTC"), time_zone_error);

  // $TZDIR is honoured; a file that is not TZif is refused with the reason.
  temp_dir dir;
  std::ifstream kolkata("/usr/share/zoneinfo/Asia/Kolkata", std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(kolkata)), std::istreambuf_iterator<char>());
  dir.write("Test/Kolkata_Copy", bytes);
  dir.write("Test/Not_A_Zone", "hello, world\n");
  dir.write("Test/Truncated", bytes.substr(0, 60));
  keel_test::env_guard env{{"TZDIR", dir.path.c_str()}};
  time_zone copy = time_zone::load("Test/Kolkata_Copy");
  CHECK(copy.offset_at(std::chrono::floor<std::chrono::seconds>(utc(2026, 1, 1, 0, 0))) == 19800s);
  CHECK_THROWS_WITH(time_zone::load("Test/Not_A_Zone"),
                    Catch::Contains("not a valid TZif file (no TZif magic)"));
  CHECK_THROWS_WITH(time_zone::load("Test/Truncated"), Catch::Contains("truncated"));
  CHECK_THROWS_WITH(time_zone::load("Europe/Berlin"),
                    Catch::Contains("no such zone in " + dir.path.string()));
}
