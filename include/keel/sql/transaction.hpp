// keel::sql::transaction: a coroutine-friendly transaction (BEGIN / COMMIT / ROLLBACK), nested through
// savepoints; rolled back when dropped without commit().
//   auto tx = co_await db.begin();
//   co_await tx.execute("UPDATE account SET balance = balance - ? WHERE id = ?", amount, from);
//   { auto inner = co_await tx.savepoint(); ...; co_await inner.commit(); }   // RELEASE SAVEPOINT
//   co_await tx.commit();
#pragma once

#include "keel/config.hpp"
#include "keel/offload.hpp"
#include "keel/server/reactor.hpp"
#include "keel/sql/pool.hpp"
#include "keel/sql/request_errors.hpp"
#include "keel/sql/runner.hpp"
#include "keel/task.hpp"

#include <exception>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

namespace keel {
inline namespace v0 {
namespace sql {

// PostgreSQL honours the level; SQLite transactions are always serializable (BEGIN IMMEDIATE takes the
// write lock up front, so two transactions never deadlock upgrading a read lock).
enum class isolation { engine_default, read_committed, repeatable_read, serializable };

namespace detail {

inline std::string begin_sql(engine e, isolation level) {
  if (e == engine::sqlite) return "BEGIN IMMEDIATE";
  switch (level) {
    case isolation::read_committed:
      return "BEGIN ISOLATION LEVEL READ COMMITTED";
    case isolation::repeatable_read:
      return "BEGIN ISOLATION LEVEL REPEATABLE READ";
    case isolation::serializable:
      return "BEGIN ISOLATION LEVEL SERIALIZABLE";
    default:
      return "BEGIN";
  }
}

// What the root transaction and its savepoints share: the connection, and rollbacks that dropped
// savepoints left to run before the next statement (a destructor cannot co_await).
struct transaction_state {
  connection_lease lease;
  connection* conn = nullptr;
  std::string pending;
  int next_savepoint = 0;
};

}  // namespace detail

class transaction : public query_api<transaction> {
 public:
  transaction() = default;
  transaction(transaction&& o) noexcept
      : state_(std::move(o.state_)),
        savepoint_(std::move(o.savepoint_)),
        owner_(o.owner_),
        open_(std::exchange(o.open_, false)) {}
  transaction& operator=(transaction&& o) noexcept {
    if (this != &o) {
      abandon();
      state_ = std::move(o.state_);
      savepoint_ = std::move(o.savepoint_);
      owner_ = o.owner_;
      open_ = std::exchange(o.open_, false);
    }
    return *this;
  }
  ~transaction() { abandon(); }

  bool is_open() const noexcept { return open_; }
  bool is_savepoint() const noexcept { return !savepoint_.empty(); }

  task<void> commit() {
    require_open();
    std::string sql = is_savepoint() ? "RELEASE SAVEPOINT " + savepoint_ : std::string("COMMIT");
    open_ = false;
    co_await with_connection(access::write, [&sql](connection& c) { c.execute_script(sql); });
    if (owner_) state_->lease.release();
  }

  task<void> rollback() {
    require_open();
    std::string sql = rollback_sql();
    open_ = false;
    co_await with_connection(access::write, [&sql](connection& c) { c.execute_script(sql); });
    if (owner_) state_->lease.release();
  }

  // A nested transaction: SAVEPOINT now, RELEASE on commit, ROLLBACK TO on rollback or when dropped.
  // It must not outlive this transaction.
  task<transaction> savepoint() {
    require_open();
    std::string name = "keel_sp_" + std::to_string(++state_->next_savepoint);
    std::string sql = "SAVEPOINT " + name;
    co_await with_connection(access::write, [&sql](connection& c) { c.execute_script(sql); });
    co_return transaction(state_, std::move(name), false);
  }

  // Runs fn(connection&) on the worker pool with this transaction's connection (query_api's hook).
  template <class F>
  task<std::invoke_result_t<F&, connection&>> with_connection(access, F fn) {
    detail::transaction_state* state = state_.get();
    auto job = [state, &fn]() {
      detail::check_not_on_reactor();
      if (!state->pending.empty()) {
        std::string pending = std::move(state->pending);
        state->pending.clear();
        state->conn->execute_script(pending);
      }
      return fn(*state->conn);
    };
    try {
      co_return co_await keel::detail::offload_on(state->conn->own_thread(), job);
    } catch (const sql_error&) {
      detail::rethrow_for_request();
    }
  }

  // The connection, for blocking code already running off the reactor (migrations, fixtures).
  connection& raw_connection() const noexcept { return *state_->conn; }

  // Used by keel::db::begin: takes a lease on which `begin` already ran.
  transaction(std::shared_ptr<detail::transaction_state> state, std::string savepoint, bool owner)
      : state_(std::move(state)), savepoint_(std::move(savepoint)), owner_(owner), open_(true) {}

 private:
  void require_open() const {
    if (!open_) throw sql_error("keel::sql: the transaction was already committed or rolled back");
  }
  std::string rollback_sql() const {
    return is_savepoint() ? "ROLLBACK TO SAVEPOINT " + savepoint_ + "; RELEASE SAVEPOINT " + savepoint_
                          : std::string("ROLLBACK");
  }

  // Dropped while open: a savepoint leaves its rollback to run before the next statement; the root posts
  // its rollback to the worker pool (or runs it here when there is none), keeping the connection leased
  // until it has run.
  void abandon() noexcept {
    if (!open_ || !state_) return;
    open_ = false;
    std::string sql = rollback_sql();
    if (!owner_) {
      state_->pending += sql + ";";
      return;
    }
    auto job = [state = state_, sql = std::move(sql)]() noexcept {
      try {
        std::string all = state->pending + sql;
        state->pending.clear();
        state->conn->execute_script(all);
      } catch (...) {
        // The connection is broken or the engine already ended the transaction; nothing to report to.
      }
      state->lease.release();
    };
    worker_pool* own = state_->conn->own_thread();
    state_.reset();
    worker_pool* workers = keel::detail::current_worker_pool();
    if (workers != nullptr && keel::detail::current_reactor() != nullptr) {
      if (own != nullptr) workers = own;
      workers->post(std::move(job));
    } else {
      job();
    }
  }

  std::shared_ptr<detail::transaction_state> state_;
  std::string savepoint_;  // empty for the root transaction
  bool owner_ = false;     // holds the lease (root, or a db-level transaction inside a test fixture)
  bool open_ = false;
};

}  // namespace sql
}  // namespace v0
}  // namespace keel
