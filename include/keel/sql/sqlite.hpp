// keel::sql::sqlite_connection: the SQLite engine behind keel::sql::connection, and its connection settings.
#pragma once

#include "keel/config.hpp"
#include "keel/sql/connection.hpp"
#include "keel/sql/error.hpp"

#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace keel {
inline namespace v0 {
namespace sql {

// How every SQLite connection of a database is configured. The defaults are durable: with WAL and
// synchronous=FULL a commit is on disk (one fsync of the WAL) before it returns, so it survives a power
// loss; NORMAL drops that fsync (about twice the commits per second) and survives only application crashes.
// See benchmarks/RESULTS.md "## Database" for what each setting costs.
struct sqlite_options {
  std::string journal_mode = "WAL";
  std::string synchronous = "FULL";
  int busy_timeout_ms = 5000;
  std::int64_t mmap_size = 256LL * 1024 * 1024;
  bool foreign_keys = true;
  int cache_size_kib = 8192;
};

namespace detail {

// Errors SQLite reports with plain SQLITE_ERROR when a statement exceeds one of its size limits.
inline bool is_size_limit_message(std::string_view message) noexcept {
  for (std::string_view known :
       {"parser stack overflow", "Expression tree is too large", "too many SQL variables",
        "too many terms in compound SELECT", "too many arguments on function", "too many columns",
        "too many FROM clause terms"})
    if (message.find(known) != std::string_view::npos) return true;
  return false;
}

// The sql_error kind for a failed call: constraint, busy (retry later), limit (statement too large), other.
[[noreturn]] inline void throw_sqlite_message(int code, std::string message) {
  int primary = code & 0xff;
  if (primary == SQLITE_CONSTRAINT) throw constraint_error(message);
  if (primary == SQLITE_BUSY || primary == SQLITE_LOCKED) throw busy_error(message);
  if (primary == SQLITE_TOOBIG || (primary == SQLITE_ERROR && is_size_limit_message(message)))
    throw limit_error(message);
  throw sql_error(message);
}

[[noreturn]] inline void throw_sqlite(sqlite3* db, int code, std::string_view sql) {
  std::string message = db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(code);
  message += quoted_sql(sql);
  throw_sqlite_message(code, std::move(message));
}

}  // namespace detail

class sqlite_statement final : public statement {
 public:
  sqlite_statement(sqlite3* db, sqlite3_stmt* stmt) : db_(db), stmt_(stmt) {}
  ~sqlite_statement() override { sqlite3_finalize(stmt_); }

  void bind_null(int i) override { check(sqlite3_bind_null(stmt_, i)); }
  void bind_int64(int i, std::int64_t v) override { check(sqlite3_bind_int64(stmt_, i, v)); }
  void bind_double(int i, double v) override { check(sqlite3_bind_double(stmt_, i, v)); }
  void bind_text(int i, std::string_view v) override {
    check(sqlite3_bind_text64(stmt_, i, v.data(), v.size(), SQLITE_TRANSIENT, SQLITE_UTF8));
  }
  void bind_bool(int i, bool v) override { check(sqlite3_bind_int(stmt_, i, v ? 1 : 0)); }

  bool step() override {
    int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    sqlite3_reset(stmt_);
    detail::throw_sqlite(db_, rc, sql());
  }
  void reset() override {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }

  int column_count() const override { return sqlite3_column_count(stmt_); }
  std::string_view column_name(int c) const override { return sqlite3_column_name(stmt_, c); }
  value_kind column_kind(int c) const override {
    switch (sqlite3_column_type(stmt_, c)) {
      case SQLITE_INTEGER:
        return value_kind::integer;
      case SQLITE_FLOAT:
        return value_kind::real;
      case SQLITE_TEXT:
        return value_kind::text;
      case SQLITE_BLOB:
        return value_kind::blob;
      default:
        return value_kind::null;
    }
  }
  std::int64_t column_int64(int c) const override { return sqlite3_column_int64(stmt_, c); }
  double column_double(int c) const override { return sqlite3_column_double(stmt_, c); }
  std::string_view column_text(int c) const override {
    const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, c));
    return {text == nullptr ? "" : text, static_cast<std::size_t>(sqlite3_column_bytes(stmt_, c))};
  }
  bool column_bool(int c) const override { return sqlite3_column_int64(stmt_, c) != 0; }
  std::int64_t rows_affected() const override { return sqlite3_changes64(db_); }

 private:
  void check(int rc) const {
    if (rc != SQLITE_OK) detail::throw_sqlite(db_, rc, sql());
  }
  sqlite3* db_;
  sqlite3_stmt* stmt_;
};

namespace detail {
// SQLite's memory statistics take one process-wide mutex around every allocation SQLite makes (several per
// statement), shared by every connection on every thread. Before the first keel connection keel turns them
// off, unless SQLite has already been initialized: an application that configures SQLite itself calls
// sqlite3_config(...) and then sqlite3_initialize() before it opens its first keel::db, and keeps its
// setting. With statistics off, sqlite3_memory_used() and sqlite3_memory_highwater() report 0.
inline void configure_sqlite_once() noexcept {
  static const bool configured = [] {
    sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);  // SQLITE_MISUSE (and no change) once SQLite has started
    return true;
  }();
  (void)configured;
}
}  // namespace detail

class sqlite_connection final : public connection {
 public:
  // path: a file name or ":memory:"; read_only opens the file for reading only (the pool's readers).
  sqlite_connection(const std::string& path, const sqlite_options& options, bool read_only = false) {
    detail::configure_sqlite_once();
    int flags = SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_URI |
                (read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
    int rc = sqlite3_open_v2(path.c_str(), &db_, flags, nullptr);
    if (rc != SQLITE_OK) {
      std::string message = "keel::sql: cannot open SQLite database \"" + path +
                            "\": " + (db_ != nullptr ? sqlite3_errmsg(db_) : sqlite3_errstr(rc));
      sqlite3_close(db_);
      throw sql_error(message);
    }
    sqlite3_extended_result_codes(db_, 1);
    sqlite3_busy_timeout(db_, options.busy_timeout_ms);
    std::string pragmas;
    if (!read_only && !options.journal_mode.empty())
      pragmas += "PRAGMA journal_mode=" + options.journal_mode + ";";
    if (!options.synchronous.empty()) pragmas += "PRAGMA synchronous=" + options.synchronous + ";";
    pragmas += "PRAGMA foreign_keys=" + std::string(options.foreign_keys ? "ON;" : "OFF;");
    pragmas += "PRAGMA mmap_size=" + std::to_string(options.mmap_size) + ";";
    pragmas += "PRAGMA cache_size=-" + std::to_string(options.cache_size_kib) + ";";
    try {
      execute_script(pragmas);
    } catch (...) {
      sqlite3_close(db_);
      throw;
    }
  }
  ~sqlite_connection() override {
    clear_statement_cache();  // statements first: sqlite3_close refuses while any is alive
    sqlite3_close(db_);
  }
  sqlite_connection(const sqlite_connection&) = delete;
  sqlite_connection& operator=(const sqlite_connection&) = delete;

  sql::engine engine() const noexcept override { return sql::engine::sqlite; }

  void execute_script(std::string_view sql) override {
    std::string text(sql);
    char* error = nullptr;
    int rc = sqlite3_exec(db_, text.c_str(), nullptr, nullptr, &error);
    if (rc != SQLITE_OK) {
      std::string message = error != nullptr ? error : sqlite3_errstr(rc);
      sqlite3_free(error);
      if ((rc & 0xff) != SQLITE_CONSTRAINT) message += detail::quoted_sql(text);
      detail::throw_sqlite_message(rc, std::move(message));
    }
  }

  std::int64_t last_insert_rowid() const noexcept { return sqlite3_last_insert_rowid(db_); }
  sqlite3* handle() const noexcept { return db_; }
  // False while a transaction is open on this connection.
  bool autocommit() const noexcept { return sqlite3_get_autocommit(db_) != 0; }

 protected:
  std::unique_ptr<statement> make_statement(const rewritten_sql& rewritten) override {
    const std::string& engine_sql = rewritten.text;
    sqlite3_stmt* stmt = nullptr;
    int rc = sqlite3_prepare_v3(db_, engine_sql.c_str(), static_cast<int>(engine_sql.size() + 1),
                                SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
    if (rc != SQLITE_OK) detail::throw_sqlite(db_, rc, engine_sql);
    if (stmt == nullptr) throw sql_error("keel::sql: empty SQL statement");
    return std::make_unique<sqlite_statement>(db_, stmt);
  }

 private:
  sqlite3* db_ = nullptr;
};

}  // namespace sql
}  // namespace v0
}  // namespace keel
