// keel::detail metrics internals: the tick clock, the per-thread shards keel::metrics counts into, and the
// helpers that write the Prometheus text format.
#pragma once

#include "keel/config.hpp"
#include "keel/http/method.hpp"
#include "keel/server/io_counters.hpp"

#include <array>
#include <atomic>
#include <bit>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace keel {
inline namespace v0 {
namespace detail {

// A monotonic tick count, as cheap as the machine allows: the TSC on x86 (constant-rate on every CPU of the
// last fifteen years), steady_clock elsewhere. Request latency is two reads of it.
inline std::uint64_t metric_ticks() noexcept {
#if defined(__x86_64__) || defined(__i386__)
  return __builtin_ia32_rdtsc();
#else
  return static_cast<std::uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
#endif
}

// Ticks per second, measured once against steady_clock (a 2 ms spin, at the first keel::metrics).
inline double metric_ticks_per_second() {
  static const double rate = [] {
#if defined(__x86_64__) || defined(__i386__)
    using clock = std::chrono::steady_clock;
    const auto t0 = clock::now();
    const std::uint64_t c0 = __builtin_ia32_rdtsc();
    while (clock::now() - t0 < std::chrono::milliseconds(2)) {
    }
    const auto t1 = clock::now();
    const std::uint64_t c1 = __builtin_ia32_rdtsc();
    return static_cast<double>(c1 - c0) / std::chrono::duration<double>(t1 - t0).count();
#else
    using period = std::chrono::steady_clock::period;
    return static_cast<double>(period::den) / static_cast<double>(period::num);
#endif
  }();
  return rate;
}

// Methods by slot: GET .. TRACE in keel::http::method's bit order (0..8), then 9 for extension methods;
// branch-free (the bit above TRACE stands in for "none").
inline constexpr std::size_t metric_method_slots = 10;
inline std::size_t metric_method_slot(http::method m) noexcept {
  return static_cast<std::size_t>(
      std::countr_zero(static_cast<unsigned>(static_cast<std::uint16_t>(m)) | 0x200u));
}
inline std::string_view metric_method_name(std::size_t slot) noexcept {
  return slot < 9 ? http::to_string(http::all_methods[slot]) : std::string_view("other");
}
// Status classes by slot: code / 100, capped at 7 (eight slots: the index is a shift); slots 1..5 are
// 1xx..5xx, the others hold anything outside 100-599 (reported as status="other").
inline constexpr std::size_t metric_status_slots = 8;
inline std::size_t metric_status_slot(int code) noexcept {
  const unsigned c = static_cast<unsigned>(code) / 100u;
  return c < 7u ? c : 7u;
}

// The most latency buckets a keel::metrics may have (without +Inf).
inline constexpr std::size_t metric_max_buckets = 24;

// One route's counts on one thread: requests by method and status class, latency buckets (not cumulative:
// each request adds to its one bucket; the last one is +Inf) and the sum of latencies in ticks.
struct route_series {
  std::string_view route;
  std::array<std::array<std::atomic<std::uint64_t>, metric_status_slots>, metric_method_slots> requests{};
  std::array<std::atomic<std::uint64_t>, metric_max_buckets + 1> buckets{};
  std::atomic<std::uint64_t> sum_ticks{0};
};

// What one thread counted for one keel::metrics. Only its thread writes it; the scrape reads it.
class metric_shard {
 public:
  std::atomic<std::uint64_t> started{0};  // requests that entered the layer (finished ones are in buckets)

  metric_shard() { never_used_.route = std::string_view(&tag_, 1); }  // matches no route's text
  metric_shard(const metric_shard&) = delete;
  metric_shard& operator=(const metric_shard&) = delete;

  // The series of a route template, found by the address of its text (a route's template is one static
  // string), or made on its first request on this thread.
  KEEL_ALWAYS_INLINE route_series& series(std::string_view route) {
    // The address alone: each route template is its own static string.
    if (KEEL_LIKELY(last_->route.data() == route.data())) return *last_;
    return find(route);
  }

  // Calls fn(const route_series&) for each series (on the scraping thread).
  template <class F>
  void for_each(F&& fn) const {
    std::lock_guard lock(mutex_);
    for (const auto& s : owned_) fn(*s);
  }

 private:
  KEEL_NOINLINE route_series& find(std::string_view route) {
    const std::size_t mask = slots_.size() - 1;
    for (std::size_t i = hash(route.data()) & mask;; i = (i + 1) & mask) {
      route_series* s = slots_[i];
      if (s != nullptr && s->route.data() == route.data() && s->route.size() == route.size())
        return *(last_ = s);
      if (s == nullptr) return *(last_ = &add(route));
    }
  }
  static std::size_t hash(const char* p) noexcept {
    return static_cast<std::size_t>((reinterpret_cast<std::uintptr_t>(p) * 0x9E3779B97F4A7C15ull) >> 40);
  }
  KEEL_NOINLINE route_series& add(std::string_view route) {
    std::lock_guard lock(mutex_);  // against a scrape reading owned_
    auto& s = *owned_.emplace_back(std::make_unique<route_series>());
    s.route = route;
    if (owned_.size() * 2 > slots_.size()) {
      std::vector<route_series*> bigger(slots_.size() * 2, nullptr);
      for (const auto& o : owned_) place(bigger, o.get());
      slots_.swap(bigger);
    } else {
      place(slots_, &s);
    }
    return s;
  }
  static void place(std::vector<route_series*>& table, route_series* s) {
    const std::size_t mask = table.size() - 1;
    std::size_t i = hash(s->route.data()) & mask;
    while (table[i] != nullptr) i = (i + 1) & mask;
    table[i] = s;
  }

  // The series the last request used (a dummy one, never counted into, before the first): most requests
  // on a thread in a row hit the same few routes.
  char tag_ = 0;
  route_series never_used_;
  route_series* last_ = &never_used_;
  std::vector<route_series*> slots_ = std::vector<route_series*>(32, nullptr);
  std::vector<std::unique_ptr<route_series>> owned_;
  mutable std::mutex mutex_;
};

// The shards of one keel::metrics, one per thread that served a request. A thread finds its shard through
// a thread-local cache keyed by the registry's id (ids are never reused, so a registry made at a dead one's
// address is never confused with it).
class metric_shards {
 public:
  metric_shards() : id_(next_id()) {}
  metric_shards(const metric_shards&) = delete;
  metric_shards& operator=(const metric_shards&) = delete;

  KEEL_ALWAYS_INLINE metric_shard& local() {
    thread_local cache c;
    if (KEEL_LIKELY(c.id == id_)) return *c.shard;
    return attach(c);
  }

  template <class F>
  void for_each(F&& fn) const {
    std::lock_guard lock(mutex_);
    for (const auto& s : shards_) fn(*s);
  }

 private:
  struct cache {
    std::uint64_t id = 0;
    metric_shard* shard = nullptr;
  };
  static std::uint64_t next_id() {
    static std::atomic<std::uint64_t> n{0};
    return n.fetch_add(1) + 1;
  }
  KEEL_NOINLINE metric_shard& attach(cache& c) {
    std::lock_guard lock(mutex_);
    // A thread that alternates between two registries makes a new shard each time it switches; the counts
    // stay right (the scrape sums them all). Servers run one app per reactor thread, so it does not happen.
    c.shard = shards_.emplace_back(std::make_unique<metric_shard>()).get();
    c.id = id_;
    return *c.shard;
  }

  std::uint64_t id_;
  mutable std::mutex mutex_;
  std::vector<std::unique_ptr<metric_shard>> shards_;
};

// --- the text format (version 0.0.4)

inline void append_metric_number(std::string& out, double v) {
  if (std::isnan(v)) {
    out.append("NaN");
  } else if (std::isinf(v)) {
    out.append(v > 0 ? "+Inf" : "-Inf");
  } else {
    char buf[32];
    const auto r = std::to_chars(buf, buf + sizeof buf, v);
    out.append(buf, r.ptr);
  }
}
inline void append_metric_number(std::string& out, std::uint64_t v) {
  char buf[24];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, r.ptr);
}

// A label value: backslash, double quote and line feed escaped.
inline void append_label_value(std::string& out, std::string_view v) {
  for (char c : v) {
    if (c == '\\')
      out.append("\\\\");
    else if (c == '"')
      out.append("\\\"");
    else if (c == '\n')
      out.append("\\n");
    else
      out.push_back(c);
  }
}
// A HELP text: backslash and line feed escaped.
inline void append_help_text(std::string& out, std::string_view v) {
  for (char c : v) {
    if (c == '\\')
      out.append("\\\\");
    else if (c == '\n')
      out.append("\\n");
    else
      out.push_back(c);
  }
}

// [a-zA-Z_:][a-zA-Z0-9_:]* (metric names); labels do not take ':'.
constexpr bool valid_metric_name(std::string_view name, bool label = false) noexcept {
  if (name.empty()) return false;
  for (std::size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (c == ':' && !label) ||
                    (i > 0 && c >= '0' && c <= '9');
    if (!ok) return false;
  }
  return true;
}

}  // namespace detail
}  // namespace v0
}  // namespace keel
