// keel::sql::migrate: versioned schema migrations, each applied once inside a transaction and recorded with
// a checksum in keel_schema_migrations; an applied migration whose text changed is an error.
//   constexpr keel::sql::migration migrations[] = {
//       {1, "create article", "CREATE TABLE article (id INTEGER PRIMARY KEY, title TEXT NOT NULL)"},
//       {2, "article body", "ALTER TABLE article ADD COLUMN body TEXT"},
//   };
//   keel::sql::migrate_sync(db, migrations);                                  // at start-up, or:
//   if (keel::sql::migrate_command(argc, argv, db, migrations)) return 0;     // `app --migrate`
#pragma once

#include "keel/config.hpp"
#include "keel/sql/connection.hpp"
#include "keel/sql/database.hpp"
#include "keel/sql/error.hpp"
#include "keel/sql/row.hpp"
#include "keel/task.hpp"

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace keel {
inline namespace v0 {
namespace sql {

struct migration {
  std::int64_t version;  // ordered, unique; never reuse or renumber one that was applied
  std::string_view name;
  std::string_view sql;  // one or more statements
};

struct migration_report {
  std::vector<std::int64_t> applied;  // versions applied by this run
  std::size_t already_applied = 0;
};

namespace detail {

// FNV-1a (64-bit) of the SQL text, as 16 hex digits: detects an edited migration, not an attacker.
inline std::string migration_checksum(std::string_view sql) {
  std::uint64_t h = 14695981039346656037ULL;
  for (unsigned char c : sql) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  char out[17];
  std::snprintf(out, sizeof out, "%016llx", static_cast<unsigned long long>(h));
  return out;
}

struct applied_migration {
  std::int64_t version;
  std::string name;
  std::string checksum;
};

// The bookkeeping table (created when missing) and what it records, oldest first.
inline std::vector<applied_migration> applied_migrations(connection& c, std::string_view table) {
  if (table.empty()) throw migration_error("keel::sql: empty migration table name");
  for (char ch : table)
    if (!is_identifier_char(ch))
      throw migration_error("keel::sql: bad migration table name: " + std::string(table));
  const std::string name(table);
  c.execute_script(
      "CREATE TABLE IF NOT EXISTS " + name +
      " (version BIGINT PRIMARY KEY, name TEXT NOT NULL, checksum TEXT NOT NULL, applied_at TEXT NOT "
      "NULL)");
  return fetch_all<applied_migration>(c, "SELECT version, name, checksum FROM " + name + " ORDER BY version");
}

inline migration_report apply_migrations(connection& c, std::span<const migration> list, bool nested,
                                         std::string_view table) {
  const std::string name(table);
  for (std::size_t i = 1; i < list.size(); ++i)
    if (list[i].version <= list[i - 1].version)
      throw migration_error("keel::sql: migration versions must increase (" +
                            std::to_string(list[i - 1].version) + " is followed by " +
                            std::to_string(list[i].version) + ")");
  auto applied = applied_migrations(c, table);
  const std::string record =
      "INSERT INTO " + name + " (version, name, checksum, applied_at) VALUES (?, ?, ?, ?)";
  migration_report report;
  std::int64_t newest = 0;
  for (const applied_migration& a : applied) {
    const migration* known = nullptr;
    for (const migration& m : list)
      if (m.version == a.version) known = &m;
    if (known == nullptr)
      throw migration_error("keel::sql: the database has migration " + std::to_string(a.version) + " (" +
                            a.name + ") that this program does not know");
    if (migration_checksum(known->sql) != a.checksum)
      throw migration_error("keel::sql: migration " + std::to_string(a.version) + " (" + a.name +
                            ") was changed after it was applied (checksum " + a.checksum + ", now " +
                            migration_checksum(known->sql) + "); add a new migration instead");
    newest = a.version;
    ++report.already_applied;
  }
  for (const migration& m : list) {
    bool done = false;
    for (const applied_migration& a : applied) done = done || a.version == m.version;
    if (done) continue;
    if (m.version < newest)
      throw migration_error("keel::sql: migration " + std::to_string(m.version) + " (" + std::string(m.name) +
                            ") is older than the applied migration " + std::to_string(newest));
    std::string begin =
        nested ? "SAVEPOINT keel_migration" : begin_sql(c.engine(), isolation::engine_default);
    c.execute_script(begin);
    try {
      c.execute_script(m.sql);
      execute(c, record, m.version, m.name, migration_checksum(m.sql), std::chrono::system_clock::now());
      c.execute_script(nested ? "RELEASE SAVEPOINT keel_migration" : "COMMIT");
    } catch (const std::exception& e) {
      try {
        c.execute_script(nested ? "ROLLBACK TO SAVEPOINT keel_migration; RELEASE SAVEPOINT keel_migration"
                                : "ROLLBACK");
      } catch (...) {
      }
      throw migration_error("keel::sql: migration " + std::to_string(m.version) + " (" + std::string(m.name) +
                            ") failed and was rolled back: " + e.what());
    }
    report.applied.push_back(m.version);
  }
  return report;
}

}  // namespace detail

inline constexpr std::string_view default_migration_table = "keel_schema_migrations";

// Blocking: for start-up, before serving. `table` records what was applied (one table per independent set).
inline migration_report migrate_sync(db& database, std::span<const migration> list,
                                     std::string_view table = default_migration_table) {
  bool nested = database.in_test_transaction();
  return database.blocking(access::write,
                           [&](connection& c) { return detail::apply_migrations(c, list, nested, table); });
}

// From a coroutine: the work runs on the worker pool.
inline task<migration_report> migrate(db& database, std::span<const migration> list,
                                      std::string_view table = default_migration_table) {
  bool nested = database.in_test_transaction();
  auto work = [list, nested, table](connection& c) {
    return detail::apply_migrations(c, list, nested, table);
  };
  co_return co_await database.with_connection(access::write, work);
}

// `--migrate` on the command line: applies the migrations, prints what it did, and returns true (the program
// should then exit). Without the flag it does nothing and returns false.
inline bool migrate_command(int argc, char** argv, db& database, std::span<const migration> list) {
  bool requested = false;
  for (int i = 1; i < argc; ++i) requested = requested || std::string_view(argv[i]) == "--migrate";
  if (!requested) return false;
  migration_report report = migrate_sync(database, list);
  std::printf("keel: %zu migration(s) applied, %zu already applied\n", report.applied.size(),
              report.already_applied);
  return true;
}

// `app migrate [up|status]` (keel::command_options::migrate in keel/settings.hpp): "up" applies the
// migrations like migrate_command; "status" prints one line per migration, applied or pending (creating only
// the bookkeeping table). Returns the exit status: 0, or 1 after printing a migration_error to stderr.
inline int run_migrate_command(db& database, std::span<const migration> list, std::string_view action,
                               std::string_view table = default_migration_table) {
  try {
    if (action != "status") {
      migration_report report = migrate_sync(database, list, table);
      std::printf("keel: %zu migration(s) applied, %zu already applied\n", report.applied.size(),
                  report.already_applied);
      return 0;
    }
    auto applied =
        database.blocking(access::write, [&](connection& c) { return detail::applied_migrations(c, table); });
    std::size_t pending = 0;
    for (const migration& m : list) {
      std::string_view state = "pending";
      for (const detail::applied_migration& a : applied)
        if (a.version == m.version)
          state = a.checksum == detail::migration_checksum(m.sql) ? "applied" : "applied, changed since";
      pending += state == "pending" ? 1 : 0;
      std::printf("%6lld  %-8s  %.*s\n", static_cast<long long>(m.version), std::string(state).c_str(),
                  static_cast<int>(m.name.size()), m.name.data());
    }
    std::printf("keel: %zu applied, %zu pending\n", list.size() - pending, pending);
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 1;
  }
}

}  // namespace sql
}  // namespace v0
}  // namespace keel
