// keel::sql WHERE conditions: typed expressions over field<&T::m> whose SQL text is a compile-time constant,
// and the run-time `condition` for shapes only known at run time (`in(range)`, conditions built in a loop).
#pragma once

#include "keel/config.hpp"
#include "keel/error.hpp"
#include "keel/http/status.hpp"
#include "keel/sql/detail/query_text.hpp"
#include "keel/sql/params.hpp"

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

namespace keel {
inline namespace v0 {
namespace sql {

namespace detail {

// A condition whose shape (and so whose SQL text) is its type; its values are its members.
template <class E>
concept static_condition = requires(const E& e, param_list& out) {
  typename E::keel_static_condition;
  E::write(std::declval<text_builder&>());
  e.collect(out);
};

// How a static condition's text is joined at its top level (condition::chain's values): a logic_node is a
// flat list (1: AND, 2: OR), anything else one term.
template <class E>
inline constexpr unsigned char chain_of = 0;

}  // namespace detail

// A WHERE condition: SQL text over quoted columns with `?` placeholders, and the values for them. Built at
// run time: what typed expressions turn into when they are combined with one of these.
//
// Conditions combined in a loop stay flat: `a && b && c` is `(a) AND (b) AND (c)`, not `((a) AND (b)) AND
// (c)`. Each nested bracket costs the engine's parser a level of its stack (SQLite's overflows at about 100),
// so a loop over request values (`where(has_tag(t))` per `?tag=`) must not nest one level per value.
struct condition {
  // What joins the top level of `text`: one term, or a flat list of bracketed terms.
  enum class chain : unsigned char { single, all, any };

  std::string text;
  param_list params;
  chain joined = chain::single;

  condition() = default;
  condition(std::string sql_text, param_list values) : text(std::move(sql_text)), params(std::move(values)) {}
  template <detail::static_condition E>
  condition(const E& e)  // NOLINT(google-explicit-constructor): a widening
      : text(detail::shape_text<E>), joined(static_cast<chain>(detail::chain_of<E>)) {
    e.collect(params);
  }

  friend condition operator&&(condition a, condition b) {
    return combine(std::move(a), chain::all, std::move(b));
  }
  friend condition operator||(condition a, condition b) {
    return combine(std::move(a), chain::any, std::move(b));
  }
  friend condition operator!(condition a) {
    a.text = "NOT (" + a.text + ")";
    a.joined = chain::single;
    return a;
  }

 private:
  // A side that is already a list joined by the same operator is spliced in as it is (AND and OR are
  // associative); anything else becomes one bracketed term.
  static condition combine(condition a, chain kind, condition b) {
    condition out;
    out.text = a.joined == kind ? std::move(a.text) : "(" + a.text + ")";
    out.text += kind == chain::all ? " AND " : " OR ";
    if (b.joined == kind) {
      out.text += b.text;
    } else {
      out.text += '(';
      out.text += b.text;
      out.text += ')';
    }
    out.params = std::move(a.params);
    out.params.reserve(out.params.size() + b.params.size());
    for (const sql_value& v : b.params.values()) out.params.push(v);
    out.joined = kind;
    return out;
  }
};

namespace detail {

enum class compare_op : unsigned char { eq, ne, lt, le, gt, ge, like };

// Indexed by compare_op.
inline constexpr std::string_view compare_spelling[] = {
    " = ", " <> ", " < ", " <= ", " > ", " >= ", " LIKE "};

// Text is owned (a condition may outlive the string it was given); other values are kept as they are and
// converted by value_traits when bound.
template <class V>
using stored_value =
    std::conditional_t<std::is_convertible_v<const V&, std::string_view>, std::string, std::decay_t<V>>;

template <auto Member, class T>
inline constexpr bool member_of = std::is_same_v<typename member_traits<decltype(Member)>::class_type, T>;

// Each node says whether all of its columns are T's (`over<T>`), so select<T>().where() can check it.
template <auto Member, compare_op Op, class V>
struct compare_node {
  using keel_static_condition = void;
  template <class T>
  static constexpr bool over = member_of<Member, T>;
  V value;
  static constexpr void write(text_builder& b) {
    b.add(quoted_member<Member>);
    b.add(compare_spelling[static_cast<std::size_t>(Op)]);
    b.param();
  }
  void collect(param_list& out) const { out.add(value); }
};

// How contains/starts_with/ends_with place the user's text in the LIKE pattern.
enum class text_match : unsigned char { contains, starts_with, ends_with };

// `lower(col) LIKE lower(?) ESCAPE '\'`: the user's text with its wildcards escaped, so `%` and `_` match
// themselves. lower() on both sides folds letter case the same way on both engines (SQLite's LIKE already
// ignores ASCII case, PostgreSQL's does not), and keeps one engine-neutral, compile-time text.
template <auto Member, text_match Match>
struct text_match_node {
  using keel_static_condition = void;
  template <class T>
  static constexpr bool over = member_of<Member, T>;
  std::string pattern;
  static constexpr void write(text_builder& b) {
    b.add("lower(");
    b.add(quoted_member<Member>);
    b.add(") LIKE lower(");
    b.param();
    b.add(") ESCAPE '\\'");
  }
  void collect(param_list& out) const { out.add(pattern); }
};

// A request's text as a LIKE pattern that matches exactly that text: `\`, `%` and `_` get a `\` before them.
inline std::string like_pattern(std::string_view text, text_match match) {
  std::string out;
  out.reserve(text.size() + 2);
  if (match != text_match::starts_with) out += '%';
  for (char c : text) {
    if (c == '%' || c == '_' || c == '\\') out += '\\';
    out += c;
  }
  if (match != text_match::ends_with) out += '%';
  return out;
}

// A pattern holding a NUL character is refused with a 422 (it comes from a request): SQLite's LIKE stops
// at the NUL, so "x\0anything" would match like "x".
inline void refuse_nul_in_pattern(std::string_view text) {
  if (text.find('\0') != std::string_view::npos)
    throw http_error(http::status::unprocessable_content, "a search pattern must not contain NUL characters",
                     "validation_failed");
}

template <class V>
inline constexpr bool is_text_column =
    std::is_same_v<V, std::string> || std::is_same_v<V, std::string_view> ||
    std::is_same_v<V, std::optional<std::string>> || std::is_same_v<V, std::optional<std::string_view>>;

template <auto Member, bool Negated>
struct null_node {
  using keel_static_condition = void;
  template <class T>
  static constexpr bool over = member_of<Member, T>;
  static constexpr void write(text_builder& b) {
    b.add(quoted_member<Member>);
    b.add(Negated ? " IS NOT NULL" : " IS NULL");
  }
  void collect(param_list&) const {}
};

template <class L, class R, bool Or>
struct logic_node {
  using keel_static_condition = void;
  template <class T>
  static constexpr bool over = L::template over<T>&& R::template over<T>;
  L left;
  R right;
  // Flat like condition's lists: `a && b && c` is `(a) AND (b) AND (c)`, the text a loop builds at run time.
  static constexpr void write(text_builder& b) {
    write_term<L>(b);
    b.add(Or ? " OR " : " AND ");
    write_term<R>(b);
  }
  template <class E>
  static constexpr void write_term(text_builder& b) {
    if constexpr (chain_of<E> == chain_of<logic_node>) {
      E::write(b);
    } else {
      b.add("(");
      E::write(b);
      b.add(")");
    }
  }
  void collect(param_list& out) const {
    left.collect(out);
    right.collect(out);
  }
};

template <class L, class R, bool Or>
inline constexpr unsigned char chain_of<logic_node<L, R, Or>> = Or ? 2 : 1;

template <class E>
struct not_node {
  using keel_static_condition = void;
  template <class T>
  static constexpr bool over = E::template over<T>;
  E inner;
  static constexpr void write(text_builder& b) {
    b.add("NOT (");
    E::write(b);
    b.add(")");
  }
  void collect(param_list& out) const { inner.collect(out); }
};

template <static_condition L, static_condition R>
logic_node<L, R, false> operator&&(L left, R right) {
  return {std::move(left), std::move(right)};
}
template <static_condition L, static_condition R>
logic_node<L, R, true> operator||(L left, R right) {
  return {std::move(left), std::move(right)};
}
template <static_condition E>
not_node<E> operator!(E inner) {
  return {std::move(inner)};
}

}  // namespace detail

// A column of a table DTO, named by its member pointer: field<&article::title>.
template <auto Member>
struct column {
  using class_type = typename detail::member_traits<decltype(Member)>::class_type;
  using value_type = typename detail::member_traits<decltype(Member)>::value_type;
  static constexpr std::string_view name = detail::member_name<Member>();
  static constexpr std::string_view quoted = detail::quoted_member<Member>;

  template <detail::compare_op Op, class V>
  static detail::compare_node<Member, Op, detail::stored_value<V>> compare(const V& v) {
    return {detail::stored_value<V>(v)};
  }
  template <class V>
  friend auto operator==(column, const V& v) {
    return compare<detail::compare_op::eq>(v);
  }
  template <class V>
  friend auto operator!=(column, const V& v) {
    return compare<detail::compare_op::ne>(v);
  }
  template <class V>
  friend auto operator<(column, const V& v) {
    return compare<detail::compare_op::lt>(v);
  }
  template <class V>
  friend auto operator<=(column, const V& v) {
    return compare<detail::compare_op::le>(v);
  }
  template <class V>
  friend auto operator>(column, const V& v) {
    return compare<detail::compare_op::gt>(v);
  }
  template <class V>
  friend auto operator>=(column, const V& v) {
    return compare<detail::compare_op::ge>(v);
  }

  // `pattern` is SQL's: `%` and `_` are wildcards. For text a user typed, use contains / starts_with /
  // ends_with, where they are not. A NUL in the pattern is a 422 (see refuse_nul_in_pattern).
  auto like(std::string_view pattern) const {
    detail::refuse_nul_in_pattern(pattern);
    return compare<detail::compare_op::like>(pattern);
  }

  // The column holds `text` somewhere / at its start / at its end, in any letter case; `%`, `_` and `\` in
  // `text` match themselves. For a search box: `field<&todo::title>.contains(q)`.
  auto contains(std::string_view text) const { return matching<detail::text_match::contains>(text); }
  auto starts_with(std::string_view text) const { return matching<detail::text_match::starts_with>(text); }
  auto ends_with(std::string_view text) const { return matching<detail::text_match::ends_with>(text); }
  detail::null_node<Member, false> is_null() const { return {}; }
  detail::null_node<Member, true> is_not_null() const { return {}; }

  // `IN (?, ?, ...)` with one bound value per element; an empty range matches nothing. The number of
  // placeholders is only known at run time, so this is a run-time condition.
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

 private:
  template <detail::text_match Match>
  static detail::text_match_node<Member, Match> matching(std::string_view text) {
    static_assert(detail::is_text_column<value_type>,
                  "keel::sql: contains/starts_with/ends_with need a text column (std::string)");
    detail::refuse_nul_in_pattern(text);
    return {detail::like_pattern(text, Match)};
  }
};

template <auto Member>
inline constexpr column<Member> field{};

}  // namespace sql
}  // namespace v0
}  // namespace keel
