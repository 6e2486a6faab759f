// Compile-time check that every route has the layers its handler parameters and its own layers read from.
// A handler parameter or a route layer that reads a state some other layer fills declares it:
//   using keel_needs_state = the_state;   (keel::bearer<Claims> needs jwt_bearer<Claims>'s state)
// A route passes when a layer of the app, or of its group or the route itself, has that state (for a route
// layer: a layer that runs before it). keel::state_satisfies<Need, State> says which states count.
#pragma once

#include "keel/config.hpp"
#include "keel/middleware/middleware.hpp"
#include "keel/router/handler_traits.hpp"
#include "keel/router/route.hpp"

#include <cstddef>
#include <optional>
#include <tuple>
#include <type_traits>
#include <utility>

namespace keel {
inline namespace v0 {

// Whether a layer state S satisfies what a parameter or layer needs (Need). Specialise it for a Need that
// several states satisfy (keel/auth/policy.hpp: any bearer state).
template <class Need, class S>
struct state_satisfies : std::is_same<Need, S> {};

namespace detail {

template <class T>
struct needed_state {
  using type = void;
};
template <class T>
requires requires { typename T::keel_needs_state; }
struct needed_state<T> {
  using type = typename T::keel_needs_state;
};
template <class T>
struct needed_state<std::optional<T>> : needed_state<T> {};

template <class P>
using needed_state_t = typename needed_state<std::remove_cvref_t<P>>::type;

// Whether one of the layers (a tuple of middleware types) has a state that satisfies Need.
template <class Need, class Layers>
struct layers_provide;
template <class Need, class... Ms>
struct layers_provide<Need, std::tuple<Ms...>> {
  template <class S>
  static constexpr bool one() {
    if constexpr (std::is_void_v<S>)
      return false;
    else
      return state_satisfies<Need, S>::value;
  }
  static constexpr bool value = (one<typename state_of<Ms>::type>() || ...);
};

// The error: the route's path and what it needs are in the template arguments the compiler shows.
template <fixed_string Path, class Need>
struct route_lacks_layer {
  static_assert(
      sizeof(Need) == 0,
      "keel: this route (its path is shown) takes a parameter or has a layer that reads a layer's "
      "state (the state is shown: keel::auth::detail::bearer_state<Claims> means keel::bearer<Claims> "
      "or .require<...>()), but no layer of the app, of the route's group or of the route sets it: "
      "add .use(keel::auth::jwt_bearer<Claims>{keys, options}) to the app, the group or the route "
      "(#include <keel/auth.hpp>)");
  static constexpr bool ok = false;
};

template <fixed_string Path, class Need, class Available>
constexpr bool need_met() {
  if constexpr (std::is_void_v<Need>)
    return true;
  else if constexpr (layers_provide<Need, Available>::value)
    return true;
  else
    return route_lacks_layer<Path, Need>::ok;
}

template <class Tuple, class Seq>
struct tuple_prefix;
template <class Tuple, std::size_t... J>
struct tuple_prefix<Tuple, std::index_sequence<J...>> {
  using type = std::tuple<std::tuple_element_t<J, Tuple>...>;
};

template <class Args>
struct params_need;
template <class... A>
struct params_need<std::tuple<A...>> {
  template <fixed_string P, class Available>
  static constexpr bool met() {
    return (need_met<P, needed_state_t<A>, Available>() && ...);
  }
};

template <class Stack, class Route>
struct route_layer_check;
template <class... As, fixed_string P, http::method_set M, class H, class... Ms>
struct route_layer_check<std::tuple<As...>, route<P, M, H, Ms...>> {
  using layers = std::tuple<Ms...>;

  static constexpr bool params_ok() {
    if constexpr (callable_traits<H>::valid)
      return params_need<typename callable_traits<H>::args>::template met<P, std::tuple<As..., Ms...>>();
    else
      return true;
  }
  // Route layer I may read the states of the app's layers and of the route layers before it.
  template <std::size_t I>
  static constexpr bool layer_ok() {
    using before = decltype(std::tuple_cat(
        std::declval<std::tuple<As...>>(),
        std::declval<typename tuple_prefix<layers, std::make_index_sequence<I>>::type>()));
    return need_met<P, needed_state_t<std::tuple_element_t<I, layers>>, before>();
  }
  template <std::size_t... I>
  static constexpr bool layers_ok(std::index_sequence<I...>) {
    return (layer_ok<I>() && ...);
  }

  static constexpr bool ok = params_ok() && layers_ok(std::index_sequence_for<Ms...>{});
};

// Every route of the router, against the app's stack.
template <class Stack, class Routes>
struct routes_layer_check;
template <class Stack, class... Routes>
struct routes_layer_check<Stack, std::tuple<Routes...>> {
  static constexpr bool ok = (route_layer_check<Stack, Routes>::ok && ...);
};

}  // namespace detail
}  // namespace v0
}  // namespace keel
