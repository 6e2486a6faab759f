// keel::detail::server / run_server: the HTTP server an app runs, i.e. basic_server over keel's HTTP session.
#pragma once

#include "keel/config.hpp"
#include "keel/server/basic_server.hpp"
#include "keel/server/config.hpp"
#include "keel/server/session.hpp"

namespace keel {
inline namespace v0 {
namespace detail {

// Non-blocking handle (start() -> port, stop(), wait()) serving `App` over HTTP/1.1.
template <class App>
using server = basic_server<http_session<App>, App>;

// Serves `app` until SIGINT/SIGTERM (when cfg.handle_signals) or a programmatic stop; returns after the
// graceful shutdown finished.
template <class App>
void run_server(App& app, const server_config& cfg) {
  server<App> s(app, cfg);
  s.run();
}

}  // namespace detail
}  // namespace v0
}  // namespace keel
