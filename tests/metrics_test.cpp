// keel::metrics and keel::health over real sockets: the /metrics text format (HELP/TYPE lines, label
// escaping, cumulative histogram buckets ending in +Inf), counts that follow known requests, bytes and
// connections, SQL pool gauges, scrape-time gauges; /healthz, /readyz with a failing check, and /readyz
// turning 503 when graceful shutdown begins.
#include "keel/app.hpp"
#include "keel/health.hpp"
#include "keel/metrics.hpp"
#include "keel/router/router.hpp"
#include "keel/server/server.hpp"
#include "keel/sql.hpp"
#include "keel/task.hpp"

#include "support/http_exchange.hpp"
#include "support/local_server.hpp"
#include "support/raw_client.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <cstdint>
#include <map>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

using keel_test::exchange;

// One sample line of the text format, parsed strictly: name, labels (unescaped), value.
struct sample {
  std::string name;
  std::map<std::string, std::string> labels;
  double value = 0;
};
struct family {
  std::string type, help;
  std::vector<sample> samples;
};

// Parses the exposition text by the 0.0.4 rules, failing the test on any line that breaks them.
std::map<std::string, family> parse(const std::string& text) {
  std::map<std::string, family> out;
  std::string current;
  std::istringstream in(text);
  std::string line;
  REQUIRE(!text.empty());
  REQUIRE(text.back() == '\n');
  while (std::getline(in, line)) {
    INFO(line);
    REQUIRE(!line.empty());
    if (line.rfind("# HELP ", 0) == 0) {
      const auto rest = line.substr(7);
      const auto sp = rest.find(' ');
      current = rest.substr(0, sp);
      REQUIRE(out[current].help.empty());
      out[current].help = rest.substr(sp + 1);
      continue;
    }
    if (line.rfind("# TYPE ", 0) == 0) {
      const auto rest = line.substr(7);
      const auto sp = rest.find(' ');
      REQUIRE(rest.substr(0, sp) == current);  // TYPE follows its HELP, before any sample
      REQUIRE(out[current].samples.empty());
      out[current].type = rest.substr(sp + 1);
      const auto& t = out[current].type;
      REQUIRE((t == "counter" || t == "gauge" || t == "histogram"));
      continue;
    }
    REQUIRE(line[0] != '#');
    sample s;
    std::size_t i = 0;
    while (i < line.size() && line[i] != '{' && line[i] != ' ') s.name.push_back(line[i++]);
    REQUIRE(keel::detail::valid_metric_name(s.name));
    if (line[i] == '{') {
      ++i;
      while (line[i] != '}') {
        std::string name, value;
        while (line[i] != '=') name.push_back(line[i++]);
        REQUIRE(keel::detail::valid_metric_name(name, true));
        REQUIRE(line.substr(i, 2) == "=\"");
        i += 2;
        while (line[i] != '"') {
          if (line[i] == '\\') {
            const char e = line[i + 1];
            REQUIRE((e == '\\' || e == '"' || e == 'n'));
            value.push_back(e == 'n' ? '\n' : e);
            i += 2;
          } else {
            REQUIRE(line[i] != '\n');
            value.push_back(line[i++]);
          }
        }
        ++i;
        REQUIRE(s.labels.emplace(name, value).second);
        if (line[i] == ',') ++i;
      }
      ++i;
    }
    REQUIRE(line[i] == ' ');
    const std::string v = line.substr(i + 1);
    s.value = v == "+Inf" ? 1e308 * 10 : std::stod(v);
    // A sample belongs to the family its HELP/TYPE announced (histograms: _bucket, _sum, _count).
    const family& f = out[current];
    if (f.type == "histogram") {
      REQUIRE((s.name == current + "_bucket" || s.name == current + "_sum" || s.name == current + "_count"));
    } else {
      REQUIRE(s.name == current);
    }
    out[current].samples.push_back(s);
  }
  return out;
}

double value_of(const family& f, const std::map<std::string, std::string>& labels,
                const std::string& name = "") {
  for (const auto& s : f.samples) {
    if (!name.empty() && s.name != name) continue;
    bool match = true;
    for (const auto& [k, v] : labels) match = match && s.labels.count(k) && s.labels.at(k) == v;
    if (match) return s.value;
  }
  return -1;
}

// Checks every histogram: per label set, buckets ascending in le and cumulative, the last le="+Inf" equal
// to _count.
void check_histograms(const std::map<std::string, family>& fams) {
  for (const auto& [name, f] : fams) {
    if (f.type != "histogram") continue;
    std::map<std::string, std::vector<std::pair<double, double>>> buckets;
    std::map<std::string, double> counts;
    for (const auto& s : f.samples) {
      std::string key;
      for (const auto& [k, v] : s.labels)
        if (k != "le") key += k + "=" + v + ";";
      if (s.name == name + "_bucket") {
        const std::string le = s.labels.at("le");
        buckets[key].push_back({le == "+Inf" ? 1e308 * 10 : std::stod(le), s.value});
      } else if (s.name == name + "_count") {
        counts[key] = s.value;
      }
    }
    REQUIRE(!buckets.empty());
    for (const auto& [key, bs] : buckets) {
      INFO(name << " " << key);
      for (std::size_t i = 1; i < bs.size(); ++i) {
        CHECK(bs[i].first > bs[i - 1].first);
        CHECK(bs[i].second >= bs[i - 1].second);
      }
      CHECK(bs.back().first > 1e308);
      CHECK(bs.back().second == counts.at(key));
    }
  }
}

keel::task<void> failing_check() {
  throw std::runtime_error("redis: \"connection refused\"");
  co_return;
}

}  // namespace

TEST_CASE("GET /metrics counts requests by route template, method and status class", "[metrics]") {
  keel::metrics metrics;
  std::atomic<int> queued{7};
  metrics.gauge("jobs_queued", "Jobs waiting in the queue.\nSecond line \\ here.",
                [&] { return static_cast<double>(queued.load()); });
  metrics.collect([](keel::metrics_text& out) {
    out.family("odd_labels", "gauge", "A label value needing escapes.");
    out.sample("odd_labels", {{"value", "a\"b\\c\nd"}}, 1.5);
  });
  keel::db db("sqlite::memory:");
  metrics.watch(db);
  auto api = keel::router{
      keel::get<"/users/{id}">([](keel::path<"id", int> id) { return std::to_string(*id); }),
      keel::post<"/users">([] { return keel::response(keel::http::status::created, "made"); }),
      keel::get<"/boom">([]() -> keel::response { throw std::runtime_error("boom"); }),
  };
  auto app = keel::app{api}.use(metrics);
  keel::detail::server<decltype(app)> server(app, keel_test::local_config(2));
  const auto port = server.start();

  for (int i = 0; i < 3; ++i) CHECK(exchange(port, "GET", "/users/" + std::to_string(i)).status == 200);
  CHECK(exchange(port, "POST", "/users", {}, "x").status == 201);
  CHECK(exchange(port, "GET", "/nowhere").status == 404);
  CHECK(exchange(port, "GET", "/boom").status == 500);

  auto first = exchange(port, "GET", "/metrics");
  REQUIRE(first.status == 200);
  CHECK(first.header("Content-Type") == "text/plain; version=0.0.4; charset=utf-8");
  auto fams = parse(first.body);
  check_histograms(fams);

  const auto& req = fams.at("keel_http_requests_total");
  CHECK(req.type == "counter");
  CHECK(value_of(req, {{"route", "/users/{id}"}, {"method", "GET"}, {"status", "2xx"}}) == 3);
  CHECK(value_of(req, {{"route", "/users"}, {"method", "POST"}, {"status", "2xx"}}) == 1);
  CHECK(value_of(req, {{"route", "(unmatched)"}, {"method", "GET"}, {"status", "4xx"}}) == 1);
  CHECK(value_of(req, {{"route", "/boom"}, {"method", "GET"}, {"status", "5xx"}}) == 1);
  const auto& lat = fams.at("keel_http_request_duration_seconds");
  CHECK(value_of(lat, {{"route", "/users/{id}"}}, "keel_http_request_duration_seconds_count") == 3);
  CHECK(value_of(lat, {{"route", "/users/{id}"}, {"le", "+Inf"}},
                 "keel_http_request_duration_seconds_bucket") == 3);
  CHECK(value_of(lat, {{"route", "/users/{id}"}}, "keel_http_request_duration_seconds_sum") > 0);
  // The scrape itself is in flight while it renders.
  CHECK(value_of(fams.at("keel_http_requests_in_flight"), {}) == 1);
  CHECK(value_of(fams.at("keel_http_connections_total"), {}) >= 7);
  CHECK(value_of(fams.at("keel_http_received_bytes_total"), {}) > 0);
  CHECK(value_of(fams.at("keel_http_sent_bytes_total"), {}) > 0);
  CHECK(fams.at("jobs_queued").help == "Jobs waiting in the queue.\\nSecond line \\\\ here.");
  CHECK(value_of(fams.at("jobs_queued"), {}) == 7);
  CHECK(value_of(fams.at("odd_labels"), {{"value", "a\"b\\c\nd"}}) == 1.5);
  CHECK(value_of(fams.at("keel_sql_connections"), {{"pool", "write"}, {"state", "idle"}}) == 1);
  CHECK(value_of(fams.at("keel_sql_connections"), {{"pool", "write"}, {"state", "in_use"}}) == 0);
  CHECK(value_of(fams.at("keel_sql_waiting_requests"), {{"pool", "write"}}) == 0);

  // Known requests move the counts by exactly that much; bytes and connections only grow.
  queued = 2;
  keel_test::raw_client c("127.0.0.1", port);
  REQUIRE(
      c.send("GET /users/9 HTTP/1.1\r\nHost: x\r\n\r\nGET /users/10 HTTP/1.1\r\nHost: x\r\n\r\n"
             "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"));
  const auto raw = c.read_responses(3);
  const auto third = raw.find("HTTP/1.1 200", raw.find("HTTP/1.1 200", raw.find("HTTP/1.1 200") + 1) + 1);
  REQUIRE(third != std::string::npos);
  auto fams2 = parse(keel_test::parse_answer(raw.substr(third)).body);
  check_histograms(fams2);
  const auto& req2 = fams2.at("keel_http_requests_total");
  CHECK(value_of(req2, {{"route", "/users/{id}"}, {"method", "GET"}, {"status", "2xx"}}) == 5);
  CHECK(value_of(req2, {{"route", "/metrics"}, {"method", "GET"}, {"status", "2xx"}}) == 1);
  CHECK(value_of(fams2.at("keel_http_connections_open"), {}) >= 1);
  CHECK(value_of(fams2.at("keel_http_received_bytes_total"), {}) >
        value_of(fams.at("keel_http_received_bytes_total"), {}));
  CHECK(value_of(fams2.at("jobs_queued"), {}) == 2);
  server.stop();
  server.wait();
}

TEST_CASE("/healthz, /readyz with passing and failing checks, and 503 once shutdown begins", "[health]") {
  keel::db db("sqlite::memory:");
  keel::health ok_health;
  ok_health.database(db);
  keel::health bad_health;
  bad_health.database(db).check("redis", [] { return failing_check(); });
  auto api = keel::router{
      keel::health_routes(ok_health),
      keel::group<"/bad">(keel::health_routes(bad_health)),
  };
  auto app = keel::app{api};
  keel::detail::server<decltype(app)> server(app, keel_test::local_config(1));
  const auto port = server.start();

  auto live = exchange(port, "GET", "/healthz");
  CHECK(live.status == 200);
  CHECK(live.body == R"({"status":"ok"})");
  auto ready = exchange(port, "GET", "/readyz");
  CHECK(ready.status == 200);
  CHECK(ready.header("Content-Type") == "application/json");
  CHECK(ready.body == R"({"status":"ready","checks":{"database":"ok"}})");
  auto bad = exchange(port, "GET", "/bad/readyz");
  CHECK(bad.status == 503);
  CHECK(
      bad.body ==
      R"({"status":"unavailable","failing":"redis","checks":{"database":"ok","redis":"redis: \"connection refused\""}})");

  // A keep-alive connection (a load balancer's) asks again after shutdown began: 503, and live stays 200.
  keel_test::raw_client c("127.0.0.1", port);
  REQUIRE(c.send("GET /readyz HTTP/1.1\r\nHost: x\r\n\r\n"));
  CHECK(c.read_responses(1).rfind("HTTP/1.1 200", 0) == 0);
  server.stop();
  REQUIRE(c.send("GET /readyz HTTP/1.1\r\nHost: x\r\n\r\n"));
  const auto after = keel_test::parse_answer(c.read_responses(1));
  CHECK(after.status == 503);
  CHECK(after.body == R"({"status":"shutting_down"})");
  server.wait();
}

TEST_CASE("health.drain() turns /readyz to 503 by hand", "[health]") {
  keel::health health;
  auto api = keel::router{keel::health_routes(health)};
  auto app = keel::app{api};
  keel::detail::server<decltype(app)> server(app, keel_test::local_config(1));
  const auto port = server.start();
  CHECK(exchange(port, "GET", "/readyz").body == R"({"status":"ready","checks":{}})");
  health.drain();
  CHECK(exchange(port, "GET", "/readyz").status == 503);
  CHECK(exchange(port, "GET", "/healthz").status == 200);
  server.stop();
  server.wait();
}

TEST_CASE("only apps with keel::metrics count bytes and connections; other methods pass /metrics by",
          "[metrics]") {
  auto api = keel::router{keel::get<"/a">([] { return "a"; })};
  using plain_app = decltype(keel::app{api});
  using metered_app = decltype(keel::app{api}.use(keel::metrics{}));
  // The transport's counting is compiled in only for the app with the layer that asks for it.
  STATIC_REQUIRE(!keel::detail::http_session<plain_app>::counts_io);
  STATIC_REQUIRE(keel::detail::http_session<metered_app>::counts_io);

  keel::metrics metrics({.path = "/internal/metrics", .buckets = {0.001, 0.1}});
  auto app = keel::app{api}.use(metrics);
  keel::detail::server<decltype(app)> server(app, keel_test::local_config(1));
  const auto port = server.start();
  CHECK(exchange(port, "GET", "/metrics").status == 404);  // moved
  CHECK(exchange(port, "POST", "/internal/metrics", {}, "x").status == 404);
  auto head = exchange(port, "HEAD", "/internal/metrics");
  CHECK(head.status == 200);
  CHECK(head.body.empty());
  auto got = exchange(port, "GET", "/internal/metrics");
  REQUIRE(got.status == 200);
  auto fams = parse(got.body);
  check_histograms(fams);
  CHECK(value_of(fams.at("keel_http_requests_total"),
                 {{"route", "(unmatched)"}, {"method", "POST"}, {"status", "4xx"}}) == 1);
  CHECK(value_of(fams.at("keel_http_request_duration_seconds"),
                 {{"route", "/internal/metrics"}, {"le", "0.1"}},
                 "keel_http_request_duration_seconds_bucket") >= 0);
  CHECK_THROWS_AS(keel::metrics({.path = "/m", .buckets = {0.1, 0.01}}), std::invalid_argument);
  server.stop();
  server.wait();
}
