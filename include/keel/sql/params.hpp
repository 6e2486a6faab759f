// keel::sql::param_list: parameters captured as values at build time (the typed query builder's), bound
// later.
#pragma once

#include "keel/config.hpp"
#include "keel/sql/connection.hpp"
#include "keel/sql/value.hpp"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace keel {
inline namespace v0 {
namespace sql {

using sql_value = std::variant<std::nullptr_t, std::int64_t, double, std::string, bool>;

class param_list {
 public:
  // Converts v through value_traits<T>::bind, so a builder parameter binds exactly like a raw one.
  template <class T>
  void add(const T& v);

  void bind(statement& s) const {
    int index = 0;
    for (const sql_value& v : values_) {
      ++index;
      std::visit(
          [&](const auto& x) {
            using X = std::decay_t<decltype(x)>;
            if constexpr (std::is_same_v<X, std::nullptr_t>)
              s.bind_null(index);
            else if constexpr (std::is_same_v<X, std::int64_t>)
              s.bind_int64(index, x);
            else if constexpr (std::is_same_v<X, double>)
              s.bind_double(index, x);
            else if constexpr (std::is_same_v<X, std::string>)
              s.bind_text(index, x);
            else
              s.bind_bool(index, x);
          },
          v);
    }
  }
  std::size_t size() const noexcept { return values_.size(); }
  const std::vector<sql_value>& values() const noexcept { return values_; }
  void push(sql_value v) { values_.push_back(std::move(v)); }
  void reserve(std::size_t n) { values_.reserve(n); }

 private:
  std::vector<sql_value> values_;
};

namespace detail {

// A statement that only records what value_traits bind into it.
class recording_statement final : public statement {
 public:
  explicit recording_statement(param_list& out) : out_(out) {}
  void bind_null(int) override { out_.push(nullptr); }
  void bind_int64(int, std::int64_t v) override { out_.push(v); }
  void bind_double(int, double v) override { out_.push(v); }
  void bind_text(int, std::string_view v) override { out_.push(std::string(v)); }
  void bind_bool(int, bool v) override { out_.push(v); }
  bool step() override { return false; }
  void reset() override {}
  int column_count() const override { return 0; }
  std::string_view column_name(int) const override { return {}; }
  value_kind column_kind(int) const override { return value_kind::null; }
  std::int64_t column_int64(int) const override { return 0; }
  double column_double(int) const override { return 0; }
  std::string_view column_text(int) const override { return {}; }
  bool column_bool(int) const override { return false; }
  std::int64_t rows_affected() const override { return 0; }

 private:
  param_list& out_;
};

}  // namespace detail

template <class T>
void param_list::add(const T& v) {
  detail::recording_statement recorder(*this);
  value_traits<std::remove_cvref_t<T>>::bind(recorder, static_cast<int>(values_.size()) + 1, v);
}

}  // namespace sql
}  // namespace v0
}  // namespace keel
