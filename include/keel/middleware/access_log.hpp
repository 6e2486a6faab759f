// keel::access_log: one JSON line per request, to stderr, a file, or a callback.
#pragma once

#include "keel/config.hpp"
#include "keel/context.hpp"
#include "keel/detail/json_escape.hpp"
#include "keel/detail/test_mode.hpp"
#include "keel/http/method.hpp"
#include "keel/http/response.hpp"
#include "keel/json/time.hpp"

#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

//   keel::app{api}.use<keel::request_id, keel::access_log>()                   // stderr (not in tests)
//   keel::app{api}.use(keel::access_log{{.path = "/var/log/app/access.log"}})  // appended to a file
//   keel::app{api}.use(keel::access_log{{.callback = &to_my_logger, .user = &logger}})
//
// A line looks like
//   {"time":"2026-11-21T12:00:00.123Z","method":"GET","path":"/users/42","status":200,"bytes":27,
//    "duration_us":85,"request_id":"4f1c...-2a","route":"/users/{id}"}
// and, when the app uses keel::traceparent and the request carried a valid traceparent header,
//    ...,"trace_id":"4bf92f3577b34da6a3ce929d0e0e4736"}
// The path is the raw path without the query string: queries often carry tokens that must not reach logs.
// Put it inside keel::request_id (after it in .use<>) so the id is known when the line is written.
//
// Headers are not logged unless asked for by name, `{.request_headers = {"User-Agent", "Authorization"}}`
// (and response_headers): they then appear as "request_headers":{"user-agent":"curl/7.88"} (names lowercase,
// first value, absent ones left out). Credentials never do: Authorization, Proxy-Authorization, Cookie,
// Set-Cookie and X-API-Key (and the names in `redact`) are written as "[redacted]" whatever the options say.

namespace keel {
inline namespace v0 {

class access_log {
 public:
  // Receives each line (without the trailing newline). Called on the reactor thread that served the
  // request, possibly from several threads at once.
  using sink_fn = void (*)(std::string_view line, void* user);

  // Where lines go: `callback` when set, else the file at `path` (appended, created when missing), else
  // stderr. A callback or a path is asked for and always written; the stderr default is not written while
  // the process runs a keel::test_client (test output stays readable) unless `stderr_in_tests` says so.
  struct options {
    std::string path = {};
    sink_fn callback = nullptr;
    void* user = nullptr;
    bool stderr_in_tests = false;
    std::vector<std::string> request_headers = {};   // request headers to log, by name
    std::vector<std::string> response_headers = {};  // response headers to log, by name
    std::vector<std::string> redact = {};            // more names whose values never reach the log
  };

  // Header names whose values are credentials: logged as "[redacted]" if asked for at all.
  static bool is_secret_header(std::string_view name) noexcept {
    for (std::string_view secret :
         {"authorization", "proxy-authorization", "cookie", "set-cookie", "x-api-key"})
      if (detail::iequals(name, secret)) return true;
    return false;
  }

  // Per-request state: when the request entered this layer.
  struct state {
    std::chrono::steady_clock::time_point start{};
  };

  access_log() : access_log(options{}) {}
  // Throws std::system_error when the file cannot be opened: better at start-up than silently losing logs.
  explicit access_log(options opts) : callback_(opts.callback), user_(opts.user) {
    if (!opts.request_headers.empty() || !opts.response_headers.empty()) {
      auto logged = std::make_shared<logged_headers>();
      auto add = [&](const std::vector<std::string>& names, std::vector<logged_header>& out) {
        for (const auto& n : names) {
          bool secret = is_secret_header(n);
          for (const auto& r : opts.redact) secret = secret || detail::iequals(n, r);
          std::string lower;
          for (char c : n) lower.push_back(detail::ascii_lower(c));
          out.push_back({n, std::move(lower), secret});
        }
      };
      add(opts.request_headers, logged->request);
      add(opts.response_headers, logged->response);
      headers_ = std::move(logged);
    }
    if (callback_ != nullptr) return;
    if (opts.path.empty()) {
      file_ = std::shared_ptr<std::FILE>(stderr, [](std::FILE*) {});
      quiet_in_tests_ = !opts.stderr_in_tests;
      return;
    }
    std::FILE* f = std::fopen(opts.path.c_str(), "a");
    if (f == nullptr)
      throw std::system_error(errno, std::generic_category(), "keel::access_log: cannot open " + opts.path);
    // Line-buffered: each line leaves in one write, whole (stdio locks the FILE per call), and a crash loses
    // at most the line being written.
    std::setvbuf(f, nullptr, _IOLBF, 0);
    file_ = std::shared_ptr<std::FILE>(f, [](std::FILE* p) { std::fclose(p); });
  }

  template <class Ctx>
  void before(Ctx& ctx) const {
    ctx.template state<state>().start = std::chrono::steady_clock::now();
  }

  template <class Ctx>
  void after(Ctx& ctx) const {
    auto elapsed = std::chrono::steady_clock::now() - ctx.template state<state>().start;
    // One buffer per thread, reused: once it has grown to the longest line, logging allocates nothing.
    thread_local std::string line;
    line.clear();
    format_line(line, ctx, std::chrono::system_clock::now(),
                std::chrono::duration_cast<std::chrono::microseconds>(elapsed).count());
    if (headers_) append_headers(line, ctx, *headers_);
    write(line);
  }

  template <class Number>
  static void append_number(std::string& out, Number n) {
    char digits[24];
    const auto r = std::to_chars(digits, digits + sizeof digits, n);
    out.append(digits, r.ptr);
  }

  // Appends the JSON line for the request in `ctx` (no newline) to `out`.
  static void format_line(std::string& out, const request_context& ctx,
                          std::chrono::system_clock::time_point now, std::int64_t duration_us) {
    const http::request& req = ctx.request();
    char time[detail::rfc3339_length];
    detail::format_rfc3339(time, now);
    out.append(R"({"time":")").append(time, sizeof time).append(R"(","method":)");
    detail::append_json_string(
        out, req.method == http::method::unknown ? req.method_name : http::to_string(req.method));
    out.append(R"(,"path":)");
    detail::append_json_string(out, req.path);
    // Plain to_chars, not fmt::format_to: that one call instantiated fmt's formatting engine in every
    // translation unit including <keel.hpp>.
    out.append(R"(,"status":)");
    append_number(out, ctx.response().status_code());
    out.append(R"(,"bytes":)");
    append_number(out, ctx.response().body().size());
    out.append(R"(,"duration_us":)");
    append_number(out, duration_us);
    out.append(R"(,"request_id":)");
    detail::append_json_string(out, ctx.request_id());
    out.append(R"(,"route":)");
    detail::append_json_string(out, ctx.route_path());
    // With keel::traceparent in the app: the trace id of a request that carried a valid traceparent.
    if (!ctx.trace_id().empty()) out.append(R"(,"trace_id":")").append(ctx.trace_id()).push_back('"');
    out.push_back('}');
  }

 private:
  struct logged_header {
    std::string name, lower;
    bool secret = false;
  };
  struct logged_headers {
    std::vector<logged_header> request, response;
  };

  // Adds ,"request_headers":{...},"response_headers":{...} before the line's closing brace.
  static void append_headers(std::string& line, const request_context& ctx, const logged_headers& h) {
    line.pop_back();  // '}'
    auto group = [&line](std::string_view key, const std::vector<logged_header>& names, auto&& value_of) {
      if (names.empty()) return;
      line.append(",\"").append(key).append("\":{");
      bool first = true;
      for (const auto& n : names) {
        const std::string_view v = value_of(n.name);
        if (v.empty()) continue;
        if (!first) line.push_back(',');
        first = false;
        detail::append_json_string(line, n.lower);
        line.push_back(':');
        detail::append_json_string(line, n.secret ? std::string_view("[redacted]") : v);
      }
      line.push_back('}');
    };
    group("request_headers", h.request, [&ctx](std::string_view n) { return ctx.request().header(n); });
    group("response_headers", h.response, [&ctx](std::string_view n) { return ctx.response().header(n); });
    line.push_back('}');
  }

  void write(std::string& line) const {
    if (callback_ != nullptr) {
      callback_(line, user_);
      return;
    }
    if (quiet_in_tests_ && detail::running_under_test_client.load(std::memory_order_relaxed)) return;
    line.push_back('\n');
    std::fwrite(line.data(), 1, line.size(), file_.get());
  }

  // Shared by the copies of this middleware (the app copies it into its stack); closed with the last one.
  std::shared_ptr<std::FILE> file_;
  sink_fn callback_ = nullptr;
  void* user_ = nullptr;
  bool quiet_in_tests_ = false;                    // the stderr default, not asked for explicitly
  std::shared_ptr<const logged_headers> headers_;  // null: no headers logged
};

}  // namespace v0
}  // namespace keel
