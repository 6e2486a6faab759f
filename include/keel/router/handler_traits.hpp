// What a handler looks like to the router: its parameter and return types, and the compile-time check that
// its parameters fit its path ("/users/{id}" needs exactly one path parameter for `id`).
#pragma once

#include "keel/config.hpp"
#include "keel/extract.hpp"
#include "keel/router/fixed_string.hpp"
#include "keel/router/path_template.hpp"

#include <cstddef>
#include <tuple>
#include <type_traits>

namespace keel {
inline namespace v0 {

template <class T>
class task;

namespace detail {

template <class F>
struct callable_traits {
  static constexpr bool valid = false;
};
template <class R, class... A>
struct callable_traits<R (*)(A...)> {
  static constexpr bool valid = true;
  using result = R;
  using args = std::tuple<A...>;
};
template <class R, class... A>
struct callable_traits<R (*)(A...) noexcept> : callable_traits<R (*)(A...)> {};
template <class R, class C, class... A>
struct callable_traits<R (C::*)(A...) const> : callable_traits<R (*)(A...)> {};
template <class R, class C, class... A>
struct callable_traits<R (C::*)(A...) const noexcept> : callable_traits<R (*)(A...)> {};
template <class R, class C, class... A>
struct callable_traits<R (C::*)(A...)> : callable_traits<R (*)(A...)> {
  static constexpr bool mutable_call = true;
};
template <class R, class C, class... A>
struct callable_traits<R (C::*)(A...) noexcept> : callable_traits<R (C::*)(A...)> {};
template <class F>
requires requires { &F::operator(); }
struct callable_traits<F> : callable_traits<decltype(&F::operator())> {};
template <class R, class... A>
struct callable_traits<R(A...)> : callable_traits<R (*)(A...)> {};

template <class T>
struct is_task : std::false_type {};
template <class T>
struct is_task<task<T>> : std::true_type {};

// Parameters that await the connection (keel::stream_writer, keel::body_stream) mark themselves, so the
// router needs none of their headers: such a handler must be a coroutine.
template <class P>
concept streams_param = requires {
  std::remove_cvref_t<P>::keel_needs_coroutine;
};
// keel::body_stream: the route's body is read in pieces, not buffered before the handler runs.
template <class P>
concept reads_body_stream = requires {
  std::remove_cvref_t<P>::keel_reads_body_stream;
};

// keel::multipart<T>: a parameter that reads the request before the handler runs, with
// `co_await p.keel_prepare()` (a keel::task<> throwing http_error on bad input).
template <class P>
concept prepared_param = requires(std::remove_cvref_t<P>& p) {
  p.keel_prepare();
};

template <class Args>
struct any_reads_body_stream;
template <class... A>
struct any_reads_body_stream<std::tuple<A...>> {
  static constexpr bool value = (reads_body_stream<A> || ...);
};

// A parameter bound positionally to the path: a plain path value type by value or const reference.
template <class P>
constexpr bool is_positional_path_param = PathValue<std::remove_cvref_t<P>> &&
                                          (!std::is_reference_v<P> ||
                                           std::is_const_v<std::remove_reference_t<P>>);

template <class P>
constexpr bool is_named_path_param = is_named_path<std::remove_cvref_t<P>>::value;

// The messages below are what a user sees for a route whose handler does not fit its path; the template
// arguments name the route and the parameter.
template <fixed_string RoutePath, fixed_string Parameter>
struct path_parameter_has_no_handler_parameter {
  static_assert(RoutePath.size() == 0,
                "keel: a path parameter of this route has no handler parameter (its name is the second "
                "template argument): add a parameter for it, e.g. std::int64_t id or keel::path<\"id\", T>");
  static constexpr bool ok = false;
};
template <fixed_string RoutePath, std::size_t Index, class Parameter>
struct handler_parameter_is_no_path_parameter {
  static_assert(
      RoutePath.size() == 0,
      "keel: this handler has more path-value parameters than its route has path parameters: the "
      "handler parameter at the given index (type shown) names no path parameter; add {name} to the "
      "path or remove the parameter");
  static constexpr bool ok = false;
};
template <fixed_string RoutePath, fixed_string Parameter>
struct named_path_parameter_not_in_route {
  static_assert(
      RoutePath.size() == 0,
      "keel: keel::path<\"name\", T> names a parameter this route's path does not have; fix the name "
      "or add {name} to the path");
  static constexpr bool ok = false;
};
template <class Handler>
struct handler_needs_concrete_parameter_types {
  static_assert(sizeof(Handler) == 0,
                "keel: a handler must be a function or a lambda with concrete parameter types (no `auto` "
                "parameters, no overloads)");
  static constexpr bool ok = false;
};

template <class Args>
struct path_binding;
template <class... A>
struct path_binding<std::tuple<A...>> {
  static constexpr std::size_t positional = (std::size_t{0} + ... + (is_positional_path_param<A> ? 1 : 0));
  static constexpr std::size_t named = (std::size_t{0} + ... + (is_named_path_param<A> ? 1 : 0));
};

template <class Info, class P>
constexpr bool named_param_exists() {
  if constexpr (is_named_path_param<P>) {
    return Info::param_index(std::remove_cvref_t<P>::name) < Info::param_count;
  } else {
    return true;
  }
}

// For route parameter k (in path order): is it claimed by a keel::path<"name", T> handler parameter?
template <class Info, class... A>
constexpr bool path_param_named(std::size_t k) {
  (void)k;
  bool named = false;
  ((named = named ||
            [&] {
              if constexpr (is_named_path_param<A>) {
                return Info::param_names[k] == std::remove_cvref_t<A>::name;
              } else {
                return false;
              }
            }()),
   ...);
  return named;
}

// For handler parameter i: which path parameter it is bound to (param_count when it is no path parameter).
template <class Info, class... A>
constexpr std::size_t path_slot_of(std::size_t i) {
  constexpr bool positional[] = {is_positional_path_param<A>..., false};
  std::size_t slot = Info::param_count;
  std::size_t idx = 0;
  // Named parameters bind by name.
  ((idx == i ? (slot =
                    [] {
                      if constexpr (is_named_path_param<A>) {
                        return Info::param_index(std::remove_cvref_t<A>::name);
                      } else {
                        return Info::param_count;
                      }
                    }())
             : 0,
    ++idx),
   ...);
  if (slot != Info::param_count || !positional[i]) return slot;
  // Positional parameters take the path parameters not claimed by a name, in order.
  std::size_t nth = 0;
  for (std::size_t j = 0; j < i; ++j) nth += positional[j];
  for (std::size_t k = 0; k < Info::param_count; ++k) {
    if (path_param_named<Info, A...>(k)) continue;
    if (nth == 0) return k;
    --nth;
  }
  return Info::param_count;
}

template <fixed_string Path, class Info, class... A>
constexpr bool check_bindings(std::tuple<A...>*) {
  // Named parameters must exist.
  constexpr std::size_t bad_name = [] {
    constexpr bool ok[] = {named_param_exists<Info, A>()..., true};
    for (std::size_t i = 0; i < sizeof...(A); ++i)
      if (!ok[i]) return i;
    return sizeof...(A);
  }();
  if constexpr (bad_name < sizeof...(A)) {
    using P = std::remove_cvref_t<std::tuple_element_t<bad_name, std::tuple<A...>>>;
    constexpr fixed_string<P::name.size() + 1> name = [] {
      fixed_string<P::name.size() + 1> s;
      for (std::size_t i = 0; i < P::name.size(); ++i) s.data[i] = P::name[i];
      return s;
    }();
    return named_path_parameter_not_in_route<Path, name>::ok;
  } else {
    // Every path parameter bound exactly once.
    constexpr std::size_t unbound = [] {
      for (std::size_t k = 0; k < Info::param_count; ++k) {
        bool bound = false;
        for (std::size_t i = 0; i < sizeof...(A); ++i) bound = bound || path_slot_of<Info, A...>(i) == k;
        if (!bound) return k;
      }
      return Info::param_count;
    }();
    constexpr std::size_t extra = [] {
      constexpr bool positional[] = {is_positional_path_param<A>..., false};
      for (std::size_t i = 0; i < sizeof...(A); ++i)
        if (positional[i] && path_slot_of<Info, A...>(i) == Info::param_count) return i;
      return sizeof...(A);
    }();
    if constexpr (unbound < Info::param_count) {
      constexpr std::size_t len = Info::param_names[unbound].size();
      constexpr fixed_string<len + 1> name = [] {
        fixed_string<len + 1> s;
        for (std::size_t i = 0; i < len; ++i) s.data[i] = Info::param_names[unbound][i];
        return s;
      }();
      return path_parameter_has_no_handler_parameter<Path, name>::ok;
    } else if constexpr (extra < sizeof...(A)) {
      return handler_parameter_is_no_path_parameter<Path, extra,
                                                    std::tuple_element_t<extra, std::tuple<A...>>>::ok;
    } else {
      return true;
    }
  }
}

template <fixed_string Path, class H>
constexpr void check_handler() {
  using traits = callable_traits<H>;
  if constexpr (!traits::valid) {
    (void)handler_needs_concrete_parameter_types<H>::ok;
  } else {
    static_assert(
        !requires { traits::mutable_call; },
        "keel: handlers are called concurrently from several threads: make the lambda non-mutable "
        "(keep mutable state in a service or behind a synchronisation primitive)");
    (void)check_bindings<Path, path_info<Path>>(static_cast<typename traits::args*>(nullptr));
  }
}

}  // namespace detail
}  // namespace v0
}  // namespace keel
