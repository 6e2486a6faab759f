// keel::ws<"/path">(handler, options): a route whose GET upgrades to WebSocket. The upgrade request goes
// through the router like any other, so path parameters, extractors (query, headers, cookies, middleware
// state, services) and middleware all apply at handshake time; the handler then gets their values and the
// socket:
//
//   keel::ws<"/rooms/{room}">([](std::string room, keel::query<opts> q, keel::websocket& ws) -> keel::task<>
//   {
//     while (auto msg = co_await ws.receive()) co_await ws.send_text(msg.data);
//   })
#pragma once

#include "keel/config.hpp"
#include "keel/context.hpp"
#include "keel/router/fixed_string.hpp"
#include "keel/router/handler_traits.hpp"
#include "keel/router/route.hpp"
#include "keel/server/reactor.hpp"
#include "keel/task.hpp"
#include "keel/upgrade.hpp"
#include "keel/ws/handshake.hpp"
#include "keel/ws/options.hpp"
#include "keel/ws/websocket.hpp"

#include <cstddef>
#include <exception>
#include <memory>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>

namespace keel {
inline namespace v0 {

namespace detail::ws {

template <class H>
struct route_state {
  H handler;
  ws_options options;
};

// A non-const reference parameter, kept for the connection's lifetime: an app service stays a reference; a
// middleware state lives in the request's context, which is reset for the next request as soon as the 101 is
// written, so the handler gets a copy of it taken at handshake time.
template <class T>
class kept_ref {
 public:
  kept_ref(T& r, bool in_request) : ptr_(&r) {
    if constexpr (std::is_copy_constructible_v<T>) {
      if (in_request) copy_ = std::make_unique<T>(r);
    }
  }
  T& get() const noexcept { return copy_ ? *copy_ : *ptr_; }

 private:
  T* ptr_;
  std::unique_ptr<T> copy_;
};

// How a handler parameter is kept for the connection's lifetime: values are copied out of the request (whose
// buffers are gone after the upgrade); a non-const reference is a kept_ref.
template <class P>
constexpr bool is_mutable_ref = std::is_lvalue_reference_v<P> && !std::is_const_v<std::remove_reference_t<P>>;
template <class P>
using stored_t = std::conditional_t<is_mutable_ref<P>, kept_ref<std::remove_reference_t<P>>, std::decay_t<P>>;

template <class P>
stored_t<P> store(request_context& ctx, P&& p) {
  if constexpr (is_mutable_ref<P>) {
    return stored_t<P>(p, detail::context_access::holds(ctx, &p));
  } else {
    return stored_t<P>(std::forward<P>(p));
  }
}

template <class P, class S>
decltype(auto) pass(S& stored) {
  if constexpr (is_mutable_ref<P>) {
    return stored.get();
  } else if constexpr (std::is_reference_v<P>) {
    return static_cast<const S&>(stored);
  } else {
    return std::move(stored);
  }
}

template <class P>
constexpr bool is_view_param = std::is_same_v<std::decay_t<P>, std::string_view>;
template <class P>
constexpr bool is_context_param = std::is_base_of_v<request_context, std::remove_cvref_t<P>>;

template <class H, class... P>
struct protocol {
  // Everything the handler gets was copied out of the request (args, agreed): the HTTP session goes back to
  // its pool right after the 101, and an idle WebSocket costs only its own state.
  static constexpr bool owns_request = true;
  std::shared_ptr<const route_state<H>> route;
  std::tuple<stored_t<P>...> args;
  websocket::accepted agreed;

  task<void> operator()(upgraded_io& io) {
    websocket ws(io.transport(), route->options, std::move(agreed));
    ws.set_reactor(detail::current_reactor());
    bool failed = false;
    try {
      task<void> t = call(ws, std::index_sequence_for<P...>{});
      co_await std::move(t);
    } catch (const stream_closed&) {
    } catch (...) {
      failed = true;
    }
    if (failed) ws.fail(ws_close::internal_error, "internal error");
    task<void> f = ws.finish();
    co_await std::move(f);
  }

  template <std::size_t... I>
  task<void> call(websocket& ws, std::index_sequence<I...>) {
    return route->handler(pass<P>(std::get<I>(args))..., ws);
  }
};

template <class H, class Params>
struct endpoint;
template <class H, class... P>
struct endpoint<H, std::tuple<P...>> {
  std::shared_ptr<const route_state<H>> state;

  upgrade<protocol<H, P...>> operator()(request_context& ctx, P... params) const {
    handshake_result hs = check_handshake(ctx.request(), state->options);
    protocol<H, P...> proto{state, std::tuple<stored_t<P>...>(store<P>(ctx, std::forward<P>(params))...),
                            websocket::accepted{std::string(hs.subprotocol), hs.deflate}};
    upgrade<protocol<H, P...>> u("websocket", std::move(proto));
    u.header("Sec-WebSocket-Accept", hs.accept);
    if (!hs.subprotocol.empty()) u.header("Sec-WebSocket-Protocol", hs.subprotocol);
    if (hs.deflate) u.header("Sec-WebSocket-Extensions", hs.extensions);
    return u;
  }
};

template <class Args, class Seq>
struct front_types;
template <class... A, std::size_t... I>
struct front_types<std::tuple<A...>, std::index_sequence<I...>> {
  using type = std::tuple<std::tuple_element_t<I, std::tuple<A...>>...>;
};

template <class Params>
struct params_ok;
template <class... P>
struct params_ok<std::tuple<P...>> {
  static_assert(!(is_view_param<P> || ...),
                "keel::ws: a WebSocket handler outlives its upgrade request: take std::string, not "
                "std::string_view");
  static_assert(!(is_context_param<P> || ...),
                "keel::ws: the request context is gone once the socket runs: take the values you need as "
                "parameters (extractors) instead of the context");
  static constexpr bool value = true;
};

}  // namespace detail::ws

// A WebSocket route: GET `Path` answers the opening handshake and runs `handler` on the connection. The
// handler is `keel::task<>(Params..., keel::websocket&)`, where Params are any handler parameters keel
// extracts (path values, keel::query<T>, keel::header<...>, middleware state, services): they are resolved at
// handshake time, so a failing extractor or middleware answers the upgrade request with its HTTP error.
template <fixed_string Path, class H>
auto ws(H handler, ws_options options = {}) {
  using traits = detail::callable_traits<H>;
  static_assert(traits::valid,
                "keel::ws: the handler must be a function or lambda with concrete parameter types");
  using args = typename traits::args;
  constexpr std::size_t n = std::tuple_size_v<args>;
  static_assert(n >= 1, "keel::ws: the handler's last parameter must be keel::websocket&");
  if constexpr (n >= 1) {
    static_assert(std::is_same_v<std::tuple_element_t<n - 1, args>, websocket&>,
                  "keel::ws: the handler's last parameter must be keel::websocket&");
    static_assert(std::is_same_v<typename traits::result, task<void>>,
                  "keel::ws: the handler must return keel::task<> (a coroutine)");
    using front = typename detail::ws::front_types<args, std::make_index_sequence<n - 1>>::type;
    static_assert(detail::ws::params_ok<front>::value);
    using endpoint_type = detail::ws::endpoint<H, front>;
    auto state = std::make_shared<const detail::ws::route_state<H>>(
        detail::ws::route_state<H>{std::move(handler), std::move(options)});
    return get<Path>(endpoint_type{std::move(state)});
  }
}

}  // namespace v0
}  // namespace keel
