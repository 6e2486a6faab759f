// keel::sql testing utilities: a fixture whose database changes roll back when it ends, and factories that
// build and insert DTO rows with distinct values.
//   keel::db db{"sqlite::memory:"};  keel::sql::migrate_sync(db, migrations);
//   TEST_CASE(...) { keel::sql::test_transaction tx{db};  ... handlers and queries see their own writes ... }
#pragma once

#include "keel/config.hpp"
#include "keel/sql/database.hpp"
#include "keel/sql/query.hpp"
#include "keel/task.hpp"

#include <cstdint>
#include <functional>
#include <optional>
#include <utility>

namespace keel {
inline namespace v0 {
namespace sql {

// For its lifetime every query of `database` (from handlers too) runs on one connection inside a
// transaction, and db.begin() opens savepoints; the destructor rolls everything back. One at a time per db.
class test_transaction {
 public:
  explicit test_transaction(db& database) : db_(database), lease_(database.lease_writer_blocking()) {
    lease_->execute_script(detail::begin_sql(lease_->engine(), isolation::engine_default));
    db_.pin(*lease_);
  }
  test_transaction(const test_transaction&) = delete;
  test_transaction& operator=(const test_transaction&) = delete;
  ~test_transaction() {
    db_.unpin();
    try {
      lease_->execute_script("ROLLBACK");
    } catch (...) {
      // A failed test may have broken the connection; the next fixture reports it.
    }
  }

 private:
  db& db_;
  connection_lease lease_;
};

// Builds rows of T from a template function of a sequence number (1, 2, ...), with optional per-call edits;
// create() also inserts them and fills in the generated key.
//   sql::factory<author> authors{[](std::int64_t n) { return author{.id = 0, .name = "author " +
//   std::to_string(n)}; }}; author a = authors.create_sync(db, [](author& a) { a.name = "Ada"; });
template <Table T>
class factory {
 public:
  explicit factory(std::function<T(std::int64_t)> make) : make_(std::move(make)) {}

  T build(const std::function<void(T&)>& edit = {}) {
    T row = make_(++sequence_);
    if (edit) edit(row);
    return row;
  }

  T create_sync(db& database, const std::function<void(T&)>& edit = {}) {
    T row = build(edit);
    auto q = insert(row);
    auto key = database.blocking(access::write, [&](connection& c) {
      return detail::fetch_one<typename decltype(q)::row_type>(c, q.sql(), q.params());
    });
    if (key) boost::pfr::get<detail::table_sql<T>::key>(row) = *key;
    return row;
  }

  template <class Executor>
  task<T> create(Executor& executor, std::function<void(T&)> edit = {}) {
    T row = build(edit);
    auto query = insert(row);  // named: g++ 12 mishandles temporaries inside co_await expressions
    auto key = co_await executor.fetch_one(query);
    if (key) boost::pfr::get<detail::table_sql<T>::key>(row) = *key;
    co_return row;
  }

  std::int64_t count() const noexcept { return sequence_; }

 private:
  std::function<T(std::int64_t)> make_;
  std::int64_t sequence_ = 0;
};

}  // namespace sql
}  // namespace v0
}  // namespace keel
