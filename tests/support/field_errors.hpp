// Test helper: whether an error response lists a field entry for `path` at `location`.
#pragma once

#include "keel/test_client.hpp"

#include <string>
#include <string_view>

namespace keel_test {

inline bool has_field(const keel::test_response& r, std::string_view location, std::string_view path) {
  std::string needle = R"({"location":")" + std::string(location) + R"(","path":")" + std::string(path) + '"';
  return r.body.find(needle) != std::string::npos;
}

}  // namespace keel_test
