// keel::nullable<T>: a JSON field with three states, for partial updates (PATCH): left out (absent), sent as
// `null` (clear it), or sent with a value (set it). A std::optional<T> field has only two: absent or a value;
// a `null` for it is a 422 (see docs/guide.md, "Absent, null and optional fields").
//   struct todo_patch { keel::nullable<keel::range<int, 0, 5>> priority; };
//   in.priority.apply_to(row.priority);   // absent: unchanged; null: reset; a value: set
// The OpenAPI schema of a nullable<T> field is T's or null, and the field is not required.
#pragma once

#include "keel/config.hpp"

#include <cstddef>
#include <optional>
#include <utility>

namespace keel {
inline namespace v0 {

template <class T>
class nullable {
 public:
  using value_type = T;

  nullable() = default;                                       // absent
  nullable(std::nullptr_t) noexcept : state_(state::null) {}  // NOLINT(google-explicit-constructor)
  nullable(T value)
      : state_(state::value), value_(std::move(value)) {}  // NOLINT(google-explicit-constructor)

  bool is_absent() const noexcept { return state_ == state::absent; }
  bool is_null() const noexcept { return state_ == state::null; }
  bool has_value() const noexcept { return state_ == state::value; }
  explicit operator bool() const noexcept { return has_value(); }

  // Only when has_value().
  T& operator*() noexcept { return *value_; }
  const T& operator*() const noexcept { return *value_; }
  T* operator->() noexcept { return &*value_; }
  const T* operator->() const noexcept { return &*value_; }

  void set_null() noexcept {
    state_ = state::null;
    value_.reset();
  }
  T& emplace() {
    state_ = state::value;
    return value_.emplace();
  }

  // What a PATCH does to the stored value: absent leaves it, null clears it, a value replaces it (converted,
  // so a nullable<keel::range<int, 0, 5>> applies to a std::optional<int>).
  template <class U>
  void apply_to(std::optional<U>& target) const {
    if (is_null())
      target.reset();
    else if (has_value())
      target = static_cast<const U&>(*value_);
  }

  friend bool operator==(const nullable&, const nullable&) = default;

 private:
  enum class state : unsigned char { absent, null, value };
  state state_ = state::absent;
  std::optional<T> value_;
};

namespace detail {
template <class T>
inline constexpr bool is_nullable = false;
template <class T>
inline constexpr bool is_nullable<nullable<T>> = true;
}  // namespace detail

}  // namespace v0
}  // namespace keel
