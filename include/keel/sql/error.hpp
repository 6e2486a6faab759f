// keel::sql::sql_error and its kinds: what a failed SQL call throws, with the engine's message and the SQL.
#pragma once

#include "keel/config.hpp"

#include <stdexcept>
#include <string>
#include <string_view>

namespace keel {
inline namespace v0 {
namespace sql {

// Thrown by every SQL call that fails: the engine's message, plus the SQL text when there is one.
class sql_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A column's value does not fit the C++ type it is read into; the message names the column and both types.
class type_error : public sql_error {
 public:
  using sql_error::sql_error;
};

// A unique/foreign-key/check constraint rejected a write (SQLITE_CONSTRAINT, SQLSTATE class 23).
class constraint_error : public sql_error {
 public:
  using sql_error::sql_error;
};

// Applied migrations do not match the list the program carries (edited, reordered or unknown).
class migration_error : public sql_error {
 public:
  using sql_error::sql_error;
};

// The database could not run the statement now, but may soon: SQLite's write lock held past busy_timeout
// (SQLITE_BUSY, SQLITE_LOCKED), PostgreSQL's serialization_failure (40001), deadlock_detected (40P01),
// lock_not_available (55P03) or too_many_connections (53300). Retrying later can succeed; in a handler's
// co_await call it becomes 503 with Retry-After (keel/sql/request_errors.hpp).
class busy_error : public sql_error {
 public:
  using sql_error::sql_error;
};

// The statement exceeds a limit of the engine because of its size: SQLite's "parser stack overflow",
// "Expression tree is too large", "too many SQL variables", SQLITE_TOOBIG; PostgreSQL's class 54
// (program_limit_exceeded: "stack depth limit exceeded", too many columns or arguments). Built from request
// values, it is the request that is too large: in a handler's co_await call it becomes 413.
class limit_error : public sql_error {
 public:
  using sql_error::sql_error;
};

// A bound value the engine cannot store as given: text holding a NUL character for PostgreSQL (libpq sends
// C strings, which would end it early). In a handler's co_await call it becomes 422.
class value_error : public sql_error {
 public:
  using sql_error::sql_error;
};

// A synchronous SQL call on a reactor thread: it would stall every connection that reactor serves.
class blocking_call_error : public sql_error {
 public:
  using sql_error::sql_error;
};

namespace detail {

// How much of a statement an error message quotes. Statements built from request values can be tens of
// kilobytes; the message ends up in logs (one line per failed request), so it carries the start only.
inline constexpr std::size_t quoted_sql_bytes = 200;

// " (in: <sql>)", cut to quoted_sql_bytes (never inside a UTF-8 sequence) with "..." when longer.
inline std::string quoted_sql(std::string_view sql) {
  if (sql.empty()) return {};
  std::string out = " (in: ";
  if (sql.size() <= quoted_sql_bytes) {
    out.append(sql);
  } else {
    std::size_t cut = quoted_sql_bytes;
    while (cut > 0 && (static_cast<unsigned char>(sql[cut]) & 0xC0) == 0x80) --cut;  // a continuation byte
    out.append(sql.substr(0, cut)).append("...");
  }
  out += ')';
  return out;
}

}  // namespace detail

}  // namespace sql
}  // namespace v0
}  // namespace keel
