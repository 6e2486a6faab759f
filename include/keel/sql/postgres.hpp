// keel::sql::postgres_connection: the PostgreSQL engine (libpq, blocking mode on the worker pool) behind the
// same keel::db API. Including this header lets keel::db open postgres:// URLs; link keel::postgres.
#pragma once

#include "keel/config.hpp"
#include "keel/sql/connection.hpp"
#include "keel/sql/database.hpp"
#include "keel/sql/error.hpp"

// keel::postgres puts libpq's include directory on the path; without it (a plain header check) the Debian
// location still resolves.
#if __has_include(<libpq-fe.h>)
#include <libpq-fe.h>
#else
#include <postgresql/libpq-fe.h>
#endif

#include <charconv>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace keel {
inline namespace v0 {
namespace sql {
namespace detail {

// Type OIDs from PostgreSQL's pg_type.dat (stable across versions).
inline value_kind kind_of_oid(Oid oid) noexcept {
  switch (oid) {
    case 16:
      return value_kind::boolean;
    case 20:
    case 21:
    case 23:
    case 26:
      return value_kind::integer;
    case 700:
    case 701:
    case 1700:
      return value_kind::real;
    case 17:
      return value_kind::blob;
    default:
      return value_kind::text;
  }
}

struct pg_result_deleter {
  void operator()(PGresult* r) const noexcept { PQclear(r); }
};
using pg_result = std::unique_ptr<PGresult, pg_result_deleter>;

// Throws for a failed result, by SQLSTATE: class 23 (integrity constraint violation) as constraint_error;
// 40001 serialization_failure, 40P01 deadlock_detected, 55P03 lock_not_available and 53300
// too_many_connections as busy_error (a retry may succeed); class 54 (program_limit_exceeded: stack depth,
// too many arguments or columns) as limit_error.
inline void check_pg_result(PGconn* conn, const PGresult* r, std::string_view sql) {
  ExecStatusType status = r != nullptr ? PQresultStatus(r) : PGRES_FATAL_ERROR;
  if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK || status == PGRES_EMPTY_QUERY) return;
  std::string message = r != nullptr ? PQresultErrorMessage(r) : PQerrorMessage(conn);
  while (!message.empty() && (message.back() == '\n' || message.back() == ' ')) message.pop_back();
  message += quoted_sql(sql);
  const char* found = r != nullptr ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : nullptr;
  std::string_view state = found != nullptr ? found : "";
  if (state.starts_with("23")) throw constraint_error(message);
  if (state == "40001" || state == "40P01" || state == "55P03" || state == "53300") throw busy_error(message);
  if (state.starts_with("54")) throw limit_error(message);
  throw sql_error(message);
}

}  // namespace detail

class postgres_statement final : public statement {
 public:
  postgres_statement(PGconn* conn, std::string name, int parameters)
      : conn_(conn), name_(std::move(name)), values_(static_cast<std::size_t>(parameters)) {}

  void bind_null(int i) override { slot(i).reset(); }
  void bind_int64(int i, std::int64_t v) override { slot(i) = std::to_string(v); }
  void bind_double(int i, double v) override {
    char buffer[32];
    auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, v);
    slot(i) = std::string(buffer, end);
  }
  void bind_text(int i, std::string_view v) override {
    // libpq sends each value as a C string: a NUL would silently end it there.
    if (v.find('\0') != std::string_view::npos)
      throw value_error("keel::sql: PostgreSQL text cannot hold a NUL character (parameter " +
                        std::to_string(i) + ")" + detail::quoted_sql(sql()));
    slot(i) = std::string(v);
  }
  void bind_bool(int i, bool v) override { slot(i) = v ? "true" : "false"; }

  bool step() override {
    if (!result_) {
      std::vector<const char*> pointers(values_.size());
      for (std::size_t k = 0; k < values_.size(); ++k)
        pointers[k] = values_[k] ? values_[k]->c_str() : nullptr;
      result_.reset(PQexecPrepared(conn_, name_.c_str(), static_cast<int>(values_.size()), pointers.data(),
                                   nullptr, nullptr, 0));
      detail::check_pg_result(conn_, result_.get(), sql());
      row_ = -1;
      rows_ = PQntuples(result_.get());
    }
    return ++row_ < rows_;
  }
  void reset() override {
    result_.reset();
    for (auto& v : values_) v.reset();
  }

  int column_count() const override { return result_ ? PQnfields(result_.get()) : 0; }
  std::string_view column_name(int c) const override { return PQfname(result_.get(), c); }
  value_kind column_kind(int c) const override {
    if (PQgetisnull(result_.get(), row_, c)) return value_kind::null;
    return detail::kind_of_oid(PQftype(result_.get(), c));
  }
  std::int64_t column_int64(int c) const override {
    std::string_view text = column_text(c);
    std::int64_t v = 0;
    std::from_chars(text.data(), text.data() + text.size(), v);
    return v;
  }
  double column_double(int c) const override {
    return std::strtod(PQgetvalue(result_.get(), row_, c), nullptr);
  }
  std::string_view column_text(int c) const override {
    return {PQgetvalue(result_.get(), row_, c),
            static_cast<std::size_t>(PQgetlength(result_.get(), row_, c))};
  }
  bool column_bool(int c) const override {
    char first = PQgetvalue(result_.get(), row_, c)[0];
    return first == 't' || first == '1';
  }
  std::int64_t rows_affected() const override {
    if (!result_) return 0;
    const char* n = PQcmdTuples(result_.get());
    return n[0] == '\0' ? 0 : std::strtoll(n, nullptr, 10);
  }

 private:
  std::optional<std::string>& slot(int i) {
    if (i < 1 || static_cast<std::size_t>(i) > values_.size())
      throw sql_error("keel::sql: parameter index " + std::to_string(i) + " out of range" +
                      detail::quoted_sql(sql()));
    return values_[static_cast<std::size_t>(i) - 1];
  }
  PGconn* conn_;
  std::string name_;
  std::vector<std::optional<std::string>> values_;
  detail::pg_result result_;
  int row_ = -1;
  int rows_ = 0;
};

class postgres_connection final : public connection {
 public:
  explicit postgres_connection(const std::string& url) : conn_(PQconnectdb(url.c_str())) {
    if (conn_ == nullptr || PQstatus(conn_) != CONNECTION_OK) {
      std::string message = conn_ != nullptr ? PQerrorMessage(conn_) : "out of memory";
      PQfinish(conn_);
      throw sql_error("keel::sql: cannot connect to PostgreSQL: " + message);
    }
    PQsetNoticeProcessor(
        conn_, [](void*, const char*) {}, nullptr);
    // Time points are exchanged as RFC 3339 UTC text.
    execute_script("SET TimeZone TO 'UTC'; SET client_min_messages TO warning");
    run_on_own_thread();
  }
  ~postgres_connection() override {
    clear_statement_cache();
    PQfinish(conn_);
  }
  postgres_connection(const postgres_connection&) = delete;
  postgres_connection& operator=(const postgres_connection&) = delete;

  sql::engine engine() const noexcept override { return sql::engine::postgres; }

  void execute_script(std::string_view sql) override {
    std::string text(sql);
    detail::pg_result r(PQexec(conn_, text.c_str()));
    detail::check_pg_result(conn_, r.get(), text);
  }

  PGconn* handle() const noexcept { return conn_; }

 protected:
  std::unique_ptr<statement> make_statement(const rewritten_sql& rewritten) override {
    std::string name = "keel_" + std::to_string(++statements_);
    detail::pg_result r(PQprepare(conn_, name.c_str(), rewritten.text.c_str(), 0, nullptr));
    detail::check_pg_result(conn_, r.get(), rewritten.text);
    return std::make_unique<postgres_statement>(conn_, std::move(name), rewritten.parameter_count);
  }

 private:
  PGconn* conn_;
  std::uint64_t statements_ = 0;
};

namespace detail {

inline std::unique_ptr<connection> open_postgres(const std::string& url) {
  return std::make_unique<postgres_connection>(url);
}
// Registers the engine with keel::db when this header is part of the program.
inline const bool postgres_registered = (registered_postgres_factory() = &open_postgres, true);

}  // namespace detail
}  // namespace sql
}  // namespace v0
}  // namespace keel
