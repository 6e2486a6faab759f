// keel::secret<T>: a setting (or any value) that is never printed: `config`, --help and error messages show
// "***" in its place, and it has no implicit conversion, so reading it is always a visible reveal().
//   struct settings { keel::secret<std::string> db_password; };
//   connect(s.db_password.reveal());
#pragma once

#include "keel/config.hpp"

#include <concepts>
#include <string_view>
#include <type_traits>
#include <utility>

namespace keel {
inline namespace v0 {

template <class T>
class secret {
 public:
  using value_type = T;
  static constexpr std::string_view redacted = "***";

  secret() = default;
  template <class U>
  requires std::constructible_from<T, U&&> &&(!std::same_as<std::remove_cvref_t<U>, secret>)secret(U&& value)
      : value_(std::forward<U>(value)) {}  // NOLINT: `.password = "x"` in tests and defaults

  T& reveal() noexcept { return value_; }
  const T& reveal() const noexcept { return value_; }

  friend bool operator==(const secret&, const secret&) = default;

 private:
  T value_{};
};

template <class T>
inline constexpr bool is_secret = false;
template <class T>
inline constexpr bool is_secret<secret<T>> = true;

}  // namespace v0
}  // namespace keel
