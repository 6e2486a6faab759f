// keel::jobs::queue: a durable background job queue in the app's database (table keel_jobs).
//   keel::jobs::queue jobs{db};                                        // migrates keel_jobs at construction
//   jobs.handle<welcome_email>([](const welcome_email& m, keel::jobs::context& ctx) -> keel::task<void> {
//     co_await send(m.user_id);                                        // async: runs on the first reactor
//   });
//   jobs.handle<resize_image>([](const resize_image& r, keel::jobs::context&) { resize(r); });  // sync: pool
//   jobs.schedule<nightly_report>("nightly", "0 3 * * *", nightly_report{});                  // UTC cron
//   jobs.schedule("berlin", keel::jobs::cron::parse("0 3 * * *").in_zone("Europe/Berlin"), nightly_report{});
//   auto tx = co_await db.begin();
//   co_await tx.execute("INSERT INTO users ...");
//   welcome_email mail{id};
//   co_await jobs.enqueue(tx, mail);            // the job exists exactly when the transaction commits
//   co_await tx.commit();
//   keel::app{api}.provide(db).spawn([&](keel::background& bg) { return jobs.run(bg); }).serve();
// Workers claim due jobs (SQLite: one UPDATE ... RETURNING on the writer; PostgreSQL: FOR UPDATE SKIP
// LOCKED, so several processes share one queue), hold a lease they renew while running, retry failures with
// exponential backoff and jitter up to max_attempts, then keep the job as `dead` with its last error.
#pragma once

#include "keel/config.hpp"
#include "keel/jobs/cron.hpp"
#include "keel/jobs/detail/schema.hpp"
#include "keel/jobs/types.hpp"
#include "keel/json/reader.hpp"
#include "keel/json/writer.hpp"
#include "keel/lifecycle.hpp"
#include "keel/offload.hpp"
#include "keel/server/reactor.hpp"
#include "keel/sql/database.hpp"
#include "keel/sql/migrate.hpp"
#include "keel/sql/transaction.hpp"
#include "keel/task.hpp"

#include <asio/post.hpp>
#include <asio/steady_timer.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <coroutine>
#include <cstdint>
#include <cstdio>
#include <deque>
#include <exception>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include <unistd.h>

namespace keel {
inline namespace v0 {
namespace jobs {

// Applies keel::jobs' migrations to `db` (the queue's constructor does it unless options.migrate is false).
inline sql::migration_report migrate_sync(keel::db& db) {
  if (db.engine() == sql::engine::postgres)
    return sql::migrate_sync(db, detail::postgres_migrations, detail::migration_table);
  return sql::migrate_sync(db, detail::sqlite_migrations, detail::migration_table);
}

namespace detail {

inline std::int64_t to_ms(std::chrono::system_clock::time_point t) noexcept {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

// Job names go into the claim statement as literals: keep them to a safe alphabet.
inline void check_name(std::string_view what, std::string_view name) {
  bool ok = !name.empty() && name.size() <= 100;
  for (char c : name)
    ok = ok && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
                c == '-' || c == '.' || c == ':');
  if (!ok)
    throw config_error("keel::jobs: bad " + std::string(what) + " name \"" + std::string(name) +
                       "\" (1-100 of A-Z a-z 0-9 _ - . :)");
}

// Exponential backoff: base * 2^(attempt-1), capped, less a random fraction in [0, jitter].
inline std::chrono::milliseconds backoff(const retry_policy& p, int attempt, double random01) {
  double d = static_cast<double>(p.base.count());
  for (int i = 1; i < attempt && d < static_cast<double>(p.max.count()); ++i) d *= 2;
  d = std::min(d, static_cast<double>(p.max.count()));
  d *= 1.0 - std::clamp(p.jitter, 0.0, 1.0) * random01;
  return std::chrono::milliseconds(static_cast<std::int64_t>(d));
}

template <class T>
T decode(std::string_view type, const std::string& payload) {
  auto parsed = json_io::read<T>(payload);
  if (!parsed) {
    const auto& first = parsed.errors().front();
    throw permanent_error("keel::jobs: job " + std::string(type) + ": stored payload does not fit: " +
                          (first.path.empty() ? std::string() : first.path + ": ") + first.reason);
  }
  return std::move(parsed).value();
}

template <class T, class F>
task<void> invoke_async(std::shared_ptr<F> fn, std::string payload, context* ctx) {
  T job = decode<T>(ctx->type(), payload);
  co_await (*fn)(std::as_const(job), *ctx);
}

template <class T, class F>
task<void> invoke_sync(std::shared_ptr<F> fn, std::string payload, context* ctx) {
  auto work = [&fn, &payload, ctx] {
    T job = decode<T>(ctx->type(), payload);
    (*fn)(std::as_const(job), *ctx);
  };
  co_await keel::offload(work);
}

}  // namespace detail

class queue {
 public:
  explicit queue(keel::db& db, options opt = {}) : db_(db), options_(std::move(opt)) {
    if (!options_.clock) options_.clock = [] { return std::chrono::system_clock::now(); };
    if (options_.retry.max_attempts < 1) throw config_error("keel::jobs: retry.max_attempts must be >= 1");
    lane("default", options_.default_concurrency);
    for (const queue_config& q : options_.queues) lane(q.name, q.concurrency);
    worker_ = "w" + std::to_string(::getpid()) + "-" + std::to_string(std::random_device{}());
    if (options_.migrate) migrate_sync(db_);
  }
  queue(const queue&) = delete;
  queue& operator=(const queue&) = delete;

  // Registers the handler of job type T: fn(const T&, context&) returning keel::task<void> (runs on the
  // reactor that runs the queue; co_await keel::offload for blocking work) or void (runs on the worker
  // pool). At start-up only; a second handler for the same job name is a config_error.
  template <class T, class F>
  queue& handle(F fn) {
    static_assert(payload<T>,
                  "keel::jobs: a job type needs `static constexpr std::string_view keel_job = \"name\";` (a "
                  "member, or in "
                  "keel::dto_traits<T>) "
                  "(keel::jobs::payload)");
    static_assert(std::is_invocable_v<F&, const T&, context&>,
                  "keel::jobs: a handler is called as fn(const T&, keel::jobs::context&)");
    using R = std::invoke_result_t<F&, const T&, context&>;
    static_assert(std::is_same_v<R, task<void>> || std::is_void_v<R>,
                  "keel::jobs: a handler returns keel::task<void> (async) or void (runs on the worker pool)");
    std::string_view name = job_name_of<T>();
    detail::check_name("job", name);
    setup_done_ = false;  // the claim statements list the handled types: rebuilt before the next claim
    if (handler_for(name) != nullptr)
      throw config_error("keel::jobs: job " + std::string(name) + " already has a handler");
    auto shared = std::make_shared<F>(std::move(fn));
    handler h;
    h.type = std::string(name);
    h.lane = &lane(queue_of<T>(), options_.default_concurrency);
    if constexpr (std::is_void_v<R>)
      h.run = [shared](std::string payload, context& ctx) {
        return detail::invoke_sync<T, F>(shared, std::move(payload), &ctx);
      };
    else
      h.run = [shared](std::string payload, context& ctx) {
        return detail::invoke_async<T, F>(shared, std::move(payload), &ctx);
      };
    handlers_.push_back(std::move(h));
    return *this;
  }

  // This process enqueues T but another one runs it: allows enqueue<T> without a handler here.
  template <class T>
  queue& produces() {
    static_assert(payload<T>,
                  "keel::jobs: a job type needs `static constexpr std::string_view keel_job = \"name\";` (a "
                  "member, or in "
                  "keel::dto_traits<T>) "
                  "(keel::jobs::payload)");
    detail::check_name("job", job_name_of<T>());
    detail::check_name("queue", queue_of<T>());
    produced_.emplace_back(job_name_of<T>());
    return *this;
  }

  // A cron schedule (5 fields, UTC): at each matching minute one T is enqueued, with the unique key
  // "cron:<name>:<minute>", so several processes running the same schedule enqueue it once. Minutes that
  // passed while no process ran are not made up.
  template <class T>
  queue& schedule(std::string name, std::string_view cron_text, const T& job) {
    return schedule(std::move(name), cron::parse(cron_text), job);
  }
  // The same with a parsed expression, e.g. one in a zone: cron::parse("0 3 * * *").in_zone("Europe/Berlin")
  // (the zone is loaded there, at configuration time; the workers only compute).
  template <class T>
  queue& schedule(std::string name, cron expr, const T& job) {
    static_assert(payload<T>,
                  "keel::jobs: a job type needs `static constexpr std::string_view keel_job = \"name\";` (a "
                  "member, or in "
                  "keel::dto_traits<T>) "
                  "(keel::jobs::payload)");
    detail::check_name("schedule", name);
    for (const scheduled& s : schedules_)
      if (s.name == name) throw config_error("keel::jobs: schedule " + name + " is registered twice");
    scheduled s{
        std::move(name),         std::move(expr), std::string(job_name_of<T>()), std::string(queue_of<T>()),
        json_io::to_string(job), std::nullopt};
    schedules_.push_back(std::move(s));
    return *this;
  }

  // Adds the job inside the caller's transaction: it exists exactly when that transaction commits. Returns
  // its id, or std::nullopt when opt.unique_key is already taken. Enqueueing a type with neither a handler
  // nor produces<T>() in this queue is a config_error.
  template <payload T>
  task<std::optional<std::int64_t>> enqueue(sql::transaction& tx, const T& job, const enqueue_options& opt) {
    return insert_in(tx, make_row<T>(job, opt));
  }
  // (No default argument: a defaulted options temporary inside `co_await jobs.enqueue(...)` trips g++ 12's
  // coroutine temporaries bug.)
  template <payload T>
  task<std::optional<std::int64_t>> enqueue(sql::transaction& tx, const T& job) {
    return insert_in(tx, make_row<T>(job, enqueue_options()));
  }
  // The same in a statement of its own.
  template <payload T>
  task<std::optional<std::int64_t>> enqueue(const T& job, const enqueue_options& opt) {
    return insert_in(db_, make_row<T>(job, opt));
  }
  template <payload T>
  task<std::optional<std::int64_t>> enqueue(const T& job) {
    return insert_in(db_, make_row<T>(job, enqueue_options()));
  }
  // Blocking, for start-up code, tools and tests (not on a reactor thread).
  template <payload T>
  std::optional<std::int64_t> enqueue_sync(const T& job, const enqueue_options& opt = enqueue_options()) {
    detail::new_job row = make_row<T>(job, opt);
    auto id = db_.blocking(sql::access::write, [&row](sql::connection& c) { return insert_row(c, row); });
    wake();
    return id;
  }

  // The workers: run as an app background task (`app.spawn([&](keel::background& bg) { return
  // jobs.run(bg); })`) on a reactor with a worker pool. Claims due jobs of every queue up to its
  // concurrency, polls every poll_interval (an enqueue by this process wakes it at once), fires cron
  // schedules and renews leases. When bg is asked to stop: claims nothing more, gives in-flight jobs
  // shutdown_grace to finish, and puts the others back in the queue.
  task<void> run(background& bg) {
    asio::io_context* reactor = keel::detail::current_reactor();
    if (reactor == nullptr || keel::detail::current_worker_pool() == nullptr)
      throw config_error("keel::jobs: run() needs a reactor with a worker pool (an app background task)");
    check();
    timer_.emplace(*reactor);
    home_.store(reactor);
    stopping_.store(false);
    auto last_renew = std::chrono::steady_clock::now();
    while (!bg.stopping()) {
      try {
        co_await fire_schedules();
        auto now = std::chrono::steady_clock::now();
        if (now - last_renew >= options_.lease / 3) {
          last_renew = now;
          co_await renew_leases();
        }
        co_await claim_and_start();
      } catch (const std::exception& e) {
        log_error("jobs_poll_failed", e.what());
      }
      if (bg.stopping()) break;
      co_await wait(options_.poll_interval);
    }
    stopping_.store(true);
    auto deadline = std::chrono::steady_clock::now() + options_.shutdown_grace;
    while (!in_flight_.empty() && std::chrono::steady_clock::now() < deadline) {
      auto left = deadline - std::chrono::steady_clock::now();
      co_await wait(std::min<std::chrono::steady_clock::duration>(left, std::chrono::milliseconds(50)));
    }
    if (!in_flight_.empty()) {
      try {
        co_await release_in_flight();
      } catch (const std::exception& e) {
        log_error("jobs_release_failed", e.what());
      }
    }
    home_.store(nullptr);
    timer_.reset();  // now, on its reactor: the queue usually outlives the app's reactors
  }

  // Runs every due job now, one after another, on the calling coroutine (and fires due cron schedules);
  // returns how many ran. For tests and tools, with an injected clock; run() is what an app uses.
  task<std::size_t> run_due() {
    check();
    co_await fire_schedules();
    std::size_t ran = 0;
    for (;;) {
      std::size_t claimed = 0;
      for (lane_state& l : lanes_) {
        if (l.claim.empty()) continue;
        std::vector<detail::claimed_row> rows = co_await claim(l, l.concurrency);
        std::string lease = last_token_;
        claimed += rows.size();
        for (detail::claimed_row& row : rows) {
          co_await execute(std::move(row), &l, lease);
          ++ran;
        }
      }
      if (claimed == 0) co_return ran;
    }
  }

  // Counts by state and the age of the oldest due job.
  task<jobs::stats> statistics() {
    std::int64_t now = now_ms();
    auto work = [now](sql::connection& c) { return read_stats(c, now); };
    co_return co_await db_.with_connection(sql::access::write, work);
  }
  jobs::stats statistics_sync() {
    std::int64_t now = now_ms();
    return db_.blocking(sql::access::write, [now](sql::connection& c) { return read_stats(c, now); });
  }

  // Throws config_error for what run() would refuse (no handler at all, a schedule whose job has no
  // handler). run() calls it; call it from app.on_start to make such a mistake stop start-up instead of
  // only being logged by the background task.
  void check() {
    if (setup_done_) return;
    if (handlers_.empty()) throw config_error("keel::jobs: run() without any handle<T>() registered");
    for (const scheduled& s : schedules_)
      if (handler_for(s.type) == nullptr)
        throw config_error("keel::jobs: schedule " + s.name + " enqueues job " + s.type +
                           ", which has no handler");
    bool postgres = db_.engine() == sql::engine::postgres;
    for (lane_state& l : lanes_) {
      std::string types;
      for (const handler& h : handlers_)
        if (h.lane == &l) types += (types.empty() ? "'" : ", '") + h.type + "'";
      if (!types.empty()) l.claim = detail::claim_sql(types, postgres);
    }
    setup_done_ = true;
  }

  // Jobs of this process running now.
  std::size_t in_flight() const noexcept { return in_flight_.size(); }
  std::chrono::system_clock::time_point now() const { return options_.clock(); }

 private:
  struct lane_state {
    std::string name;
    int concurrency = 1;
    int running = 0;
    std::string claim;  // built by check_setup from the handled types
  };
  struct handler {
    std::string type;
    lane_state* lane = nullptr;
    std::function<task<void>(std::string, context&)> run;
  };
  struct scheduled {
    std::string name;
    cron expr;
    std::string type;
    std::string queue;
    std::string payload;
    std::optional<std::chrono::system_clock::time_point> next;
  };
  struct running_job {
    std::string lease;
    lane_state* lane;
  };

  lane_state& lane(std::string_view name, int concurrency) {
    detail::check_name("queue", name);
    for (lane_state& l : lanes_)
      if (l.name == name) {
        if (concurrency != options_.default_concurrency) l.concurrency = concurrency;
        return l;
      }
    if (concurrency < 1) throw config_error("keel::jobs: queue " + std::string(name) + ": concurrency < 1");
    lane_state& l = lanes_.emplace_back();
    l.name = std::string(name);
    l.concurrency = concurrency;
    return l;
  }

  const handler* handler_for(std::string_view type) const noexcept {
    for (const handler& h : handlers_)
      if (h.type == type) return &h;
    return nullptr;
  }

  bool known(std::string_view type) const noexcept {
    if (handler_for(type) != nullptr) return true;
    for (const std::string& p : produced_)
      if (p == type) return true;
    return false;
  }

  std::int64_t now_ms() const { return detail::to_ms(options_.clock()); }

  template <class T>
  detail::new_job make_row(const T& job, const enqueue_options& opt) const {
    if (!known(job_name_of<T>()))
      throw config_error("keel::jobs: job " + std::string(job_name_of<T>()) +
                         " has no handler in this queue (register jobs.handle<T>(...), or jobs.produces<T>() "
                         "when another process runs it)");
    auto now = options_.clock();
    auto at = opt.run_at != std::chrono::system_clock::time_point{} ? opt.run_at : now + opt.delay;
    detail::new_job row;
    row.queue = std::string(queue_of<T>());
    row.type = std::string(job_name_of<T>());
    row.payload = json_io::to_string(job);
    row.max_attempts = opt.max_attempts > 0 ? opt.max_attempts : options_.retry.max_attempts;
    row.run_at = detail::to_ms(at);
    row.created_at = detail::to_ms(now);
    if (!opt.unique_key.empty()) row.unique_key = opt.unique_key;
    return row;
  }

  static std::optional<std::int64_t> insert_row(sql::connection& c, const detail::new_job& r) {
    return sql::detail::fetch_one<std::int64_t>(c, detail::insert_sql, r.queue, r.type, r.payload,
                                                r.max_attempts, r.run_at, r.created_at, r.unique_key);
  }

  template <class Executor>
  task<std::optional<std::int64_t>> insert_in(Executor& where, detail::new_job row) {
    auto work = [&row](sql::connection& c) { return insert_row(c, row); };
    std::optional<std::int64_t> id = co_await where.with_connection(sql::access::write, work);
    wake();
    co_return id;
  }

  static jobs::stats read_stats(sql::connection& c, std::int64_t now) {
    jobs::stats s;
    for (const detail::state_count& row : sql::detail::fetch_all<detail::state_count>(c, detail::count_sql)) {
      if (row.state == "queued") s.queued = row.n;
      if (row.state == "running") s.running = row.n;
      if (row.state == "done") s.done = row.n;
      if (row.state == "failed") s.failed = row.n;
      if (row.state == "dead") s.dead = row.n;
    }
    auto oldest = sql::detail::fetch_one<std::optional<std::int64_t>>(c, detail::oldest_sql, now);
    if (oldest && *oldest) s.oldest_waiting_seconds = static_cast<double>(now - **oldest) / 1000.0;
    return s;
  }

  // Another thread may call this (an enqueue from any reactor): the wake-up runs on the queue's reactor.
  void wake() {
    asio::io_context* home = home_.load();
    if (home == nullptr || wake_posted_.exchange(true)) return;
    asio::post(*home, [this] {
      wake_posted_.store(false);
      woken_ = true;
      if (timer_) timer_->cancel();
    });
  }

  // Waits d, or less when woken (by an enqueue here or a finished job).
  struct wait_awaiter {
    queue* q;
    std::chrono::steady_clock::duration d;
    bool await_ready() const noexcept { return q->woken_; }
    void await_suspend(std::coroutine_handle<> h) {
      q->timer_->expires_after(d);
      q->timer_->async_wait([h](const std::error_code&) { h.resume(); });
    }
    void await_resume() const noexcept { q->woken_ = false; }
  };
  wait_awaiter wait(std::chrono::steady_clock::duration d) { return wait_awaiter{this, d}; }

  task<std::vector<detail::claimed_row>> claim(lane_state& l, int count) {
    std::int64_t now = now_ms();
    std::int64_t until = now + options_.lease.count();
    std::string token = worker_ + ":" + std::to_string(++claims_);
    last_token_ = token;
    auto work = [&l, now, until, &token, count](sql::connection& c) {
      sql::detail::execute(c, detail::bury_expired_sql, now, l.name);
      return sql::detail::fetch_all<detail::claimed_row>(c, l.claim, now, until, token, l.name,
                                                         static_cast<std::int64_t>(count));
    };
    std::vector<detail::claimed_row> rows = co_await db_.with_connection(sql::access::write, work);
    std::sort(rows.begin(), rows.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
    co_return rows;
  }

  task<void> claim_and_start() {
    for (lane_state& l : lanes_) {
      int free = l.concurrency - l.running;
      if (l.claim.empty() || free <= 0) continue;
      std::vector<detail::claimed_row> rows = co_await claim(l, free);
      const std::string lease = last_token_;
      for (detail::claimed_row& row : rows) {
        std::int64_t id = row.id;
        ++l.running;
        in_flight_[id] = running_job{lease, &l};
        lane_state* lp = &l;
        keel::detail::start_detached(execute(std::move(row), lp, lease),
                                     [this, id, lp](keel::detail::task_result<void>&&) {
                                       --lp->running;
                                       in_flight_.erase(id);
                                       woken_ = true;
                                       if (timer_) timer_->cancel();
                                     });
      }
    }
  }

  // Runs one claimed job and records how it ended; never throws.
  task<void> execute(detail::claimed_row row, lane_state* l, std::string lease) {
    const handler* h = handler_for(row.type);
    if (h == nullptr) co_return;  // cannot happen: a lane only claims the types it has handlers for
    int attempt = static_cast<int>(row.attempts);
    int max_attempts = static_cast<int>(row.max_attempts);
    context ctx(row.id, h->type, l->name, attempt, max_attempts, &stopping_);
    std::string error;
    bool ok = false;
    bool permanent = false;
    try {
      task<void> t = h->run(std::move(row.payload), ctx);
      co_await std::move(t);
      ok = true;
    } catch (const permanent_error& e) {
      error = e.what();
      permanent = true;
    } catch (const std::exception& e) {
      error = e.what();
    } catch (...) {
      error = "unknown exception";
    }
    std::int64_t now = now_ms();
    std::int64_t id = row.id;
    try {
      if (ok) {
        auto work = [now, id, &lease](sql::connection& c) {
          sql::detail::execute(c, detail::done_sql, now, id, lease);
        };
        co_await db_.with_connection(sql::access::write, work);
      } else if (permanent || attempt >= max_attempts) {
        auto work = [now, id, &lease, &error](sql::connection& c) {
          sql::detail::execute(c, detail::dead_sql, now, error, id, lease);
        };
        co_await db_.with_connection(sql::access::write, work);
      } else {
        std::int64_t at = now + detail::backoff(options_.retry, attempt, random01()).count();
        auto work = [at, id, &lease, &error](sql::connection& c) {
          sql::detail::execute(c, detail::retry_sql, at, error, id, lease);
        };
        co_await db_.with_connection(sql::access::write, work);
      }
    } catch (const std::exception& e) {
      log_error("jobs_finish_failed", e.what());
    }
  }

  task<void> renew_leases() {
    if (in_flight_.empty()) co_return;
    std::int64_t until = now_ms() + options_.lease.count();
    std::vector<std::pair<std::int64_t, std::string>> held;
    for (const auto& [id, job] : in_flight_) held.emplace_back(id, job.lease);
    auto work = [until, &held](sql::connection& c) {
      for (const auto& [id, lease] : held) sql::detail::execute(c, detail::renew_sql, until, id, lease);
    };
    co_await db_.with_connection(sql::access::write, work);
  }

  task<void> release_in_flight() {
    std::vector<std::pair<std::int64_t, std::string>> held;
    for (const auto& [id, job] : in_flight_) held.emplace_back(id, job.lease);
    auto work = [&held](sql::connection& c) {
      for (const auto& [id, lease] : held) sql::detail::execute(c, detail::release_sql, id, lease);
    };
    co_await db_.with_connection(sql::access::write, work);
    std::fprintf(stderr, "{\"level\":\"warning\",\"event\":\"jobs_released\",\"count\":%zu}\n", held.size());
  }

  task<void> fire_schedules() {
    if (schedules_.empty()) co_return;
    auto now = options_.clock();
    for (scheduled& s : schedules_) {
      if (!s.next) s.next = s.expr.next_after(now);
      if (*s.next > now) continue;
      detail::new_job row;
      row.queue = s.queue;
      row.type = s.type;
      row.payload = s.payload;
      row.max_attempts = options_.retry.max_attempts;
      row.run_at = detail::to_ms(*s.next);
      row.created_at = detail::to_ms(now);
      row.unique_key = "cron:" + s.name + ":" + std::to_string(row.run_at);
      s.next = s.expr.next_after(now);
      co_await insert_in(db_, std::move(row));
    }
  }

  double random01() {
    std::uniform_real_distribution<double> d(0.0, 1.0);
    return d(rng_);
  }

  static void log_error(const char* event, const char* what) {
    std::string text = json_io::to_string(std::string_view(what));
    std::fprintf(stderr, "{\"level\":\"error\",\"event\":\"%s\",\"what\":%s}\n", event, text.c_str());
  }

  keel::db& db_;
  options options_;
  std::deque<lane_state> lanes_;  // stable addresses: handlers point at their lane
  std::vector<handler> handlers_;
  std::vector<std::string> produced_;
  std::vector<scheduled> schedules_;
  std::map<std::int64_t, running_job> in_flight_;
  std::string worker_;
  std::string last_token_;
  std::uint64_t claims_ = 0;
  std::mt19937_64 rng_{std::random_device{}()};
  std::optional<asio::steady_timer> timer_;
  std::atomic<asio::io_context*> home_{nullptr};
  std::atomic<bool> wake_posted_{false};
  std::atomic<bool> stopping_{false};
  bool woken_ = false;
  bool setup_done_ = false;
};

}  // namespace jobs
}  // namespace v0
}  // namespace keel
