// keel::auth::sql_api_key_store: API keys in a SQLite table through keel::db (every query on the worker
// pool). Include <keel/sql.hpp> and <keel/auth.hpp> (or <keel/auth/sql_api_key_store.hpp>); link keel::auth
// and SQLite.
//
//   keel::auth::sql_api_key_store keys{db};
//   keys.create_schema_sync();                                      // at start-up: CREATE TABLE IF NOT
//   EXISTS keel::auth::new_api_key k = co_await keys.create("alice", "ci deploy");   // k.key: show it once
//   co_await keys.revoke(k.id);                                     // refused from then on
//   std::vector<keel::auth::api_key_info> mine = co_await keys.list("alice");  // no secrets in there
//
// Rows keep the key's lookup id and the SHA-256 of the whole key, never the key itself; find() reads the row
// by lookup id and compares the hashes in constant time.
#pragma once

#include "keel/config.hpp"
#include "keel/auth/api_key.hpp"
#include "keel/sql/database.hpp"
#include "keel/task.hpp"

#include <chrono>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace keel {
inline namespace v0 {
namespace auth {

// Who a key belongs to, as the handler sees it (keel::api_key<api_key_principal>).
struct api_key_principal {
  std::int64_t id = 0;  // the key's row
  std::string owner{};  // your user id or service name
  std::string name{};   // what the owner called the key ("ci deploy")
};

// A key just created: `key` is the secret, shown to its owner once and stored nowhere.
struct new_api_key {
  std::int64_t id = 0;
  std::string key{};
};

// A key as listed: no secret, no hash.
struct api_key_info {
  std::int64_t id = 0;
  std::string owner{};
  std::string name{};
  std::string lookup_id{};  // the first characters after the prefix: lets an owner tell keys apart
  std::int64_t created_at = 0;
  std::optional<std::int64_t> revoked_at{};
};

namespace detail {
struct api_key_row {
  std::int64_t id = 0;
  std::string owner{};
  std::string name{};
  std::string hash{};
};
inline std::int64_t unix_seconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}
}  // namespace detail

class sql_api_key_store {
 public:
  using principal_type = api_key_principal;

  // The table's name must be a plain identifier (letters, digits, '_').
  explicit sql_api_key_store(keel::db& db, std::string table = "keel_api_key", std::string prefix = "kk")
      : db_(&db), table_(std::move(table)), prefix_(std::move(prefix)) {
    for (char c : table_)
      if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_'))
        throw std::invalid_argument("keel::auth::sql_api_key_store: bad table name " + table_);
    if (table_.empty()) throw std::invalid_argument("keel::auth::sql_api_key_store: empty table name");
    find_sql_ = "SELECT id, owner, name, hash FROM " + table_ + " WHERE lookup_id = ? AND revoked_at IS NULL";
    insert_sql_ = "INSERT INTO " + table_ +
                  " (lookup_id, hash, owner, name, created_at) VALUES (?, ?, ?, ?, ?) RETURNING id";
    revoke_sql_ = "UPDATE " + table_ + " SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL";
    list_sql_ = "SELECT id, owner, name, lookup_id, created_at, revoked_at FROM " + table_ +
                " WHERE owner = ? ORDER BY id";
  }

  // The CREATE TABLE statement (for your own migrations), and running it (IF NOT EXISTS) now, blocking.
  std::string schema() const {
    return "CREATE TABLE IF NOT EXISTS " + table_ +
           " (id INTEGER PRIMARY KEY, lookup_id TEXT NOT NULL UNIQUE, hash TEXT NOT NULL, owner TEXT NOT "
           "NULL, "
           "name TEXT NOT NULL, created_at INTEGER NOT NULL, revoked_at INTEGER)";
  }
  void create_schema_sync() { db_->execute_script_sync(schema()); }

  // A new key for `owner`; the returned key is the only copy of the secret.
  task<new_api_key> create(std::string owner, std::string name) {
    generated_api_key g = generate_api_key(prefix_);
    const std::int64_t now = detail::unix_seconds();
    task<std::optional<std::int64_t>> insert = db_->query_one<std::int64_t>(
        insert_sql_, g.lookup_id, g.hash, std::move(owner), std::move(name), now);
    std::optional<std::int64_t> id = co_await std::move(insert);
    if (!id) throw std::runtime_error("keel::auth: the API key insert returned no id");
    co_return new_api_key{*id, std::move(g.key)};
  }

  // Revokes key `id`: true when it was active.
  task<bool> revoke(std::int64_t id) {
    task<std::int64_t> update = db_->execute(revoke_sql_, detail::unix_seconds(), id);
    const std::int64_t changed = co_await std::move(update);
    co_return changed == 1;
  }

  // The keys of `owner`, revoked ones included.
  task<std::vector<api_key_info>> list(std::string owner) {
    auto query = db_->query<api_key_info>(list_sql_, std::move(owner));
    co_return co_await std::move(query);
  }

  // The principal of an active key, or nullopt (unknown, revoked, malformed).
  task<std::optional<api_key_principal>> find(std::string key) {
    const std::optional<std::string_view> lookup = api_key_lookup_id(key, prefix_);
    if (!lookup) co_return std::nullopt;
    task<std::optional<detail::api_key_row>> read =
        db_->query_one<detail::api_key_row>(find_sql_, std::string(*lookup));
    std::optional<detail::api_key_row> row = co_await std::move(read);
    if (!row || !api_key_matches(key, row->hash)) co_return std::nullopt;
    co_return api_key_principal{row->id, std::move(row->owner), std::move(row->name)};
  }

 private:
  keel::db* db_;
  std::string table_, prefix_;
  std::string find_sql_, insert_sql_, revoke_sql_, list_sql_;
};

}  // namespace auth
}  // namespace v0
}  // namespace keel
