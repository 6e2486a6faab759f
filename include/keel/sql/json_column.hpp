// keel::sql::json<T>: a row field stored as one JSON document, for structured values a column type cannot
// hold (a list of tags, a small settings object). TEXT on SQLite, jsonb on PostgreSQL; written and read
// through keel's JSON layer (keel::json_io), so T is anything keel writes and reads: a DTO, a std::vector,
// a std::map.
//   struct note {
//     static constexpr std::string_view keel_table = "note";
//     std::int64_t id;
//     keel::sql::json<std::vector<std::string>> tags;    // CREATE TABLE note (..., tags TEXT / JSONB NOT
//     NULL)
//   };
//   note n{0, {{"home", "urgent"}}};  ...  n.tags->size(), (*n.tags)[0]
// A NULL column is std::optional<json<T>>. In an API DTO the field is written and read as T's JSON. A stored
// document that is not T's JSON is a sql::type_error naming the column and the first problem.
#pragma once

#include "keel/config.hpp"
#include "keel/json/reader.hpp"
#include "keel/json/traits.hpp"
#include "keel/json/writer.hpp"
#include "keel/sql/connection.hpp"
#include "keel/sql/error.hpp"
#include "keel/sql/value.hpp"

#include <string>
#include <utility>

namespace keel {
inline namespace v0 {
namespace sql {

template <class T>
struct json {
  T value{};

  T& operator*() noexcept { return value; }
  const T& operator*() const noexcept { return value; }
  T* operator->() noexcept { return &value; }
  const T* operator->() const noexcept { return &value; }
  friend bool operator==(const json&, const json&) = default;
};

template <class T>
struct value_traits<json<T>> {
  static void bind(statement& s, int index, const json<T>& v) {
    // Unknown to PostgreSQL until it sees the column: text into a jsonb column is converted (and checked).
    s.bind_text(index, json_io::to_string(v.value));
  }
  static json<T> read(const statement& s, int column) {
    detail::require_kind(s, column, value_kind::text, "JSON text");
    auto parsed = json_io::read<T>(s.column_text(column));
    if (!parsed) {
      const auto& first = parsed.errors().front();
      throw type_error("column \"" + std::string(s.column_name(column)) + "\": stored JSON does not fit: " +
                       (first.path.empty() ? std::string() : first.path + ": ") + first.reason);
    }
    return json<T>{std::move(parsed).value()};
  }
};

}  // namespace sql
}  // namespace v0
}  // namespace keel

namespace keel {
inline namespace v0 {

// A row with a json<T> field is also a DTO handlers answer with and read: the field is T's JSON (and T's
// schema in the OpenAPI document), not a nested {"value": ...}.
template <class T>
struct json_traits<sql::json<T>> {
  using json_type = T;
  static const T& to_json(const sql::json<T>& v) noexcept { return v.value; }
  static bool from_json(T&& in, sql::json<T>& out, std::string&) {
    out.value = std::move(in);
    return true;
  }
};

}  // namespace v0
}  // namespace keel
