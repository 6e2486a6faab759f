// keel::sql typed queries over a table DTO: select<T>().where(field<&T::m> == v).order_by(...).limit(n),
// insert/update/remove from DTOs, and load_related for N+1-free relation loading. Identifiers are quoted and
// every value is bound; the column lists and the find/insert/update/delete texts are compile-time constants.
//   struct article { static constexpr std::string_view keel_table = "article"; std::int64_t id; ... };
//   auto page = co_await db.fetch(sql::select<article>()
//                                     .where(sql::field<&article::author_id> == id)
//                                     .order_by(sql::field<&article::created_at>,
//                                     sql::desc).limit(20).offset(40));
#pragma once

#include "keel/config.hpp"
#include "keel/detail/reflect/field_names.hpp"
#include "keel/detail/reflect/static_text.hpp"
#include "keel/json/reflect.hpp"
#include "keel/sql/params.hpp"
#include "keel/sql/row.hpp"
#include "keel/task.hpp"

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

namespace keel::inline v0::sql {

// The table a row type maps to: `static constexpr std::string_view keel_table = "...";` in the DTO, and
// optionally `keel_primary_key` (default "id").
template <class T>
concept Table = Row<T> && requires {
  { T::keel_table } -> std::convertible_to<std::string_view>;
};

namespace detail {

template <class T>
consteval std::string_view primary_key_of() {
  if constexpr (requires { T::keel_primary_key; })
    return T::keel_primary_key;
  else
    return "id";
}

template <Table T>
consteval std::size_t primary_key_index() {
  constexpr auto& names = keel::detail::cpp_field_names<T>;
  for (std::size_t i = 0; i < names.size(); ++i)
    if (names[i] == primary_key_of<T>()) return i;
  return names.size();
}

template <Table T>
using primary_key_type =
    std::remove_cvref_t<decltype(boost::pfr::get<primary_key_index<T>()>(std::declval<T&>()))>;

// An integral primary key is assigned by the database: insert() leaves it out and returns it.
template <Table T>
inline constexpr bool generated_key = std::is_integral_v<primary_key_type<T>>;

consteval bool safe_identifier(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s)
    if (c == '"' || c == '\0') return false;
  return true;
}

// Compile-time SQL text: `Build(out)` writes into a buffer twice (size pass, fill pass).
struct text_builder {
  char* out = nullptr;
  std::size_t size = 0;
  constexpr void add(std::string_view s) {
    for (char c : s) {
      if (out != nullptr) out[size] = c;
      ++size;
    }
  }
  constexpr void quoted(std::string_view s) {
    add("\"");
    add(s);
    add("\"");
  }
  constexpr void number(std::size_t n) {
    char digits[20]{};
    std::size_t k = 0;
    do {
      digits[k++] = static_cast<char>('0' + n % 10);
      n /= 10;
    } while (n != 0);
    while (k > 0) add(std::string_view(&digits[--k], 1));
  }
};

template <auto Build>
struct static_sql {
  static constexpr std::size_t size = [] {
    text_builder b;
    Build(b);
    return b.size;
  }();
  static constexpr auto storage = [] {
    std::array<char, size + 1> buffer{};
    text_builder b{buffer.data(), 0};
    Build(b);
    return buffer;
  }();
  static constexpr std::string_view value{storage.data(), size};
};

template <Table T>
struct table_sql {
  static_assert(safe_identifier(T::keel_table),
                "keel::sql: keel_table must be a non-empty name without quotes");
  static_assert(primary_key_index<T>() < keel::field_count<T>,
                "keel::sql: the table DTO has no primary key field (name it `id` or set keel_primary_key)");
  static constexpr auto& names = keel::detail::cpp_field_names<T>;
  static constexpr std::size_t key = primary_key_index<T>();

  static constexpr void columns(text_builder& b) {
    for (std::size_t i = 0; i < names.size(); ++i) {
      if (i > 0) b.add(", ");
      b.quoted(names[i]);
    }
  }
  static constexpr std::string_view select_all = static_sql<[](text_builder& b) {
    b.add("SELECT ");
    columns(b);
    b.add(" FROM ");
    b.quoted(T::keel_table);
  }>::value;
  static constexpr std::string_view find_by_key = static_sql<[](text_builder& b) {
    b.add(select_all);
    b.add(" WHERE ");
    b.quoted(names[key]);
    b.add(" = ?");
  }>::value;
  static constexpr std::string_view insert = static_sql<[](text_builder& b) {
    b.add("INSERT INTO ");
    b.quoted(T::keel_table);
    b.add(" (");
    bool first = true;
    for (std::size_t i = 0; i < names.size(); ++i) {
      if (generated_key<T> && i == key) continue;
      if (!first) b.add(", ");
      first = false;
      b.quoted(names[i]);
    }
    b.add(") VALUES (");
    first = true;
    for (std::size_t i = 0; i < names.size(); ++i) {
      if (generated_key<T> && i == key) continue;
      b.add(first ? "?" : ", ?");
      first = false;
    }
    b.add(") RETURNING ");
    b.quoted(names[key]);
  }>::value;
  static constexpr std::string_view update = static_sql<[](text_builder& b) {
    b.add("UPDATE ");
    b.quoted(T::keel_table);
    b.add(" SET ");
    bool first = true;
    for (std::size_t i = 0; i < names.size(); ++i) {
      if (i == key) continue;
      if (!first) b.add(", ");
      first = false;
      b.quoted(names[i]);
      b.add(" = ?");
    }
    b.add(" WHERE ");
    b.quoted(names[key]);
    b.add(" = ?");
  }>::value;
  static constexpr std::string_view remove = static_sql<[](text_builder& b) {
    b.add("DELETE FROM ");
    b.quoted(T::keel_table);
    b.add(" WHERE ");
    b.quoted(names[key]);
    b.add(" = ?");
  }>::value;
};

template <auto Member>
consteval std::string_view member_pointer_text() {
  return __PRETTY_FUNCTION__;
}

// `&article::author_id` -> "author_id", from the compiler's spelling of the template argument.
template <auto Member>
consteval std::string_view member_name() {
  std::string_view text = member_pointer_text<Member>();
  std::size_t end = text.find_first_of(";]", text.find("Member = "));
  std::size_t begin = end;
  while (begin > 0 && is_identifier_char(text[begin - 1])) --begin;
  return text.substr(begin, end - begin);
}

template <class M>
struct member_traits;
template <class C, class V>
struct member_traits<V C::*> {
  using class_type = C;
  using value_type = V;
};

}  // namespace detail

// A WHERE condition: SQL text over quoted columns with `?` placeholders, and the values for them.
struct condition {
  std::string text;
  param_list params;

  friend condition operator&&(condition a, condition b) {
    return combine(std::move(a), " AND ", std::move(b));
  }
  friend condition operator||(condition a, condition b) {
    return combine(std::move(a), " OR ", std::move(b));
  }
  friend condition operator!(condition a) {
    a.text = "NOT (" + a.text + ")";
    return a;
  }

 private:
  static condition combine(condition a, std::string_view op, condition b) {
    condition out{"(" + a.text + ")" + std::string(op) + "(" + b.text + ")", std::move(a.params)};
    for (const sql_value& v : b.params.values()) out.params.push(v);
    return out;
  }
};

enum class direction { asc, desc };
inline constexpr direction asc = direction::asc;
inline constexpr direction desc = direction::desc;

// A column of a table DTO, named by its member pointer: field<&article::title>.
template <auto Member>
struct column {
  using class_type = typename detail::member_traits<decltype(Member)>::class_type;
  using value_type = typename detail::member_traits<decltype(Member)>::value_type;
  static constexpr std::string_view name = detail::member_name<Member>();
  static constexpr std::string_view quoted =
      detail::static_sql<[](detail::text_builder& b) { b.quoted(name); }>::value;

  template <class V>
  condition compare(std::string_view op, const V& v) const {
    condition c{std::string(quoted) + std::string(op) + "?", {}};
    c.params.add(v);
    return c;
  }
  template <class V>
  friend condition operator==(column c, const V& v) {
    return c.compare(" = ", v);
  }
  template <class V>
  friend condition operator!=(column c, const V& v) {
    return c.compare(" <> ", v);
  }
  template <class V>
  friend condition operator<(column c, const V& v) {
    return c.compare(" < ", v);
  }
  template <class V>
  friend condition operator<=(column c, const V& v) {
    return c.compare(" <= ", v);
  }
  template <class V>
  friend condition operator>(column c, const V& v) {
    return c.compare(" > ", v);
  }
  template <class V>
  friend condition operator>=(column c, const V& v) {
    return c.compare(" >= ", v);
  }

  condition like(std::string_view pattern) const { return compare(" LIKE ", pattern); }
  condition is_null() const { return {std::string(quoted) + " IS NULL", {}}; }
  condition is_not_null() const { return {std::string(quoted) + " IS NOT NULL", {}}; }
  // `IN (?, ?, ...)` with one bound value per element; an empty range matches nothing.
  template <class Range>
  condition in(const Range& values) const {
    condition c;
    c.text = std::string(quoted) + " IN (";
    bool first = true;
    for (const auto& v : values) {
      c.text += first ? "?" : ", ?";
      first = false;
      c.params.add(v);
    }
    if (first) return {"1 = 0", {}};
    c.text += ")";
    return c;
  }
};

template <auto Member>
inline constexpr column<Member> field{};

template <Table T>
class select_query {
 public:
  using row_type = T;
  static constexpr bool is_read = true;

  // Conditions given in several calls are ANDed.
  select_query& where(condition c) {
    if (where_)
      *where_ = std::move(*where_) && std::move(c);
    else
      where_ = std::move(c);
    built_ = false;
    return *this;
  }
  template <auto Member>
  select_query& order_by(column<Member>, direction d = direction::asc) {
    static_assert(std::is_same_v<typename column<Member>::class_type, T>,
                  "keel::sql: order_by a field of another table");
    order_ += order_.empty() ? " ORDER BY " : ", ";
    order_ += column<Member>::quoted;
    order_ += d == direction::asc ? " ASC" : " DESC";
    built_ = false;
    return *this;
  }
  select_query& limit(std::int64_t n) {
    limit_ = n;
    built_ = false;
    return *this;
  }
  select_query& offset(std::int64_t n) {
    offset_ = n;
    built_ = false;
    return *this;
  }

  std::string_view sql() const {
    build();
    return text_;
  }
  const param_list& params() const {
    build();
    return params_;
  }

 private:
  void build() const {
    if (built_) return;
    text_ = detail::table_sql<T>::select_all;
    params_ = param_list{};
    if (where_) {
      text_ += " WHERE ";
      text_ += where_->text;
      params_ = where_->params;
    }
    text_ += order_;
    // SQLite accepts OFFSET only after a LIMIT; the largest int64 means "no limit" on both engines.
    if (limit_ || offset_) {
      text_ += " LIMIT ?";
      params_.add(limit_.value_or(std::numeric_limits<std::int64_t>::max()));
    }
    if (offset_) {
      text_ += " OFFSET ?";
      params_.add(*offset_);
    }
    built_ = true;
  }

  std::optional<condition> where_;
  std::string order_;
  std::optional<std::int64_t> limit_;
  std::optional<std::int64_t> offset_;
  mutable std::string text_;
  mutable param_list params_;
  mutable bool built_ = false;
};

template <Table T>
select_query<T> select() {
  return {};
}

// A statement whose text is a compile-time constant and whose values were captured when it was made.
template <class Row, bool Read>
struct fixed_query {
  using row_type = Row;
  static constexpr bool is_read = Read;
  std::string_view text;
  param_list values;
  std::string_view sql() const noexcept { return text; }
  const param_list& params() const noexcept { return values; }
};

// SELECT ... WHERE <primary key> = ?  (use with fetch_one)
template <Table T, class Key>
fixed_query<T, true> find(const Key& key) {
  fixed_query<T, true> q{detail::table_sql<T>::find_by_key, {}};
  q.values.add(key);
  return q;
}

// INSERT ... RETURNING <primary key>; an integral key is left to the database. fetch_one returns the key.
template <Table T>
fixed_query<detail::primary_key_type<T>, false> insert(const T& row) {
  fixed_query<detail::primary_key_type<T>, false> q{detail::table_sql<T>::insert, {}};
  keel::for_each_field(row, [&](auto index, const auto& value) {
    if (!(detail::generated_key<T> && decltype(index)::value == detail::table_sql<T>::key))
      q.values.add(value);
  });
  return q;
}

// UPDATE every column but the key, WHERE key = row's key. run() returns the rows changed (0: no such row).
template <Table T>
fixed_query<std::int64_t, false> update(const T& row) {
  fixed_query<std::int64_t, false> q{detail::table_sql<T>::update, {}};
  keel::for_each_field(row, [&](auto index, const auto& value) {
    if (decltype(index)::value != detail::table_sql<T>::key) q.values.add(value);
  });
  q.values.add(boost::pfr::get<detail::table_sql<T>::key>(row));
  return q;
}

// DELETE WHERE key = ?. run() returns the rows deleted.
template <Table T, class Key>
fixed_query<std::int64_t, false> remove(const Key& key) {
  fixed_query<std::int64_t, false> q{detail::table_sql<T>::remove, {}};
  q.values.add(key);
  return q;
}

// Loads the rows of Related whose KeyMember is among rows' `foreign` values, in ONE query
// (`WHERE key IN (...)`), keyed by that value: the cure for N+1 when showing a page of rows with a relation.
//   auto authors = co_await sql::load_related<&author::id>(db, articles, &article::author_id);
//   authors.at(a.author_id).name
template <auto KeyMember, class Executor, class Rows, class Foreign>
auto load_related(Executor& executor, const Rows& rows, Foreign foreign) -> task<
    std::unordered_map<typename column<KeyMember>::value_type, typename column<KeyMember>::class_type>> {
  using related = typename column<KeyMember>::class_type;
  using key_type = typename column<KeyMember>::value_type;
  std::vector<key_type> keys;
  for (const auto& row : rows) {
    const auto& value = row.*foreign;
    if constexpr (is_optional_v<std::remove_cvref_t<decltype(value)>>) {
      if (value) keys.push_back(*value);
    } else {
      keys.push_back(value);
    }
  }
  std::sort(keys.begin(), keys.end());
  keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
  std::unordered_map<key_type, related> out;
  if (keys.empty()) co_return out;
  auto query = select<related>().where(field<KeyMember>.in(keys));
  for (related& r : co_await executor.fetch(query)) {
    key_type key = r.*KeyMember;
    out.emplace(std::move(key), std::move(r));
  }
  co_return out;
}

}  // namespace keel::inline v0::sql
