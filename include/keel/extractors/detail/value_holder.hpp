// The value every typed extractor hands to the handler, with pointer-like access (`*q`, `q->limit`).
#pragma once

#include "keel/config.hpp"

namespace keel {
inline namespace v0 {
namespace detail {

// Extractors derive from it and add what the OpenAPI generator reads (keel_dto, keel_location, keel_name).
template <class T>
struct value_holder {
  using value_type = T;

  T value{};

  T& operator*() & noexcept { return value; }
  const T& operator*() const& noexcept { return value; }
  T* operator->() noexcept { return &value; }
  const T* operator->() const noexcept { return &value; }
};

}  // namespace detail
}  // namespace v0
}  // namespace keel
