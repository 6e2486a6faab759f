// keel::jobs on real SQLite files: enqueue inside a transaction, typed handlers on a reactor + worker pool,
// retries with backoff and dead letters, delayed and unique jobs, cron schedules, a lease left behind by a
// killed child process, graceful shutdown and statistics. Time that would otherwise need waiting (backoff,
// run_at, cron, lease expiry) comes from an injected clock; no assertion depends on how fast anything runs.
#include "keel/jobs.hpp"

#include "keel/app.hpp"
#include "keel/json.hpp"
#include "keel/server/server.hpp"
#include "keel/sql.hpp"
#include "support/local_server.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <sys/wait.h>
#include <unistd.h>

// A payload from a library keel cannot edit: its job name and queue come from keel::dto_traits.
namespace vendor_jobs {
struct invoice_ready {
  std::int64_t invoice;
};
}  // namespace vendor_jobs
template <>
struct keel::dto_traits<vendor_jobs::invoice_ready> {
  static constexpr std::string_view keel_job = "invoice_ready";
  static constexpr std::string_view keel_queue = "billing";
};

namespace jobs_test {

struct welcome_email {
  static constexpr std::string_view keel_job = "welcome_email";
  std::int64_t user_id;
  std::string address;
};

struct flaky {
  static constexpr std::string_view keel_job = "flaky";
  static constexpr std::string_view keel_queue = "slow";
  int fail_times;
};

struct report {
  static constexpr std::string_view keel_job = "report";
  std::string name;
};

struct signup {
  std::string email;
  bool rollback = false;
};

struct job_row {
  std::int64_t id;
  std::string type;
  std::string state;
  std::int64_t attempts;
  std::int64_t run_at;
  std::optional<std::string> last_error;
};

using namespace std::chrono_literals;
using clock_t_ = std::chrono::system_clock;

// A clock tests move by hand.
struct manual_clock {
  std::shared_ptr<std::atomic<std::int64_t>> ms =
      std::make_shared<std::atomic<std::int64_t>>(1'700'000'000'000);  // 2023-11-14T22:13:20Z
  std::function<clock_t_::time_point()> fn() const {
    auto p = ms;
    return [p] { return clock_t_::time_point{} + std::chrono::milliseconds(p->load()); };
  }
  void advance(std::chrono::milliseconds d) { *ms += d.count(); }
  void set(clock_t_::time_point t) {
    *ms = std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
  }
};

struct temp_db_path {
  std::string path;
  temp_db_path() {
    static int n = 0;
    path = (std::filesystem::temp_directory_path() /
            ("keel-jobs-" + std::to_string(::getpid()) + "-" + std::to_string(++n) + ".db"))
               .string();
    remove_all();
  }
  ~temp_db_path() { remove_all(); }
  void remove_all() const {
    for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path + suffix);
  }
};

// A reactor with a worker pool, driven on this thread until the task and everything it offloaded finished.
struct harness {
  asio::io_context reactor;
  keel::worker_pool workers{2};
  template <class T>
  T run(keel::task<T> t) {
    keel::detail::reactor_scope scope(reactor, &workers);
    std::optional<keel::detail::task_result<T>> out;
    keel::detail::start_detached(std::move(t),
                                 [&](keel::detail::task_result<T>&& r) { out.emplace(std::move(r)); });
    reactor.restart();
    reactor.run();
    REQUIRE(out.has_value());
    if (out->exception) std::rethrow_exception(out->exception);
    if constexpr (!std::is_void_v<T>) return std::move(*out->value);
  }
};

// Polls the queue's statistics until `done` jobs are done (at most 60 s), then asks `bg` to stop.
keel::task<void> stop_when_done(keel::jobs::queue& jobs, keel::background& bg, std::int64_t done) {
  auto give_up = std::chrono::steady_clock::now() + 60s;
  while (std::chrono::steady_clock::now() < give_up) {
    auto s = co_await jobs.statistics();
    if (s.done == done) break;
    co_await keel::sleep_for(10ms);
  }
  bg.request_stop();
}

// Runs the queue's workers on h's reactor next to `watcher`, until `bg` is asked to stop.
void run_workers(harness& h, keel::jobs::queue& jobs, keel::background& bg, keel::task<void> watcher) {
  auto both = [&]() -> keel::task<void> {
    keel::detail::start_detached(std::move(watcher), [](keel::detail::task_result<void>&&) {});
    co_await jobs.run(bg);
  };
  h.run(both());
}

keel::jobs::options test_options(const manual_clock& clock) {
  keel::jobs::options o;
  o.clock = clock.fn();
  o.poll_interval = 20ms;
  o.retry.base = 1s;
  o.retry.max = 60s;
  o.retry.max_attempts = 3;
  return o;
}

std::vector<job_row> all_jobs(keel::db& db) {
  return db.query_sync<job_row>(
      "SELECT id, type, state, attempts, run_at, last_error FROM keel_jobs ORDER BY id");
}

}  // namespace jobs_test

using namespace jobs_test;

TEST_CASE("jobs: cron expressions", "[jobs]") {
  using keel::jobs::cron;
  auto at = [](int y, unsigned mo, unsigned d, int h, int mi) {
    return clock_t_::time_point(std::chrono::sys_days(std::chrono::year(y) / mo / d)) +
           std::chrono::hours(h) + std::chrono::minutes(mi);
  };
  CHECK(cron::parse("*/15 * * * *").next_after(at(2026, 12, 5, 10, 3)) == at(2026, 12, 5, 10, 15));
  CHECK(cron::parse("*/15 * * * *").next_after(at(2026, 12, 5, 10, 15)) == at(2026, 12, 5, 10, 30));
  CHECK(cron::parse("0 3 * * *").next_after(at(2026, 12, 5, 10, 3)) == at(2026, 12, 6, 3, 0));
  // 2026-12-05 is a Saturday: the next weekday 09:30 is Monday the 7th.
  CHECK(cron::parse("30 9 * * 1-5").next_after(at(2026, 12, 5, 10, 3)) == at(2026, 12, 7, 9, 30));
  CHECK(cron::parse("0 0 29 2 *").next_after(at(2026, 12, 5, 0, 0)) == at(2028, 2, 29, 0, 0));
  CHECK(cron::parse("0 12 1 * 0").next_after(at(2026, 12, 2, 0, 0)) ==
        at(2026, 12, 6, 12, 0));  // 1st or Sunday
  CHECK(cron::parse("5,10-12 */6 * 1,7 7").matches(at(2027, 1, 3, 18, 11)));
  CHECK_THROWS_AS(cron::parse("* * * *"), keel::jobs::cron_error);
  CHECK_THROWS_WITH(cron::parse("61 * * * *"), Catch::Contains("minute field \"61\": out of range 0-59"));
  CHECK_THROWS_WITH(cron::parse("* * * JAN *"), Catch::Contains("month field"));
  CHECK_THROWS_WITH(cron::parse("0 0 31 2 *").next_after(at(2026, 1, 1, 0, 0)),
                    Catch::Contains("within 5 years"));
}

TEST_CASE("jobs: enqueue joins the caller's transaction", "[jobs]") {
  temp_db_path file;
  keel::db db{"sqlite:" + file.path};
  db.execute_script_sync("CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL)");
  manual_clock clock;
  keel::jobs::queue jobs{db, test_options(clock)};
  jobs.handle<welcome_email>(
      [](const welcome_email&, keel::jobs::context&) -> keel::task<void> { co_return; });
  harness h;
  auto signup = [&](std::string email, bool commit) -> keel::task<void> {
    auto tx = co_await db.begin();
    auto id = co_await tx.query_one<std::int64_t>("INSERT INTO users (email) VALUES (?) RETURNING id", email);
    welcome_email mail{*id, email};
    co_await jobs.enqueue(tx, mail);
    if (commit)
      co_await tx.commit();
    else
      co_await tx.rollback();
  };
  h.run(signup("rolled@back.example", false));
  CHECK(db.query_one_sync<std::int64_t>("SELECT count(*) FROM users") == 0);
  CHECK(all_jobs(db).empty());
  h.run(signup("ada@example.com", true));
  CHECK(db.query_one_sync<std::int64_t>("SELECT count(*) FROM users") == 1);
  auto rows = all_jobs(db);
  REQUIRE(rows.size() == 1);
  CHECK(rows[0].type == "welcome_email");
  CHECK(rows[0].state == "queued");
  CHECK(db.query_one_sync<std::string>("SELECT payload FROM keel_jobs") ==
        R"({"user_id":1,"address":"ada@example.com"})");
  // Dropped without commit: rolled back, and the job with it.
  h.run([&]() -> keel::task<void> {
    auto tx = co_await db.begin();
    welcome_email mail{7, "dropped@example.com"};
    co_await jobs.enqueue(tx, mail);
  }());
  CHECK(all_jobs(db).size() == 1);
}

TEST_CASE("jobs: workers run typed jobs on the worker pool and the reactor, then stop", "[jobs]") {
  temp_db_path file;
  keel::db db{"sqlite:" + file.path};
  keel::jobs::options o;
  o.poll_interval = 50ms;
  o.queues = {{"slow", 2}};
  keel::jobs::queue jobs{db, o};
  std::atomic<int> emails{0};
  std::atomic<int> flakies{0};
  std::set<std::int64_t> seen;
  std::atomic<bool> pool_thread{true};
  std::atomic<bool> right_queue{true};
  const auto reactor_thread = std::this_thread::get_id();
  jobs.handle<welcome_email>([&](const welcome_email& m, keel::jobs::context& ctx) -> keel::task<void> {
    CHECK(std::this_thread::get_id() == reactor_thread);
    CHECK(ctx.attempt() == 1);
    seen.insert(m.user_id);
    co_await keel::sleep_for(1ms);
    ++emails;
  });
  jobs.handle<flaky>([&](const flaky&, keel::jobs::context& ctx) {
    if (std::this_thread::get_id() == reactor_thread) pool_thread = false;
    if (ctx.queue() != "slow") right_queue = false;
    ++flakies;
  });
  for (int i = 0; i < 10; ++i) jobs.enqueue_sync(welcome_email{i, "u" + std::to_string(i) + "@example.com"});
  harness h;
  keel::background bg(h.reactor);
  auto watcher = [&]() -> keel::task<void> {
    // Enqueued while the workers run: the wake-up (or the next poll) picks these up.
    for (int i = 10; i < 20; ++i) {
      welcome_email mail{i, "late@example.com"};
      co_await jobs.enqueue(mail);
    }
    for (int i = 0; i < 5; ++i) {
      flaky f{0};
      co_await jobs.enqueue(f);
    }
    co_await stop_when_done(jobs, bg, 25);
  };
  run_workers(h, jobs, bg, watcher());
  CHECK(emails == 20);
  CHECK(flakies == 5);
  CHECK(seen.size() == 20);
  CHECK(pool_thread);
  CHECK(right_queue);
  CHECK(jobs.in_flight() == 0);
  auto s = jobs.statistics_sync();
  CHECK(s.done == 25);
  CHECK(s.queued + s.running + s.failed + s.dead == 0);
}

TEST_CASE("jobs: a payload type keel cannot edit takes its name and queue from keel::dto_traits", "[jobs]") {
  STATIC_REQUIRE(keel::jobs::payload<vendor_jobs::invoice_ready>);
  STATIC_REQUIRE(keel::jobs::job_name_of<vendor_jobs::invoice_ready>() == "invoice_ready");
  STATIC_REQUIRE(keel::jobs::queue_of<vendor_jobs::invoice_ready>() == "billing");
  STATIC_REQUIRE(keel::jobs::queue_of<welcome_email>() == "default");
  temp_db_path file;
  keel::db db{"sqlite:" + file.path};
  keel::jobs::options o;
  o.poll_interval = 20ms;
  o.queues = {{"billing", 1}};
  keel::jobs::queue jobs{db, o};
  std::vector<std::int64_t> ran;
  std::string queue_seen;
  jobs.handle<vendor_jobs::invoice_ready>(
      [&](const vendor_jobs::invoice_ready& m, keel::jobs::context& ctx) -> keel::task<void> {
        ran.push_back(m.invoice);
        queue_seen = std::string(ctx.queue());
        co_return;
      });
  jobs.enqueue_sync(vendor_jobs::invoice_ready{41});
  jobs.enqueue_sync(vendor_jobs::invoice_ready{42});
  const auto rows = all_jobs(db);
  REQUIRE(rows.size() == 2);
  CHECK(rows[0].type == "invoice_ready");
  harness h;
  keel::background bg(h.reactor);
  run_workers(h, jobs, bg, stop_when_done(jobs, bg, 2));
  CHECK(ran == std::vector<std::int64_t>{41, 42});
  CHECK(queue_seen == "billing");
}

TEST_CASE("jobs: retries with exponential backoff, then dead with the last error", "[jobs]") {
  temp_db_path file;
  keel::db db{"sqlite:" + file.path};
  manual_clock clock;
  keel::jobs::queue jobs{db, test_options(clock)};
  jobs.handle<flaky>([](const flaky& f, keel::jobs::context& ctx) {
    if (ctx.attempt() <= f.fail_times)
      throw std::runtime_error("attempt " + std::to_string(ctx.attempt()) + " failed");
  });
  jobs.handle<report>([](const report& r, keel::jobs::context&) -> keel::task<void> {
    if (r.name == "bad") throw keel::jobs::permanent_error("no such report");
    co_return;
  });
  harness h;
  auto recovers = jobs.enqueue_sync(flaky{2});
  auto never = jobs.enqueue_sync(flaky{99});
  auto bad = jobs.enqueue_sync(report{"bad"});
  REQUIRE(bad);
  REQUIRE(recovers);
  REQUIRE(never);
  CHECK(h.run(jobs.run_due()) == 3);
  auto rows = all_jobs(db);
  CHECK(rows[0].state == "failed");
  CHECK(rows[0].last_error == "attempt 1 failed");
  // First retry: base 1 s less up to 25 % jitter.
  std::int64_t now = clock.ms->load();
  CHECK(rows[0].run_at > now + 740);
  CHECK(rows[0].run_at <= now + 1000);
  CHECK(rows[2].state == "dead");  // permanent_error: no retry
  CHECK(rows[2].attempts == 1);
  CHECK(rows[2].last_error == "no such report");
  CHECK(h.run(jobs.run_due()) == 0);  // not due yet
  clock.advance(1s);
  CHECK(h.run(jobs.run_due()) == 2);
  rows = all_jobs(db);
  CHECK(rows[0].state == "failed");
  CHECK(rows[0].attempts == 2);
  now = clock.ms->load();
  CHECK(rows[0].run_at > now + 1490);  // second retry: 2 s less jitter
  CHECK(rows[0].run_at <= now + 2000);
  clock.advance(2s);
  CHECK(h.run(jobs.run_due()) == 2);
  rows = all_jobs(db);
  CHECK(rows[0].state == "done");
  CHECK(rows[0].attempts == 3);
  CHECK(rows[1].state == "dead");  // max_attempts 3
  CHECK(rows[1].attempts == 3);
  CHECK(rows[1].last_error == "attempt 3 failed");
  auto s = jobs.statistics_sync();
  CHECK(s.done == 1);
  CHECK(s.dead == 2);
  // Backoff alone: doubles, capped, jitter only shortens.
  keel::jobs::retry_policy p;
  p.base = 1s;
  p.max = 10s;
  CHECK(keel::jobs::detail::backoff(p, 1, 0.0) == 1s);
  CHECK(keel::jobs::detail::backoff(p, 4, 0.0) == 8s);
  CHECK(keel::jobs::detail::backoff(p, 30, 0.0) == 10s);
  CHECK(keel::jobs::detail::backoff(p, 4, 1.0) == 6s);
}

TEST_CASE("jobs: delayed and unique jobs", "[jobs]") {
  temp_db_path file;
  keel::db db{"sqlite:" + file.path};
  manual_clock clock;
  keel::jobs::queue jobs{db, test_options(clock)};
  std::vector<std::string> ran;
  jobs.handle<report>([&](const report& r, keel::jobs::context&) -> keel::task<void> {
    ran.push_back(r.name);
    co_return;
  });
  harness h;
  keel::jobs::enqueue_options later;
  later.delay = 1h;
  jobs.enqueue_sync(report{"later"}, later);
  keel::jobs::enqueue_options at;
  at.run_at = clock.fn()() + 2h;
  jobs.enqueue_sync(report{"at"}, at);
  keel::jobs::enqueue_options once;
  once.unique_key = "report:2026-12-05";
  auto first = jobs.enqueue_sync(report{"once"}, once);
  auto second = jobs.enqueue_sync(report{"once again"}, once);
  auto third = h.run(jobs.enqueue(report{"once more"}, once));
  CHECK(first.has_value());
  CHECK_FALSE(second.has_value());
  CHECK_FALSE(third.has_value());
  CHECK(all_jobs(db).size() == 3);
  CHECK(h.run(jobs.run_due()) == 1);
  CHECK(ran == std::vector<std::string>{"once"});
  auto s = jobs.statistics_sync();
  CHECK(s.queued == 2);
  CHECK(s.oldest_waiting_seconds == 0);  // the queued ones are not due
  clock.advance(90min);
  s = jobs.statistics_sync();
  CHECK(s.oldest_waiting_seconds == 30 * 60);
  CHECK(h.run(jobs.run_due()) == 1);
  clock.advance(1h);
  CHECK(h.run(jobs.run_due()) == 1);
  CHECK(ran == std::vector<std::string>{"once", "later", "at"});
  // The key stays taken after the job ran.
  CHECK_FALSE(jobs.enqueue_sync(report{"once"}, once).has_value());
}

TEST_CASE("jobs: cron schedules enqueue once per matching minute, across processes", "[jobs]") {
  temp_db_path file;
  keel::db db{"sqlite:" + file.path};
  manual_clock clock;
  clock.set(clock_t_::time_point(std::chrono::sys_days(std::chrono::year(2026) / 12 / 5)) + 10h + 3min);
  std::vector<std::string> ran;
  auto make = [&](keel::jobs::queue& q) {
    q.handle<report>([&](const report& r, keel::jobs::context&) -> keel::task<void> {
      ran.push_back(r.name);
      co_return;
    });
    q.schedule("quarter", "*/15 * * * *", report{"quarterly"});
  };
  keel::jobs::queue a{db, test_options(clock)};
  keel::jobs::queue b{db, test_options(clock)};  // a second process on the same database
  make(a);
  make(b);
  harness h;
  CHECK(h.run(a.run_due()) == 0);
  CHECK(h.run(b.run_due()) == 0);
  clock.advance(12min);  // 10:15
  CHECK(h.run(a.run_due()) == 1);
  CHECK(h.run(b.run_due()) == 0);  // same minute: its unique key is taken
  clock.advance(14min);            // 10:29
  CHECK(h.run(b.run_due()) == 0);
  clock.advance(2h);  // missed minutes are not made up: one run
  CHECK(h.run(b.run_due()) == 1);
  CHECK(ran.size() == 2);
  CHECK(db.query_one_sync<std::int64_t>(
            "SELECT count(*) FROM keel_jobs WHERE unique_key LIKE 'cron:quarter:%'") == 2);
  keel::jobs::queue c{db, test_options(clock)};
  c.handle<welcome_email>([](const welcome_email&, keel::jobs::context&) -> keel::task<void> { co_return; });
  c.schedule("orphan", "* * * * *", report{"x"});
  CHECK_THROWS_AS(h.run(c.run_due()), keel::jobs::config_error);
}

TEST_CASE("jobs: a cron schedule in a named zone enqueues at the right instants across DST", "[jobs]") {
  temp_db_path file;
  keel::db db{"sqlite:" + file.path};
  manual_clock clock;
  auto utc = [](int y, unsigned mo, unsigned d, int h, int mi) {
    return clock_t_::time_point(std::chrono::sys_days(std::chrono::year(y) / mo / d)) +
           std::chrono::hours(h) + std::chrono::minutes(mi);
  };
  auto ms = [](clock_t_::time_point t) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
  };
  clock.set(utc(2026, 3, 28, 12, 0));
  std::vector<std::string> ran;
  keel::jobs::queue jobs{db, test_options(clock)};
  jobs.handle<report>([&](const report& r, keel::jobs::context&) -> keel::task<void> {
    ran.push_back(r.name);
    co_return;
  });
  // 02:30 Berlin time: skipped on 29 March 2026 (runs at the end of the gap, 03:00 CEST = 01:00Z), twice on
  // 25 October 2026 (runs at the first, 02:30 CEST = 00:30Z).
  jobs.schedule("berlin", keel::jobs::cron::parse("30 2 * * *").in_zone("Europe/Berlin"), report{"berlin"});
  CHECK_THROWS_AS(
      jobs.schedule("bad", keel::jobs::cron::parse("30 2 * * *").in_zone("Europe/../etc"), report{}),
      keel::jobs::time_zone_error);
  harness h;
  CHECK(h.run(jobs.run_due()) == 0);
  clock.set(utc(2026, 3, 29, 0, 59));
  CHECK(h.run(jobs.run_due()) == 0);
  clock.set(utc(2026, 3, 29, 1, 0));
  CHECK(h.run(jobs.run_due()) == 1);
  clock.set(utc(2026, 3, 30, 0, 30));  // 02:30 CEST
  CHECK(h.run(jobs.run_due()) == 1);
  // The workers poll through the summer; the next fire is an instant, so the autumn change needs no care.
  for (int day = 0; day < 208; ++day) {
    clock.advance(24h);
    h.run(jobs.run_due());
  }
  std::size_t before = ran.size();
  clock.set(utc(2026, 10, 24, 12, 0));
  h.run(jobs.run_due());
  clock.set(utc(2026, 10, 25, 0, 30));  // 02:30 CEST
  CHECK(h.run(jobs.run_due()) == 1);
  clock.set(utc(2026, 10, 25, 1, 30));  // 02:30 CET, the same wall time again
  CHECK(h.run(jobs.run_due()) == 0);
  clock.set(utc(2026, 10, 26, 1, 30));  // 02:30 CET next day
  CHECK(h.run(jobs.run_due()) == 1);
  CHECK(ran.size() == before + 2);
  auto run_ats = db.query_sync<std::int64_t>(
      "SELECT run_at FROM keel_jobs WHERE unique_key LIKE 'cron:berlin:%' ORDER BY run_at");
  REQUIRE(run_ats.size() >= 5);
  CHECK(run_ats[0] == ms(utc(2026, 3, 29, 1, 0)));
  CHECK(run_ats[1] == ms(utc(2026, 3, 30, 0, 30)));
  CHECK(run_ats[run_ats.size() - 2] == ms(utc(2026, 10, 25, 0, 30)));
  CHECK(run_ats.back() == ms(utc(2026, 10, 26, 1, 30)));
}

TEST_CASE("jobs: a job held by a killed process runs again after its lease expires", "[jobs]") {
  temp_db_path file;
  manual_clock clock;
  {
    keel::db db{"sqlite:" + file.path};
    keel::jobs::queue jobs{db, test_options(clock)};
    jobs.produces<report>();
    jobs.enqueue_sync(report{"survivor"});
  }
  pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    // The child claims the job and dies in the middle of it, lease held.
    keel::db db{"sqlite:" + file.path};
    keel::jobs::queue jobs{db, test_options(clock)};
    jobs.handle<report>([](const report&, keel::jobs::context&) { ::_exit(0); });
    harness h;
    h.run(jobs.run_due());
    ::_exit(3);
  }
  int status = 0;
  REQUIRE(::waitpid(child, &status, 0) == child);
  REQUIRE(WIFEXITED(status));
  REQUIRE(WEXITSTATUS(status) == 0);
  keel::db db{"sqlite:" + file.path};
  keel::jobs::queue jobs{db, test_options(clock)};
  int runs = 0;
  int attempt = 0;
  jobs.handle<report>([&](const report&, keel::jobs::context& ctx) {
    ++runs;
    attempt = ctx.attempt();
  });
  harness h;
  auto rows = all_jobs(db);
  REQUIRE(rows.size() == 1);
  CHECK(rows[0].state == "running");
  CHECK(h.run(jobs.run_due()) == 0);  // the lease (60 s) still holds
  CHECK(jobs.statistics_sync().running == 1);
  clock.advance(61s);
  CHECK(h.run(jobs.run_due()) == 1);
  CHECK(runs == 1);
  CHECK(attempt == 2);
  CHECK(all_jobs(db)[0].state == "done");
}

TEST_CASE("jobs: a lease expiring on the last attempt makes the job dead", "[jobs]") {
  temp_db_path file;
  keel::db db{"sqlite:" + file.path};
  manual_clock clock;
  keel::jobs::queue jobs{db, test_options(clock)};
  jobs.handle<report>([](const report&, keel::jobs::context&) {});
  keel::jobs::enqueue_options one;
  one.max_attempts = 1;
  jobs.enqueue_sync(report{"r"}, one);
  // As a crashed worker would leave it: running, its lease run out.
  db.execute_sync("UPDATE keel_jobs SET state = 'running', attempts = 1, lease = 'gone', lease_until = ?",
                  clock.ms->load() - 1);
  harness h;
  CHECK(h.run(jobs.run_due()) == 0);
  auto rows = all_jobs(db);
  CHECK(rows[0].state == "dead");
  CHECK(rows[0].last_error.value_or("").find("lease expired") != std::string::npos);
}

TEST_CASE("jobs: shutdown lets in-flight jobs finish, and puts back those that do not", "[jobs]") {
  temp_db_path file;
  keel::db db{"sqlite:" + file.path};
  keel::jobs::options o;
  o.poll_interval = 20ms;
  o.shutdown_grace = 300ms;
  keel::jobs::queue jobs{db, o};
  std::atomic<int> started{0};
  bool release_stubborn = false;
  jobs.handle<report>([&](const report& r, keel::jobs::context& ctx) -> keel::task<void> {
    ++started;
    if (r.name == "polite") {
      while (!ctx.stopping()) co_await keel::sleep_for(5ms);  // finishes once asked to stop
    } else {
      while (!release_stubborn) co_await keel::sleep_for(5ms);  // ignores shutdown
    }
  });
  jobs.enqueue_sync(report{"polite"});
  jobs.enqueue_sync(report{"stubborn"});
  harness h;
  keel::background bg(h.reactor);
  auto stopper = [&]() -> keel::task<void> {
    auto give_up = std::chrono::steady_clock::now() + 60s;
    while (started < 2 && std::chrono::steady_clock::now() < give_up) co_await keel::sleep_for(5ms);
    bg.request_stop();
  };
  auto both = [&]() -> keel::task<void> {
    keel::detail::start_detached(stopper(), [](keel::detail::task_result<void>&&) {});
    co_await jobs.run(bg);
    release_stubborn = true;  // run() returned: the stubborn job was released; let its coroutine end
  };
  h.run(both());
  auto rows = all_jobs(db);
  REQUIRE(rows.size() == 2);
  CHECK(rows[0].state == "done");
  CHECK(rows[1].state == "queued");  // back in the queue, its attempt not counted
  CHECK(rows[1].attempts == 0);
  CHECK(db.query_one_sync<std::int64_t>("SELECT count(*) FROM keel_jobs WHERE lease_until IS NOT NULL") == 0);
}

TEST_CASE("jobs: setup mistakes are errors at start-up", "[jobs]") {
  keel::db db{"sqlite::memory:"};
  keel::jobs::queue jobs{db};
  CHECK_THROWS_WITH(jobs.enqueue_sync(report{"x"}),
                    Catch::Contains("job report has no handler in this queue"));
  jobs.handle<report>([](const report&, keel::jobs::context&) {});
  CHECK_THROWS_WITH(jobs.handle<report>([](const report&, keel::jobs::context&) {}),
                    Catch::Contains("already has a handler"));
  harness h;
  keel::jobs::queue empty{db};
  keel::background bg(h.reactor);
  CHECK_THROWS_WITH(h.run(empty.run(bg)), Catch::Contains("without any handle<T>()"));
  CHECK_THROWS_AS(empty.check(), keel::jobs::config_error);  // what app.on_start can call
  CHECK_NOTHROW(jobs.check());
  // A stored payload that no longer fits the type: dead at once, with the reason.
  db.execute_sync(
      "INSERT INTO keel_jobs (queue, type, payload, state, max_attempts, run_at, created_at) VALUES "
      "('default', 'report', '{\"name\": 5}', 'queued', 5, 0, 0)");
  CHECK(h.run(jobs.run_due()) == 1);
  CHECK(db.query_one_sync<std::string>("SELECT state FROM keel_jobs") == "dead");
  CHECK_THAT(db.query_one_sync<std::string>("SELECT last_error FROM keel_jobs").value_or(""),
             Catch::Contains("stored payload does not fit"));
}

TEST_CASE("jobs: a running job's lease is renewed, so another worker does not take it", "[jobs]") {
  temp_db_path file;
  keel::db db{"sqlite:" + file.path};
  manual_clock clock;
  keel::jobs::options o = test_options(clock);
  o.lease = 30ms;  // renewed every 10 ms of steady time while the job runs
  keel::jobs::queue jobs{db, o};
  keel::db other_db{"sqlite:" + file.path};
  keel::jobs::queue other{other_db, o};  // a second process
  int other_ran = 0;
  other.handle<report>([&](const report&, keel::jobs::context&) { ++other_ran; });
  bool renewed = false;
  std::size_t stolen = 99;
  jobs.handle<report>([&](const report&, keel::jobs::context& ctx) -> keel::task<void> {
    clock.advance(10s);  // the lease taken at the claim has long expired by this clock
    std::int64_t due = clock.ms->load();
    auto give_up = std::chrono::steady_clock::now() + 60s;
    while (!renewed && std::chrono::steady_clock::now() < give_up) {
      auto until =
          co_await db.query_one<std::int64_t>("SELECT lease_until FROM keel_jobs WHERE id = ?", ctx.id());
      renewed = until && *until > due;
      if (!renewed) co_await keel::sleep_for(5ms);
    }
    stolen = co_await other.run_due();
  });
  jobs.enqueue_sync(report{"long"});
  harness h;
  keel::background bg(h.reactor);
  auto stopper = [&]() -> keel::task<void> {
    auto give_up = std::chrono::steady_clock::now() + 60s;
    while (stolen == 99 && std::chrono::steady_clock::now() < give_up) co_await keel::sleep_for(5ms);
    bg.request_stop();
  };
  auto both = [&]() -> keel::task<void> {
    keel::detail::start_detached(stopper(), [](keel::detail::task_result<void>&&) {});
    co_await jobs.run(bg);
  };
  h.run(both());
  CHECK(renewed);
  CHECK(stolen == 0);
  CHECK(other_ran == 0);
  auto rows = all_jobs(db);
  CHECK(rows[0].state == "done");
  CHECK(rows[0].attempts == 1);
}

TEST_CASE("jobs: in a served app, a route enqueues in its transaction and the app's workers run the job",
          "[jobs][socket]") {
  temp_db_path file;
  keel::db db{"sqlite:" + file.path};
  db.execute_script_sync(
      "CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL); CREATE TABLE sent (user_id "
      "INTEGER)");
  keel::jobs::queue jobs{db};
  jobs.handle<welcome_email>([&db](const welcome_email& m, keel::jobs::context&) -> keel::task<void> {
    co_await db.execute("INSERT INTO sent (user_id) VALUES (?)", m.user_id);  // the job uses the app's db
  });
  auto api = keel::router{
      keel::post<"/signup">(
          [](keel::json<signup> body, keel::db& db, keel::jobs::queue& jobs) -> keel::task<std::string> {
            auto tx = co_await db.begin();
            auto id = co_await tx.query_one<std::int64_t>("INSERT INTO users (email) VALUES (?) RETURNING id",
                                                          body->email);
            welcome_email mail{*id, body->email};
            co_await jobs.enqueue(tx, mail);
            if (body->rollback) {
              co_await tx.rollback();
              co_return "rolled back";
            }
            co_await tx.commit();
            co_return "welcome";
          }),
  };
  auto app = keel::app{std::move(api)}.provide(db, jobs);
  app.spawn([&jobs](keel::background& bg) { return jobs.run(bg); });
  using app_type = decltype(app);
  keel::detail::server<app_type> server(app, keel_test::local_config(2));
  const auto port = server.start();
  const std::string curl =
      "curl -s --max-time 10 -H 'Content-Type: application/json' http://127.0.0.1:" + std::to_string(port) +
      "/signup -d ";
  CHECK(keel_test::run_command(curl + "'{\"email\":\"ada@example.com\",\"rollback\":false}'") == "welcome");
  CHECK(keel_test::run_command(curl + "'{\"email\":\"no@example.com\",\"rollback\":true}'") == "rolled back");
  CHECK(keel_test::run_command(curl + "'{\"email\":\"bob@example.com\",\"rollback\":false}'") == "welcome");
  auto give_up = std::chrono::steady_clock::now() + 60s;
  while (db.query_one_sync<std::int64_t>("SELECT count(*) FROM sent") < 2 &&
         std::chrono::steady_clock::now() < give_up)
    std::this_thread::sleep_for(10ms);
  server.stop();
  server.wait();
  CHECK(db.query_one_sync<std::int64_t>("SELECT count(*) FROM users") == 2);
  CHECK(db.query_sync<std::int64_t>("SELECT user_id FROM sent ORDER BY user_id") ==
        std::vector<std::int64_t>{1, 2});
  auto rows = all_jobs(db);
  REQUIRE(rows.size() == 2);
  CHECK(rows[0].state == "done");
  CHECK(rows[1].state == "done");
}
