// keel::detail::route_table: the router's routes in one flat, indexed object, built from routes and groups.
#pragma once

#include "keel/config.hpp"
#include "keel/router/route.hpp"

#include <array>
#include <cstddef>
#include <tuple>
#include <type_traits>
#include <utility>

namespace keel {
inline namespace v0 {
namespace detail {

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
struct flat_list {  // a route
  using type = type_list<Item>;
};
template <class... Items>
using flat_route_list_t = decltype((type_list<>{} + ... + typename flat_list<Items>::type{}));

template <fixed_string Prefix, class GroupMws, class List>
struct prefixed_list;
template <fixed_string Prefix, class GroupMws, class... Rs>
struct prefixed_list<Prefix, GroupMws, type_list<Rs...>> {
  using type = type_list<typename prefixed<Prefix, GroupMws, Rs>::type...>;
};
template <fixed_string Prefix, class... Items, class... GMs>
struct flat_list<route_group<Prefix, std::tuple<Items...>, GMs...>> {
  using type = typename prefixed_list<Prefix, std::tuple<GMs...>, flat_route_list_t<Items...>>::type;
};

template <template <class...> class To, class List>
struct rebind_list;
template <template <class...> class To, class... Rs>
struct rebind_list<To, type_list<Rs...>> {
  using type = To<Rs...>;
  static constexpr std::size_t size = sizeof...(Rs);
};

template <class... Items>
using flat_routes_t = typename rebind_list<std::tuple, flat_route_list_t<Items...>>::type;
template <class... Items>
using flat_route_table_t = typename rebind_list<route_table, flat_route_list_t<Items...>>::type;

template <class... Items>
constexpr flat_route_table_t<Items...> flatten_routes(Items... items);

// A group's routes with its prefix joined and its middleware put first, as a route_table (std::tuple_cat over
// a group of many routes was as costly as over a whole router).
template <fixed_string Prefix, class GroupMws, class Table, std::size_t... K>
constexpr auto prefix_routes(Table& inner, const GroupMws& gms, std::index_sequence<K...>) {
  return route_table<
      typename prefixed<Prefix, GroupMws, std::remove_cvref_t<decltype(value_at<K>(inner))>>::type...>{
      {prefixed<Prefix, GroupMws, std::remove_cvref_t<decltype(value_at<K>(inner))>>::make(
          std::move(value_at<K>(inner)), gms)}...};
}

template <class... Items, std::size_t... Is>
constexpr auto flatten_items(std::tuple<Items...>& items, std::index_sequence<Is...>) {
  return flatten_routes(std::move(std::get<Is>(items))...);
}

// What one item contributes: itself (a route) or the route_table of its flattened routes (a group).
template <class Item>
constexpr auto flat_part(Item&& item) {
  using I = std::remove_cvref_t<Item>;
  if constexpr (is_route<I>::value) {
    return I(std::move(item));
  } else {
    auto inner =
        flatten_items(item.routes, std::make_index_sequence<std::tuple_size_v<decltype(item.routes)>>{});
    return prefix_routes<I::prefix>(
        inner, item.middleware,
        std::make_index_sequence<rebind_list<route_table, typename flat_list<I>::type>::size>{});
  }
}

// For each flat position: the item it comes from and its index among that item's routes.
struct flat_position {
  std::size_t item = 0, inner = 0;
};
template <class... Items>
inline constexpr auto flat_positions = [] {
  constexpr std::size_t sizes[] = {rebind_list<type_list, typename flat_list<Items>::type>::size..., 0};
  std::array<flat_position, rebind_list<type_list, flat_route_list_t<Items...>>::size> out{};
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
    return std::move(value_at<Inner>(part));
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

}  // namespace detail
}  // namespace v0
}  // namespace keel
