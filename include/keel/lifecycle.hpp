// App lifecycle: start-up and shutdown hooks, supervised background tasks and periodic timers.
//
//   keel::app{api}
//       .on_start([&] { migrate(db); })                 // before the server listens; a throw stops start-up
//       .spawn([](keel::background& bg) -> keel::task<> {
//         while (co_await bg.sleep(std::chrono::seconds(1))) refresh_cache();   // false once stopping
//       })
//       .every(std::chrono::seconds(10), [] { log_stats(); })
//       .on_stop([&] { pool.close(); })                // after everything else, before serve() returns
//       .serve();
//
// Shutdown runs in a fixed order: stop accepting; finish in-flight requests and let upgraded protocols say
// goodbye (within the shutdown timeout); stop periodic timers and ask background tasks to stop (bg.stopping()
// turns true and a pending bg.sleep() returns false at once), waiting up to the shutdown timeout; a task
// that ignores the request is abandoned with a logged warning; then the on_stop hooks run, and serve()
// returns. Background tasks and timers run on the first reactor thread: what blocks belongs in keel::offload.
#pragma once

#include "keel/config.hpp"
#include "keel/task.hpp"

#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>

#include <chrono>
#include <coroutine>
#include <cstdio>
#include <exception>
#include <string>
#include <functional>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

namespace keel {
inline namespace v0 {

// Handed to each spawned background task: whether shutdown asked it to stop, and a sleep that shutdown
// interrupts.
class background {
 public:
  explicit background(asio::io_context& reactor) : reactor_(&reactor) {}
  background(const background&) = delete;
  background& operator=(const background&) = delete;

  bool stopping() const noexcept { return stopping_; }

  // co_await bg.sleep(d): true after d, false at once (or as soon as shutdown begins) when stopping.
  [[nodiscard]] auto sleep(std::chrono::steady_clock::duration d) {
    struct awaiter {
      background* bg;
      std::chrono::steady_clock::duration d;
      bool await_ready() const noexcept { return bg->stopping_; }
      void await_suspend(std::coroutine_handle<> h) {
        bg->timer_.emplace(*bg->reactor_, d);
        bg->timer_->async_wait([h](const std::error_code&) { h.resume(); });
      }
      bool await_resume() const noexcept { return !bg->stopping_; }
    };
    return awaiter{this, d};
  }

  // Shutdown: stop, and cut a pending sleep short.
  void request_stop() {
    stopping_ = true;
    if (timer_) timer_->cancel();
  }

 private:
  asio::io_context* reactor_;
  std::optional<asio::steady_timer> timer_;
  bool stopping_ = false;
};

namespace detail {

// What an app registered; shared by the app objects its builder steps make (app.use(...) returns a new app).
// std::function is fine here: these run a handful of times per process, never per request.
struct lifecycle {
  std::vector<std::function<void()>> start_hooks;
  std::vector<std::function<void()>> stop_hooks;
  std::vector<std::function<task<void>(background&)>> tasks;
  std::vector<std::pair<std::chrono::steady_clock::duration, std::function<void()>>> timers;

  bool empty() const noexcept {
    return start_hooks.empty() && stop_hooks.empty() && tasks.empty() && timers.empty();
  }
};

// The running side, on the first reactor: the spawned tasks and the timers.
class lifecycle_runner {
 public:
  lifecycle_runner(const lifecycle& l, asio::io_context& reactor) : lifecycle_(l), reactor_(reactor) {}
  lifecycle_runner(const lifecycle_runner&) = delete;
  lifecycle_runner& operator=(const lifecycle_runner&) = delete;

  // On the reactor thread.
  void start() {
    for (const auto& [interval, fn] : lifecycle_.timers) {
      auto& t = timers_.emplace_back(std::make_unique<periodic>(reactor_, interval, fn));
      t->arm();
    }
    for (const auto& make : lifecycle_.tasks) {
      auto& bg = backgrounds_.emplace_back(std::make_unique<background>(reactor_));
      ++running_;
      detail::start_detached(make(*bg), [this](task_result<void>&& r) {
        if (r.exception) log_task_failure(r.exception);
        if (--running_ == 0 && stopping_) {
          deadline_.cancel();
          finish(false);
        }
      });
    }
  }

  // On the reactor thread, once every connection is done: stop the timers, ask the tasks to stop, and give
  // them until `deadline`. finished(abandoned) is called once: when the last task ended (false), or at the
  // deadline with tasks still running (true; they are left suspended, and a warning is logged).
  void stop(std::chrono::milliseconds deadline, std::function<void(bool)> finished) {
    stopping_ = true;
    finished_ = std::move(finished);
    for (auto& t : timers_) t->cancel();
    for (auto& bg : backgrounds_) bg->request_stop();
    if (running_ == 0) return finish(false);
    deadline_.expires_after(deadline);
    deadline_.async_wait([this](const std::error_code& ec) {
      if (ec || running_ == 0) return;
      std::fprintf(stderr, "{\"level\":\"warning\",\"event\":\"background_tasks_abandoned\",\"count\":%d}\n",
                   running_);
      std::fflush(stderr);
      finish(true);
    });
  }

  int running() const noexcept { return running_; }

 private:
  struct periodic {
    periodic(asio::io_context& reactor, std::chrono::steady_clock::duration interval,
             const std::function<void()>& fn)
        : timer(reactor), interval(interval), fn(fn) {}
    void arm() {
      timer.expires_after(interval);
      timer.async_wait([this](const std::error_code& ec) {
        if (ec || cancelled) return;
        try {
          fn();
        } catch (const std::exception& e) {
          std::fprintf(stderr, "{\"level\":\"error\",\"event\":\"timer_exception\",\"what\":\"%s\"}\n",
                       e.what());
        }
        arm();
      });
    }
    void cancel() {
      cancelled = true;
      timer.cancel();
    }
    asio::steady_timer timer;
    std::chrono::steady_clock::duration interval;
    const std::function<void()>& fn;
    bool cancelled = false;
  };

  static void log_task_failure(const std::exception_ptr& e) {
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& ex) {
      std::fprintf(stderr, "{\"level\":\"error\",\"event\":\"background_task_exception\",\"what\":\"%s\"}\n",
                   ex.what());
    } catch (...) {
      std::fprintf(stderr, "{\"level\":\"error\",\"event\":\"background_task_exception\"}\n");
    }
  }

  void finish(bool abandoned) {
    if (auto f = std::exchange(finished_, nullptr)) f(abandoned);
  }

  const lifecycle& lifecycle_;
  asio::io_context& reactor_;
  std::function<void(bool)> finished_;
  std::vector<std::unique_ptr<periodic>> timers_;
  std::vector<std::unique_ptr<background>> backgrounds_;
  asio::steady_timer deadline_{reactor_};
  int running_ = 0;
  bool stopping_ = false;
};

}  // namespace detail
}  // namespace v0
}  // namespace keel
