// keel::sql::Table and the compile-time SQL texts of a table DTO (column list, find/insert/update/delete).
#pragma once

#include "keel/config.hpp"
#include "keel/customization.hpp"
#include "keel/detail/reflect/field_names.hpp"
#include "keel/json/reflect.hpp"
#include "keel/sql/detail/query_text.hpp"
#include "keel/sql/row.hpp"

#include <cstddef>
#include <string_view>
#include <type_traits>
#include <utility>

namespace keel {
inline namespace v0 {
namespace sql {

// The table a row type maps to: `static constexpr std::string_view keel_table = "...";` in the DTO (or in
// keel::dto_traits<T>, see keel/customization.hpp), and optionally `keel_primary_key` (default "id").
template <class T>
concept Table = Row<T> && keel::detail::has_table<T>;

namespace detail {

template <Table T>
consteval std::size_t primary_key_index() {
  constexpr auto& names = keel::detail::cpp_field_names<T>;
  for (std::size_t i = 0; i < names.size(); ++i)
    if (names[i] == keel::detail::primary_key_of<T>()) return i;
  return names.size();
}

template <Table T>
using primary_key_type =
    std::remove_cvref_t<decltype(boost::pfr::get<primary_key_index<T>()>(std::declval<T&>()))>;

// An integral primary key is assigned by the database: insert() leaves it out and returns it.
template <Table T>
inline constexpr bool generated_key = std::is_integral_v<primary_key_type<T>>;

template <Table T>
struct table_sql {
  static_assert(safe_identifier(keel::detail::table_of<T>()),
                "keel::sql: keel_table must be a non-empty name without quotes");
  static_assert(primary_key_index<T>() < keel::field_count<T>,
                "keel::sql: the table DTO has no primary key field (name it `id` or set keel_primary_key)");
  static constexpr auto& names = keel::detail::cpp_field_names<T>;
  static constexpr std::size_t key = primary_key_index<T>();

  static constexpr void columns(text_builder& b) {
    for (std::size_t i = 0; i < names.size(); ++i) {
      if (i > 0) b.add(", ");
      b.quoted(names[i]);
    }
  }
  static constexpr std::string_view select_all = static_sql<[](text_builder& b) {
    b.add("SELECT ");
    columns(b);
    b.add(" FROM ");
    b.quoted(keel::detail::table_of<T>());
  }>::value;
  static constexpr std::string_view find_by_key = static_sql<[](text_builder& b) {
    b.add(select_all);
    b.add(" WHERE ");
    b.quoted(names[key]);
    b.add(" = ?");
  }>::value;
  static constexpr std::string_view insert = static_sql<[](text_builder& b) {
    b.add("INSERT INTO ");
    b.quoted(keel::detail::table_of<T>());
    b.add(" (");
    bool first = true;
    for (std::size_t i = 0; i < names.size(); ++i) {
      if (generated_key<T> && i == key) continue;
      if (!first) b.add(", ");
      first = false;
      b.quoted(names[i]);
    }
    b.add(") VALUES (");
    first = true;
    for (std::size_t i = 0; i < names.size(); ++i) {
      if (generated_key<T> && i == key) continue;
      b.add(first ? "?" : ", ?");
      first = false;
    }
    b.add(") RETURNING ");
    b.quoted(names[key]);
  }>::value;
  static constexpr std::string_view update = static_sql<[](text_builder& b) {
    b.add("UPDATE ");
    b.quoted(keel::detail::table_of<T>());
    b.add(" SET ");
    bool first = true;
    for (std::size_t i = 0; i < names.size(); ++i) {
      if (i == key) continue;
      if (!first) b.add(", ");
      first = false;
      b.quoted(names[i]);
      b.add(" = ?");
    }
    b.add(" WHERE ");
    b.quoted(names[key]);
    b.add(" = ?");
  }>::value;
  static constexpr std::string_view remove = static_sql<[](text_builder& b) {
    b.add("DELETE FROM ");
    b.quoted(keel::detail::table_of<T>());
    b.add(" WHERE ");
    b.quoted(names[key]);
    b.add(" = ?");
  }>::value;
};

}  // namespace detail
}  // namespace sql
}  // namespace v0
}  // namespace keel
