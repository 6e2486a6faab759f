// keel::fixed_string: a string usable as a template argument (route paths, header names, validator patterns).
#pragma once

#include "keel/config.hpp"

#include <cstddef>
#include <string_view>

namespace keel {
inline namespace v0 {

template <std::size_t N>
struct fixed_string {
  char data[N]{};  // includes the terminating NUL

  constexpr fixed_string() = default;
  constexpr fixed_string(const char (&s)[N]) {  // NOLINT: implicit so that get<"/x"> works
    for (std::size_t i = 0; i < N; ++i) data[i] = s[i];
  }
  static constexpr std::size_t size() { return N - 1; }
  constexpr std::string_view view() const { return {data, N - 1}; }
  constexpr operator std::string_view() const { return view(); }  // NOLINT
  template <std::size_t M>
  constexpr bool operator==(const fixed_string<M>& o) const {
    return view() == o.view();
  }
};

template <std::size_t A, std::size_t B>
constexpr fixed_string<A + B - 1> operator+(const fixed_string<A>& a, const fixed_string<B>& b) {
  fixed_string<A + B - 1> r;
  for (std::size_t i = 0; i + 1 < A; ++i) r.data[i] = a.data[i];
  for (std::size_t i = 0; i < B; ++i) r.data[A - 1 + i] = b.data[i];
  return r;
}

}  // namespace v0
}  // namespace keel
