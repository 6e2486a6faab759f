// Type traits more than one part of keel asks (JSON, OpenAPI, SQL rows, the router), kept in one place.
#pragma once

#include "keel/config.hpp"

#include <optional>

namespace keel {
inline namespace v0 {
namespace detail {

// Whether T is a std::optional.
template <class T>
inline constexpr bool is_optional = false;
template <class T>
inline constexpr bool is_optional<std::optional<T>> = true;

}  // namespace detail
}  // namespace v0
}  // namespace keel
