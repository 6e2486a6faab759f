// keel::jobs internals: the keel_jobs table (one migration per engine) and the statements the queue runs.
// Times are milliseconds since the Unix epoch (BIGINT), the same on both engines and free of time zones.
#pragma once

#include "keel/config.hpp"
#include "keel/sql/migrate.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace keel {
inline namespace v0 {
namespace jobs {
namespace detail {

#define KEEL_JOBS_COLUMNS                                                                               \
  "queue TEXT NOT NULL, type TEXT NOT NULL, payload TEXT NOT NULL, state TEXT NOT NULL, "               \
  "attempts INTEGER NOT NULL DEFAULT 0, max_attempts INTEGER NOT NULL, run_at BIGINT NOT NULL, "        \
  "created_at BIGINT NOT NULL, started_at BIGINT, finished_at BIGINT, lease_until BIGINT, lease TEXT, " \
  "unique_key TEXT UNIQUE, last_error TEXT); "                                                          \
  "CREATE INDEX keel_jobs_due ON keel_jobs (queue, state, run_at)"

inline constexpr sql::migration sqlite_migrations[] = {
    {1, "keel_jobs", "CREATE TABLE keel_jobs (id INTEGER PRIMARY KEY AUTOINCREMENT, " KEEL_JOBS_COLUMNS},
};
inline constexpr sql::migration postgres_migrations[] = {
    {1, "keel_jobs", "CREATE TABLE keel_jobs (id BIGSERIAL PRIMARY KEY, " KEEL_JOBS_COLUMNS},
};
#undef KEEL_JOBS_COLUMNS

inline constexpr std::string_view migration_table = "keel_jobs_migrations";

inline constexpr std::string_view insert_sql =
    "INSERT INTO keel_jobs (queue, type, payload, state, attempts, max_attempts, run_at, created_at, "
    "unique_key) VALUES (?, ?, ?, 'queued', 0, ?, ?, ?, ?) ON CONFLICT (unique_key) DO NOTHING RETURNING id";

// ?1 now, ?2 queue: a job whose lease ran out on its last attempt is dead.
inline constexpr std::string_view bury_expired_sql =
    "UPDATE keel_jobs SET state = 'dead', finished_at = ?1, lease_until = NULL, last_error = 'lease expired "
    "on the last attempt (the worker stopped or crashed)' WHERE queue = ?2 AND state = 'running' AND "
    "lease_until <= ?1 AND attempts >= max_attempts";

// ?1 now, ?2 lease until, ?3 lease token, ?4 queue, ?5 how many; `types` is a list of quoted names.
inline std::string claim_sql(std::string_view types, bool skip_locked) {
  std::string s =
      "UPDATE keel_jobs SET state = 'running', attempts = attempts + 1, started_at = ?1, lease_until = ?2, "
      "lease = ?3 WHERE id IN (SELECT id FROM keel_jobs WHERE queue = ?4 AND type IN (";
  s += types;
  s += ") AND ((state IN ('queued', 'failed') AND run_at <= ?1) OR (state = 'running' AND lease_until <= ?1 "
       "AND attempts < max_attempts)) ORDER BY run_at, id LIMIT ?5";
  if (skip_locked) s += " FOR UPDATE SKIP LOCKED";
  s += ") RETURNING id, type, payload, attempts, max_attempts";
  return s;
}

inline constexpr std::string_view done_sql =
    "UPDATE keel_jobs SET state = 'done', finished_at = ?, lease_until = NULL, last_error = NULL WHERE id = "
    "? "
    "AND lease = ? AND state = 'running'";
inline constexpr std::string_view retry_sql =
    "UPDATE keel_jobs SET state = 'failed', run_at = ?, lease_until = NULL, last_error = ? WHERE id = ? AND "
    "lease = ? AND state = 'running'";
inline constexpr std::string_view dead_sql =
    "UPDATE keel_jobs SET state = 'dead', finished_at = ?, lease_until = NULL, last_error = ? WHERE id = ? "
    "AND "
    "lease = ? AND state = 'running'";
inline constexpr std::string_view release_sql =
    "UPDATE keel_jobs SET state = 'queued', attempts = attempts - 1, lease_until = NULL, lease = NULL WHERE "
    "id "
    "= ? AND lease = ? AND state = 'running'";
inline constexpr std::string_view renew_sql =
    "UPDATE keel_jobs SET lease_until = ? WHERE id = ? AND lease = ? AND state = 'running'";
inline constexpr std::string_view count_sql = "SELECT state, count(*) AS n FROM keel_jobs GROUP BY state";
inline constexpr std::string_view oldest_sql =
    "SELECT min(run_at) FROM keel_jobs WHERE state IN ('queued', 'failed') AND run_at <= ?";

struct claimed_row {
  std::int64_t id;
  std::string type;
  std::string payload;
  std::int64_t attempts;
  std::int64_t max_attempts;
};

struct state_count {
  std::string state;
  std::int64_t n;
};

// A job ready to insert: everything already serialized, so the insert owns its values.
struct new_job {
  std::string queue;
  std::string type;
  std::string payload;
  std::int64_t max_attempts;
  std::int64_t run_at;
  std::int64_t created_at;
  std::optional<std::string> unique_key;
};

}  // namespace detail
}  // namespace jobs
}  // namespace v0
}  // namespace keel
