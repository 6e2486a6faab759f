// keel::sql typed queries over a table DTO: select<T>().where(field<&T::m> == v).order_by(...).limit(n),
// insert/update/remove from DTOs, and load_related for N+1-free relation loading. Identifiers are quoted and
// every value is bound; the SQL text of every statement whose shape is static is a compile-time constant.
//   struct article { static constexpr std::string_view keel_table = "article"; std::int64_t id; ... };
//   auto page = co_await db.fetch(sql::select<article>()
//                                     .where(sql::field<&article::author_id> == id)
//                                     .order_by(sql::field<&article::created_at>,
//                                     sql::desc).limit(20).offset(40));
#pragma once

#include "keel/config.hpp"
#include "keel/json/reflect.hpp"
#include "keel/sql/detail/query_condition.hpp"
#include "keel/sql/detail/query_select.hpp"
#include "keel/sql/detail/query_table.hpp"
#include "keel/sql/params.hpp"
#include "keel/task.hpp"

#include <algorithm>
#include <cstdint>
#include <string_view>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

namespace keel {
inline namespace v0 {
namespace sql {

// A statement whose text is a compile-time constant and whose values were captured when it was made.
template <class Row, bool Read>
struct fixed_query {
  using row_type = Row;
  static constexpr bool is_read = Read;
  std::string_view text;
  param_list values;
  std::string_view sql() const noexcept { return text; }
  const param_list& params() const noexcept { return values; }
};

// SELECT ... WHERE <primary key> = ?  (use with fetch_one)
template <Table T, class Key>
fixed_query<T, true> find(const Key& key) {
  fixed_query<T, true> q{detail::table_sql<T>::find_by_key, {}};
  q.values.add(key);
  return q;
}

// INSERT ... RETURNING <primary key>; an integral key is left to the database. fetch_one returns the key.
template <Table T>
fixed_query<detail::primary_key_type<T>, false> insert(const T& row) {
  fixed_query<detail::primary_key_type<T>, false> q{detail::table_sql<T>::insert, {}};
  keel::for_each_field(row, [&](auto index, const auto& value) {
    if (!(detail::generated_key<T> && decltype(index)::value == detail::table_sql<T>::key))
      q.values.add(value);
  });
  return q;
}

// UPDATE every column but the key, WHERE key = row's key. run() returns the rows changed (0: no such row).
template <Table T>
fixed_query<std::int64_t, false> update(const T& row) {
  fixed_query<std::int64_t, false> q{detail::table_sql<T>::update, {}};
  keel::for_each_field(row, [&](auto index, const auto& value) {
    if (decltype(index)::value != detail::table_sql<T>::key) q.values.add(value);
  });
  q.values.add(boost::pfr::get<detail::table_sql<T>::key>(row));
  return q;
}

namespace detail {
template <class T>
inline constexpr bool rvalue_row = false;  // dependent, so the static_asserts below fire only when called
}  // namespace detail

// A row given as a temporary is refused at compile time. g++ 12 destroys a braced aggregate temporary
// twice when its full expression holds a co_await (`co_await db.fetch_one(sql::insert(row{...}))` aborts
// with `free(): invalid pointer` at -O2, without a warning), and insert/update cannot see whether they are
// inside one. A named row costs nothing: the query copies its values either way.
template <Table T>
auto insert(const T&& row) {
  static_assert(detail::rvalue_row<T>,
                "keel::sql::insert(T{...}): a temporary row inside co_await is destroyed twice by g++ 12; "
                "bind the query to a named variable first: `T row{...}; auto q = sql::insert(row);`");
  return insert(static_cast<const T&>(row));
}
template <Table T>
auto update(const T&& row) {
  static_assert(detail::rvalue_row<T>,
                "keel::sql::update(T{...}): a temporary row inside co_await is destroyed twice by g++ 12; "
                "bind the query to a named variable first: `T row{...}; auto q = sql::update(row);`");
  return update(static_cast<const T&>(row));
}

// DELETE WHERE key = ?. run() returns the rows deleted.
template <Table T, class Key>
fixed_query<std::int64_t, false> remove(const Key& key) {
  fixed_query<std::int64_t, false> q{detail::table_sql<T>::remove, {}};
  q.values.add(key);
  return q;
}

// Loads the rows of Related whose KeyMember is among rows' `foreign` values, in ONE query
// (`WHERE key IN (...)`), keyed by that value: the cure for N+1 when showing a page of rows with a relation.
//   auto authors = co_await sql::load_related<&author::id>(db, articles, &article::author_id);
//   authors.at(a.author_id).name
template <auto KeyMember, class Executor, class Rows, class Foreign>
auto load_related(Executor& executor, const Rows& rows, Foreign foreign) -> task<
    std::unordered_map<typename column<KeyMember>::value_type, typename column<KeyMember>::class_type>> {
  using related = typename column<KeyMember>::class_type;
  using key_type = typename column<KeyMember>::value_type;
  std::vector<key_type> keys;
  for (const auto& row : rows) {
    const auto& value = row.*foreign;
    if constexpr (keel::detail::is_optional<std::remove_cvref_t<decltype(value)>>) {
      if (value) keys.push_back(*value);
    } else {
      keys.push_back(value);
    }
  }
  std::sort(keys.begin(), keys.end());
  keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
  std::unordered_map<key_type, related> out;
  if (keys.empty()) co_return out;
  auto query = select<related>().where(field<KeyMember>.in(keys));
  for (related& r : co_await executor.fetch(query)) {
    key_type key = r.*KeyMember;
    out.emplace(std::move(key), std::move(r));
  }
  co_return out;
}

}  // namespace sql
}  // namespace v0
}  // namespace keel
