// keel::sql::query_api<Derived>: the co_await query methods shared by keel::db and keel::sql::transaction.
// Derived supplies `with_connection(access, fn)`, which runs fn(connection&) on the worker pool.
#pragma once

#include "keel/config.hpp"
#include "keel/sql/connection.hpp"
#include "keel/sql/row.hpp"
#include "keel/task.hpp"

#include <cstdint>
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

namespace keel {
inline namespace v0 {
namespace sql {

enum class access { read, write };

namespace detail {

// SELECT/VALUES/EXPLAIN/PRAGMA can run on a read-only SQLite connection; anything else goes to the writer.
// A writing CTE (`WITH ... INSERT`) fails there with SQLite's "readonly database" error: use execute().
inline access classify(std::string_view sql) noexcept {
  std::size_t i = 0;
  while (i < sql.size()) {
    char c = sql[i];
    if (c == ' ' || c == '\n' || c == '\t' || c == '\r' || c == '(') {
      ++i;
    } else if (c == '-' && i + 1 < sql.size() && sql[i + 1] == '-') {
      while (i < sql.size() && sql[i] != '\n') ++i;
    } else {
      break;
    }
  }
  auto starts = [&](std::string_view word) {
    if (sql.size() - i < word.size()) return false;
    for (std::size_t k = 0; k < word.size(); ++k)
      if ((sql[i + k] | 0x20) != word[k]) return false;
    return sql.size() - i == word.size() || !is_identifier_char(sql[i + word.size()]);
  };
  return starts("select") || starts("with") || starts("values") || starts("explain") ? access::read
                                                                                     : access::write;
}

// Marks a job that runs one statement and leaves no transaction open: keel::db may run several such jobs
// (from different requests) inside one read transaction on one connection.
template <class F>
struct single_statement {
  F fn;
  decltype(auto) operator()(connection& c) { return fn(c); }
};
template <class F>
single_statement(F) -> single_statement<F>;

template <class F>
inline constexpr bool is_single_statement_v = false;
template <class F>
inline constexpr bool is_single_statement_v<single_statement<F>> = true;

}  // namespace detail

// A query built by the typed layer (keel/sql/query.hpp): its text, its values, and the row type it returns.
template <class Q>
concept BuiltQuery = requires(const Q& q) {
  typename Q::row_type;
  { q.sql() } -> std::convertible_to<std::string_view>;
  { q.params() } -> std::same_as<const param_list&>;
};

template <class Derived>
class query_api {
 public:
  // Every row, mapped to T (a DTO by column names, or one scalar column). A T with std::string_view fields
  // comes back as rows<T>, which owns their text (keel/sql/rows.hpp).
  template <class T, class... Args>
  task<detail::rows_result_t<T>> query(std::string_view sql, Args... args) {
    auto work = [sql, &args...](connection& c) { return detail::fetch_all<T>(c, sql, args...); };
    co_return co_await self().with_connection(detail::classify(sql), detail::single_statement{work});
  }

  // The first row, if any.
  template <class T, class... Args>
  task<std::optional<T>> query_one(std::string_view sql, Args... args) {
    auto work = [sql, &args...](connection& c) { return detail::fetch_one<T>(c, sql, args...); };
    co_return co_await self().with_connection(detail::classify(sql), detail::single_statement{work});
  }

  // Runs a statement; returns the number of rows it changed.
  template <class... Args>
  task<std::int64_t> execute(std::string_view sql, Args... args) {
    auto work = [sql, &args...](connection& c) { return detail::execute(c, sql, args...); };
    co_return co_await self().with_connection(access::write, work);
  }

  // A typed query: select<T>()... returns rows, insert/update/remove return what their SQL says.
  //
  // The query is taken BY VALUE: the returned task owns it (a temporary is moved in before anything
  // suspends), so `co_await db.fetch(sql::select<T>().where(...))` and a task kept to be awaited later
  // never point at a query that is gone. An lvalue is copied; std::move it to skip the copy.
  template <BuiltQuery Q>
  task<detail::rows_result_t<typename Q::row_type>> fetch(Q q) {
    auto work = [&q](connection& c) {
      return detail::fetch_all<typename Q::row_type>(c, q.sql(), q.params());
    };
    co_return co_await self().with_connection(Q::is_read ? access::read : access::write,
                                              detail::single_statement{work});
  }
  template <BuiltQuery Q>
  task<std::optional<typename Q::row_type>> fetch_one(Q q) {
    auto work = [&q](connection& c) {
      return detail::fetch_one<typename Q::row_type>(c, q.sql(), q.params());
    };
    co_return co_await self().with_connection(Q::is_read ? access::read : access::write,
                                              detail::single_statement{work});
  }
  // The value of a query that always answers one row (count, exists, sum, min, max of
  // keel/sql/aggregate.hpp).
  template <BuiltQuery Q>
  requires Q::one_row task<typename Q::row_type> fetch_value(Q q) {
    auto work = [&q](connection& c) {
      auto value = detail::fetch_one<typename Q::row_type>(c, q.sql(), q.params());
      if (!value) throw sql_error("keel::sql: an aggregate query answered no row");
      return std::move(*value);
    };
    co_return co_await self().with_connection(access::read, detail::single_statement{work});
  }
  template <BuiltQuery Q>
  task<std::int64_t> run(Q q) {
    auto work = [&q](connection& c) { return detail::execute(c, q.sql(), q.params()); };
    co_return co_await self().with_connection(access::write, work);
  }

  // Several statements without parameters (DDL, seeding).
  task<void> execute_script(std::string_view sql) {
    auto work = [sql](connection& c) { c.execute_script(sql); };
    co_await self().with_connection(access::write, work);
  }

 private:
  Derived& self() noexcept { return static_cast<Derived&>(*this); }
};

}  // namespace sql
}  // namespace v0
}  // namespace keel
