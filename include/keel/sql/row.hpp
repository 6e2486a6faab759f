// keel::sql binding and mapping: parameters from C++ values or a DTO's fields (by `:name`), rows into DTOs
// by column name (the raw C++ member names) or into a single scalar.
#pragma once

#include "keel/config.hpp"
#include "keel/detail/type_traits.hpp"
#include "keel/detail/reflect/field_names.hpp"
#include "keel/json/reflect.hpp"
#include "keel/sql/connection.hpp"
#include "keel/sql/params.hpp"
#include "keel/sql/rows.hpp"
#include "keel/sql/value.hpp"

#include <boost/pfr.hpp>

#include <algorithm>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace keel {
inline namespace v0 {
namespace sql {

// A row type: a DTO whose every field is Readable (columns matched by the C++ member name).
template <class T>
concept Row = Dto<T> && !Readable<T>;

namespace detail {

template <class T>
concept bindable_dto = Dto<std::remove_cvref_t<T>> && !Bindable<T> && !std::is_same_v<T, param_list>;

template <class T>
void bind_one(statement& s, int index, const T& v) {
  static_assert(Bindable<T>, "keel::sql: no value_traits<T>::bind for this parameter type");
  value_traits<std::remove_cvref_t<T>>::bind(s, index, v);
}

// Named parameters from a DTO's fields: `:title` takes the field `title`.
template <class T>
void bind_fields_by_name(statement& s, const T& object) {
  const auto& names = s.parameter_names();
  for (std::size_t p = 0; p < names.size(); ++p) {
    bool bound = false;
    keel::for_each_field(object, [&](auto index, const auto& value) {
      if (bound || keel::detail::cpp_field_name<T, decltype(index)::value> != names[p]) return;
      bind_one(s, static_cast<int>(p) + 1, value);
      bound = true;
    });
    if (!bound)
      throw sql_error("keel::sql: parameter :" + names[p] + " has no field of that name in the bound object" +
                      quoted_sql(s.sql()));
  }
}

inline void check_count(const statement& s, std::size_t given) {
  if (static_cast<int>(given) != s.parameter_count())
    throw sql_error("keel::sql: " + std::to_string(given) + " argument(s) for " +
                    std::to_string(s.parameter_count()) + " parameter(s)" + quoted_sql(s.sql()));
}

// Binds args to s: one DTO argument binds `:name`s from its fields; otherwise each argument is the next
// parameter (named parameters are numbered by first appearance).
template <class... Args>
void bind_all(statement& s, const Args&... args) {
  if constexpr (sizeof...(Args) == 1 && (std::is_same_v<Args, param_list> && ...)) {
    (check_count(s, args.size()), ...);
    (args.bind(s), ...);
  } else if constexpr (sizeof...(Args) == 1 && (bindable_dto<Args> && ...)) {
    (bind_fields_by_name(s, args), ...);
  } else {
    check_count(s, sizeof...(Args));
    int index = 0;
    (bind_one(s, ++index, args), ...);
  }
}

template <class T>
struct type_tag {
  static constexpr char id = 0;
};

// Column index per field of T for this statement's result, computed once per statement.
template <Row T>
const std::vector<int>& columns_for(statement& s) {
  if (s.mapped_type == &type_tag<T>::id) return s.mapped_columns;
  constexpr std::size_t n = keel::field_count<T>;
  std::vector<int> columns(n, -1);
  int count = s.column_count();
  [&]<std::size_t... I>(std::index_sequence<I...>) {
    auto find = [&](std::size_t field, std::string_view name) {
      for (int c = 0; c < count; ++c)
        if (s.column_name(c) == name) {
          columns[field] = c;
          return;
        }
    };
    (find(I, keel::detail::cpp_field_name<T, I>), ...);
    // A missing column is an error unless the field can say "absent" (std::optional).
    (((columns[I] < 0 &&
       !keel::detail::is_optional<std::remove_cvref_t<decltype(boost::pfr::get<I>(std::declval<T&>()))>>)
          ? throw type_error("keel::sql: the result has no column \"" +
                             std::string(keel::detail::cpp_field_name<T, I>) + "\" for that field" +
                             quoted_sql(s.sql()))
          : void()),
     ...);
  }
  (std::make_index_sequence<n>{});
  s.mapped_columns = std::move(columns);
  s.mapped_type = &type_tag<T>::id;
  return s.mapped_columns;
}

// A std::string_view field: the text is copied into the result's arena (keel/sql/rows.hpp).
template <class F>
F read_text_view(statement& s, int column, text_arena& text) {
  if constexpr (std::is_same_v<F, std::optional<std::string_view>>) {
    if (s.column_kind(column) == value_kind::null) return std::nullopt;
  }
  require_kind(s, column, value_kind::text, "text");
  return text.copy(s.column_text(column));
}

// text: where std::string_view fields copy their text; only rows<T> results (fetch_all) have one.
template <class T>
T read_row(statement& s, text_arena* text = nullptr) {
  if constexpr (Readable<T>) {
    if (s.column_count() < 1) throw type_error("keel::sql: the result has no column" + quoted_sql(s.sql()));
    return value_traits<T>::read(s, 0);
  } else {
    static_assert(Row<T>, "keel::sql: a row type is a DTO (aggregate) or a type with value_traits<T>::read");
    const std::vector<int>& columns = columns_for<T>(s);
    T out{};
    keel::for_each_field(out, [&](auto index, auto& field) {
      using F = std::remove_cvref_t<decltype(field)>;
      int column = columns[decltype(index)::value];
      if constexpr (is_text_view_v<F>) {
        if (column >= 0) field = read_text_view<F>(s, column, *text);
      } else {
        static_assert(Readable<F>, "keel::sql: a field of the row type has no value_traits<F>::read");
        if (column >= 0) field = value_traits<F>::read(s, column);
      }
    });
    return out;
  }
}

// The whole statement run: bind, step through every row, map each.
// std::vector<T>, or rows<T> when T has std::string_view fields.
template <class T, class... Args>
rows_result_t<T> fetch_all(connection& c, std::string_view sql, const Args&... args) {
  statement& s = c.prepare(sql);
  bind_all(s, args...);
  rows_result_t<T> rows;
  text_arena* text = nullptr;
  if constexpr (RowWithTextViews<T>) text = &rows.text();
  // The row count is unknown until the end; starting at 8 rows, or 512 bytes of small rows, spares the
  // 1 -> 2 -> 4 -> 8 -> 16 regrowths (and their moves of every row) that a result of a dozen rows, like
  // TechEmpower /fortunes, would pay.
  constexpr std::size_t first_capacity = std::max<std::size_t>(8, 512 / sizeof(T));
  if (s.step()) {
    rows.reserve(first_capacity);
    do rows.push_back(read_row<T>(s, text));
    while (s.step());
  }
  s.reset();
  return rows;
}

template <class T, class... Args>
std::optional<T> fetch_one(connection& c, std::string_view sql, const Args&... args) {
  static_assert(
      !RowWithTextViews<T>,
      "keel::sql: a row with std::string_view fields borrows its text from a rows<T> result: read it "
      "with query<T> (or give the field type std::string)");
  statement& s = c.prepare(sql);
  bind_all(s, args...);
  std::optional<T> row;
  if (s.step()) row.emplace(read_row<T>(s));
  s.reset();
  return row;
}

template <class... Args>
std::int64_t execute(connection& c, std::string_view sql, const Args&... args) {
  statement& s = c.prepare(sql);
  bind_all(s, args...);
  while (s.step()) {
  }
  std::int64_t changed = s.rows_affected();
  s.reset();
  return changed;
}

}  // namespace detail
}  // namespace sql
}  // namespace v0
}  // namespace keel
