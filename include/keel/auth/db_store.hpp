// keel::db stores for server-side sessions and refresh tokens (SQLite by default; the SQL runs on
// PostgreSQL too). Every query runs on the worker pool.
//
//   keel::db db{"sqlite:app.db"};
//   keel::auth::migrate_auth_tables_sync(db);                 // at start-up: keel_sessions,
//   keel_refresh_tokens keel::auth::db_session_store sessions{db};                // for
//   keel::auth::server_side keel::auth::db_refresh_token_store refresh_tokens{db};    // for
//   keel::auth::password_flow app.every(std::chrono::minutes(10), [&] { sessions.purge_expired_detached();
//   });
//
// Its migrations are recorded in their own table (keel_auth_schema_migrations), apart from the app's.
#pragma once

#include "keel/config.hpp"
#include "keel/auth/oauth2.hpp"
#include "keel/auth/session.hpp"
#include "keel/sql/database.hpp"
#include "keel/sql/migrate.hpp"
#include "keel/sql/transaction.hpp"
#include "keel/task.hpp"

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace keel {
inline namespace v0 {
namespace auth {

inline constexpr sql::migration auth_migrations[] = {
    {1, "keel sessions",
     "CREATE TABLE keel_sessions (id TEXT PRIMARY KEY, data TEXT NOT NULL, expires_at BIGINT NOT NULL);"
     "CREATE INDEX keel_sessions_expires ON keel_sessions (expires_at)"},
    {2, "keel refresh tokens",
     "CREATE TABLE keel_refresh_tokens (token_hash TEXT PRIMARY KEY, family TEXT NOT NULL, subject TEXT NOT "
     "NULL,"
     " scope TEXT NOT NULL, expires_at BIGINT NOT NULL, used_at BIGINT, revoked INTEGER NOT NULL DEFAULT 0,"
     " created_at BIGINT NOT NULL);"
     "CREATE INDEX keel_refresh_tokens_family ON keel_refresh_tokens (family);"
     "CREATE INDEX keel_refresh_tokens_subject ON keel_refresh_tokens (subject)"},
};
inline constexpr std::string_view auth_migration_table = "keel_auth_schema_migrations";

// Creates (or brings up to date) the tables of both stores. Blocking: call it at start-up.
inline sql::migration_report migrate_auth_tables_sync(db& database) {
  return sql::migrate_sync(database, auth_migrations, auth_migration_table);
}
inline task<sql::migration_report> migrate_auth_tables(db& database) {
  return sql::migrate(database, auth_migrations, auth_migration_table);
}

namespace detail {
inline std::int64_t db_unix_seconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}
struct refresh_row {
  std::string token_hash;
  std::string family;
  std::string subject;
  std::string scope;
  std::int64_t expires_at = 0;
  std::optional<std::int64_t> used_at;
  std::int64_t revoked = 0;
};
}  // namespace detail

class db_session_store {
 public:
  explicit db_session_store(db& database) : db_(&database) {}

  task<std::optional<std::string>> load(std::string key) {
    co_return co_await db_->query_one<std::string>(
        "SELECT data FROM keel_sessions WHERE id = ? AND expires_at > ?", std::move(key),
        detail::db_unix_seconds());
  }
  task<void> save(std::string key, std::string value, std::int64_t expires_at) {
    co_await db_->execute(
        "INSERT INTO keel_sessions (id, data, expires_at) VALUES (?, ?, ?) "
        "ON CONFLICT (id) DO UPDATE SET data = excluded.data, expires_at = excluded.expires_at",
        std::move(key), std::move(value), expires_at);
  }
  task<void> remove(std::string key) {
    co_await db_->execute("DELETE FROM keel_sessions WHERE id = ?", std::move(key));
  }
  // Deletes expired records; answers how many.
  task<std::int64_t> purge_expired() {
    co_return co_await db_->execute("DELETE FROM keel_sessions WHERE expires_at <= ?",
                                    detail::db_unix_seconds());
  }
  // purge_expired() started from a timer callback (app.every): the SQL runs on the worker pool.
  void purge_expired_detached() {
    keel::detail::start_detached(purge_expired(), [](keel::detail::task_result<std::int64_t>&& r) {
      if (r.exception) detail::log_session_error("purging expired sessions failed");
    });
  }

 private:
  db* db_;
};
static_assert(session_store<db_session_store>);

class db_refresh_token_store {
 public:
  explicit db_refresh_token_store(db& database) : db_(&database) {}

  task<void> insert(refresh_token_record r) {
    co_await db_->execute(
        "INSERT INTO keel_refresh_tokens (token_hash, family, subject, scope, expires_at, created_at) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        std::move(r.token_hash), std::move(r.family), std::move(r.subject), std::move(r.scope), r.expires_at,
        detail::db_unix_seconds());
  }

  // One transaction (SQLite: BEGIN IMMEDIATE on the writer), so two refreshes with the same token cannot
  // both succeed.
  task<refresh_consume_result> consume(std::string token_hash, std::int64_t now) {
    refresh_consume_result out;
    auto begin = db_->begin();
    sql::transaction tx = co_await std::move(begin);
    auto found = tx.query_one<detail::refresh_row>(
        "SELECT token_hash, family, subject, scope, expires_at, used_at, revoked FROM keel_refresh_tokens "
        "WHERE token_hash = ?",
        token_hash);
    std::optional<detail::refresh_row> row = co_await std::move(found);
    if (!row) {
      out.status = refresh_status::not_found;
      co_return out;  // rolled back
    }
    out.record = {row->token_hash, row->family, row->subject, row->scope, row->expires_at};
    if (row->revoked != 0) {
      out.status = refresh_status::revoked;
    } else if (row->used_at) {
      auto revoke = tx.execute("UPDATE keel_refresh_tokens SET revoked = 1 WHERE family = ?", row->family);
      co_await std::move(revoke);
      out.status = refresh_status::reused;
    } else if (row->expires_at <= now) {
      out.status = refresh_status::expired;
    } else {
      auto use =
          tx.execute("UPDATE keel_refresh_tokens SET used_at = ? WHERE token_hash = ?", now, token_hash);
      co_await std::move(use);
      out.status = refresh_status::ok;
    }
    auto commit = tx.commit();
    co_await std::move(commit);
    co_return out;
  }

  task<void> revoke_family(std::string family) {
    co_await db_->execute("UPDATE keel_refresh_tokens SET revoked = 1 WHERE family = ?", std::move(family));
  }
  task<void> revoke_subject(std::string subject) {
    co_await db_->execute("UPDATE keel_refresh_tokens SET revoked = 1 WHERE subject = ?", std::move(subject));
  }
  // Deletes tokens that expired more than `keep` ago (kept a while so late reuse is still recognised).
  task<std::int64_t> purge_expired(std::chrono::seconds keep = std::chrono::hours(24 * 30)) {
    co_return co_await db_->execute("DELETE FROM keel_refresh_tokens WHERE expires_at <= ?",
                                    detail::db_unix_seconds() - keep.count());
  }

 private:
  db* db_;
};
static_assert(refresh_token_store<db_refresh_token_store>);

}  // namespace auth
}  // namespace v0
}  // namespace keel
