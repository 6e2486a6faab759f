// Routes: a path template, a method set, a handler and the route's own middleware, all known at compile time.
//   keel::get<"/users/{id}">([](std::int64_t id) { ... })
//   keel::on<"/items", http::method::get, http::method::post>(handler)
//   keel::group<"/api">(keel::get<"/a">(h1), keel::post<"/b">(h2)).use<auth>()
#pragma once

#include "keel/config.hpp"
#include "keel/extract.hpp"
#include "keel/http/method.hpp"
#include "keel/router/fixed_string.hpp"
#include "keel/router/handler_traits.hpp"
#include "keel/router/path_template.hpp"
#include "keel/router/route_doc.hpp"

#include <cstddef>
#include <tuple>
#include <type_traits>
#include <utility>

namespace keel {
inline namespace v0 {

namespace detail {
// How a route takes its request body (see router::body_policy_for).
struct body_policy {
  std::size_t limit = 0;   // bytes of decoded body; 0: the server's limits.max_body_bytes
  bool streaming = false;  // the handler reads it with keel::body_stream
};
// The middleware of .require<Policies...>(): defined in keel/auth/policy.hpp (include <keel/auth.hpp>).
template <class... Policies>
struct policy_layer;
}  // namespace detail

template <fixed_string Path, http::method_set Methods, class Handler, class... Middleware>
struct route {
  using path_info = detail::path_info<Path>;
  using handler_type = Handler;
  static constexpr auto path = Path;
  static constexpr http::method_set methods = Methods;

  Handler handler;
  std::tuple<Middleware...> middleware;
  std::size_t max_body = 0;   // this route's body limit; 0: the server's limits.max_body_bytes
  route_doc documentation{};  // .doc({...}): for the OpenAPI document and a std::optional handler's 404

  // Adds middleware that runs for this route only, inside the app's and the group's.
  template <class... Ms>
  auto use(Ms... ms) && {
    return route<Path, Methods, Handler, Middleware..., Ms...>{
        std::move(handler), std::tuple_cat(std::move(middleware), std::tuple<Ms...>(std::move(ms)...)),
        max_body, std::move(documentation)};
  }
  // A body limit for this route alone, above or below the server's default (uploads, small forms). A
  // Content-Length over it is a 413 before any body byte is read.
  route body_limit(std::size_t bytes) && {
    max_body = bytes;
    return std::move(*this);
  }

  // Summary, description, tags, operationId, deprecated for the OpenAPI document, and the message of the
  // 404 a std::optional handler answers with std::nullopt (see keel/router/route_doc.hpp).
  route doc(route_doc d) && {
    documentation = std::move(d);
    return std::move(*this);
  }
  template <class... Ms>
  requires(sizeof...(Ms) > 0 && (std::is_default_constructible_v<Ms> && ...)) auto use() && {
    return std::move(*this).use(Ms{}...);
  }
  // Policies the request's bearer token must satisfy (keel::scope<"...">, keel::role<"...">, your own):
  // 401 without a valid token, 403 when a policy refuses. See keel/auth/policy.hpp.
  template <class... Policies>
  requires(sizeof...(Policies) > 0) auto require() && {
    return std::move(*this).use(detail::policy_layer<Policies...>{});
  }
};

template <class T>
struct is_route : std::false_type {};
template <fixed_string P, http::method_set M, class H, class... Ms>
struct is_route<route<P, M, H, Ms...>> : std::true_type {};

// A set of routes under a common prefix, sharing middleware.
template <fixed_string Prefix, class Routes, class... Middleware>
struct route_group;

template <fixed_string Prefix, class... Routes, class... Middleware>
struct route_group<Prefix, std::tuple<Routes...>, Middleware...> {
  static constexpr auto prefix = Prefix;
  std::tuple<Routes...> routes;
  std::tuple<Middleware...> middleware;

  template <class... Ms>
  auto use(Ms... ms) && {
    return route_group<Prefix, std::tuple<Routes...>, Middleware..., Ms...>{
        std::move(routes), std::tuple_cat(std::move(middleware), std::tuple<Ms...>(std::move(ms)...))};
  }
  template <class... Ms>
  requires(sizeof...(Ms) > 0 && (std::is_default_constructible_v<Ms> && ...)) auto use() && {
    return std::move(*this).use(Ms{}...);
  }
  // Policies for every route of the group (see route::require).
  template <class... Policies>
  requires(sizeof...(Policies) > 0) auto require() && {
    return std::move(*this).use(detail::policy_layer<Policies...>{});
  }
};

template <class T>
struct is_route_group : std::false_type {};
template <fixed_string P, class R, class... Ms>
struct is_route_group<route_group<P, R, Ms...>> : std::true_type {};

template <class T>
concept RouteItem = is_route<T>::value || is_route_group<T>::value;

// Any methods at once.
template <fixed_string Path, http::method... Ms, class H>
constexpr auto on(H handler) {
  static_assert(sizeof...(Ms) > 0, "keel: keel::on<path, methods...> needs at least one method");
  constexpr http::method_set set{static_cast<std::uint16_t>((static_cast<std::uint16_t>(Ms) | ...))};
  detail::check_handler<Path, H>();
  return route<Path, set, H>{std::move(handler), {}};
}
template <fixed_string Path, class H>
constexpr auto get(H h) {
  return on<Path, http::method::get>(std::move(h));
}
template <fixed_string Path, class H>
constexpr auto post(H h) {
  return on<Path, http::method::post>(std::move(h));
}
template <fixed_string Path, class H>
constexpr auto put(H h) {
  return on<Path, http::method::put>(std::move(h));
}
template <fixed_string Path, class H>
constexpr auto patch(H h) {
  return on<Path, http::method::patch>(std::move(h));
}
template <fixed_string Path, class H>
constexpr auto del(H h) {
  return on<Path, http::method::delete_>(std::move(h));
}
template <fixed_string Path, class H>
constexpr auto head(H h) {
  return on<Path, http::method::head>(std::move(h));
}
template <fixed_string Path, class H>
constexpr auto options(H h) {
  return on<Path, http::method::options>(std::move(h));
}

template <fixed_string Prefix, RouteItem... Items>
constexpr auto group(Items... items) {
  static_assert(Prefix.size() > 1 && Prefix.data[0] == '/' && Prefix.data[Prefix.size() - 1] != '/',
                "keel: a group prefix looks like \"/api\": a leading '/', no trailing '/'");
  return route_group<Prefix, std::tuple<Items...>>{std::tuple<Items...>(std::move(items)...), {}};
}

namespace detail {

// "/api" + "/" is "/api"; "/api" + "/x" is "/api/x"; "" (a group without a prefix, such as
// keel::static_files makes) + "/x" is "/x".
template <fixed_string Prefix, fixed_string Path>
constexpr auto join_path() {
  if constexpr (Prefix.size() == 0) {
    return Path;
  } else if constexpr (Path.size() == 1) {
    return Prefix;
  } else {
    return Prefix + Path;
  }
}

// Flattening: a group becomes its routes with the prefix joined and the group's middleware put first.
template <fixed_string Prefix, class GroupMws, class Item>
struct prefixed;
template <fixed_string Prefix, class... GMs, fixed_string P, http::method_set M, class H, class... Ms>
struct prefixed<Prefix, std::tuple<GMs...>, route<P, M, H, Ms...>> {
  using type = route<join_path<Prefix, P>(), M, H, GMs..., Ms...>;
  static type make(route<P, M, H, Ms...>&& r, std::tuple<GMs...> gms) {
    return type{std::move(r.handler), std::tuple_cat(std::move(gms), std::move(r.middleware)), r.max_body,
                std::move(r.documentation)};
  }
};

template <class Group, class Inner, class GMs>
constexpr auto flatten_into_group(Inner&& inner, const GMs& gms);

template <class Item>
constexpr auto flatten(Item&& item) {
  if constexpr (is_route<std::remove_cvref_t<Item>>::value) {
    return std::tuple<std::remove_cvref_t<Item>>(std::move(item));
  } else {
    return std::apply(
        [&](auto&&... inner) {
          return std::tuple_cat(
              flatten_into_group<std::remove_cvref_t<Item>>(std::move(inner), item.middleware)...);
        },
        std::move(item.routes));
  }
}

template <class Group, class Inner, class GMs>
constexpr auto flatten_into_group(Inner&& inner, const GMs& gms) {
  return std::apply(
      [&](auto&&... routes) {
        return std::tuple{prefixed<Group::prefix, GMs, std::remove_cvref_t<decltype(routes)>>::make(
            std::move(routes), gms)...};
      },
      flatten(std::move(inner)));
}

}  // namespace detail
}  // namespace v0
}  // namespace keel
