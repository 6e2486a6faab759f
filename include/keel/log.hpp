// keel/log.hpp: structured log lines, one JSON object per line, with levels; messages are formatted with
// fmt (link keel::log, or fmt::fmt). An add-on: keel.hpp does not include it, so apps that do not log this
// way never compile fmt's formatting engine.
//
//   keel::log_info("cache warmed: {} entries", n);
//   keel::log_warn(ctx, "user {} is over quota", user_id);   // in a handler or middleware: request fields
//   too keel::configure_log({.min_level = keel::log_level::debug});
//
// A line:
//   {"time":"2026-12-05T07:00:00.123Z","level":"warn","msg":"user 7 is over quota",
//    "request_id":"4f1c...-2a","trace_id":"4bf92f3577b34da6a3ce929d0e0e4736","route":"/users/{id}"}
// request_id comes from keel::request_id, trace_id from keel::traceparent (a valid W3C traceparent header),
// route is the matched route's template; each is left out when empty. Lines go to stderr, or to the
// callback set with configure_log (the same callback type keel::access_log takes, so both can share a sink).
#pragma once

#include "keel/config.hpp"
#include "keel/context.hpp"
#include "keel/detail/json_escape.hpp"
#include "keel/json/time.hpp"
#include "keel/middleware/access_log.hpp"

#include <fmt/format.h>

#include <atomic>
#include <chrono>
#include <concepts>
#include <cstdio>
#include <iterator>
#include <string>
#include <string_view>
#include <utility>

namespace keel {
inline namespace v0 {

enum class log_level : int { debug = 0, info = 1, warn = 2, error = 3 };

struct log_options {
  log_level min_level = log_level::info;   // lines below it are not formatted at all
  access_log::sink_fn callback = nullptr;  // receives each line without its newline; null: stderr
  void* user = nullptr;
};

namespace detail {

struct log_settings {
  std::atomic<int> min_level{static_cast<int>(log_level::info)};
  std::atomic<access_log::sink_fn> callback{nullptr};
  std::atomic<void*> user{nullptr};
};
inline log_settings& log_config() noexcept {
  static log_settings s;
  return s;
}

inline std::string_view log_level_name(log_level l) noexcept {
  switch (l) {
    case log_level::debug:
      return "debug";
    case log_level::info:
      return "info";
    case log_level::warn:
      return "warn";
    case log_level::error:
      return "error";
  }
  return "info";
}

// Writes one line: the message already formatted, plus the request's fields when there is a request.
inline void write_log_line(log_level level, std::string_view message, const request_context* ctx) {
  thread_local std::string line;  // reused: once grown, logging allocates nothing here
  line.clear();
  char time[rfc3339_length];
  format_rfc3339(time, std::chrono::system_clock::now());
  line.append(R"({"time":")").append(time, sizeof time).append(R"(","level":")");
  line.append(log_level_name(level)).append(R"(","msg":)");
  append_json_string(line, message);
  if (ctx != nullptr) {
    if (!ctx->request_id().empty()) {
      line.append(R"(,"request_id":)");
      append_json_string(line, ctx->request_id());
    }
    if (!ctx->trace_id().empty()) line.append(R"(,"trace_id":")").append(ctx->trace_id()).push_back('"');
    if (!ctx->route_path().empty()) {
      line.append(R"(,"route":)");
      append_json_string(line, ctx->route_path());
    }
  }
  line.push_back('}');
  log_settings& s = log_config();
  if (access_log::sink_fn cb = s.callback.load(std::memory_order_acquire)) {
    cb(line, s.user.load(std::memory_order_relaxed));
    return;
  }
  line.push_back('\n');
  std::fwrite(line.data(), 1, line.size(), stderr);  // one call: stdio keeps the line whole
}

template <class... Args>
void log_at(log_level level, const request_context* ctx, fmt::format_string<Args...> format, Args&&... args) {
  if (static_cast<int>(level) < log_config().min_level.load(std::memory_order_relaxed)) return;
  thread_local fmt::memory_buffer message;
  message.clear();
  fmt::format_to(std::back_inserter(message), format, std::forward<Args>(args)...);
  write_log_line(level, std::string_view(message.data(), message.size()), ctx);
}

}  // namespace detail

// Sets the level and the sink for every thread. Call it at start-up.
inline void configure_log(const log_options& o) noexcept {
  detail::log_settings& s = detail::log_config();
  s.min_level.store(static_cast<int>(o.min_level), std::memory_order_relaxed);
  s.user.store(o.user, std::memory_order_relaxed);
  s.callback.store(o.callback, std::memory_order_release);
}
inline bool log_enabled(log_level l) noexcept {
  return static_cast<int>(l) >= detail::log_config().min_level.load(std::memory_order_relaxed);
}

// keel::log_<level>(format, args...) and keel::log_<level>(ctx, format, args...).
#define KEEL_DEFINE_LOG_LEVEL(name)                                                \
  template <class... Args>                                                         \
  void log_##name(fmt::format_string<Args...> format, Args&&... args) {            \
    detail::log_at(log_level::name, nullptr, format, std::forward<Args>(args)...); \
  }                                                                                \
  template <class Ctx, class... Args>                                              \
  requires std::derived_from<Ctx, request_context>                                 \
  void log_##name(Ctx& ctx, fmt::format_string<Args...> format, Args&&... args) {  \
    detail::log_at(log_level::name, &ctx, format, std::forward<Args>(args)...);    \
  }
KEEL_DEFINE_LOG_LEVEL(debug)
KEEL_DEFINE_LOG_LEVEL(info)
KEEL_DEFINE_LOG_LEVEL(warn)
KEEL_DEFINE_LOG_LEVEL(error)
#undef KEEL_DEFINE_LOG_LEVEL

}  // namespace v0
}  // namespace keel
