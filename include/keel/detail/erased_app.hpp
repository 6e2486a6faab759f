// keel::detail::erased_app: an app behind function pointers, so that keel's server loop (reactors, accept
// loop, connections, HTTP session and parser) can be compiled once, in a library, instead of in every app's
// TU.
//
// keel_add_app(... SEPARATE_SERVER) (cmake/KeelApp.cmake) compiles run_erased_server() once into the static
// library keel_separate_server and defines KEEL_SEPARATE_SERVER; app::serve (keel/serve.hpp) then erases an
// app that qualifies (separate_server_ok) and calls it. The app's TU instantiates its router and the six
// thunks below, and no part of the server. Per request the session calls handle() only: one indirect call.
//
// An app qualifies when http_session<erased_app> can serve it exactly as http_session<App> would:
// - its context is the plain one (no layer with per-request state, no provide()d services): the session holds
//   the context by value;
// - no app-wide layer counts I/O (keel::metrics): the session reads that from the app's stack type.
// App-wide layers that see rejected requests (keel::request_id) are reached through erased_rejected_layers.
// Other apps are served by the server instantiated in their own TU, as without SEPARATE_SERVER.
#pragma once

#include "keel/config.hpp"
#include "keel/context.hpp"
#include "keel/lifecycle.hpp"
#include "keel/middleware/middleware.hpp"
#include "keel/router/route.hpp"
#include "keel/router/router.hpp"
#include "keel/server/config.hpp"
#include "keel/server/io_counters.hpp"

#include <cstddef>
#include <tuple>
#include <type_traits>
#include <utility>

namespace keel {
inline namespace v0 {
namespace detail {

using plain_context = context<std::tuple<>, std::tuple<>>;

struct erased_app;

// The app-wide layers that see rejected requests, as the one layer the session wraps a rejection in: before()
// runs their befores outermost first, after() their afters innermost first, as wrap_rejected_request does.
struct erased_rejected_layers {
  static constexpr bool sees_rejected_requests = true;
  const erased_app* app;
  void before(plain_context& ctx) const;
  void after(plain_context& ctx) const;
};

// What http_session and basic_server call on an App, forwarded through function pointers over the app.
struct erased_app {
  using context_type = plain_context;

  const void* app = nullptr;
  dispatch_result (*handle_fn)(const void*, plain_context&) = nullptr;
  void (*complete_fn)(const void*, plain_context&) = nullptr;
  detail::body_policy (*body_policy_fn)(const void*, plain_context&) = nullptr;
  void (*prepare_fn)(const void*, plain_context&) = nullptr;
  void (*rejected_before_fn)(const void*, plain_context&) = nullptr;
  void (*rejected_after_fn)(const void*, plain_context&) = nullptr;
  const detail::lifecycle* life = nullptr;

  void prepare(context_type& ctx) const { prepare_fn(app, ctx); }
  dispatch_result handle(context_type& ctx) const { return handle_fn(app, ctx); }
  void complete(context_type& ctx) const { complete_fn(app, ctx); }
  detail::body_policy body_policy(context_type& ctx) const { return body_policy_fn(app, ctx); }
  std::tuple<erased_rejected_layers> middleware() const noexcept { return {erased_rejected_layers{this}}; }
  const detail::lifecycle* lifecycle() const noexcept { return life; }
};

template <class App>
struct erased_thunks {
  static dispatch_result handle(const void* a, plain_context& ctx) {
    return static_cast<const App*>(a)->handle(ctx);
  }
  static void complete(const void* a, plain_context& ctx) { static_cast<const App*>(a)->complete(ctx); }
  static detail::body_policy body_policy(const void* a, plain_context& ctx) {
    return static_cast<const App*>(a)->body_policy(ctx);
  }
  static void prepare(const void* a, plain_context& ctx) { static_cast<const App*>(a)->prepare(ctx); }

  using stack = typename App::stack_type;
  static constexpr std::size_t layers = std::tuple_size_v<stack>;
  template <std::size_t I>
  static void rejected_before_at(const stack& s, plain_context& ctx) {
    using M = std::tuple_element_t<I, stack>;
    if constexpr (sees_rejected_requests<M> && has_before<M, plain_context>) (void)std::get<I>(s).before(ctx);
  }
  template <std::size_t I>
  static void rejected_after_at(const stack& s, plain_context& ctx) {
    using M = std::tuple_element_t<I, stack>;
    if constexpr (sees_rejected_requests<M> && has_after<M, plain_context>) std::get<I>(s).after(ctx);
  }
  static void rejected_before(const void* a, plain_context& ctx) {
    const stack& s = static_cast<const App*>(a)->middleware();
    [&]<std::size_t... I>(std::index_sequence<I...>) { (rejected_before_at<I>(s, ctx), ...); }
    (std::make_index_sequence<layers>{});
  }
  static void rejected_after(const void* a, plain_context& ctx) {
    const stack& s = static_cast<const App*>(a)->middleware();
    [&]<std::size_t... I>(std::index_sequence<I...>) { (rejected_after_at<layers - 1 - I>(s, ctx), ...); }
    (std::make_index_sequence<layers>{});
  }
};

// Whether erased_app serves App exactly as App itself would (see the top of this file).
template <class App>
inline constexpr bool separate_server_ok = std::is_same_v<typename App::context_type, plain_context> &&
                                           !stack_counts_io<typename App::stack_type>::value;

template <class App>
erased_app erase_app(const App& app) {
  static_assert(separate_server_ok<App>);
  return erased_app{&app,
                    &erased_thunks<App>::handle,
                    &erased_thunks<App>::complete,
                    &erased_thunks<App>::body_policy,
                    &erased_thunks<App>::prepare,
                    &erased_thunks<App>::rejected_before,
                    &erased_thunks<App>::rejected_after,
                    app.lifecycle()};
}

// basic_server<http_session<erased_app>, erased_app>::run(), compiled once in keel_separate_server (the TU
// keel_add_app(... SEPARATE_SERVER) generates); declared for every app, defined only there.
void run_erased_server(erased_app& app, const server_config& cfg);

inline void erased_rejected_layers::before(plain_context& ctx) const {
  app->rejected_before_fn(app->app, ctx);
}
inline void erased_rejected_layers::after(plain_context& ctx) const { app->rejected_after_fn(app->app, ctx); }

}  // namespace detail
}  // namespace v0
}  // namespace keel
