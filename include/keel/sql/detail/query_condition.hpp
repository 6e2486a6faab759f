// keel::sql WHERE conditions: typed expressions over field<&T::m> whose SQL text is a compile-time constant,
// and the run-time `condition` for shapes only known at run time (`in(range)`, conditions built in a loop).
#pragma once

#include "keel/config.hpp"
#include "keel/sql/detail/query_text.hpp"
#include "keel/sql/params.hpp"

#include <cstddef>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

namespace keel::inline v0::sql {

namespace detail {

// A condition whose shape (and so whose SQL text) is its type; its values are its members.
template <class E>
concept static_condition = requires(const E& e, param_list& out) {
  typename E::keel_static_condition;
  E::write(std::declval<text_builder&>());
  e.collect(out);
};

}  // namespace detail

// A WHERE condition: SQL text over quoted columns with `?` placeholders, and the values for them. Built at
// run time: what typed expressions turn into when they are combined with one of these.
struct condition {
  std::string text;
  param_list params;

  condition() = default;
  condition(std::string sql_text, param_list values) : text(std::move(sql_text)), params(std::move(values)) {}
  template <detail::static_condition E>
  condition(const E& e) : text(detail::shape_text<E>) {  // NOLINT(google-explicit-constructor): a widening
    e.collect(params);
  }

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
  static constexpr void write(text_builder& b) {
    b.add("(");
    L::write(b);
    b.add(Or ? ") OR (" : ") AND (");
    R::write(b);
    b.add(")");
  }
  void collect(param_list& out) const {
    left.collect(out);
    right.collect(out);
  }
};

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

  auto like(std::string_view pattern) const { return compare<detail::compare_op::like>(pattern); }
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
};

template <auto Member>
inline constexpr column<Member> field{};

}  // namespace keel::inline v0::sql
