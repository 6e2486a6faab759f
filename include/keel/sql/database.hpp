// keel::db: the database a handler receives (`keel::db& db` after app.provide(db)). SQLite by default (a
// pool of read-only connections plus one serialized writer), PostgreSQL when given a postgres:// URL
// (include keel/sql/postgres.hpp, link keel::postgres). Every co_await query runs on the worker pool.
//   keel::db db{"sqlite:app.db"};                      // or "sqlite::memory:", "postgres://user@host/name"
//   auto rows = co_await db.query<article>("SELECT * FROM article WHERE author_id = ?", id);
// In the co_await API a busy database, a statement too large for the engine and a value it cannot store are
// thrown as http_errors (503 + Retry-After, 413, 422; see request_errors.hpp); the blocking API throws the
// sql_error kinds themselves.
#pragma once

#include "keel/config.hpp"
#include "keel/offload.hpp"
#include "keel/sql/connection.hpp"
#include "keel/sql/pool.hpp"
#include "keel/sql/read_batch.hpp"
#include "keel/sql/row.hpp"
#include "keel/sql/request_errors.hpp"
#include "keel/sql/runner.hpp"
#include "keel/sql/snapshot.hpp"
#include "keel/sql/sqlite.hpp"
#include "keel/sql/transaction.hpp"
#include "keel/task.hpp"

#include <algorithm>
#include <cstdint>
#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

namespace keel {
inline namespace v0 {
namespace sql {

struct db_options {
  sqlite_options sqlite;
  // SQLite read-only connections (0: one per hardware thread, at most 8). A :memory: database has one
  // connection for everything (each connection would otherwise see its own empty database).
  unsigned sqlite_readers = 0;
  // PostgreSQL connections (each serves reads and writes).
  unsigned postgres_connections = 4;
  // SQLite file databases: co_await reads made on a reactor queue up and run in batches (one worker wake-up
  // and one read transaction per batch; see read_batch.hpp). Off: each read takes a reader and a worker hop.
  bool batch_reads = true;
  // Requests that may wait at once for a connection of each kind (readers, the writer, PostgreSQL's pool).
  // One more gets 503 with Retry-After at once instead of queueing without bound.
  std::size_t max_waiting = 1024;
};

namespace detail {

using postgres_factory = std::unique_ptr<connection> (*)(const std::string& url);
// Filled in by keel/sql/postgres.hpp, so programs that only use SQLite never link libpq.
inline postgres_factory& registered_postgres_factory() noexcept {
  static postgres_factory factory = nullptr;
  return factory;
}

inline bool starts_with(std::string_view s, std::string_view prefix) noexcept {
  return s.substr(0, prefix.size()) == prefix;
}

}  // namespace detail

}  // namespace sql
}  // namespace v0
}  // namespace keel

namespace keel {
inline namespace v0 {

class db : public sql::query_api<db> {
 public:
  // url: "sqlite:<path>", "sqlite::memory:", a plain file path or ":memory:", or "postgres://..." /
  // "postgresql://...". Opens the connections now (blocking: call it at start-up, not in a handler).
  explicit db(std::string_view url = "sqlite::memory:", sql::db_options options = {}) : url_(url) {
    using sql::detail::starts_with;
    if (starts_with(url, "postgres://") || starts_with(url, "postgresql://")) {
      open_postgres(std::string(url), options);
    } else {
      std::string_view path = url;
      if (starts_with(path, "sqlite://"))
        path.remove_prefix(9);
      else if (starts_with(path, "sqlite:"))
        path.remove_prefix(7);
      open_sqlite(std::string(path), options);
    }
  }
  db(const db&) = delete;
  db& operator=(const db&) = delete;

  sql::engine engine() const noexcept { return engine_; }
  // True while a test fixture pins the database inside a transaction (begin() then opens savepoints).
  bool in_test_transaction() const noexcept { return nested_; }
  const std::string& url() const noexcept { return url_; }

  // A read-only transaction whose reads all see one moment of the database (see snapshot.hpp): for reads
  // that must agree with each other while writers commit. SQLite: a deferred BEGIN on a reader connection
  // of its own (never the writer); PostgreSQL: BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY. Under a test
  // fixture it reads inside the fixture's transaction.
  task<sql::read_snapshot> snapshot() {
    if (nested_) co_return sql::read_snapshot(co_await read_->acquire(), false);
    // Snapshots hold their connection across co_awaits, so on a SQLite file they take connections of their
    // own: a batch of reads, which waits for a reader on a worker thread, never waits for a snapshot.
    sql::connection_slots& slots = snapshot_ != nullptr ? *snapshot_ : *read_;
    sql::connection_lease lease = co_await slots.acquire();
    sql::connection* c = lease.get();
    auto job = [c] {
      sql::detail::check_not_on_reactor();
      c->execute_script(sql::detail::snapshot_begin_sql(c->engine()));
    };
    try {
      co_await keel::detail::offload_on(c->own_thread(), job);
    } catch (const sql::sql_error&) {
      sql::detail::rethrow_for_request();
    }
    co_return sql::read_snapshot(std::move(lease), true);
  }

  // BEGIN (SQLite: BEGIN IMMEDIATE on the writer); the transaction holds its connection until it ends.
  task<sql::transaction> begin(sql::isolation level = sql::isolation::engine_default) {
    sql::connection_lease lease = co_await write_->acquire();
    auto state = std::make_shared<sql::detail::transaction_state>();
    state->conn = lease.get();
    state->lease = std::move(lease);
    std::string name = nested_ ? "keel_sp_" + std::to_string(++state->next_savepoint + 1000) : std::string();
    std::string sql = nested_ ? "SAVEPOINT " + name : sql::detail::begin_sql(engine_, level);
    sql::connection* c = state->conn;
    auto job = [c, &sql] {
      sql::detail::check_not_on_reactor();
      c->execute_script(sql);
    };
    try {
      co_await keel::detail::offload_on(c->own_thread(), job);
    } catch (const sql::sql_error&) {
      sql::detail::rethrow_for_request();
    }
    co_return sql::transaction(std::move(state), std::move(name), true);
  }

  // Runs fn(transaction&) -> task<R>; commits when it returns, rolls back when it throws.
  template <class F>
  auto transact(F fn, sql::isolation level = sql::isolation::engine_default)
      -> std::invoke_result_t<F&, sql::transaction&> {
    sql::transaction tx = co_await begin(level);
    using R = typename std::invoke_result_t<F&, sql::transaction&>::value_type;
    if constexpr (std::is_void_v<R>) {
      co_await fn(tx);
      co_await tx.commit();
    } else {
      R result = co_await fn(tx);
      co_await tx.commit();
      co_return result;
    }
  }

  // query_api's hook: a connection for `kind`, fn(connection&) on the worker pool, the connection back.
  // SQLite reads on a file database go through the read batcher (see read_batch.hpp) when called on a
  // reactor.
  template <class F>
  task<std::invoke_result_t<F&, sql::connection&>> with_connection(sql::access kind, F fn) {
    if (kind == sql::access::read && batcher_ && read_ == &read_slots_) {
      asio::io_context* reactor = keel::detail::current_reactor();
      worker_pool* workers = keel::detail::current_worker_pool();
      if (reactor != nullptr && workers != nullptr) {
        try {
          co_return co_await sql::detail::batched_read<F>(
              *batcher_, fn, sql::detail::is_single_statement_v<F>, *reactor, *workers);
        } catch (const sql::sql_error&) {
          sql::detail::rethrow_for_request();
        }
      }
    }
    sql::connection_lease lease = co_await (kind == sql::access::read ? *read_ : *write_).acquire();
    sql::connection* c = lease.get();
    auto job = [c, &fn]() {
      sql::detail::check_not_on_reactor();
      return fn(*c);
    };
    try {
      co_return co_await keel::detail::offload_on(c->own_thread(), job);
    } catch (const sql::sql_error&) {
      sql::detail::rethrow_for_request();
    }
  }

  // fn(name, total, idle, waiting) for each connection pool with connections: "read" and "write" (SQLite;
  // "snapshot" for a file database's snapshot readers), "connections" (PostgreSQL, one pool for both).
  template <class F>
  void for_each_pool(F&& fn) const {
    const bool one_pool = read_slots_.usage().total == 0;
    auto report = [&fn](std::string_view name, const sql::connection_slots& slots) {
      const auto u = slots.usage();
      if (u.total != 0) fn(name, u.total, u.idle, u.waiting);
    };
    report("read", read_slots_);
    report(one_pool && engine_ == sql::engine::postgres ? "connections" : "write", write_slots_);
    report("snapshot", snapshot_slots_);
  }

  // --- Blocking API: start-up code, tools, tests and benchmarks; never on a reactor thread (checked in
  // debug builds).
  template <class T, class... Args>
  sql::detail::rows_result_t<T> query_sync(std::string_view sql, const Args&... args) {
    return blocking(sql::detail::classify(sql),
                    [&](sql::connection& c) { return sql::detail::fetch_all<T>(c, sql, args...); });
  }
  template <class T, class... Args>
  std::optional<T> query_one_sync(std::string_view sql, const Args&... args) {
    return blocking(sql::detail::classify(sql),
                    [&](sql::connection& c) { return sql::detail::fetch_one<T>(c, sql, args...); });
  }
  template <class... Args>
  std::int64_t execute_sync(std::string_view sql, const Args&... args) {
    return blocking(sql::access::write,
                    [&](sql::connection& c) { return sql::detail::execute(c, sql, args...); });
  }
  void execute_script_sync(std::string_view sql) {
    blocking(sql::access::write, [&](sql::connection& c) { c.execute_script(sql); });
  }
  // fn(connection&) with a connection for `kind`, on this thread.
  template <class F>
  std::invoke_result_t<F&, sql::connection&> blocking(sql::access kind, F&& fn) {
    sql::detail::check_not_on_reactor();
    sql::connection_lease lease = (kind == sql::access::read ? *read_ : *write_).acquire_blocking();
    return fn(*lease);
  }

  // --- For keel/sql/testing.hpp: route every statement to one connection already inside a transaction,
  // and make begin() open savepoints on it.
  void pin(sql::connection& c) {
    pinned_.emplace();
    pinned_->add(&c);
    read_ = write_ = &*pinned_;
    nested_ = true;
  }
  void unpin() noexcept {
    read_ = saved_read_;
    write_ = saved_write_;
    nested_ = false;
  }
  sql::connection_lease lease_writer_blocking() {
    sql::detail::check_not_on_reactor();
    return write_->acquire_blocking();
  }

 private:
  void open_sqlite(const std::string& path, const sql::db_options& options) {
    engine_ = sql::engine::sqlite;
    owned_.push_back(std::make_unique<sql::sqlite_connection>(path, options.sqlite, false));
    write_slots_.add(owned_.back().get());
    bool memory = path.empty() || path == ":memory:" || path.find("mode=memory") != std::string::npos;
    if (memory) {
      read_ = &write_slots_;
    } else {
      unsigned readers = options.sqlite_readers != 0
                             ? options.sqlite_readers
                             : std::clamp(std::thread::hardware_concurrency(), 1u, 8u);
      for (unsigned i = 0; i < readers; ++i) {
        owned_.push_back(std::make_unique<sql::sqlite_connection>(path, options.sqlite, true));
        read_slots_.add(owned_.back().get());
      }
      for (unsigned i = 0; i < readers; ++i) {
        owned_.push_back(std::make_unique<sql::sqlite_connection>(path, options.sqlite, true));
        snapshot_slots_.add(owned_.back().get());
      }
      snapshot_ = &snapshot_slots_;
      read_ = &read_slots_;
      if (options.batch_reads) batcher_.emplace(read_slots_);
    }
    write_ = &write_slots_;
    saved_read_ = read_;
    saved_write_ = write_;
    for (sql::connection_slots* slots : {&read_slots_, &write_slots_, &snapshot_slots_})
      slots->set_wait_limit(options.max_waiting);
  }

  void open_postgres(const std::string& url, const sql::db_options& options) {
    engine_ = sql::engine::postgres;
    auto factory = sql::detail::registered_postgres_factory();
    if (factory == nullptr)
      throw sql::sql_error(
          "keel::db: a postgres:// URL needs #include \"keel/sql/postgres.hpp\" and the keel::postgres "
          "target");
    for (unsigned i = 0; i < std::max(1u, options.postgres_connections); ++i) {
      owned_.push_back(factory(url));
      write_slots_.add(owned_.back().get());
    }
    read_ = write_ = saved_read_ = saved_write_ = &write_slots_;
    write_slots_.set_wait_limit(options.max_waiting);
  }

  std::string url_;
  sql::engine engine_ = sql::engine::sqlite;
  // Slots before connections in destruction order does not matter: both are only torn down after use.
  std::vector<std::unique_ptr<sql::connection>> owned_;
  sql::connection_slots read_slots_;
  sql::connection_slots write_slots_;
  sql::connection_slots snapshot_slots_;  // SQLite file databases: the readers snapshots hold
  sql::connection_slots* snapshot_ = nullptr;
  std::optional<sql::connection_slots> pinned_;
  sql::connection_slots* read_ = nullptr;
  sql::connection_slots* write_ = nullptr;
  sql::connection_slots* saved_read_ = nullptr;
  sql::connection_slots* saved_write_ = nullptr;
  bool nested_ = false;
  std::optional<sql::detail::read_batcher> batcher_;  // SQLite file databases only
};

}  // namespace v0
}  // namespace keel
