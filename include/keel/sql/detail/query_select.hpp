// keel::sql::select<T>(): a SELECT over a table DTO whose text is a compile-time constant while its shape is
// static, and select_query<T>, the run-time builder it becomes when a part is only known at run time.
#pragma once

#include "keel/config.hpp"
#include "keel/sql/detail/query_condition.hpp"
#include "keel/sql/detail/query_table.hpp"
#include "keel/sql/detail/query_text.hpp"
#include "keel/sql/params.hpp"

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

namespace keel {
inline namespace v0 {
namespace sql {

enum class direction { asc, desc };

// asc/desc as types, so an order_by given one of them keeps the query's text a compile-time constant.
template <direction D>
struct direction_constant {
  constexpr operator direction() const noexcept { return D; }  // NOLINT(google-explicit-constructor)
};
inline constexpr direction_constant<direction::asc> asc{};
inline constexpr direction_constant<direction::desc> desc{};

namespace detail {

// SQLite accepts OFFSET only after a LIMIT; the largest int64 means "no limit" on both engines.
inline constexpr std::int64_t no_limit = std::numeric_limits<std::int64_t>::max();

template <class T, auto Member>
constexpr void check_own_column() {
  static_assert(member_of<Member, T>, "keel::sql: order_by a field of another table");
}

}  // namespace detail

// A SELECT assembled at run time: conditions in a loop, `in(range)`, a direction held in a variable.
// Modified in place (`q.where(...)` returns the same query).
template <Table T>
class select_query {
 public:
  using row_type = T;
  static constexpr bool is_read = true;

  select_query() = default;
  select_query(std::optional<condition> where, std::string order, std::optional<std::int64_t> limit,
               std::optional<std::int64_t> offset)
      : where_(std::move(where)), order_(std::move(order)), limit_(limit), offset_(offset) {}

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
    detail::check_own_column<T, Member>();
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
    if (limit_ || offset_) {
      text_ += " LIMIT ?";
      params_.add(limit_.value_or(detail::no_limit));
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

namespace detail {

struct no_where {
  static constexpr void write(text_builder&) {}
  void collect(param_list&) const {}
};

template <auto Member, direction D>
struct order_term {
  static constexpr void write(text_builder& b) {
    b.add(quoted_member<Member>);
    b.add(D == direction::asc ? " ASC" : " DESC");
  }
};

template <class... Terms>
struct order_list {
  static constexpr void write(text_builder& b) {
    bool first = true;
    ((b.add(first ? " ORDER BY " : ", "), Terms::write(b), first = false), ...);
  }
};

template <class List, class Term>
struct append_order;
template <class... Terms, class Term>
struct append_order<order_list<Terms...>, Term> {
  using type = order_list<Terms..., Term>;
};

enum paging : unsigned { has_limit = 1, has_offset = 2 };

template <class T, class Where, class Order, unsigned Paging>
struct select_shape {
  static constexpr void write(text_builder& b) {
    b.add(table_sql<T>::select_all);
    if constexpr (!std::is_same_v<Where, no_where>) {
      b.add(" WHERE ");
      Where::write(b);
    }
    Order::write(b);
    if (Paging != 0) {
      b.add(" LIMIT ");
      b.param();
    }
    if ((Paging & has_offset) != 0) {
      b.add(" OFFSET ");
      b.param();
    }
  }
};

}  // namespace detail

// A SELECT whose shape (conditions, order, whether it has LIMIT/OFFSET) is its type: sql() is one constant
// per shape, and only the values are captured per query. Each call returns a new query (of a new shape):
// chain them, or assign the result. A run-time part (a `condition`, a `direction` variable) turns it into a
// select_query<T>.
template <Table T, class Where = detail::no_where, class Order = detail::order_list<>, unsigned Paging = 0>
class static_select {
 public:
  using row_type = T;
  static constexpr bool is_read = true;
  using shape = detail::select_shape<T, Where, Order, Paging>;

  // The text with the placeholders each engine receives (`?1`, `$1`), as a compile-time constant.
  template <engine E>
  static constexpr std::string_view sql_for = detail::shape_text<shape, detail::placeholders_of(E)>;

  static_select() = default;

  // Conditions given in several calls are ANDed.
  template <detail::static_condition E>
  [[nodiscard]] auto where(E e) && {
    static_assert(E::template over<T>, "keel::sql: where() on a field of another table");
    if constexpr (std::is_same_v<Where, detail::no_where>)
      return reshaped<E, Order, Paging>(std::move(e));
    else
      return reshaped<detail::logic_node<Where, E, false>, Order, Paging>({std::move(where_), std::move(e)});
  }
  template <detail::static_condition E>
  [[nodiscard]] auto where(E e) const& {
    return static_select(*this).where(std::move(e));
  }
  [[nodiscard]] select_query<T> where(condition c) const& {
    select_query<T> q = *this;
    q.where(std::move(c));
    return q;
  }

  template <auto Member, direction D = direction::asc>
  [[nodiscard]] auto order_by(column<Member>, direction_constant<D> = {}) && {
    detail::check_own_column<T, Member>();
    using order = typename detail::append_order<Order, detail::order_term<Member, D>>::type;
    return reshaped<Where, order, Paging>(std::move(where_));
  }
  template <auto Member, direction D = direction::asc>
  [[nodiscard]] auto order_by(column<Member> c, direction_constant<D> d = {}) const& {
    return static_select(*this).order_by(c, d);
  }
  template <auto Member>
  [[nodiscard]] select_query<T> order_by(column<Member> c, direction d) const& {
    select_query<T> q = *this;
    q.order_by(c, d);
    return q;
  }

  [[nodiscard]] auto limit(std::int64_t n) && {
    auto next = reshaped<Where, Order, Paging | detail::has_limit>(std::move(where_));
    next.limit_ = n;
    return next;
  }
  [[nodiscard]] auto limit(std::int64_t n) const& { return static_select(*this).limit(n); }
  [[nodiscard]] auto offset(std::int64_t n) && {
    auto next = reshaped<Where, Order, Paging | detail::has_offset>(std::move(where_));
    next.offset_ = n;
    return next;
  }
  [[nodiscard]] auto offset(std::int64_t n) const& { return static_select(*this).offset(n); }

  std::string_view sql() const noexcept { return detail::shape_text<shape>; }

  // Filled on first use, in placeholder order, with room for exactly the shape's values.
  const param_list& params() const {
    if (built_) return params_;
    params_ = param_list{};
    params_.reserve(detail::text_constant<shape, detail::placeholders::question>::params);
    where_.collect(params_);
    if (Paging != 0) params_.add((Paging & detail::has_limit) != 0 ? limit_ : detail::no_limit);
    if ((Paging & detail::has_offset) != 0) params_.add(offset_);
    built_ = true;
    return params_;
  }

  // The same query, built at run time (to add a run-time part to it).
  operator select_query<T>() const {  // NOLINT(google-explicit-constructor)
    std::optional<condition> where;
    if constexpr (!std::is_same_v<Where, detail::no_where>) where.emplace(where_);
    std::optional<std::int64_t> limit, offset;
    if ((Paging & detail::has_limit) != 0) limit = limit_;
    if ((Paging & detail::has_offset) != 0) offset = offset_;
    return select_query<T>(std::move(where), std::string(detail::shape_text<Order>), limit, offset);
  }

 private:
  template <Table, class, class, unsigned>
  friend class static_select;

  explicit static_select(Where w, std::int64_t limit, std::int64_t offset)
      : where_(std::move(w)), limit_(limit), offset_(offset) {}

  template <class NewWhere, class NewOrder, unsigned NewPaging>
  static_select<T, NewWhere, NewOrder, NewPaging> reshaped(NewWhere w) const {
    return static_select<T, NewWhere, NewOrder, NewPaging>(std::move(w), limit_, offset_);
  }

  [[no_unique_address]] Where where_{};
  std::int64_t limit_ = 0;
  std::int64_t offset_ = 0;
  mutable param_list params_;
  mutable bool built_ = false;
};

template <Table T>
static_select<T> select() {
  return {};
}

}  // namespace sql
}  // namespace v0
}  // namespace keel
