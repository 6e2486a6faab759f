// keel::metrics: Prometheus metrics for an app, served at GET /metrics in the text format (version 0.0.4).
//
//   keel::metrics metrics;                                   // before the app: it is shared with the layer
//   metrics.watch(db);                                       // SQL pool gauges (optional)
//   metrics.gauge("jobs_queued", "Jobs waiting.", [&] { return double(queue.size()); });
//   keel::app{api}.use(metrics, keel::request_id{}, keel::access_log{}).serve(cfg);
//
// What it counts (per thread, into plain per-thread counters: no lock and no atomic read-modify-write on the
// request path; a scrape sums the threads):
//   keel_http_requests_total{route,method,status}       by route template ("/users/{id}"), method, 2xx..5xx
//   keel_http_request_duration_seconds{route}           histogram, fixed buckets (options::buckets)
//   keel_http_requests_in_flight                        requests between this layer's before and after
//   keel_http_connections_open, keel_http_connections_total
//   keel_http_received_bytes_total, keel_http_sent_bytes_total   bytes read and written by HTTP connections
//   keel_sql_connections{pool,state}, keel_sql_waiting_requests{pool}   with watch(db)
// plus the gauges and collectors registered with gauge() and collect(), read at scrape time.
//
// Put it first in .use(...): it then times every other layer too, and counts requests the session rejects
// before routing (400, 413, 431...) under route="(unmatched)", like requests no route matched. An app
// without keel::metrics compiles to the code it had before: the transport counts bytes and connections
// only when a layer of the app asks for it (`static constexpr bool counts_io`).
#pragma once

#include "keel/config.hpp"
#include "keel/context.hpp"
#include "keel/detail/metrics.hpp"
#include "keel/http/method.hpp"
#include "keel/http/status.hpp"
#include "keel/middleware/middleware.hpp"
#include "keel/server/io_counters.hpp"

#include <array>
#include <cmath>
#include <charconv>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

namespace keel {
inline namespace v0 {

// What a collector (metrics.collect(...)) writes into: metric families in the text format. Names must match
// [a-zA-Z_:][a-zA-Z0-9_:]*, label names [a-zA-Z_][a-zA-Z0-9_]* (std::invalid_argument otherwise); values
// and HELP texts are escaped here.
class metrics_text {
 public:
  using label = std::pair<std::string_view, std::string_view>;

  explicit metrics_text(std::string& out) : out_(out) {}

  // The "# HELP" and "# TYPE" lines of a family; type is counter, gauge, histogram, summary or untyped.
  metrics_text& family(std::string_view name, std::string_view type, std::string_view help) {
    check_name(name, false);
    out_.append("# HELP ").append(name).push_back(' ');
    detail::append_help_text(out_, help);
    out_.append("\n# TYPE ").append(name).push_back(' ');
    out_.append(type).push_back('\n');
    return *this;
  }
  // One sample line: name{labels} value.
  metrics_text& sample(std::string_view name, std::initializer_list<label> labels, double value) {
    begin_sample(name, labels.begin(), labels.end());
    detail::append_metric_number(out_, value);
    out_.push_back('\n');
    return *this;
  }
  metrics_text& sample(std::string_view name, std::initializer_list<label> labels, std::uint64_t value) {
    begin_sample(name, labels.begin(), labels.end());
    detail::append_metric_number(out_, value);
    out_.push_back('\n');
    return *this;
  }
  std::string& text() noexcept { return out_; }

 private:
  static void check_name(std::string_view name, bool label) {
    if (!detail::valid_metric_name(name, label))
      throw std::invalid_argument("keel::metrics: invalid " + std::string(label ? "label" : "metric") +
                                  " name '" + std::string(name) + "'");
  }
  void begin_sample(std::string_view name, const label* first, const label* last) {
    check_name(name, false);
    out_.append(name);
    if (first != last) {
      out_.push_back('{');
      for (const label* l = first; l != last; ++l) {
        check_name(l->first, true);
        if (l != first) out_.push_back(',');
        out_.append(l->first).append("=\"");
        detail::append_label_value(out_, l->second);
        out_.push_back('"');
      }
      out_.push_back('}');
    }
    out_.push_back(' ');
  }

  std::string& out_;
};

class metrics {
 public:
  struct options {
    // Where GET (and HEAD) is answered with the metrics.
    std::string path = "/metrics";
    // Upper bounds of the latency histogram's buckets, in seconds, ascending (+Inf is added); at most 24.
    std::vector<double> buckets = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                   0.1,    0.25,  0.5,    1,     2.5,  5,     10};
  };

  // Per-request state: when the request entered this layer, in ticks.
  struct state {
    std::uint64_t start = 0;
    detail::metric_shard* shard = nullptr;  // this thread's, found once in before()
  };

  // The transport counts bytes in and out and connections for apps with this layer.
  static constexpr bool counts_io = true;
  // Requests the session rejects before routing are counted too.
  static constexpr bool sees_rejected_requests = true;

  metrics() : metrics(options{}) {}
  // Throws std::invalid_argument for buckets that are not ascending and finite, or more than 24.
  explicit metrics(options opts) : shared_(std::make_shared<registry>()) {
    if (opts.buckets.size() > detail::metric_max_buckets)
      throw std::invalid_argument("keel::metrics: at most 24 latency buckets");
    for (std::size_t i = 0; i < opts.buckets.size(); ++i)
      if (!(opts.buckets[i] > 0) || std::isinf(opts.buckets[i]) ||
          (i > 0 && !(opts.buckets[i] > opts.buckets[i - 1])))
        throw std::invalid_argument("keel::metrics: latency buckets must be positive, finite and ascending");
    const double rate = detail::metric_ticks_per_second();
    shared_->path = std::move(opts.path);
    shared_->seconds_per_tick = 1.0 / rate;
    shared_->bucket_count = opts.buckets.size();
    for (std::size_t i = 0; i < opts.buckets.size(); ++i) {
      shared_->bounds[i] = opts.buckets[i];
      shared_->bound_ticks[i] = static_cast<std::uint64_t>(opts.buckets[i] * rate);
    }
    shared_->bound_ticks[opts.buckets.size()] = ~std::uint64_t{0};
  }

  // A gauge read at scrape time: `read` runs on the thread serving the scrape (a reactor: keep it quick).
  metrics& gauge(std::string name, std::string help, std::function<double()> read) {
    if (!detail::valid_metric_name(name)) throw std::invalid_argument("keel::metrics: invalid name " + name);
    std::lock_guard lock(shared_->mutex);
    shared_->gauges.push_back({std::move(name), std::move(help), std::move(read)});
    return *this;
  }
  // Families written at scrape time, after keel's own (job queues by name, cache sizes, ...).
  metrics& collect(std::function<void(metrics_text&)> fn) {
    std::lock_guard lock(shared_->mutex);
    shared_->collectors.push_back(std::move(fn));
    return *this;
  }
  // The connection pools of a keel::db: connections in use and idle, and requests waiting for one. The
  // database must outlive the metrics.
  template <class Db>
  requires requires(const Db& d) {
    d.for_each_pool([](std::string_view, std::size_t, std::size_t, std::size_t) {});
  }
  metrics& watch(const Db& db) {
    return collect([&db](metrics_text& out) {
      out.family("keel_sql_connections", "gauge", "SQL connections of each pool, by state (in_use or idle).");
      db.for_each_pool([&](std::string_view pool, std::size_t total, std::size_t idle, std::size_t) {
        out.sample("keel_sql_connections", {{"pool", pool}, {"state", "in_use"}},
                   static_cast<std::uint64_t>(total - idle));
        out.sample("keel_sql_connections", {{"pool", pool}, {"state", "idle"}},
                   static_cast<std::uint64_t>(idle));
      });
      out.family("keel_sql_waiting_requests", "gauge", "Requests waiting for a connection of each SQL pool.");
      db.for_each_pool([&](std::string_view pool, std::size_t, std::size_t, std::size_t waiting) {
        out.sample("keel_sql_waiting_requests", {{"pool", pool}}, static_cast<std::uint64_t>(waiting));
      });
    });
  }

  const std::string& path() const noexcept { return shared_->path; }

  // The whole exposition text, as GET /metrics answers it.
  std::string render() const {
    std::string out;
    out.reserve(4096);
    metrics_text text(out);
    render_http(text);
    std::vector<gauge_entry> gauges;
    std::vector<std::function<void(metrics_text&)>> collectors;
    {
      std::lock_guard lock(shared_->mutex);
      gauges = shared_->gauges;
      collectors = shared_->collectors;
    }
    for (const auto& g : gauges) {
      text.family(g.name, "gauge", g.help);
      text.sample(g.name, {}, g.read());
    }
    for (const auto& c : collectors) c(text);
    return out;
  }

  // --- the middleware
  template <class Ctx>
  KEEL_ALWAYS_INLINE flow before(Ctx& ctx) const {
    state& st = ctx.template state<state>();
    st.start = detail::metric_ticks();
    registry& reg = *shared_;
    detail::metric_shard& shard = reg.shards.local();
    st.shard = &shard;
    detail::bump(shard.started);
    if (KEEL_UNLIKELY(ctx.request().path.size() == reg.path.size())) return maybe_answer(ctx);
    return flow::next;
  }
  template <class Ctx>
  KEEL_ALWAYS_INLINE void after(Ctx& ctx) const {
    const state& st = ctx.template state<state>();
    const std::uint64_t elapsed = detail::metric_ticks() - st.start;
    detail::route_series& s = st.shard->series(ctx.route_path());
    const auto& req = ctx.request();
    detail::bump(s.requests[detail::metric_method_slot(req.method)]
                           [detail::metric_status_slot(ctx.response().status_code())]);
    std::size_t b = 0;
    const auto& bounds = shared_->bound_ticks;
    while (elapsed > bounds[b]) ++b;
    detail::bump(s.buckets[b]);
    detail::bump(s.sum_ticks, elapsed);
  }

 private:
  struct gauge_entry {
    std::string name, help;
    std::function<double()> read;
  };
  struct registry {
    detail::metric_shards shards;
    std::string path;
    double seconds_per_tick = 1e-9;
    std::size_t bucket_count = 0;
    std::array<double, detail::metric_max_buckets> bounds{};
    std::array<std::uint64_t, detail::metric_max_buckets + 1> bound_ticks{};
    std::mutex mutex;  // gauges and collectors
    std::vector<gauge_entry> gauges;
    std::vector<std::function<void(metrics_text&)>> collectors;
  };

  // A route's counts summed over the threads.
  struct route_totals {
    std::array<std::array<std::uint64_t, detail::metric_status_slots>, detail::metric_method_slots>
        requests{};
    std::array<std::uint64_t, detail::metric_max_buckets + 1> buckets{};
    std::uint64_t sum_ticks = 0;
  };

  KEEL_NOINLINE flow maybe_answer(request_context& ctx) const {
    const http::request& req = ctx.request();
    if (req.path != shared_->path || (req.method != http::method::get && req.method != http::method::head))
      return flow::next;
    detail::context_access::set_route_path(ctx, shared_->path);
    answer(ctx.response());
    return flow::respond;
  }
  void answer(keel::response& res) const {
    res.status(http::status::ok);
    res.content_type("text/plain; version=0.0.4; charset=utf-8");
    res.header("Cache-Control", "no-store");
    res.body(render());
  }

  void render_http(metrics_text& text) const {
    std::map<std::string, route_totals, std::less<>> routes;
    std::uint64_t started = 0, finished = 0;
    shared_->shards.for_each([&](const detail::metric_shard& shard) {
      started += shard.started.load(std::memory_order_relaxed);
      shard.for_each([&](const detail::route_series& s) {
        auto& t = routes[std::string(s.route.empty() ? std::string_view("(unmatched)") : s.route)];
        for (std::size_t m = 0; m < detail::metric_method_slots; ++m)
          for (std::size_t c = 0; c < detail::metric_status_slots; ++c)
            t.requests[m][c] += s.requests[m][c].load(std::memory_order_relaxed);
        for (std::size_t b = 0; b <= shared_->bucket_count; ++b) {
          const std::uint64_t n = s.buckets[b].load(std::memory_order_relaxed);
          t.buckets[b] += n;
          finished += n;  // every request that went through after() is in one bucket
        }
        t.sum_ticks += s.sum_ticks.load(std::memory_order_relaxed);
      });
    });
    static constexpr std::string_view classes[] = {"other", "1xx", "2xx", "3xx", "4xx", "5xx"};
    text.family("keel_http_requests_total", "counter",
                "HTTP requests answered, by route template, method and status class.");
    for (const auto& [route, t] : routes)
      for (std::size_t m = 0; m < detail::metric_method_slots; ++m)
        for (std::size_t c = 0; c < 6; ++c) {
          // Slots 0, 6 and 7 (below 100, above 599) are one series.
          std::uint64_t n = t.requests[m][c];
          if (c == 0)
            for (std::size_t o = 6; o < detail::metric_status_slots; ++o) n += t.requests[m][o];
          if (n != 0)
            text.sample("keel_http_requests_total",
                        {{"route", route}, {"method", detail::metric_method_name(m)}, {"status", classes[c]}},
                        n);
        }
    text.family("keel_http_request_duration_seconds", "histogram",
                "Time from the metrics layer's before to its after, by route template.");
    for (const auto& [route, t] : routes) {
      std::uint64_t cumulative = 0;
      char le[32];
      for (std::size_t b = 0; b <= shared_->bucket_count; ++b) {
        cumulative += t.buckets[b];
        std::string_view bound = "+Inf";
        if (b < shared_->bucket_count) {
          auto r = std::to_chars(le, le + sizeof le, shared_->bounds[b], std::chars_format::fixed);
          if (r.ec != std::errc{}) r = std::to_chars(le, le + sizeof le, shared_->bounds[b]);  // huge: 1e+30
          bound = std::string_view(le, static_cast<std::size_t>(r.ptr - le));
        }
        text.sample("keel_http_request_duration_seconds_bucket", {{"route", route}, {"le", bound}},
                    cumulative);
      }
      text.sample("keel_http_request_duration_seconds_sum", {{"route", route}},
                  static_cast<double>(t.sum_ticks) * shared_->seconds_per_tick);
      text.sample("keel_http_request_duration_seconds_count", {{"route", route}}, cumulative);
    }
    text.family("keel_http_requests_in_flight", "gauge",
                "HTTP requests being served (this scrape included).");
    text.sample("keel_http_requests_in_flight", {}, started - finished);
    const detail::io_counters::totals io = detail::io_counters::sum();
    text.family("keel_http_connections_open", "gauge", "Open HTTP connections.");
    text.sample("keel_http_connections_open", {}, io.connections_opened - io.connections_closed);
    text.family("keel_http_connections_total", "counter", "HTTP connections accepted.");
    text.sample("keel_http_connections_total", {}, io.connections_opened);
    text.family("keel_http_received_bytes_total", "counter", "Bytes read from HTTP connections.");
    text.sample("keel_http_received_bytes_total", {}, io.bytes_in);
    text.family("keel_http_sent_bytes_total", "counter", "Bytes written to HTTP connections.");
    text.sample("keel_http_sent_bytes_total", {}, io.bytes_out);
  }

  std::shared_ptr<registry> shared_;  // shared by the copies (the app keeps one in its stack)
};

}  // namespace v0
}  // namespace keel
