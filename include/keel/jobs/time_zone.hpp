// keel::jobs::time_zone: a named IANA zone read from the system's tz database (TZif files in $TZDIR, else
// /usr/share/zoneinfo), for cron schedules in local wall time. libstdc++ 12 has no std::chrono::tzdb, and
// localtime_r reads the process-wide TZ, so keel reads the zone files itself (keel/jobs/detail/tzif.hpp).
//   auto berlin = keel::jobs::time_zone::load("Europe/Berlin");   // file I/O: at configuration time
//   std::chrono::seconds off = berlin.offset_at(now);                // +3600s or +7200s: pure computation
//   std::chrono::local_seconds wall = berlin.to_local(now);
//   auto r = berlin.resolve(wall);         // the instant of a wall time; says when it was skipped or
//   repeated
// A name must be a relative path of [A-Za-z0-9_+-.] components without "." or ".." (no absolute paths);
// anything else, a missing file or one that is not a TZif file throws time_zone_error.
#pragma once

#include "keel/config.hpp"
#include "keel/jobs/detail/tzif.hpp"

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>

namespace keel {
inline namespace v0 {
namespace jobs {

class time_zone_error : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

class time_zone {
 public:
  // A wall time's instant. unique: it happens once; repeated: twice (a fall-back overlap), `instant` is the
  // first and `later` the second; skipped: never (a spring-forward gap), `instant` is the first instant after
  // the gap (the transition).
  struct resolution {
    enum class kind : std::uint8_t { unique, repeated, skipped };
    kind what = kind::unique;
    std::chrono::sys_seconds instant;
    std::chrono::sys_seconds later;
  };

  time_zone() = default;  // UTC, without reading anything
  static time_zone utc() { return time_zone(); }

  static time_zone load(std::string_view name) {
    check_name(name);
    const char* env = std::getenv("TZDIR");
    std::filesystem::path dir = env != nullptr && *env != '\0' ? env : "/usr/share/zoneinfo";
    std::filesystem::path file = dir / std::filesystem::path(std::string(name));
    std::error_code ec;
    if (!std::filesystem::is_regular_file(file, ec))
      throw time_zone_error("time zone \"" + std::string(name) + "\": no such zone in " + dir.string() +
                            " (TZDIR; install tzdata)");
    std::ifstream in(file, std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (!in.good() && !in.eof())
      throw time_zone_error("time zone \"" + std::string(name) + "\": cannot read " + file.string());
    time_zone z;
    try {
      z.data_ = std::make_shared<const detail::tz_data>(detail::parse_tzif(bytes, file.string()));
    } catch (const detail::tz_parse_error& e) {
      throw time_zone_error("time zone \"" + std::string(name) + "\": " + e.what());
    }
    z.name_ = std::string(name);
    return z;
  }

  const std::string& name() const noexcept { return name_; }
  bool is_utc() const noexcept { return data_ == nullptr; }

  std::chrono::seconds offset_at(std::chrono::sys_seconds t) const {
    return std::chrono::seconds(data_ ? data_->offset_at(t.time_since_epoch().count()) : 0);
  }
  std::chrono::local_seconds to_local(std::chrono::sys_seconds t) const {
    return std::chrono::local_seconds(t.time_since_epoch() + offset_at(t));
  }

  // The first instant after t at which the UTC offset changes, if any.
  std::optional<std::chrono::sys_seconds> next_change(std::chrono::sys_seconds t) const {
    if (!data_) return std::nullopt;
    auto c = data_->next_change(t.time_since_epoch().count());
    if (!c) return std::nullopt;
    return std::chrono::sys_seconds(std::chrono::seconds(*c));
  }

  resolution resolve(std::chrono::local_seconds wall) const {
    using namespace std::chrono;
    std::int64_t l = wall.time_since_epoch().count();
    resolution r;
    if (!data_) {
      r.instant = sys_seconds(seconds(l));
      return r;
    }
    // Walk the offset intervals around the wall time (offsets stay within +-26 h): each interval [from, to)
    // with offset o covers the wall times [from + o, to + o).
    std::int64_t from = l - 2 * 86400;
    bool found = false;
    for (int guard = 0; guard < 64; ++guard) {
      std::int32_t o = data_->offset_at(from);
      std::optional<std::int64_t> to = data_->next_change(from);
      std::int64_t at = l - o;
      if (at >= from && (!to || at < *to)) {
        if (found) {
          r.what = resolution::kind::repeated;
          r.later = sys_seconds(seconds(at));
          return r;
        }
        found = true;
        r.instant = sys_seconds(seconds(at));
      } else if (!found && to && at >= *to && l < *to + data_->offset_at(*to)) {
        r.what = resolution::kind::skipped;  // the wall clock jumped over l at *to
        r.instant = sys_seconds(seconds(*to));
        return r;
      }
      if (!to || *to > l + 2 * 86400) break;
      from = *to;
    }
    if (!found) r.instant = sys_seconds(seconds(l - data_->offset_at(l)));  // unreachable for sane zones
    return r;
  }

 private:
  static void check_name(std::string_view name) {
    auto bad = [&](const char* why) {
      throw time_zone_error("time zone \"" + std::string(name) + "\": " + why);
    };
    if (name.empty()) bad("empty name");
    if (name.size() > 255) bad("name too long");
    if (name.front() == '/') bad("absolute paths are not zone names (use e.g. \"Europe/Berlin\")");
    for (char c : name)
      if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '/' ||
            c == '_' || c == '-' || c == '+' || c == '.'))
        bad("invalid character in zone name");
    std::size_t pos = 0;
    while (pos <= name.size()) {
      std::size_t slash = name.find('/', pos);
      std::string_view part = name.substr(pos, slash == std::string_view::npos ? name.npos : slash - pos);
      if (part.empty() || part == "." || part == "..")
        bad("empty, \".\" or \"..\" path components are not allowed in zone names");
      if (slash == std::string_view::npos) break;
      pos = slash + 1;
    }
  }

  std::shared_ptr<const detail::tz_data> data_;  // null: UTC
  std::string name_ = "UTC";
};

}  // namespace jobs
}  // namespace v0
}  // namespace keel
