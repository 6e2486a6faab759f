// app::serve: runs an app on keel's HTTP server (reactor threads, TLS, graceful shutdown).
#pragma once

#include "keel/app.hpp"
#include "keel/config.hpp"
#include "keel/detail/erased_app.hpp"
#include "keel/server/config.hpp"
#include "keel/server/server.hpp"

namespace keel {
inline namespace v0 {

template <class Router, class Stack, class Services, class ErrorFormat>
void app<Router, Stack, Services, ErrorFormat>::serve(const server_config& cfg) const {
#ifdef KEEL_SEPARATE_SERVER
  // keel_add_app(... SEPARATE_SERVER): the server loop is compiled once, in keel_separate_server
  // (keel/detail/erased_app.hpp), for the apps it can serve.
  if constexpr (detail::separate_server_ok<app>) {
    detail::erased_app erased = detail::erase_app(*this);
    detail::run_erased_server(erased, cfg);
  } else {
    detail::run_server(*this, cfg);
  }
#else
  detail::run_server(*this, cfg);
#endif
}

}  // namespace v0
}  // namespace keel
