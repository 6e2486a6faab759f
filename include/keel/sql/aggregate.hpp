// keel::sql aggregates over a typed select: count, exists, sum, min and max of what the select matches.
// Each wraps the select as a subquery, so its conditions (static or run-time) and bound values are the
// select's own; a LIMIT/OFFSET already on it limits what is counted, so count before paging:
//   auto matches = sql::select<article>().where(field<&article::author_id> == id);
//   std::int64_t total = co_await db.fetch_value(sql::count(matches));
//   bool any = co_await db.fetch_value(sql::exists(matches));
//   std::int64_t points = co_await db.fetch_value(sql::sum(field<&article::score>, matches));   // 0 if none
//   std::optional<int> best = co_await db.fetch_value(sql::max(field<&article::score>, matches)); // nullopt
//   if none
#pragma once

#include "keel/config.hpp"
#include "keel/sql/detail/query_condition.hpp"
#include "keel/sql/params.hpp"
#include "keel/sql/runner.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

namespace keel {
inline namespace v0 {
namespace sql {

// A statement that always answers one row of one column (an aggregate without GROUP BY): read it with
// fetch_value, which returns the value itself.
template <class Result>
struct aggregate_query {
  using row_type = Result;
  static constexpr bool is_read = true;
  static constexpr bool one_row = true;
  std::string text;
  param_list values;
  std::string_view sql() const noexcept { return text; }
  const param_list& params() const noexcept { return values; }
};

namespace detail {

template <class Result, BuiltQuery Q>
aggregate_query<Result> wrap_select(std::string_view head, const Q& select, std::string_view tail) {
  static_assert(Q::is_read, "keel::sql: an aggregate is taken over a select");
  aggregate_query<Result> q;
  std::string_view inner = select.sql();
  q.text.reserve(head.size() + inner.size() + tail.size());
  q.text.append(head).append(inner).append(tail);
  q.values = select.params();
  return q;
}

template <class V>
struct strip_optional {
  using type = V;
};
template <class V>
struct strip_optional<std::optional<V>> {
  using type = V;
};

template <auto Member, BuiltQuery Q>
constexpr void check_aggregated_column() {
  static_assert(member_of<Member, typename Q::row_type>,
                "keel::sql: an aggregate over a field of another table than the select's");
}

// A sum is written as the widest type of its kind, so both engines answer the same C++ type (PostgreSQL's
// sum of a BIGINT is a NUMERIC, SQLite's sum of nothing is NULL).
template <class V>
using sum_type = std::conditional_t<std::is_floating_point_v<V>, double, std::int64_t>;

template <class V>
inline constexpr std::string_view sum_cast = std::is_floating_point_v<V> ? "DOUBLE PRECISION" : "BIGINT";

template <class Result, auto Member, BuiltQuery Q>
aggregate_query<Result> column_aggregate(std::string_view function, const Q& select, std::string_view cast) {
  check_aggregated_column<Member, Q>();
  std::string head = cast.empty() ? "SELECT " : "SELECT CAST(coalesce(";
  head.append(function).append("(").append(column<Member>::quoted).append(")");
  if (!cast.empty()) head.append(", 0) AS ").append(cast).append(")");
  head.append(" FROM (");
  return wrap_select<Result>(head, select, ") AS keel_rows");
}

}  // namespace detail

// The number of rows the select returns.
template <BuiltQuery Q>
aggregate_query<std::int64_t> count(const Q& select) {
  return detail::wrap_select<std::int64_t>("SELECT count(*) FROM (", select, ") AS keel_rows");
}

// Whether the select returns any row (the engine stops at the first).
template <BuiltQuery Q>
aggregate_query<bool> exists(const Q& select) {
  return detail::wrap_select<bool>("SELECT EXISTS (", select, ")");
}

// The sum of a numeric column over the select's rows: 0 when there are none (not NULL); std::int64_t for an
// integer column, double for a floating point one.
template <auto Member, BuiltQuery Q>
auto sum(column<Member>, const Q& select) {
  using value = typename detail::strip_optional<typename column<Member>::value_type>::type;
  static_assert(std::is_arithmetic_v<value> && !std::is_same_v<value, bool>,
                "keel::sql::sum: the column must be numeric");
  return detail::column_aggregate<detail::sum_type<value>, Member>("sum", select, detail::sum_cast<value>);
}

// The least / greatest value of a column over the select's rows: std::nullopt when there are none.
template <auto Member, BuiltQuery Q>
auto min(column<Member>, const Q& select) {
  using value = typename detail::strip_optional<typename column<Member>::value_type>::type;
  return detail::column_aggregate<std::optional<value>, Member>("min", select, {});
}
template <auto Member, BuiltQuery Q>
auto max(column<Member>, const Q& select) {
  using value = typename detail::strip_optional<typename column<Member>::value_type>::type;
  return detail::column_aggregate<std::optional<value>, Member>("max", select, {});
}

}  // namespace sql
}  // namespace v0
}  // namespace keel
