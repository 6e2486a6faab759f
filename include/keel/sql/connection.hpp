// keel::sql::statement / connection: the engine-neutral interface the typed layer drives, and the
// placeholder rewriting (`?`, `$1`, `:name`) that lets one SQL text run on both engines.
#pragma once

#include "keel/config.hpp"
#include "keel/server/worker_pool.hpp"
#include "keel/sql/error.hpp"

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace keel {
inline namespace v0 {
namespace sql {

enum class engine { sqlite, postgres };

// What a column holds in the current row. SQLite reports the stored value's class; PostgreSQL the
// column's declared type (its values arrive as text and are converted on read).
enum class value_kind { null, integer, real, text, blob, boolean };

constexpr std::string_view kind_name(value_kind k) noexcept {
  switch (k) {
    case value_kind::null:
      return "null";
    case value_kind::integer:
      return "integer";
    case value_kind::real:
      return "real";
    case value_kind::text:
      return "text";
    case value_kind::blob:
      return "blob";
    case value_kind::boolean:
      return "boolean";
  }
  return "?";
}

// A prepared statement owned by its connection's cache. Parameter indexes are 1-based, columns 0-based.
// Virtual: one indirect call per bound value or read column is noise next to the engine's own work, and it
// keeps libpq out of programs that only use SQLite.
class statement {
 public:
  virtual ~statement() = default;

  virtual void bind_null(int index) = 0;
  virtual void bind_int64(int index, std::int64_t value) = 0;
  virtual void bind_double(int index, double value) = 0;
  virtual void bind_text(int index, std::string_view value) = 0;
  virtual void bind_bool(int index, bool value) = 0;

  // Runs the statement (first call) or advances; true while a row is available.
  virtual bool step() = 0;
  // Ready to bind and run again; also drops the previous result.
  virtual void reset() = 0;

  virtual int column_count() const = 0;
  virtual std::string_view column_name(int column) const = 0;
  virtual value_kind column_kind(int column) const = 0;
  virtual std::int64_t column_int64(int column) const = 0;
  virtual double column_double(int column) const = 0;
  virtual std::string_view column_text(int column) const = 0;
  virtual bool column_bool(int column) const = 0;
  // Rows changed by the last INSERT/UPDATE/DELETE.
  virtual std::int64_t rows_affected() const = 0;

  // Names of `:name` parameters, in order of their positional index (empty for purely positional SQL).
  const std::vector<std::string>& parameter_names() const noexcept { return names_; }
  int parameter_count() const noexcept { return parameter_count_; }
  const std::string& sql() const noexcept { return sql_; }

  // Column index per field of the DTO last mapped from this statement (see row.hpp); cached because a
  // statement's columns never change.
  const void* mapped_type = nullptr;
  std::vector<int> mapped_columns;

 protected:
  std::string sql_;
  std::vector<std::string> names_;
  int parameter_count_ = 0;
  friend class connection;
};

// The SQL text an engine receives: placeholders renumbered into the engine's style.
struct rewritten_sql {
  std::string text;
  std::vector<std::string> names;  // names[i] is the name of parameter i+1 ("" when positional)
  int parameter_count = 0;
};

namespace detail {

constexpr bool is_identifier_char(char c) noexcept {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

// Rewrites `?`, `$N` and `:name` into `?N` (SQLite) or `$N` (PostgreSQL). Positional `?` take the next
// number; a name used twice keeps its first number; quoted text, quoted identifiers, comments and `::casts`
// are left alone.
inline rewritten_sql rewrite_placeholders(std::string_view in, engine target) {
  rewritten_sql out;
  out.text.reserve(in.size() + 8);
  auto emit_number = [&](int n) {
    out.text += target == engine::sqlite ? '?' : '$';
    out.text += std::to_string(n);
  };
  auto skip_quoted = [&](std::size_t& i, char quote) {
    out.text += in[i++];
    while (i < in.size()) {
      char c = in[i++];
      out.text += c;
      if (c == quote) {
        if (i < in.size() && in[i] == quote) {  // doubled quote inside the literal
          out.text += in[i++];
          continue;
        }
        return;
      }
    }
  };
  std::size_t i = 0;
  while (i < in.size()) {
    char c = in[i];
    if (c == '\'' || c == '"') {
      skip_quoted(i, c);
    } else if (c == '-' && i + 1 < in.size() && in[i + 1] == '-') {
      while (i < in.size() && in[i] != '\n') out.text += in[i++];
    } else if (c == '/' && i + 1 < in.size() && in[i + 1] == '*') {
      std::size_t end = in.find("*/", i + 2);
      end = end == std::string_view::npos ? in.size() : end + 2;
      out.text.append(in.substr(i, end - i));
      i = end;
    } else if (c == '?') {
      ++i;
      int n = out.parameter_count + 1;
      if (i < in.size() && in[i] >= '0' && in[i] <= '9') {  // ?N
        n = 0;
        while (i < in.size() && in[i] >= '0' && in[i] <= '9') n = n * 10 + (in[i++] - '0');
      }
      emit_number(n);
      if (n > out.parameter_count) out.parameter_count = n;
    } else if (c == '$' && i + 1 < in.size() && in[i + 1] >= '0' && in[i + 1] <= '9') {
      ++i;
      int n = 0;
      while (i < in.size() && in[i] >= '0' && in[i] <= '9') n = n * 10 + (in[i++] - '0');
      emit_number(n);
      if (n > out.parameter_count) out.parameter_count = n;
    } else if (c == ':' && i + 1 < in.size() && in[i + 1] == ':') {
      out.text += "::";
      i += 2;
    } else if (c == ':' && i + 1 < in.size() && is_identifier_char(in[i + 1]) &&
               !(in[i + 1] >= '0' && in[i + 1] <= '9')) {
      std::size_t start = ++i;
      while (i < in.size() && is_identifier_char(in[i])) ++i;
      std::string name(in.substr(start, i - start));
      int n = 0;
      for (std::size_t k = 0; k < out.names.size(); ++k)
        if (out.names[k] == name) n = static_cast<int>(k) + 1;
      if (n == 0) {
        n = ++out.parameter_count;
        out.names.resize(static_cast<std::size_t>(n));
        out.names.back() = std::move(name);
      }
      emit_number(n);
    } else {
      out.text += c;
      ++i;
    }
  }
  out.names.resize(static_cast<std::size_t>(out.parameter_count));
  return out;
}

struct string_hash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
};

}  // namespace detail

// One engine connection with its prepared-statement cache. Used by one thread at a time (the pool hands it
// out); never shared concurrently.
class connection {
 public:
  virtual ~connection() = default;
  virtual sql::engine engine() const noexcept = 0;

  // The cached statement for this SQL text (prepared on first use), reset and ready to bind.
  statement& prepare(std::string_view sql) {
    if (last_ != nullptr && last_->sql() == sql) {
      last_->reset();
      return *last_;
    }
    auto found = cache_.find(sql);
    if (found == cache_.end()) {
      rewritten_sql r = detail::rewrite_placeholders(sql, engine());
      std::unique_ptr<statement> made = make_statement(r);
      made->sql_ = std::string(sql);
      made->names_ = std::move(r.names);
      made->parameter_count_ = r.parameter_count;
      found = cache_.emplace(std::string(sql), std::move(made)).first;
    } else {
      found->second->reset();
    }
    last_ = found->second.get();
    return *last_;
  }

  // Runs SQL text that may hold several statements and takes no parameters (migrations, DDL, BEGIN).
  virtual void execute_script(std::string_view sql) = 0;

  // The thread this connection's statements run on, or nullptr for the app's worker pool. A PostgreSQL
  // connection has one of its own: a statement waiting for a row lock then blocks only its connection, never
  // the pool's threads, so the transaction holding the lock can always run its COMMIT (with a shared pool,
  // statements waiting on a lock could take every worker and the commit that frees them could never run).
  worker_pool* own_thread() noexcept { return own_thread_.get(); }

  std::size_t cached_statements() const noexcept { return cache_.size(); }
  void clear_statement_cache() {
    last_ = nullptr;
    cache_.clear();
  }

 protected:
  virtual std::unique_ptr<statement> make_statement(const rewritten_sql& engine_sql) = 0;
  // For engines whose statements block on other connections (row locks): a thread of its own (see
  // own_thread).
  void run_on_own_thread() { own_thread_ = std::make_unique<worker_pool>(1); }

 private:
  std::unordered_map<std::string, std::unique_ptr<statement>, detail::string_hash, std::equal_to<>> cache_;
  statement* last_ = nullptr;
  std::unique_ptr<worker_pool> own_thread_;  // last member: its thread is joined before the rest goes
};

}  // namespace sql
}  // namespace v0
}  // namespace keel
