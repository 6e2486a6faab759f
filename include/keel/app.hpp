// keel::app: a router plus the app-wide middleware stack, services and error shape, composed at compile time.
//   keel::app{api}.use<keel::request_id,
//   keel::access_log>().provide(db).serve(keel::server_config::from_env());
#pragma once

#include "keel/config.hpp"
#include "keel/context.hpp"
#include "keel/error.hpp"
#include "keel/lifecycle.hpp"
#include "keel/middleware/middleware.hpp"
#include "keel/router/layer_needs.hpp"
#include "keel/router/router.hpp"
#include "keel/server/config.hpp"

#include <chrono>
#include <cstddef>
#include <memory>
#include <tuple>
#include <type_traits>
#include <utility>

namespace keel {
inline namespace v0 {

namespace detail {

// A tuple of the distinct non-void types among Ts, in first-seen order.
template <class Out, class... Ts>
struct unique_types {
  using type = Out;
};
template <class... Out, class T, class... Ts>
struct unique_types<std::tuple<Out...>, T, Ts...> {
  using type = typename std::conditional_t<std::is_void_v<T> || (std::is_same_v<T, Out> || ...),
                                           unique_types<std::tuple<Out...>, Ts...>,
                                           unique_types<std::tuple<Out..., T>, Ts...>>::type;
};

template <class Route>
struct route_states;
template <fixed_string P, http::method_set M, class H, class... Ms>
struct route_states<route<P, M, H, Ms...>> {
  using type = std::tuple<typename state_of<Ms>::type...>;
};

template <class Tuple>
struct tuple_to_unique;
template <class... Ts>
struct tuple_to_unique<std::tuple<Ts...>> {
  using type = typename unique_types<std::tuple<>, Ts...>::type;
};

template <class Router, class Stack>
struct all_states;
template <class... Routes, class... Ms>
struct all_states<router<std::tuple<Routes...>>, std::tuple<Ms...>> {
  using type = typename tuple_to_unique<decltype(std::tuple_cat(
      std::declval<std::tuple<typename state_of<Ms>::type...>>(),
      std::declval<typename route_states<Routes>::type>()...))>::type;
};

template <class Services>
struct service_list;
template <class... Ss>
struct service_list<std::tuple<Ss...>> {
  using pointers = std::tuple<Ss*...>;
};

}  // namespace detail

template <class Router, class Stack = std::tuple<>, class Services = std::tuple<>,
          class ErrorFormat = json_error_formatter>
class app {
 public:
  using router_type = Router;
  using stack_type = Stack;
  using context_type = context<typename detail::all_states<Router, Stack>::type, Services>;
  static_assert(
      ErrorFormatter<ErrorFormat>,
      "keel: an error formatter needs `static void format(const keel::http_error&, std::string_view "
      "request_id, keel::response&)`");

  static constexpr bool async_layers = detail::stack_is_async_v<context_type, Stack>;

  explicit app(Router r) : router_(std::move(r)) {}
  app(Router r, Stack s, typename detail::service_list<Services>::pointers svc,
      std::shared_ptr<detail::lifecycle> life)
      : router_(std::move(r)), stack_(std::move(s)), services_(svc), lifecycle_(std::move(life)) {}

  // App-wide middleware, outermost first; it runs for every request, matched or not.
  template <class... Ms>
  auto use(Ms... ms) && {
    using S = decltype(std::tuple_cat(std::declval<Stack>(), std::declval<std::tuple<Ms...>>()));
    return app<Router, S, Services, ErrorFormat>(
        std::move(router_), std::tuple_cat(std::move(stack_), std::tuple<Ms...>(std::move(ms)...)), services_,
        std::move(lifecycle_));
  }
  template <class... Ms>
  requires(sizeof...(Ms) > 0 && (std::is_default_constructible_v<Ms> && ...)) auto use() && {
    return std::move(*this).use(Ms{}...);
  }

  // Services handlers receive by reference (`db& d`). The app keeps pointers: the objects must outlive it.
  template <class... Ts>
  auto provide(Ts&... services) && {
    using S = decltype(std::tuple_cat(std::declval<Services>(), std::declval<std::tuple<Ts...>>()));
    return app<Router, Stack, S, ErrorFormat>(std::move(router_), std::move(stack_),
                                              std::tuple_cat(services_, std::tuple<Ts*...>(&services...)),
                                              std::move(lifecycle_));
  }

  // Replaces the JSON shape of every error response (see keel/error.hpp).
  template <class F>
  auto errors() && {
    return app<Router, Stack, Services, F>(std::move(router_), std::move(stack_), services_,
                                           std::move(lifecycle_));
  }

  // --- lifecycle (keel/lifecycle.hpp): hooks, background tasks and timers, in shutdown's fixed order. They
  // add to the app in place (and the app's later builder steps keep them).
  // Runs before the server listens, in order; an exception stops start-up.
  template <class F>
  app& on_start(F fn) {
    life().start_hooks.emplace_back(std::move(fn));
    return *this;
  }
  // Runs after shutdown finished everything else (requests, upgraded connections, background tasks).
  template <class F>
  app& on_stop(F fn) {
    life().stop_hooks.emplace_back(std::move(fn));
    return *this;
  }
  // A supervised background task: `fn(keel::background&) -> keel::task<>`, started on the first reactor
  // once the server listens, asked to stop (and awaited, up to the shutdown timeout) at shutdown.
  template <class F>
  app& spawn(F fn) {
    life().tasks.emplace_back(std::move(fn));
    return *this;
  }
  // Calls fn() every `interval` on the first reactor until shutdown (keep it short: it runs on a reactor).
  template <class Rep, class Period, class F>
  app& every(std::chrono::duration<Rep, Period> interval, F fn) {
    life().timers.emplace_back(std::chrono::duration_cast<std::chrono::steady_clock::duration>(interval),
                               std::move(fn));
    return *this;
  }
  const detail::lifecycle* lifecycle() const noexcept { return lifecycle_.get(); }

  // Runs the server until SIGINT/SIGTERM (or stop); returns after a graceful shutdown. Defined in
  // keel/server/server.hpp.
  void serve(const server_config& cfg = server_config::from_env()) const;

  // --- used by the session
  void prepare(context_type& ctx) const {
    ctx.bind_services(services_);
    detail::context_access::set_error_renderer(ctx, &render_error<ErrorFormat>);
  }
  dispatch_result handle(context_type& ctx) const {
    // Each route has the layers its parameters and layers read from (keel/router/layer_needs.hpp).
    [[maybe_unused]] constexpr bool layers_checked =
        detail::routes_layer_check<Stack, typename Router::routes_type>::ok;
    return detail::run_stack(
        stack_, ctx, detail::context_access::app_layers_ran(ctx),
        [this](context_type& c) KEEL_ALWAYS_INLINE_LAMBDA { return router_.dispatch(c); },
        // An asynchronous before() answered, or the chain after it finished at once: the session's
        // complete() runs the afters.
        [](context_type& c) { detail::context_access::on_async_complete(c)(); });
  }
  // After a pending request finished: the app-wide `after`s of the layers whose `before` ran.
  void complete(context_type& ctx) const {
    detail::run_after(stack_, ctx,
                      async_layers ? detail::context_access::app_layers_ran(ctx) : std::tuple_size_v<Stack>);
  }
  // How the route the request's head names takes its body (limit, streaming).
  detail::body_policy body_policy(context_type& ctx) const { return router_.body_policy_for(ctx); }

  const Router& router() const noexcept { return router_; }
  const Stack& middleware() const noexcept { return stack_; }

 private:
  detail::lifecycle& life() {
    if (!lifecycle_) lifecycle_ = std::make_shared<detail::lifecycle>();
    return *lifecycle_;
  }

  Router router_;
  Stack stack_{};
  typename detail::service_list<Services>::pointers services_{};
  std::shared_ptr<detail::lifecycle> lifecycle_;
};

template <class R>
app(R) -> app<R>;

}  // namespace v0
}  // namespace keel
