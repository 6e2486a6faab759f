// keel::health's per-check deadline over a real socket: a check that never finishes makes /readyz a 503
// naming it once its deadline passes, while the other checks still report.
#include "keel/health.hpp"

#include "keel/app.hpp"
#include "keel/router/router.hpp"
#include "keel/server/reactor.hpp"
#include "keel/server/server.hpp"
#include "keel/task.hpp"
#include "support/http_exchange.hpp"
#include "support/local_server.hpp"

#include <catch2/catch.hpp>

#include <asio/post.hpp>

#include <chrono>
#include <coroutine>
#include <mutex>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace {

using namespace std::chrono_literals;
using keel_test::exchange;

// Parks every coroutine that awaits it until release() (a dependency that never answers); release()
// resumes them on their reactor so their frames end before the test does.
class gate {
 public:
  struct awaiter {
    gate* g;
    bool await_ready() const noexcept { return false; }
    void await_suspend(std::coroutine_handle<> h) const {
      std::lock_guard lock(g->mutex_);
      g->parked_.emplace_back(keel::detail::current_reactor(), h);
    }
    void await_resume() const noexcept {}
  };
  awaiter wait() { return awaiter{this}; }
  std::size_t parked() {
    std::lock_guard lock(mutex_);
    return parked_.size();
  }
  void release() {
    std::lock_guard lock(mutex_);
    for (auto& [io, h] : parked_) asio::post(*io, [h = h] { h.resume(); });
    parked_.clear();
  }

 private:
  std::mutex mutex_;
  std::vector<std::pair<asio::io_context*, std::coroutine_handle<>>> parked_;
};

keel::task<void> never_answers(gate& g) {
  co_await g.wait();
  throw std::runtime_error("answered too late");
}
keel::task<void> passes() { co_return; }

}  // namespace

TEST_CASE("/readyz: a check past its deadline counts as failed and is named", "[health][socket]") {
  gate g;
  keel::health health;
  health.timeout(200ms)
      .check("fast", [] { return passes(); })
      .check("stuck", [&g] { return never_answers(g); })
      .check("after", [] { return passes(); });
  keel::health fine;
  fine.timeout(200ms).check("fast", [] { return passes(); });
  auto api = keel::router{keel::health_routes(health), keel::group<"/fine">(keel::health_routes(fine))};
  auto app = keel::app{api};
  keel::detail::server<decltype(app)> server(app, keel_test::local_config(1));
  const auto port = server.start();

  for (int i = 0; i < 2; ++i) {  // the stuck check of the first request does not hold up the second
    const auto ready = exchange(port, "GET", "/readyz");
    CHECK(ready.status == 503);
    CHECK(
        ready.body ==
        R"({"status":"unavailable","failing":"stuck","checks":{"fast":"ok","stuck":"timed out after 200 ms","after":"ok"}})");
  }
  CHECK(g.parked() == 2);
  const auto ok = exchange(port, "GET", "/fine/readyz");
  CHECK(ok.status == 200);
  CHECK(ok.body == R"({"status":"ready","checks":{"fast":"ok"}})");
  CHECK(exchange(port, "GET", "/healthz").status == 200);

  // The stuck checks end late: their outcome is dropped, /readyz is unaffected.
  g.release();
  CHECK(exchange(port, "GET", "/fine/readyz").status == 200);
  server.stop();
  server.wait();
}
