// jobs_bench: keel::jobs throughput and enqueue-to-start latency.
//   jobs_bench [--url sqlite:/tmp/x.db | postgres://...] [--jobs 5000] [--concurrency 8] [--samples 300]
//              [--runs 3] [--sqlite-sync FULL|NORMAL] [--batch 1]
// One process (the default role): per run, (1) enqueue --jobs no-op jobs, --batch per transaction (1: one
// statement each, enqueue_sync) (enqueues per second); (2) start the workers and time until all of them are
// done (jobs per second, claim + handler + completion); (3) with the workers idle, enqueue --samples jobs one
// at a time, each after the previous one started, and measure from just before the enqueue to the handler's
// first line (the wake-up path). Prints the median and spread over runs.
//
// Several processes (benchmarks/jobs/multi.py drives these roles against one database):
//   --role setup    migrate keel_jobs and empty it
//   --role enqueue  enqueue --jobs jobs (--batch per transaction); with --interval-ms I > 0 one every I ms,
//                   each stamped with the steady clock for the latency (no handler in this process)
//   --role worker   run the workers (--concurrency, --poll-ms) until --stop-file exists; with --samples S it
//                   also enqueues S stamped jobs itself, one every --interval-ms (the in-process wake-up);
//                   writes "ran N" and one enqueue-to-start latency (ms) a line to --out
// Latencies across processes use std::chrono::steady_clock (CLOCK_MONOTONIC, one clock for the machine).
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
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

#include <unistd.h>

struct noop {
  static constexpr std::string_view keel_job = "noop";
  std::int64_t enqueued_ns;  // steady clock, for the latency phase (0: not measured)
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

struct settings {
  std::string url;
  std::string role = "single";
  int jobs = 5000, concurrency = 8, samples = 300, runs = 3, batch = 1, interval_ms = 0, poll_ms = 200;
  std::string sync = "FULL";
  std::string stop_file, out;
};

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

keel::db open(const settings& s) {
  keel::sql::db_options dbo;
  dbo.sqlite.synchronous = s.sync;
  return keel::db{s.url, dbo};
}

keel::jobs::options queue_options(const settings& s) {
  keel::jobs::options o;
  o.default_concurrency = s.concurrency;
  o.poll_interval = std::chrono::milliseconds(s.poll_ms);
  o.migrate = false;
  return o;
}

// --jobs jobs: one statement each (batch 1) or --batch per transaction; paced when interval_ms > 0.
keel::task<void> enqueue_all(keel::db& db, keel::jobs::queue& jobs, const settings& s) {
  const int batch = std::max(1, s.batch);
  for (int done = 0; done < s.jobs;) {
    if (s.interval_ms > 0) co_await keel::sleep_for(std::chrono::milliseconds(s.interval_ms));
    const int n = std::min(batch, s.jobs - done);
    if (n == 1) {
      noop job{s.interval_ms > 0 ? steady_ns() : 0};
      co_await jobs.enqueue(job);
    } else {
      auto tx = co_await db.begin();
      for (int i = 0; i < n; ++i) {
        noop job{s.interval_ms > 0 ? steady_ns() : 0};
        co_await jobs.enqueue(tx, job);
      }
      co_await tx.commit();
    }
    done += n;
  }
}

run_result one_run(const settings& s) {
  keel::db db = open(s);
  keel::jobs::migrate_sync(db);
  db.execute_script_sync("DELETE FROM keel_jobs");
  keel::jobs::queue jobs{db, queue_options(s)};
  std::atomic<int> done{0};
  std::vector<double> latencies;
  bool measuring = false;
  jobs.handle<noop>([&](const noop& j, keel::jobs::context&) -> keel::task<void> {
    if (measuring) latencies.push_back(static_cast<double>(steady_ns() - j.enqueued_ns) / 1e6);
    ++done;
    co_return;
  });
  run_result r{};
  asio::io_context reactor;
  keel::worker_pool workers(4);
  auto t0 = steady::now();
  if (s.batch <= 1) {
    for (int i = 0; i < s.jobs; ++i) jobs.enqueue_sync(noop{0});
  } else {
    drive(reactor, workers, enqueue_all(db, jobs, s));
  }
  r.enqueue_per_s = s.jobs / std::chrono::duration<double>(steady::now() - t0).count();

  keel::background bg(reactor);
  auto driver = [&]() -> keel::task<void> {
    auto start = steady::now();
    while (done < s.jobs) co_await keel::sleep_for(std::chrono::milliseconds(1));
    r.jobs_per_s = s.jobs / std::chrono::duration<double>(steady::now() - start).count();
    measuring = true;
    for (int i = 0; i < s.samples; ++i) {
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

int single(settings s) {
  std::string file;
  if (s.url.empty()) {
    file =
        (std::filesystem::temp_directory_path() / ("keel-jobs-bench-" + std::to_string(::getpid()) + ".db"))
            .string();
    s.url = "sqlite:" + file;
  }
  std::vector<double> enq, tput, p50, p90;
  for (int i = 0; i < s.runs; ++i) {
    run_result r = one_run(s);
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
      s.runs, median(enq), spread(enq), median(tput), spread(tput), median(p50), spread(p50), median(p90),
      spread(p90));
  if (!file.empty())
    for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(file + suffix);
  return 0;
}

int setup(const settings& s) {
  keel::db db = open(s);
  keel::jobs::migrate_sync(db);
  db.execute_script_sync("DELETE FROM keel_jobs");
  return 0;
}

int enqueue(const settings& s) {
  keel::db db = open(s);
  keel::jobs::queue jobs{db, queue_options(s)};
  jobs.produces<noop>();
  asio::io_context reactor;
  keel::worker_pool workers(2);
  auto t0 = steady::now();
  drive(reactor, workers, enqueue_all(db, jobs, s));
  double secs = std::chrono::duration<double>(steady::now() - t0).count();
  std::printf("enqueued %d in %.3f s: %.0f/s\n", s.jobs, secs, s.jobs / secs);
  return 0;
}

int worker(const settings& s) {
  keel::db db = open(s);
  keel::jobs::queue jobs{db, queue_options(s)};
  int ran = 0;
  std::vector<double> latencies;
  jobs.handle<noop>([&](const noop& j, keel::jobs::context&) -> keel::task<void> {
    if (j.enqueued_ns != 0) latencies.push_back(static_cast<double>(steady_ns() - j.enqueued_ns) / 1e6);
    ++ran;
    co_return;
  });
  asio::io_context reactor;
  keel::worker_pool workers(2);
  keel::background bg(reactor);
  auto watch = [&]() -> keel::task<void> {
    std::printf("ready\n");
    std::fflush(stdout);
    if (s.samples > 0 && s.interval_ms > 0) {
      settings mine = s;
      mine.jobs = s.samples;
      mine.batch = 1;
      co_await enqueue_all(db, jobs, mine);
    }
    while (!std::filesystem::exists(s.stop_file)) co_await keel::sleep_for(std::chrono::milliseconds(20));
    bg.request_stop();
  };
  auto both = [&]() -> keel::task<void> {
    keel::detail::start_detached(watch(), [](keel::detail::task_result<void>&&) {});
    co_await jobs.run(bg);
  };
  drive(reactor, workers, both());
  std::ofstream out(s.out);
  out << "ran " << ran << "\n";
  for (double l : latencies) out << l << "\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  settings s;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string_view a = argv[i];
    std::string v = argv[i + 1];
    if (a == "--url")
      s.url = v;
    else if (a == "--role")
      s.role = v;
    else if (a == "--jobs")
      s.jobs = std::atoi(v.c_str());
    else if (a == "--concurrency")
      s.concurrency = std::atoi(v.c_str());
    else if (a == "--samples")
      s.samples = std::atoi(v.c_str());
    else if (a == "--runs")
      s.runs = std::atoi(v.c_str());
    else if (a == "--batch")
      s.batch = std::atoi(v.c_str());
    else if (a == "--interval-ms")
      s.interval_ms = std::atoi(v.c_str());
    else if (a == "--poll-ms")
      s.poll_ms = std::atoi(v.c_str());
    else if (a == "--sqlite-sync")
      s.sync = v;  // (before this session the flag was documented but never read: every run was FULL)
    else if (a == "--stop-file")
      s.stop_file = v;
    else if (a == "--out")
      s.out = v;
    else {
      std::fprintf(stderr, "jobs_bench: unknown option %s\n", argv[i]);
      return 2;
    }
  }
  if (s.role == "single") return single(s);
  if (s.url.empty()) {
    std::fprintf(stderr, "jobs_bench: --role %s needs --url\n", s.role.c_str());
    return 2;
  }
  if (s.role == "setup") return setup(s);
  if (s.role == "enqueue") return enqueue(s);
  if (s.role == "worker" && !s.stop_file.empty() && !s.out.empty()) return worker(s);
  std::fprintf(stderr, "jobs_bench: --role setup|enqueue|worker (worker: --stop-file and --out)\n");
  return 2;
}
