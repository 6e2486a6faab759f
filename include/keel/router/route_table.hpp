// keel::detail::route_table: the router's routes in one flat, indexed object, built from routes and groups.
#pragma once

#include "keel/config.hpp"
#include "keel/router/route.hpp"

#include <array>
#include <cstddef>
#include <tuple>
#include <type_traits>
#include <utility>

namespace keel::inline v0::detail {

// Why not std::tuple: libstdc++'s tuple is a recursive inheritance chain whose constructors check every
// element's constructibility at every level, and tuple_element walks the pack; with a few hundred routes
// those checks were most of an app's compile time (clang -ftime-trace: std::__and_, _Tuple_impl,
// _Nth_type). Here each value is a direct base, reached by deducing its index, so nothing recurses.
template <std::size_t I, class T>
struct indexed_slot {
  T value;
};

template <class Indices, class... Ts>
struct indexed_values;
template <std::size_t... Is, class... Ts>
struct indexed_values<std::index_sequence<Is...>, Ts...> : indexed_slot<Is, Ts>... {};

template <class... Ts>
using route_table = indexed_values<std::index_sequence_for<Ts...>, Ts...>;

template <std::size_t I, class T>
constexpr T& value_at(indexed_slot<I, T>& slot) noexcept {
  return slot.value;
}
template <std::size_t I, class T>
constexpr const T& value_at(const indexed_slot<I, T>& slot) noexcept {
  return slot.value;
}

// The flat list of route types a router's items (routes and groups) make, concatenated without recursion.
template <class... Ts>
struct type_list {};
template <class... A, class... B>
constexpr type_list<A..., B...> operator+(type_list<A...>, type_list<B...>) {
  return {};
}
template <class Item>
constexpr auto flat_list_of() {
  if constexpr (is_route<Item>::value) {
    return type_list<Item>{};
  } else {
    return []<class... Rs>(std::tuple<Rs...>*) {
      return type_list<Rs...>{};
    }(static_cast<decltype(flatten(std::declval<Item>()))*>(nullptr));
  }
}

template <template <class...> class To, class List>
struct rebind_list;
template <template <class...> class To, class... Rs>
struct rebind_list<To, type_list<Rs...>> {
  using type = To<Rs...>;
};

template <class... Items>
using flat_route_list_t = decltype((type_list<>{} + ... + flat_list_of<Items>()));
template <class... Items>
using flat_routes_t = typename rebind_list<std::tuple, flat_route_list_t<Items...>>::type;
template <class... Items>
using flat_route_table_t = typename rebind_list<route_table, flat_route_list_t<Items...>>::type;

// What one item contributes: itself (a route) or its flattened routes (a group: a small std::tuple).
template <class Item>
constexpr auto flat_part(Item&& item) {
  if constexpr (is_route<std::remove_cvref_t<Item>>::value) {
    return std::remove_cvref_t<Item>(std::move(item));
  } else {
    return flatten(std::move(item));
  }
}
template <class Item>
constexpr std::size_t flat_size_of() {
  if constexpr (is_route<Item>::value) {
    return 1;
  } else {
    return std::tuple_size_v<decltype(flatten(std::declval<Item>()))>;
  }
}

// For each flat position: the item it comes from and its index among that item's routes.
struct flat_position {
  std::size_t item = 0, inner = 0;
};
template <class... Items>
inline constexpr auto flat_positions = [] {
  constexpr std::size_t sizes[] = {flat_size_of<Items>()..., 0};
  std::array<flat_position, (std::size_t{0} + ... + flat_size_of<Items>())> out{};
  std::size_t k = 0;
  for (std::size_t item = 0; item < sizeof...(Items); ++item)
    for (std::size_t inner = 0; inner < sizes[item]; ++inner) out[k++] = {item, inner};
  return out;
}();

template <std::size_t Inner, class Part>
constexpr auto&& take_route(Part& part) {
  if constexpr (is_route<Part>::value) {
    return std::move(part);
  } else {
    return std::move(std::get<Inner>(part));
  }
}

template <class... Items, class Parts, std::size_t... K>
constexpr flat_route_table_t<Items...> make_route_table(Parts& parts, std::index_sequence<K...>) {
  constexpr auto& at = flat_positions<Items...>;
  return {{take_route<at[K].inner>(value_at<at[K].item>(parts))}...};
}

// The routes of a router made of `items` (routes and groups, in order), flattened into one table.
template <class... Items>
constexpr flat_route_table_t<Items...> flatten_routes(Items... items) {
  route_table<decltype(flat_part(std::move(items)))...> parts{{flat_part(std::move(items))}...};
  return make_route_table<Items...>(parts, std::make_index_sequence<flat_positions<Items...>.size()>{});
}

}  // namespace keel::inline v0::detail
