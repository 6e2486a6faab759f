// The media type of a Content-Type value, without parameters or surrounding whitespace.
#pragma once

#include "keel/config.hpp"

#include <string_view>

namespace keel {
inline namespace v0 {
namespace detail {

// "application/json; charset=utf-8" -> "application/json" (case kept: compare with iequals).
constexpr std::string_view media_type_of(std::string_view content_type) noexcept {
  std::string_view type = content_type.substr(0, content_type.find(';'));
  while (!type.empty() && (type.back() == ' ' || type.back() == '\t')) type.remove_suffix(1);
  while (!type.empty() && (type.front() == ' ' || type.front() == '\t')) type.remove_prefix(1);
  return type;
}

}  // namespace detail
}  // namespace v0
}  // namespace keel
