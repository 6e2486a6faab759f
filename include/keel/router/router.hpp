// keel::router: the app's routes, flattened at compile time into one segment trie, and the per-route
// pipeline (route middleware -> extractors -> handler -> responder) that dispatch inlines for each route.
#pragma once

#include "keel/config.hpp"
#include "keel/context.hpp"
#include "keel/detail/type_traits.hpp"
#include "keel/detail/exception_response.hpp"
#include "keel/error.hpp"
#include "keel/extract.hpp"
#include "keel/http/method.hpp"
#include "keel/middleware/middleware.hpp"
#include "keel/respond.hpp"
#include "keel/router/handler_traits.hpp"
#include "keel/router/route.hpp"
#include "keel/router/route_table.hpp"
#include "keel/router/trie.hpp"
#include "keel/task.hpp"

#include <array>
#include <cstddef>
#include <cstdio>
#include <exception>
#include <optional>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>

namespace keel {
inline namespace v0 {

namespace detail {

// The "Allow" value for a method set; GET implies HEAD, and OPTIONS is always answered.
inline std::string allow_header(http::method_set set) {
  if (set.contains(http::method::get)) set = set | http::method::head;
  set = set | http::method::options;
  std::string out;
  for (auto m : http::all_methods)
    if (set.contains(m)) {
      if (!out.empty()) out.append(", ");
      out.append(http::to_string(m));
    }
  return out;
}

// What a handler parameter holds while the pipeline runs.
template <class P>
using arg_storage_t =
    std::conditional_t<std::is_lvalue_reference_v<P>, std::remove_reference_t<P>*, std::remove_cvref_t<P>>;

template <class Ctx, class P>
constexpr bool is_context_param = std::is_lvalue_reference_v<P> &&
                                  (std::is_same_v<std::remove_cvref_t<P>, Ctx> ||
                                   std::is_same_v<std::remove_cvref_t<P>, request_context>);

template <class Ctx, class P>
constexpr bool is_state_param =
    std::is_lvalue_reference_v<P>&& Ctx::template has_state<std::remove_cvref_t<P>>;

template <class Ctx, class P>
constexpr bool is_service_param =
    std::is_lvalue_reference_v<P>&& Ctx::template has_service<std::remove_cvref_t<P>>;

template <class Ctx, class P>
constexpr bool is_extractor_param = Extractor<std::remove_cvref_t<P>, Ctx>;

// A struct by value (or const&) is most often a request body DTO without its wrapper: say so, alone.
template <class P>
constexpr bool is_plain_struct_param =
    std::is_class_v<std::remove_cvref_t<P>>&& std::is_aggregate_v<std::remove_cvref_t<P>> &&
    (!std::is_lvalue_reference_v<P> || std::is_const_v<std::remove_reference_t<P>>);

template <class Parameter>
struct handler_parameter_is_not_extractable {
  static_assert(!is_plain_struct_param<Parameter>,
                "keel: a plain struct handler parameter (type shown) is not read from the request by itself: "
                "take keel::json<T> for a JSON body (keel/json.hpp), keel::query<T> for the query string or "
                "keel::form<T> for a form");
  static_assert(is_plain_struct_param<Parameter> || sizeof(Parameter) == 0,
                "keel: this handler parameter (type shown) is no path parameter, no extractor (no "
                "keel::extractor<T> specialization), no middleware state and no app service (did you forget "
                "app.provide(x)?)");
  static constexpr bool ok = false;
};

template <class Parameter>
struct coroutine_handler_takes_reference {
  static_assert(
      sizeof(Parameter) == 0,
      "keel: a coroutine handler must take path parameters and extractors by value: a reference would "
      "dangle once the coroutine suspends (references to services, states and the context are fine)");
  static constexpr bool ok = false;
};

// Extracts handler parameter I (type P) of route R into `out`. false: ctx.response() holds the error.
template <class Route, std::size_t I, class P, class Ctx>
KEEL_ALWAYS_INLINE bool extract_arg(Ctx& ctx, std::optional<arg_storage_t<P>>& out) {
  using D = std::remove_cvref_t<P>;
  using info = typename Route::path_info;
  using args = typename callable_traits<typename Route::handler_type>::args;
  if constexpr (is_context_param<Ctx, P>) {
    out.emplace(&ctx);
    return true;
  } else if constexpr (is_state_param<Ctx, P>) {
    out.emplace(&ctx.template state<D>());
    return true;
  } else if constexpr (is_service_param<Ctx, P>) {
    out.emplace(&ctx.template service<D>());
    return true;
  } else if constexpr (is_positional_path_param<P> || is_named_path_param<P>) {
    constexpr std::size_t slot = []<class... A>(std::tuple<A...>*) {
      return path_slot_of<info, A...>(I);
    }(static_cast<args*>(nullptr));
    static_assert(slot < info::param_count);
    if constexpr (is_named_path_param<P>) {
      using T = typename D::value_type;
      out.emplace();
      if (!parse_path_value<T>(ctx.raw_path_param(slot), out->value, ctx, slot)) {
        ctx.fail(bad_path_param<T>(info::param_names[slot]));
        return false;
      }
    } else {
      out.emplace();
      if (!parse_path_value<D>(ctx.raw_path_param(slot), *out, ctx, slot)) {
        ctx.fail(bad_path_param<D>(info::param_names[slot]));
        return false;
      }
    }
    return true;
  } else if constexpr (is_extractor_param<Ctx, P>) {
    static_assert(!std::is_lvalue_reference_v<P> || std::is_const_v<std::remove_reference_t<P>>,
                  "keel: take extractors by value or const reference");
    using R = decltype(extractor<D>::extract(ctx));
    if constexpr (std::is_same_v<std::remove_cvref_t<R>, result<D>>) {
      auto r = extractor<D>::extract(ctx);
      if (!r) {
        ctx.fail(r.error());
        return false;
      }
      out.emplace(std::move(r).value());
    } else {
      out.emplace(extractor<D>::extract(ctx));
    }
    return true;
  } else {
    return handler_parameter_is_not_extractable<P>::ok;
  }
}

template <class P, class S>
KEEL_ALWAYS_INLINE decltype(auto) pass_arg(std::optional<S>& s) {
  if constexpr (std::is_lvalue_reference_v<P>) {
    return static_cast<P>(**s);
  } else {
    return std::move(*s);
  }
}

template <class Route, class Ctx>
struct route_pipeline {
  using traits = callable_traits<typename Route::handler_type>;
  using args = typename traits::args;
  using result_type = typename traits::result;
  static constexpr bool is_coroutine = is_task<result_type>::value;

  static constexpr std::size_t layer_count = std::tuple_size_v<decltype(Route::middleware)>;

  // Runs the route's middleware, extractors, handler and responder.
  static dispatch_result run(const Route& route, Ctx& ctx) {
    return run_stack(
        route.middleware, ctx, context_access::route_layers_ran(ctx),
        [&route](Ctx& c) KEEL_ALWAYS_INLINE_LAMBDA {
          return extract_and_call(route, c, std::make_index_sequence<std::tuple_size_v<args>>{});
        },
        [&route](Ctx& c) {  // an asynchronous before() answered, or the chain after it finished at once
          run_after(route.middleware, c, context_access::route_layers_ran(c));
          context_access::on_async_complete(c)();
        });
  }

  // A handler that returned nothing and answered nothing answers 204, coroutine or not.
  static void answer_void(Ctx& ctx) {
    keel::response& res = ctx.response();
    if (context_access::kind(ctx) <= body_kind::request_body && res.body().empty() &&
        res.status() == http::status::ok)
      res.status(http::status::no_content);
  }

  template <std::size_t... Is>
  KEEL_ALWAYS_INLINE static dispatch_result extract_and_call(const Route& route, Ctx& ctx,
                                                             std::index_sequence<Is...>) {
    std::tuple<std::optional<arg_storage_t<std::tuple_element_t<Is, args>>>...> storage;
    bool ok = (extract_arg<Route, Is, std::tuple_element_t<Is, args>>(ctx, std::get<Is>(storage)) && ...);
    if (!ok) return dispatch_result::done;
    static_assert(is_coroutine || !(streams_param<std::tuple_element_t<Is, args>> || ...),
                  "keel: a handler taking keel::stream_writer or keel::body_stream must be a coroutine "
                  "returning keel::task<...>: it awaits the connection as it writes or reads");
    if constexpr (is_coroutine) {
      (check_coroutine_param<std::tuple_element_t<Is, args>>(), ...);
      using T = typename result_type::value_type;
      auto t = [&] {
        if constexpr ((prepared_param<std::tuple_element_t<Is, args>> || ...))
          return call_prepared(route, std::move(storage));
        else
          return route.handler(pass_arg<std::tuple_element_t<Is, args>>(std::get<Is>(storage))...);
      }();
      start_detached(std::move(t), [&route, &ctx](task_result<T>&& res) {
        if (res.exception) {
          try {
            std::rethrow_exception(res.exception);
          } catch (...) {
            respond_to_exception(ctx);
          }
        } else if constexpr (std::is_void_v<T>) {
          answer_void(ctx);
        } else {
          try {
            respond_for(route, ctx, std::move(*res.value));
          } catch (...) {
            respond_to_exception(ctx);
          }
        }
        // Every before() ran, or the handler would not have started.
        run_after(route.middleware, ctx, layer_count);
        context_access::on_async_complete(ctx)();
      });
      return dispatch_result::pending;
    } else if constexpr (std::is_void_v<result_type>) {
      route.handler(pass_arg<std::tuple_element_t<Is, args>>(std::get<Is>(storage))...);
      answer_void(ctx);
      return dispatch_result::done;
    } else {
      respond_for(route, ctx,
                  route.handler(pass_arg<std::tuple_element_t<Is, args>>(std::get<Is>(storage))...));
      return dispatch_result::done;
    }
  }

  // A handler with a parameter that reads the request first (keel::multipart<T>): the parameter's
  // keel_prepare() runs, then the handler, in one coroutine that owns the arguments.
  template <class Storage>
  static result_type call_prepared(const Route& route, Storage storage) {
    constexpr std::size_t k = []<std::size_t... Ks>(std::index_sequence<Ks...>) {
      std::size_t found = sizeof...(Ks);
      static_cast<void>(
          ((prepared_param<std::tuple_element_t<Ks, args>> ? (found = Ks, true) : false) || ...));
      return found;
    }
    (std::make_index_sequence<std::tuple_size_v<args>>{});
    auto preparing = (*std::get<k>(storage)).keel_prepare();
    co_await std::move(preparing);
    auto call = [&]<std::size_t... Is>(std::index_sequence<Is...>) {
      return route.handler(pass_arg<std::tuple_element_t<Is, args>>(std::get<Is>(storage))...);
    };
    auto handling = call(std::make_index_sequence<std::tuple_size_v<args>>{});
    if constexpr (std::is_void_v<typename result_type::value_type>) {
      co_await std::move(handling);
    } else {
      auto value = co_await std::move(handling);
      co_return value;
    }
  }

  // A std::optional result's 404 says the route's .doc({.not_found = "..."}) when it has one.
  template <class R>
  KEEL_ALWAYS_INLINE static void respond_for(const Route& route, Ctx& ctx, R&& value) {
    if constexpr (is_optional<std::remove_cvref_t<R>>) {
      if (!value && !route.documentation.not_found.empty())
        return ctx.fail(http_error(http::status::not_found, route.documentation.not_found));
    }
    respond_with(ctx, std::forward<R>(value));
  }

  template <class P>
  static constexpr void check_coroutine_param() {
    // Only parameters that were extracted: any other reference has its own error already.
    if constexpr (std::is_lvalue_reference_v<P> &&
                  (is_extractor_param<Ctx, P> || is_positional_path_param<P> || is_named_path_param<P>)) {
      (void)coroutine_handler_takes_reference<P>::ok;
    }
  }
};

}  // namespace detail

namespace detail {

// One route's pipeline behind a type-erased pointer to the route, for the dispatch table.
template <class Route, class Ctx>
dispatch_result run_route(const void* route, Ctx& ctx) {
  context_access::set_params(ctx, Route::path_info::param_count);
  context_access::set_route_path(ctx, Route::path_info::text);
  return route_pipeline<Route, Ctx>::run(*static_cast<const Route*>(route), ctx);
}

}  // namespace detail

template <class Routes>
class router;

// keel::router{keel::get<"/a">(h1), keel::group<"/api">(...), ...}
template <class... Routes>
class router<std::tuple<Routes...>> {
 public:
  using routes_type = std::tuple<Routes...>;  // names the routes' types; they are stored in a route_table
  static constexpr std::size_t size = sizeof...(Routes);

  template <RouteItem... Items>
  explicit router(Items... items)
      : routes_(detail::flatten_routes(std::move(items)...)),
        policies_(policies_of(routes_, std::index_sequence_for<Routes...>{})) {}

  // The routes, in order, as references.
  std::tuple<const Routes&...> routes() const noexcept {
    return routes_of(std::index_sequence_for<Routes...>{});
  }

  // Routes the request in ctx and runs the matched route's pipeline. 404 when no path matches, 405 (with
  // Allow) when the path exists for other methods, HEAD served by GET routes, OPTIONS answered with Allow.
  template <class Ctx>
  dispatch_result dispatch(Ctx& ctx) const {
    const http::request& req = ctx.request();
    std::string_view path = req.path;
    if (path.empty() || path.front() != '/') {
      if (path == "*" && req.method == http::method::options) return answer_options(ctx, all_methods_set());
      ctx.fail(http_error(http::status::not_found));
      return dispatch_result::done;
    }
    // (Not path.substr(1): its bounds check is a call g++ does not always inline, on every request.)
    int leaf = detail::match_path<detail::needs_match_path_from(trie_)>(
        trie_, std::string_view(path.data() + 1, path.size() - 1), path.size() == 1,
        detail::context_access::param_slots(ctx).data());
    if (leaf < 0) {
      ctx.fail(http_error(http::status::not_found));
      return dispatch_result::done;
    }
    const detail::trie_leaf& l = trie_.leaves[static_cast<std::size_t>(leaf)];
    http::method m = req.method;
    if (!l.methods.contains(m)) {
      if (m == http::method::head && l.methods.contains(http::method::get)) {
        m = http::method::get;  // the writer drops the body
      } else if (m == http::method::options) {
        return answer_options(ctx, l.methods);
      } else {
        http_error e(http::status::method_not_allowed);
        e.with_header("Allow", detail::allow_header(l.methods));
        ctx.fail(e);
        return dispatch_result::done;
      }
    }
    for (std::size_t i = 0; i < l.count; ++i) {
      std::size_t r = trie_.leaf_routes[l.first + i];
      if (descs_[r].methods.contains(m)) return call(r, ctx, std::index_sequence_for<Routes...>{});
    }
    ctx.fail(http_error(http::status::not_found));  // unreachable: the leaf's method set said so
    return dispatch_result::done;
  }

  // How the route that a request's head names takes its body: its limit (0: the server's) and whether the
  // handler reads it in pieces (keel::body_stream). The session asks before reading any body byte; a request
  // that matches no route gets the defaults, and dispatch answers it later.
  template <class Ctx>
  detail::body_policy body_policy_for(Ctx& ctx) const {
    const http::request& req = ctx.request();
    const std::string_view path = req.path;
    if (path.empty() || path.front() != '/') return {};
    const int leaf = detail::match_path<detail::needs_match_path_from(trie_)>(
        trie_, std::string_view(path.data() + 1, path.size() - 1), path.size() == 1,
        detail::context_access::param_slots(ctx).data());
    if (leaf < 0) return {};
    const detail::trie_leaf& l = trie_.leaves[static_cast<std::size_t>(leaf)];
    for (std::size_t i = 0; i < l.count; ++i) {
      const std::size_t r = trie_.leaf_routes[l.first + i];
      if (descs_[r].methods.contains(req.method)) return policies_[r];
    }
    return {};
  }

 private:
  static constexpr http::method_set all_methods_set() { return http::method_set{std::uint16_t(0x1ff)}; }

  template <std::size_t... Is>
  static std::array<detail::body_policy, sizeof...(Routes)> policies_of(
      const detail::route_table<Routes...>& t, std::index_sequence<Is...>) {
    return {detail::body_policy{
        detail::value_at<Is>(t).max_body,
        detail::any_reads_body_stream<
            typename detail::callable_traits<typename Routes::handler_type>::args>::value}...};
  }

  template <class Ctx>
  static dispatch_result answer_options(Ctx& ctx, http::method_set set) {
    ctx.response().status(http::status::no_content).header("Allow", detail::allow_header(set));
    return dispatch_result::done;
  }

  // Up to this many routes, dispatch inlines every route's pipeline into itself. Beyond it each pipeline is
  // its own function reached through a table indexed by route: one function holding hundreds of inlined
  // pipelines made the optimiser's time grow faster than the route count, and an indexed call costs about
  // what the switch's indexed jump does.
  static constexpr std::size_t inline_dispatch_limit = 16;

  template <class Ctx, std::size_t... Is>
  KEEL_ALWAYS_INLINE dispatch_result call(std::size_t r, Ctx& ctx, std::index_sequence<Is...>) const {
    if constexpr (sizeof...(Is) <= inline_dispatch_limit) {
      dispatch_result out = dispatch_result::done;
      // Unrolled into a switch over the route index: each arm is that route's pipeline, inlined.
      (void)((r == Is ? (out = invoke<Is>(ctx), true) : false) || ...);
      return out;
    } else {
      // Entries are named by their route and context types only: a function named by the router type (which
      // spells out every route) per route made symbol names, and the compiler's work on them, grow with the
      // square of the route count.
      using entry = dispatch_result (*)(const void*, Ctx&);
      static constexpr entry table[] = {&detail::run_route<Routes, Ctx>...};
      const auto& offsets = route_offsets(routes_, std::index_sequence<Is...>{});
      return table[r](reinterpret_cast<const char*>(&routes_) + offsets[r], ctx);
    }
  }

  // Where each route lives inside routes_ (the same for every router of this type).
  template <std::size_t... Is>
  static const std::array<std::ptrdiff_t, sizeof...(Routes)>& route_offsets(
      const detail::route_table<Routes...>& table, std::index_sequence<Is...>) {
    static const std::array<std::ptrdiff_t, sizeof...(Routes)> offsets{
        (reinterpret_cast<const char*>(&detail::value_at<Is>(table)) -
         reinterpret_cast<const char*>(&table))...};
    return offsets;
  }

  template <std::size_t I, class Ctx>
  KEEL_ALWAYS_INLINE dispatch_result invoke(Ctx& ctx) const {
    const auto& route = detail::value_at<I>(routes_);
    using R = std::remove_cvref_t<decltype(route)>;
    detail::context_access::set_params(ctx, R::path_info::param_count);
    detail::context_access::set_route_path(ctx, R::path_info::text);
    return detail::route_pipeline<R, Ctx>::run(route, ctx);
  }

  template <std::size_t... Is>
  std::tuple<const Routes&...> routes_of(std::index_sequence<Is...>) const noexcept {
    return {detail::value_at<Is>(routes_)...};
  }

  static constexpr std::array<detail::route_desc, sizeof...(Routes)> descs_ = {
      detail::route_desc{Routes::path.view(), Routes::methods}...};
  static constexpr detail::trie_sizes sizes_ = detail::trie_bounds_of(descs_);
  static constexpr auto trie_ = detail::build_trie<sizeof...(Routes), sizes_>(descs_);

  detail::route_table<Routes...> routes_;
  std::array<detail::body_policy, sizeof...(Routes)> policies_;
};

template <RouteItem... Items>
router(Items...) -> router<detail::flat_routes_t<Items...>>;

}  // namespace v0
}  // namespace keel
