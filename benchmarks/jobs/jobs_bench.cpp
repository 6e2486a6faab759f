// jobs_bench: keel::jobs throughput and enqueue-to-start latency.
//   jobs_bench [--url sqlite:/tmp/x.db | postgres://...] [--jobs 5000] [--concurrency 8] [--samples 300]
//              [--runs 3] [--sqlite-sync FULL|NORMAL]
// Per run: (1) enqueue --jobs no-op jobs, one statement each (enqueues per second); (2) start the workers
// and time until all of them are done (jobs per second, claim + handler + completion); (3) with the workers
// idle, enqueue --samples jobs one at a time, each after the previous one started, and measure from just
// before the enqueue to the handler's first line (the wake-up path). Prints the median and spread over runs.
#include "keel/jobs.hpp"
#include "keel/sql.hpp"
#if KEEL_JOBS_BENCH_POSTGRES
#include "keel/postgres.hpp"
#endif

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include <unistd.h>

struct noop {
  static constexpr std::string_view keel_job = "noop";
  std::int64_t enqueued_ns;  // steady clock, for the latency phase
};

namespace {

using steady = std::chrono::steady_clock;

std::int64_t steady_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(steady::now().time_since_epoch()).count();
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}
double quantile(std::vector<double> v, double q) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[static_cast<std::size_t>(q * static_cast<double>(v.size() - 1))];
}

struct run_result {
  double enqueue_per_s;
  double jobs_per_s;
  double latency_p50_ms;
  double latency_p90_ms;
};

template <class T>
T drive(asio::io_context& reactor, keel::worker_pool& workers, keel::task<T> t) {
  keel::detail::reactor_scope scope(reactor, &workers);
  std::optional<keel::detail::task_result<T>> out;
  keel::detail::start_detached(std::move(t),
                               [&](keel::detail::task_result<T>&& r) { out.emplace(std::move(r)); });
  reactor.restart();
  reactor.run();
  if (out->exception) std::rethrow_exception(out->exception);
  if constexpr (!std::is_void_v<T>) return std::move(*out->value);
}

run_result one_run(const std::string& url, int jobs_n, int concurrency, int samples,
                   const std::string& sync) {
  keel::sql::db_options dbo;
  dbo.sqlite.synchronous = sync;
  keel::db db{url, dbo};
  keel::jobs::migrate_sync(db);
  db.execute_script_sync("DELETE FROM keel_jobs");
  keel::jobs::options o;
  o.default_concurrency = concurrency;
  o.poll_interval = std::chrono::milliseconds(200);
  keel::jobs::queue jobs{db, o};
  std::atomic<int> done{0};
  std::vector<double> latencies;
  bool measuring = false;
  jobs.handle<noop>([&](const noop& j, keel::jobs::context&) -> keel::task<void> {
    if (measuring) latencies.push_back(static_cast<double>(steady_ns() - j.enqueued_ns) / 1e6);
    ++done;
    co_return;
  });
  run_result r{};
  auto t0 = steady::now();
  for (int i = 0; i < jobs_n; ++i) jobs.enqueue_sync(noop{0});
  r.enqueue_per_s = jobs_n / std::chrono::duration<double>(steady::now() - t0).count();

  asio::io_context reactor;
  keel::worker_pool workers(4);
  keel::background bg(reactor);
  auto driver = [&]() -> keel::task<void> {
    auto start = steady::now();
    while (done < jobs_n) co_await keel::sleep_for(std::chrono::milliseconds(1));
    r.jobs_per_s = jobs_n / std::chrono::duration<double>(steady::now() - start).count();
    measuring = true;
    for (int i = 0; i < samples; ++i) {
      int before = done;
      noop job{steady_ns()};
      co_await jobs.enqueue(job);
      while (done == before) co_await keel::sleep_for(std::chrono::microseconds(200));
    }
    bg.request_stop();
  };
  auto both = [&]() -> keel::task<void> {
    keel::detail::start_detached(driver(), [](keel::detail::task_result<void>&&) {});
    co_await jobs.run(bg);
  };
  drive(reactor, workers, both());
  r.latency_p50_ms = median(latencies);
  r.latency_p90_ms = quantile(latencies, 0.9);
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  std::string url;
  int jobs_n = 5000, concurrency = 8, samples = 300, runs = 3;
  std::string sync = "FULL";
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string_view a = argv[i];
    if (a == "--url")
      url = argv[i + 1];
    else if (a == "--jobs")
      jobs_n = std::atoi(argv[i + 1]);
    else if (a == "--concurrency")
      concurrency = std::atoi(argv[i + 1]);
    else if (a == "--samples")
      samples = std::atoi(argv[i + 1]);
    else if (a == "--runs")
      runs = std::atoi(argv[i + 1]);
  }
  std::string file;
  if (url.empty()) {
    file =
        (std::filesystem::temp_directory_path() / ("keel-jobs-bench-" + std::to_string(::getpid()) + ".db"))
            .string();
    url = "sqlite:" + file;
  }
  std::vector<double> enq, tput, p50, p90;
  for (int i = 0; i < runs; ++i) {
    run_result r = one_run(url, jobs_n, concurrency, samples, sync);
    std::printf("run %d: enqueue %.0f/s, jobs %.0f/s, enqueue-to-start p50 %.2f ms p90 %.2f ms\n", i + 1,
                r.enqueue_per_s, r.jobs_per_s, r.latency_p50_ms, r.latency_p90_ms);
    enq.push_back(r.enqueue_per_s);
    tput.push_back(r.jobs_per_s);
    p50.push_back(r.latency_p50_ms);
    p90.push_back(r.latency_p90_ms);
  }
  auto spread = [](const std::vector<double>& v) {
    return *std::max_element(v.begin(), v.end()) - *std::min_element(v.begin(), v.end());
  };
  std::printf(
      "median of %d runs: enqueue %.0f/s (spread %.0f), jobs %.0f/s (spread %.0f), p50 %.2f ms (spread "
      "%.2f), p90 %.2f ms (spread %.2f)\n",
      runs, median(enq), spread(enq), median(tput), spread(tput), median(p50), spread(p50), median(p90),
      spread(p90));
  if (!file.empty())
    for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(file + suffix);
}
