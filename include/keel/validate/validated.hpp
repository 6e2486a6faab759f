// Validators as types: keel::validated<T, Rules...>, the Rule and Validator concepts, constraint metadata.
#pragma once

#include "keel/config.hpp"

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <type_traits>
#include <utility>

// validated<T, Rules...> wraps a value that must pass its rules when read; the constraints are what the
// OpenAPI generator reads.
//
// A Rule is a type with `static std::string_view check(const T&)` returning "" when the value is fine and
// otherwise a reason with static storage ("length must be 1..120"), and `static constexpr keel::constraints
// constraints` describing it. A Validator is any type the reader can fill and then ask for a verdict:
// `value_type`, `get()` (const and mutable) and `check()` returning the first reason or "". validated<>
// is one; users may write others. Write a custom rule like:
//
//   struct even {
//     static constexpr keel::constraints constraints{};
//     static std::string_view check(int v) { return v % 2 == 0 ? "" : "must be even"; }
//   };
//   struct dto { keel::validated<int, even> n; };

namespace keel {
inline namespace v0 {

// What a rule promises about a value, in JSON Schema terms (empty members: no promise).
struct constraints {
  std::optional<std::size_t> min_length{};  // code points
  std::optional<std::size_t> max_length{};
  std::optional<long long> minimum{};
  std::optional<long long> maximum{};
  std::optional<std::size_t> min_items{};
  std::optional<std::size_t> max_items{};
  std::string_view pattern{};  // ECMA-262 regular expression, unanchored (JSON Schema semantics)
  std::string_view format{};   // "email", "uuid", "uri"
  std::span<const std::string_view> allowed{};  // enum values
};

template <class R, class T>
concept Rule = requires(const T& value) {
  { R::check(value) } -> std::convertible_to<std::string_view>;
  { R::constraints } -> std::convertible_to<constraints>;
};

template <class V>
concept Validator = requires(V& v, const V& cv) {
  typename V::value_type;
  { v.get() } -> std::same_as<typename V::value_type&>;
  { cv.get() } -> std::same_as<const typename V::value_type&>;
  { cv.check() } -> std::convertible_to<std::string_view>;
};

// The constraints of all rules of a validated<> merged into one (later rules fill what earlier ones left).
template <class... Rules>
constexpr constraints merge_constraints() {
  constraints out{};
  auto merge = [&out](const constraints& c) {
    if (c.min_length) out.min_length = c.min_length;
    if (c.max_length) out.max_length = c.max_length;
    if (c.minimum) out.minimum = c.minimum;
    if (c.maximum) out.maximum = c.maximum;
    if (c.min_items) out.min_items = c.min_items;
    if (c.max_items) out.max_items = c.max_items;
    if (!c.pattern.empty()) out.pattern = c.pattern;
    if (!c.format.empty()) out.format = c.format;
    if (!c.allowed.empty()) out.allowed = c.allowed;
  };
  (merge(Rules::constraints), ...);
  return out;
}

template <class T, class... Rules>
requires(Rule<Rules, T>&&...) class validated {
 public:
  using value_type = T;
  static constexpr keel::constraints constraints = merge_constraints<Rules...>();

  validated() = default;
  // Implicit on purpose: a handler builds a response DTO from plain values (`{.title = "x"}`). Only input
  // is checked; output is trusted.
  template <class U>
  requires std::constructible_from<T, U&&> &&
      (!std::same_as<std::remove_cvref_t<U>, validated>)validated(U&& value)
      : value_(std::forward<U>(value)) {}  // NOLINT

  T& get() noexcept { return value_; }
  const T& get() const noexcept { return value_; }
  T& operator*() noexcept { return value_; }
  const T& operator*() const noexcept { return value_; }
  T* operator->() noexcept { return &value_; }
  const T* operator->() const noexcept { return &value_; }
  operator const T&() const noexcept { return value_; }  // NOLINT

  // The first broken rule's reason, or "".
  std::string_view check() const {
    std::string_view reason;
    static_cast<void>(((reason = Rules::check(value_)).empty() && ...));
    return reason;
  }

  friend bool operator==(const validated& a, const T& b) { return a.value_ == b; }
  // A template, so that "abc" never converts to validated for it (which would be ambiguous with the above).
  template <class V>
  requires std::same_as<V, validated>
  friend bool operator==(const validated& a, const V& b) { return a.value_ == b.value_; }

 private:
  T value_{};
};

}  // namespace v0
}  // namespace keel
