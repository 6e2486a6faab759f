// keel::jobs on a real PostgreSQL server (the sql_postgres fixture, scripts/pg-test-server): enqueue inside a
// transaction, and two independent queues (each its own keel::db, connections, reactor thread and worker
// pool, as two processes would be) sharing one table through FOR UPDATE SKIP LOCKED: every job runs exactly
// once.
#include "keel/jobs.hpp"
#include "keel/postgres.hpp"

#include "support/pg_test_server.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace jobs_pg_test {

struct numbered {
  static constexpr std::string_view keel_job = "numbered";
  std::int64_t n;
};

struct job_row {
  std::int64_t id;
  std::string state;
  std::int64_t attempts;
  std::optional<std::string> last_error;
};

using namespace std::chrono_literals;

template <class T>
T run_on(asio::io_context& reactor, keel::worker_pool& workers, keel::task<T> t) {
  keel::detail::reactor_scope scope(reactor, &workers);
  std::optional<keel::detail::task_result<T>> out;
  keel::detail::start_detached(std::move(t),
                               [&](keel::detail::task_result<T>&& r) { out.emplace(std::move(r)); });
  reactor.restart();
  reactor.run();
  if (!out) throw std::runtime_error("task did not finish");
  if (out->exception) std::rethrow_exception(out->exception);
  if constexpr (!std::is_void_v<T>) return std::move(*out->value);
}

keel::db& fresh_db() {
  static keel::db db{keel_test_support::pg_test_server_url()};
  keel::jobs::migrate_sync(db);
  db.execute_script_sync(
      "DELETE FROM keel_jobs; CREATE TABLE IF NOT EXISTS jobs_pg_users (id BIGSERIAL PRIMARY KEY)");
  return db;
}

}  // namespace jobs_pg_test

using namespace jobs_pg_test;

TEST_CASE("jobs postgres: enqueue joins the caller's transaction", "[jobs][postgres]") {
  keel::db& db = fresh_db();
  keel::jobs::queue jobs{db};
  jobs.handle<numbered>([](const numbered&, keel::jobs::context&) {});
  asio::io_context reactor;
  keel::worker_pool workers(2);
  auto write = [&](bool commit) -> keel::task<void> {
    auto tx = co_await db.begin();
    auto id = co_await tx.query_one<std::int64_t>("INSERT INTO jobs_pg_users DEFAULT VALUES RETURNING id");
    numbered job{*id};
    co_await jobs.enqueue(tx, job);
    if (commit) co_await tx.commit();
  };
  run_on(reactor, workers, write(false));
  CHECK(db.query_one_sync<std::int64_t>("SELECT count(*) FROM keel_jobs") == 0);
  run_on(reactor, workers, write(true));
  CHECK(db.query_one_sync<std::int64_t>("SELECT count(*) FROM keel_jobs") == 1);
  keel::jobs::enqueue_options once;
  once.unique_key = "only-one";
  CHECK(jobs.enqueue_sync(numbered{1}, once).has_value());
  CHECK_FALSE(jobs.enqueue_sync(numbered{2}, once).has_value());
  CHECK(run_on(reactor, workers, jobs.run_due()) == 2);
  auto s = jobs.statistics_sync();
  CHECK(s.done == 2);
  CHECK(s.queued == 0);
}

TEST_CASE("jobs postgres: two independent queues on one table run each job exactly once",
          "[jobs][postgres]") {
  keel::db& setup = fresh_db();
  constexpr int total = 300;
  {
    keel::jobs::queue producer{setup};
    producer.produces<numbered>();
    for (int i = 0; i < total; ++i) producer.enqueue_sync(numbered{i});
  }
  std::mutex m;
  std::map<std::int64_t, int> runs;  // job id -> times run
  std::atomic<int> finished{0};
  std::atomic<int> by_worker[2] = {0, 0};
  auto worker = [&](int which) {
    keel::db db{keel_test_support::pg_test_server_url()};
    keel::jobs::options o;
    o.poll_interval = 20ms;
    o.default_concurrency = 4;
    keel::jobs::queue jobs{db, o};
    jobs.handle<numbered>([&, which](const numbered&, keel::jobs::context& ctx) -> keel::task<void> {
      co_await keel::sleep_for(1ms);
      {
        std::lock_guard lock(m);
        ++runs[ctx.id()];
      }
      ++by_worker[which];
      ++finished;
    });
    asio::io_context reactor;
    keel::worker_pool workers(2);
    keel::background bg(reactor);
    auto stopper = [&]() -> keel::task<void> {
      auto give_up = std::chrono::steady_clock::now() + 90s;
      while (finished < total && std::chrono::steady_clock::now() < give_up) co_await keel::sleep_for(10ms);
      bg.request_stop();
    };
    auto both = [&]() -> keel::task<void> {
      keel::detail::start_detached(stopper(), [](keel::detail::task_result<void>&&) {});
      co_await jobs.run(bg);
    };
    run_on(reactor, workers, both());
  };
  std::thread a(worker, 0);
  std::thread b(worker, 1);
  a.join();
  b.join();
  CHECK(finished == total);
  CHECK(runs.size() == static_cast<std::size_t>(total));
  int more_than_once = 0;
  for (const auto& [id, n] : runs) more_than_once += n != 1;
  CHECK(more_than_once == 0);
  auto rows = setup.query_sync<job_row>("SELECT id, state, attempts, last_error FROM keel_jobs ORDER BY id");
  REQUIRE(rows.size() == static_cast<std::size_t>(total));
  int not_done = 0;
  for (const job_row& r : rows) not_done += r.state != "done" || r.attempts != 1;
  CHECK(not_done == 0);
  WARN("worker 0 ran " << by_worker[0].load() << ", worker 1 ran " << by_worker[1].load());
}
