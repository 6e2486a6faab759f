// keel::sql::read_snapshot: a read-only transaction whose statements all see the database as it was at one
// moment, however many writes commit meanwhile. Several reads that must agree (a count and the page it
// counts, rows and their child rows) go through one:
//   auto snap = co_await db.snapshot();
//   auto total = co_await snap.fetch_one(count);
//   auto rows = co_await snap.fetch(page);     // the rows `total` counted, even if a writer committed
//   between
// It ends (COMMIT) when dropped, or with co_await snap.close(). It never takes SQLite's writer, so readers
// in snapshots and the writer do not wait for each other.
#pragma once

#include "keel/config.hpp"
#include "keel/offload.hpp"
#include "keel/server/reactor.hpp"
#include "keel/server/worker_pool.hpp"
#include "keel/sql/connection.hpp"
#include "keel/sql/error.hpp"
#include "keel/sql/pool.hpp"
#include "keel/sql/request_errors.hpp"
#include "keel/sql/runner.hpp"
#include "keel/task.hpp"

#include <string_view>
#include <type_traits>
#include <utility>

namespace keel {
inline namespace v0 {
namespace sql {

namespace detail {

// SQLite: a deferred BEGIN takes no lock yet; in WAL mode the first read fixes which commits the
// transaction sees, so one is made now, before any statement of the caller. PostgreSQL: REPEATABLE READ
// takes its snapshot at the first statement after BEGIN, so it is taken now too.
inline std::string_view snapshot_begin_sql(engine e) noexcept {
  return e == engine::sqlite ? "BEGIN DEFERRED; SELECT count(*) FROM sqlite_schema"
                             : "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; SELECT 1";
}

}  // namespace detail

class read_snapshot : public query_api<read_snapshot> {
 public:
  read_snapshot() = default;
  // Used by keel::db::snapshot: `lease` is already inside the read transaction (or, under a test fixture's
  // transaction, `owns_transaction` is false and nothing is begun or ended here).
  read_snapshot(connection_lease lease, bool owns_transaction) noexcept
      : lease_(std::move(lease)), owns_transaction_(owns_transaction) {}
  read_snapshot(read_snapshot&& o) noexcept
      : lease_(std::move(o.lease_)), owns_transaction_(std::exchange(o.owns_transaction_, false)) {}
  read_snapshot& operator=(read_snapshot&& o) noexcept {
    if (this != &o) {
      end_in_background();
      lease_ = std::move(o.lease_);
      owns_transaction_ = std::exchange(o.owns_transaction_, false);
    }
    return *this;
  }
  ~read_snapshot() { end_in_background(); }

  bool is_open() const noexcept { return static_cast<bool>(lease_); }

  // Ends the read transaction now and gives the connection back.
  task<void> close() {
    if (!lease_) co_return;
    connection* c = lease_.get();
    bool owns = std::exchange(owns_transaction_, false);
    if (owns) {
      auto job = [c] {
        detail::check_not_on_reactor();
        end_read(*c);
      };
      co_await keel::detail::offload_on(c->own_thread(), job);
    }
    lease_.release();
  }

  // query_api's hook: fn(connection&) on the worker pool, inside the snapshot. The engine refuses writes
  // (SQLite's readers are opened read-only, PostgreSQL's transaction is READ ONLY); `access` is not checked
  // here, since SHOW and PRAGMA only read but are classed as writes. (A SQLite :memory: database has one
  // connection, the writer: a write there would go through.)
  template <class F>
  task<std::invoke_result_t<F&, connection&>> with_connection(access, F fn) {
    if (!lease_) throw sql_error("keel::sql: the read snapshot was already closed");
    connection* c = lease_.get();
    auto job = [c, &fn]() {
      detail::check_not_on_reactor();
      return fn(*c);
    };
    try {
      co_return co_await keel::detail::offload_on(c->own_thread(), job);
    } catch (const sql_error&) {
      detail::rethrow_for_request();
    }
  }

 private:
  // A read transaction changed nothing: COMMIT and ROLLBACK end it alike; ROLLBACK covers a failed COMMIT.
  static void end_read(connection& c) noexcept {
    try {
      c.execute_script("COMMIT");
    } catch (...) {
      try {
        c.execute_script("ROLLBACK");
      } catch (...) {
        // The connection is broken or the transaction already ended; nothing to report to.
      }
    }
  }

  // A destructor cannot co_await: the COMMIT goes to the worker pool (or runs here when there is none) and
  // the connection stays leased until it has run.
  void end_in_background() noexcept {
    if (!lease_) return;
    if (!std::exchange(owns_transaction_, false)) {
      lease_.release();
      return;
    }
    worker_pool* own = lease_.get()->own_thread();
    auto job = [lease = std::move(lease_)]() mutable noexcept {
      end_read(*lease);
      lease.release();
    };
    worker_pool* workers = keel::detail::current_worker_pool();
    if (workers != nullptr && keel::detail::current_reactor() != nullptr) {
      (own != nullptr ? own : workers)->post(std::move(job));
    } else {
      job();
    }
  }

  connection_lease lease_;
  bool owns_transaction_ = false;
};

}  // namespace sql
}  // namespace v0
}  // namespace keel
