// keel::detail::basic_server: reactor threads, acceptors, connection cap and graceful shutdown (TLS via
// keel/tls.hpp).
#pragma once

#include "keel/config.hpp"
#include "keel/detail/cpu_affinity.hpp"
#include "keel/lifecycle.hpp"
#include "keel/server/config.hpp"
#include "keel/server/connection.hpp"
#include "keel/server/io_counters.hpp"
#include "keel/server/reactor.hpp"
#include "keel/server/signals.hpp"
#include "keel/server/worker_pool.hpp"

#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/address.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/ip/v6_only.hpp>
#include <asio/post.hpp>
#include <asio/socket_base.hpp>
#include <asio/steady_timer.hpp>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

namespace keel {
inline namespace v0 {
namespace detail {

// TLS is opt-in so that programs serving plain HTTP neither parse <asio/ssl> and OpenSSL's headers nor map
// libssl/libcrypto: keel/tls.hpp declares a make_tls_acceptor<Session, App> overload taking tls_tag, which
// argument-dependent lookup finds when the server is instantiated after that header was included. The tag
// carries no template arguments on purpose: lookup through a type naming App would instantiate every class
// the app's type mentions (the std::tuple of all routes among them) to look for hidden friends.
struct tls_tag {};

// A type-erased TLS context and the function that starts one TLS connection over an accepted socket.
template <class App>
struct tls_acceptor {
  std::shared_ptr<void> context;
  void (*start_connection)(void* context, asio::ip::tcp::socket&& socket, App& app, const server_config& cfg,
                           connection_registry& registry) = nullptr;
};

// Chosen when keel/tls.hpp is not included (its overload takes the third argument as int, a better match).
template <class Session, class App>
[[noreturn]] tls_acceptor<App> make_tls_acceptor(tls_tag, const tls_config&, long) {
  throw std::runtime_error(
      "keel: a TLS certificate is configured but this program was built without TLS support: "
      "#include <keel/tls.hpp> (and link OpenSSL) to serve HTTPS");
}

// A non-blocking handle on a running server: start() binds and returns the port, stop() begins a graceful
// shutdown from any thread (or a signal), wait() blocks until every reactor thread has finished.
// Session is constructed as Session(app, cfg, is_tls) for each connection (see keel/server/session.hpp).
template <class Session, class App>
class basic_server {
 public:
  basic_server(App& app, server_config cfg) : app_(app), cfg_(std::move(cfg)) {}
  basic_server(const basic_server&) = delete;
  basic_server& operator=(const basic_server&) = delete;
  ~basic_server() {
    stop();
    wait();
  }

  // Binds cfg.host:cfg.port (port 0 picks a free one), starts the reactor threads and returns the bound port.
  // Throws std::system_error when it cannot listen, std::runtime_error for a bad TLS certificate or key.
  std::uint16_t start() { return start_reactors(true); }

  // Serves until shutdown completed, running the first reactor on the calling thread (one thread fewer than
  // start() + wait(), which keeps a thread parked in join()).
  void run() {
    start_reactors(false);
    run_reactor(*reactors_.front());
    wait();
  }

  // Begins a graceful shutdown; safe from any thread, idempotent. Returns at once: use wait().
  void stop() {
    if (stopping_.exchange(true)) return;
    for (auto& r : reactors_) asio::post(r->ctx, [this, rp = r.get()] { begin_shutdown(*rp); });
  }

  // Blocks until shutdown completed on every reactor, then lets queued offloaded work finish, then runs the
  // app's on_stop hooks (once).
  void wait() {
    for (auto& r : reactors_)
      if (r->thread.joinable()) r->thread.join();
    if (workers_) workers_->join();
    if (const detail::lifecycle* life = lifecycle_of(app_);
        life != nullptr && !std::exchange(stopped_hooks_, true))
      for (const auto& hook : life->stop_hooks) hook();
  }

  std::uint16_t port() const noexcept { return endpoint_.port(); }
  const asio::ip::tcp::endpoint& endpoint() const noexcept { return endpoint_; }
  // Open connections right now, over all reactors (for tests and metrics).
  std::size_t open_connections() const noexcept { return open_.load(std::memory_order_relaxed); }
  const server_config& config() const noexcept { return cfg_; }

 private:
  using tcp = asio::ip::tcp;
  using reuse_port = asio::detail::socket_option::boolean<SOL_SOCKET, SO_REUSEPORT>;
  struct reactor;

  std::uint16_t start_reactors(bool thread_for_first) {
    if (!reactors_.empty()) throw std::logic_error("keel: server already started");
    const unsigned threads =
        cfg_.threads != 0 ? cfg_.threads : std::max(1u, std::thread::hardware_concurrency());
    fit_connections_to_descriptors(threads);
    ignore_sigpipe();
    if (cfg_.tls.enabled()) tls_ = make_tls_acceptor<Session, App>(tls_tag{}, cfg_.tls, 0);
    const detail::lifecycle* life = lifecycle_of(app_);
    if (life != nullptr)
      for (const auto& hook : life->start_hooks) hook();  // before listening: a throw stops start-up
    workers_.emplace(cfg_.workers);
    if (cfg_.affinity == cpu_affinity::per_reactor) usable_cpus_ = detail::usable_cpus();
    for (unsigned i = 0; i < threads; ++i) {
      reactors_.push_back(std::make_unique<reactor>(*this));
      reactors_.back()->index = i;
    }
    listen(resolve(cfg_.host, cfg_.port));
    if (cfg_.handle_signals) reactors_.front()->signals.emplace(reactors_.front()->ctx, &on_signal, this);

    const bool v6 = endpoint_.address().is_v6();
    // stdio rather than fmt: fmt's compile-time format checks cost every app's build for two log lines.
    std::fprintf(stderr, "keel listening on %s://%s%s%s:%u (%u thread%s%s)\n",
                 tls_.context ? "https" : "http", v6 ? "[" : "", endpoint_.address().to_string().c_str(),
                 v6 ? "]" : "", static_cast<unsigned>(endpoint_.port()), threads, threads == 1 ? "" : "s",
                 shared_acceptor_ ? ", shared acceptor" : "");
    std::fflush(stderr);

    if (life != nullptr && (!life->tasks.empty() || !life->timers.empty())) {
      reactor& first = *reactors_.front();
      lifecycle_.emplace(*life, first.ctx);
      lifecycle_guard_.emplace(first.ctx.get_executor());  // the first reactor runs until the tasks ended
      asio::post(first.ctx, [this] { lifecycle_->start(); });
    }
    for (auto& r : reactors_) {
      if (r->acceptor) accept(*r);
      sweep(*r);
      if (r != reactors_.front() || thread_for_first)
        r->thread = std::thread([this, rp = r.get()] { run_reactor(*rp); });
    }
    if (stopping_.exchange(false)) stop();  // stop() came before start(): honour it now
    return endpoint_.port();
  }

  // sendfile(2) has no MSG_NOSIGNAL: a client closing during a file download could make the next sendfile
  // raise SIGPIPE, which kills the process. Ignored, as servers do, unless the app installed a handler.
  static void ignore_sigpipe() noexcept {
    struct sigaction current {};
    if (::sigaction(SIGPIPE, nullptr, &current) == 0 && current.sa_handler == SIG_DFL)
      ::signal(SIGPIPE, SIG_IGN);
  }

  // Connections beyond the process's descriptor limit would wait in the kernel's backlog and time out
  // instead of being refused: raise the soft limit to the hard one, and keep the cap below it with a warning.
  void fit_connections_to_descriptors(unsigned threads) {
    rlimit limit{};
    if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) return;
    if (limit.rlim_cur < limit.rlim_max) {
      rlimit raised = limit;
      raised.rlim_cur = limit.rlim_max;
      if (::setrlimit(RLIMIT_NOFILE, &raised) == 0) limit = raised;
    }
    if (limit.rlim_cur == RLIM_INFINITY) return;
    // Listening sockets, epoll and event descriptors per reactor, stdio, files, database handles.
    const std::size_t reserve = 64 + 4 * std::size_t{threads};
    const auto available = static_cast<std::size_t>(limit.rlim_cur);
    if (cfg_.max_connections + reserve <= available) return;
    const std::size_t fitted = available > reserve + 1 ? available - reserve : 1;
    std::fprintf(stderr,
                 "keel: max_connections %zu is above what the descriptor limit (%zu) allows; using %zu "
                 "(raise it with ulimit -n)\n",
                 cfg_.max_connections, available, fitted);
    cfg_.max_connections = fitted;
  }

  void run_reactor(reactor& r) {
    std::optional<detail::thread_pin> pin;
    if (cfg_.affinity == cpu_affinity::per_reactor) pin.emplace(usable_cpus_, r.index);
    reactor_scope scope(r.ctx, &*workers_, &r.shutting_down);
    r.ctx.run();
  }

  struct reactor {
    explicit reactor(basic_server& server) {
      connections.on_connection_end(&basic_server::on_connection_end, this);
      // std::addressof: a unary & on a type naming App makes the compiler look for an overloaded operator&
      // in every class App mentions, which instantiates the std::tuple type of all the app's routes.
      owner = std::addressof(server);
    }
    // Connections still referenced by queued handlers (only after a forced stop) die while ctx is destroyed,
    // when the timers below are already gone: they must not call back into this reactor then.
    ~reactor() { connections.on_connection_end(nullptr, nullptr); }
    reactor(const reactor&) = delete;
    reactor& operator=(const reactor&) = delete;
    // Destroyed last: connections still queued in ctx's handlers unregister themselves when ctx goes.
    connection_registry connections;
    basic_server* owner = nullptr;
    asio::io_context ctx{1};
    std::optional<tcp::acceptor> acceptor;
    asio::steady_timer accept_retry{ctx};
    asio::steady_timer shutdown_deadline{ctx};
    asio::steady_timer sweep_timer{ctx};
    std::optional<shutdown_signals> signals;
    asio::executor_work_guard<asio::io_context::executor_type> keep_running{ctx.get_executor()};
    std::thread thread;
    std::size_t index = 0;  // in reactors_: which CPU it is pinned to under cpu_affinity::per_reactor
    bool shutting_down = false;
    bool forced = false;
    bool drained = false;  // no connection left during shutdown
  };

  static tcp::endpoint resolve(const std::string& host, std::uint16_t port) {
    std::error_code ec;
    const auto address = asio::ip::make_address(host.empty() ? "0.0.0.0" : host, ec);
    if (!ec) return {address, port};
#if defined(KEEL_NUMERIC_HOSTS_ONLY)
    // The edge profile (docs/edge.md) does no name lookup, so a static binary carries no resolver (glibc's
    // getaddrinfo with NSS and dlopen).
    if (host == "localhost") return {asio::ip::address_v4::loopback(), port};
    throw std::system_error(
        std::make_error_code(std::errc::invalid_argument),
        "keel: host '" + host + "' must be a numeric address (built with KEEL_NUMERIC_HOSTS_ONLY)");
#else
    asio::io_context scratch;
    tcp::resolver resolver(scratch);
    auto results = resolver.resolve(host, std::to_string(port), tcp::resolver::passive, ec);
    if (ec || results.empty())
      throw std::system_error(ec ? ec : std::make_error_code(std::errc::invalid_argument),
                              "keel: cannot resolve host '" + host + "'");
    return results.begin()->endpoint();
#endif
  }

  static tcp::acceptor open_acceptor(asio::io_context& ctx, const tcp::endpoint& at, bool with_reuse_port) {
    tcp::acceptor acceptor(ctx);
    acceptor.open(at.protocol());
    acceptor.set_option(tcp::acceptor::reuse_address(true));
    if (with_reuse_port) acceptor.set_option(reuse_port(true));
    // "::" should also take IPv4 clients where the OS allows dual-stack sockets.
    if (at.address().is_v6()) {
      std::error_code ignored;
      acceptor.set_option(asio::ip::v6_only(false), ignored);
    }
    acceptor.bind(at);
    acceptor.listen(asio::socket_base::max_listen_connections);
    return acceptor;
  }

  // One SO_REUSEPORT acceptor per reactor lets the kernel spread connections; when that is off or not
  // possible, reactor 0 accepts for everyone and hands sockets out in turn.
  void listen(tcp::endpoint at) {
    if (cfg_.reuse_port && reactors_.size() > 1) {
      try {
        for (auto& r : reactors_) {
          r->acceptor.emplace(open_acceptor(r->ctx, at, true));
          at = r->acceptor->local_endpoint();  // later acceptors join the port the first one got
        }
        endpoint_ = at;
        return;
      } catch (const std::system_error&) {
        for (auto& r : reactors_) r->acceptor.reset();
        at.port(cfg_.port);
      }
    }
    reactor& first = *reactors_.front();
    first.acceptor.emplace(open_acceptor(first.ctx, at, false));
    endpoint_ = first.acceptor->local_endpoint();
    shared_acceptor_ = reactors_.size() > 1;
  }

  void accept(reactor& r) {
    reactor& target = shared_acceptor_ ? *reactors_[next_reactor_++ % reactors_.size()] : r;
    r.acceptor->async_accept(target.ctx, [this, &r, &target](const std::error_code& ec, tcp::socket socket) {
      if (r.shutting_down || !r.acceptor->is_open()) return;
      if (ec) {
        // Out of descriptors and similar: back off briefly instead of spinning on the error.
        r.accept_retry.expires_after(std::chrono::milliseconds(50));
        r.accept_retry.async_wait([this, &r](const std::error_code& wait_ec) {
          if (!wait_ec && !r.shutting_down) accept(r);
        });
        return;
      }
      if (std::addressof(target) == std::addressof(r)) {
        on_accepted(r, std::move(socket));
      } else {
        asio::post(target.ctx,
                   [this, &target, s = std::move(socket)]() mutable { on_accepted(target, std::move(s)); });
      }
      accept(r);
    });
  }

  void on_accepted(reactor& r, tcp::socket socket) {
    std::error_code ignored;
    if (r.shutting_down) return socket.close(ignored);
    if (open_.fetch_add(1, std::memory_order_relaxed) >= cfg_.max_connections &&
        !r.connections.close_oldest_idle()) {
      // At the cap with nobody idle to make room: refuse cleanly with an orderly close instead of leaving the
      // client in the backlog. (An idle keep-alive connection that made room ends shortly, and the count with
      // it.)
      open_.fetch_sub(1, std::memory_order_relaxed);
      socket.close(ignored);
      return;
    }
    socket.set_option(tcp::no_delay(true), ignored);
    if constexpr (session_counts_io<Session>) bump(io_counters::local().connections_opened);
    if (tls_.context) {
      tls_.start_connection(tls_.context.get(), std::move(socket), app_, cfg_, r.connections);
    } else {
      (new connection<Session, tcp::socket>(std::move(socket), app_, cfg_, r.connections))->start();
    }
  }

  static void on_connection_end(void* context) {
    auto& r = *static_cast<reactor*>(context);
    r.owner->open_.fetch_sub(1, std::memory_order_relaxed);
    if constexpr (session_counts_io<Session>) bump(io_counters::local().connections_closed);
    if (r.shutting_down &&
        r.connections.empty()) {  // the last one just went: let the reactor run out of work
      r.shutdown_deadline.cancel();
      r.sweep_timer.cancel();
      r.owner->note_drained(r);
    }
  }

  // The app's lifecycle hooks, for apps that have them (test doubles need not).
  static const detail::lifecycle* lifecycle_of(const App& app) {
    if constexpr (requires { app.lifecycle(); }) {
      return app.lifecycle();
    } else {
      return nullptr;
    }
  }

  // A reactor has no connection left during shutdown. When that holds for all of them, the background
  // tasks are asked to stop (shutdown's next step), on the first reactor.
  void note_drained(reactor& r) {
    if (std::exchange(r.drained, true)) return;
    if (drained_.fetch_add(1) + 1 != reactors_.size() || !lifecycle_) return;
    reactor& first = *reactors_.front();
    asio::post(first.ctx, [this, &first] {
      lifecycle_->stop(cfg_.timeout.shutdown, [this, &first](bool abandoned) {
        lifecycle_guard_.reset();
        // An abandoned task stays suspended on this reactor's timers or work: stop the reactor under it.
        if (abandoned) first.ctx.stop();
      });
    });
  }

  // Connection timeouts are checked a few times per shortest timeout (at most every 250 ms), so a timeout
  // fires at most one tick late and no request pays for a timer operation.
  std::chrono::milliseconds sweep_interval() const {
    const auto& t = cfg_.timeout;
    const auto shortest = std::min({t.header, t.body, t.idle, t.write});
    return std::clamp(shortest / 8, std::chrono::milliseconds(5), std::chrono::milliseconds(250));
  }

  void sweep(reactor& r) {
    r.sweep_timer.expires_after(sweep_interval());
    r.sweep_timer.async_wait([this, &r](const std::error_code& ec) {
      if (ec) return;
      r.connections.sweep(connection_base::clock::now());
      if (r.shutting_down && r.connections.empty()) return;
      sweep(r);
    });
  }

  static void on_signal(void* context, int signal_number) {
    auto* self = static_cast<basic_server*>(context);
    std::fprintf(stderr, "keel: signal %d received, shutting down\n", signal_number);
    self->stop();
  }

  // On each reactor's own thread: stop accepting, let busy connections finish, close idle ones, and arm the
  // deadline after which whatever is left is closed.
  void begin_shutdown(reactor& r) {
    r.shutting_down = true;
    std::error_code ignored;
    if (r.acceptor) r.acceptor->close(ignored);
    r.accept_retry.cancel();
    if (r.signals) r.signals->cancel();
    r.connections.for_each([](connection_base& c) { c.begin_graceful_close(); });
    r.keep_running.reset();
    if (r.connections.empty()) {
      r.sweep_timer.cancel();
      note_drained(r);
      return;
    }
    r.shutdown_deadline.expires_after(cfg_.timeout.shutdown);
    r.shutdown_deadline.async_wait([this, &r](const std::error_code& ec) {
      if (ec || r.connections.empty()) return;
      r.connections.for_each([](connection_base& c) { c.force_close(); });
      // A handler still running (asleep, or in offloaded work) keeps its connection and this reactor alive
      // until it completes; its answer goes nowhere. Only a handler stuck far beyond the deadline makes us
      // stop the reactor under it, leaking its coroutine, so that the process can still exit.
      r.shutdown_deadline.expires_after(std::max(cfg_.timeout.shutdown, std::chrono::milliseconds(5000)));
      r.shutdown_deadline.async_wait([&r](const std::error_code& late_ec) {
        if (!late_ec && !r.connections.empty()) r.ctx.stop();
      });
    });
  }

  App& app_;
  server_config cfg_;
  tls_acceptor<App> tls_;  // outlives the reactors: TLS streams refer to its context
  std::vector<std::unique_ptr<reactor>> reactors_;
  std::optional<worker_pool> workers_;  // joined before the reactors go: offloads post back to them
  tcp::endpoint endpoint_;
  std::atomic<std::size_t> open_{0};
  std::atomic<bool> stopping_{false};
  std::atomic<std::size_t> drained_{0};
  std::optional<detail::lifecycle_runner> lifecycle_;  // background tasks and timers, on the first reactor
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> lifecycle_guard_;
  bool stopped_hooks_ = false;
  cpu_set_t usable_cpus_{};  // under cpu_affinity::per_reactor: the CPUs the process could use at start
  std::size_t next_reactor_ = 0;
  bool shared_acceptor_ = false;
};

}  // namespace detail
}  // namespace v0
}  // namespace keel
