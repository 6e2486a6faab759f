// keel::health: liveness and readiness endpoints for load balancers and orchestrators.
//
//   keel::health health;
//   health.database(db);                                      // readiness pings the database (SELECT 1)
//   health.check("redis", [&]() -> keel::task<void> { co_await redis.ping(); });   // throws: not ready
//   auto api = keel::router{..., keel::health_routes(health)};  // GET /healthz and GET /readyz
//
// GET /healthz answers 200 {"status":"ok"} while the process serves requests at all (liveness: restart me
// when this fails). GET /readyz runs the checks in the order they were added and answers 200
// {"status":"ready","checks":{"database":"ok"}} when all pass, else 503 with the first failing check named:
// {"status":"unavailable","failing":"database","checks":{"database":"<what it threw>"}}. Each check has a
// deadline (health.timeout(), 1 s by default): one that has not finished by then counts as failed
// ("timed out after 1000 ms") and /readyz answers without waiting for it (it keeps running; its late outcome
// is dropped). From the moment
// graceful shutdown begins (SIGTERM, server.stop()), or after health.drain(), /readyz answers 503
// {"status":"shutting_down"} without running the checks, so a load balancer stops sending new requests while
// the ones in flight finish.
#pragma once

#include "keel/config.hpp"
#include "keel/context.hpp"
#include "keel/detail/json_escape.hpp"
#include "keel/http/response.hpp"
#include "keel/http/status.hpp"
#include "keel/router/route.hpp"
#include "keel/server/reactor.hpp"
#include "keel/task.hpp"

#include <asio/steady_timer.hpp>

#include <atomic>
#include <chrono>
#include <coroutine>
#include <exception>
#include <stdexcept>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace keel {
inline namespace v0 {

class health {
 public:
  // A readiness check: a coroutine that returns when the dependency is usable and throws when it is not
  // (the exception's what() becomes the check's message). It runs on the reactor serving /readyz: what
  // blocks belongs in keel::offload (keel::db's queries already run on the worker pool).
  using check_fn = std::function<task<void>()>;

  health() : state_(std::make_shared<state>()) {}

  // Adds a check; checks run in the order they were added, before the server starts serving them.
  health& check(std::string name, check_fn fn) {
    std::lock_guard lock(state_->mutex);
    state_->checks.push_back({std::move(name), std::move(fn)});
    return *this;
  }
  // How long each check may take before it counts as failed (default 1 s). Before the server starts.
  health& timeout(std::chrono::milliseconds limit) {
    std::lock_guard lock(state_->mutex);
    state_->timeout = limit;
    return *this;
  }

  // Adds a check that runs `SELECT 1` on a keel::db (which must outlive the server).
  template <class Db>
  requires requires(Db& d) { d.template query_one<int>("SELECT 1"); }
  health& database(Db& db, std::string name = "database") {
    return check(std::move(name), [&db]() -> task<void> {
      auto one = co_await db.template query_one<int>("SELECT 1");
      if (!one || *one != 1) throw std::runtime_error("SELECT 1 did not return 1");
    });
  }

  // From now on /readyz answers 503 (a rolling deploy draining this instance before it stops). Any thread.
  void drain() noexcept { state_->draining.store(true, std::memory_order_relaxed); }
  bool draining() const noexcept {
    return state_->draining.load(std::memory_order_relaxed) || detail::reactor_shutting_down();
  }

  // The answers, for apps that route them themselves.
  static response live() { return response(http::status::ok, R"({"status":"ok"})", "application/json"); }
  task<response> ready() const { return run_checks(state_); }

 private:
  struct named_check {
    std::string name;
    check_fn fn;
  };
  struct state {
    std::mutex mutex;
    std::vector<named_check> checks;
    std::chrono::milliseconds timeout{1000};
    std::atomic<bool> draining{false};
  };

  // One check against its deadline, all on the reactor thread: the check runs detached; whichever comes
  // first, its end or the timer, settles `message`; the timer's handler (fired, or cancelled by the check's
  // end) resumes the waiting /readyz. A check finishing after its deadline finds the race settled and
  // touches nothing else (the timer lives in /readyz's frame, gone by then).
  struct check_race {
    bool settled = false;
    std::string message;
    asio::steady_timer* timer = nullptr;
    std::coroutine_handle<> waiter;
  };
  struct race_awaiter {
    check_race* race;
    bool await_ready() const noexcept { return false; }
    void await_suspend(std::coroutine_handle<> h) const noexcept { race->waiter = h; }
    void await_resume() const noexcept {}
  };

  static std::string message_of(const std::exception_ptr& error) {
    if (!error) return "ok";
    std::string message;
    try {
      std::rethrow_exception(error);
    } catch (const std::exception& e) {
      message = e.what();
    } catch (...) {
    }
    if (message.empty() || message == "ok") message = "failed";
    return message;
  }

  // The check's outcome: "ok", what it threw, or that it timed out.
  static task<std::string> run_check(const named_check& c, std::chrono::milliseconds limit) {
    asio::io_context* io = detail::current_reactor();
    if (io == nullptr) {  // not on a reactor (ready() driven by hand): no timer to race against
      std::exception_ptr error;
      try {
        task<void> t = c.fn();
        co_await std::move(t);
      } catch (...) {
        error = std::current_exception();
      }
      co_return message_of(error);
    }
    asio::steady_timer timer(*io, limit);
    auto race = std::make_shared<check_race>();
    race->timer = &timer;
    auto on_deadline = [race, limit](const std::error_code&) {
      if (!race->settled) {
        race->settled = true;
        race->message = "timed out after " + std::to_string(limit.count()) + " ms";
      }
      if (auto h = std::exchange(race->waiter, {})) h.resume();
    };
    timer.async_wait(std::move(on_deadline));
    // The check's function object outlives /readyz with it: a coroutine lambda's captures live there.
    auto fn = std::make_shared<const check_fn>(c.fn);
    auto on_end = [race, fn](detail::task_result<void>&& r) {
      if (race->settled) return;
      race->settled = true;
      race->message = message_of(r.exception);
      race->timer->cancel();
    };
    try {
      task<void> t = (*fn)();
      detail::start_detached(std::move(t), std::move(on_end));
    } catch (...) {  // fn threw before returning its task
      race->settled = true;
      race->message = message_of(std::current_exception());
      timer.cancel();
    }
    const race_awaiter settled{race.get()};
    co_await settled;
    co_return race->message;
  }

  static task<response> run_checks(std::shared_ptr<state> st) {
    response res(http::status::service_unavailable);
    res.content_type("application/json");
    res.header("Cache-Control", "no-store");
    if (st->draining.load(std::memory_order_relaxed) || detail::reactor_shutting_down()) {
      res.body(R"({"status":"shutting_down"})");
      co_return res;
    }
    std::vector<named_check> checks;
    std::chrono::milliseconds limit{};
    {
      std::lock_guard lock(st->mutex);
      checks = st->checks;
      limit = st->timeout;
    }
    std::string listed;
    std::string_view failing;
    for (const auto& c : checks) {
      task<std::string> run = run_check(c, limit);
      std::string message = co_await std::move(run);
      if (failing.empty() && message != "ok") failing = c.name;
      listed.append(listed.empty() ? "" : ",");
      detail::append_json_string(listed, c.name);
      listed.push_back(':');
      detail::append_json_string(listed, message);
    }
    std::string body = failing.empty() ? R"({"status":"ready")" : R"({"status":"unavailable","failing":)";
    if (!failing.empty()) detail::append_json_string(body, failing);
    body.append(R"(,"checks":{)").append(listed).append("}}");
    if (failing.empty()) res.status(http::status::ok);
    res.body(std::move(body));
    co_return res;
  }

  std::shared_ptr<state> state_;
};

// GET Live ("/healthz") and GET Ready ("/readyz") answering for `h`, as one group to put in a router.
template <fixed_string Live = "/healthz", fixed_string Ready = "/readyz">
auto health_routes(const health& h) {
  auto r1 = get<Live>([] { return health::live(); });
  auto r2 = get<Ready>([h]() -> task<response> { return h.ready(); });
  using group_type = route_group<fixed_string<1>{}, std::tuple<decltype(r1), decltype(r2)>>;
  return group_type{std::tuple<decltype(r1), decltype(r2)>(std::move(r1), std::move(r2)), {}};
}

}  // namespace v0
}  // namespace keel
