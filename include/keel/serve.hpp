// app::serve: runs an app on keel's HTTP server (reactor threads, TLS, graceful shutdown).
#pragma once

#include "keel/app.hpp"
#include "keel/config.hpp"
#include "keel/server/config.hpp"
#include "keel/server/server.hpp"

namespace keel {
inline namespace v0 {

template <class Router, class Stack, class Services, class ErrorFormat>
void app<Router, Stack, Services, ErrorFormat>::serve(const server_config& cfg) const {
  detail::run_server(*this, cfg);
}

}  // namespace v0
}  // namespace keel
