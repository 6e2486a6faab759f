// Whether this process drives an app through keel::test_client: set by its constructor, never cleared. Output
// nobody asked for (keel::access_log's default stderr sink) stays off then, so test runs print only what the
// tests print.
#pragma once

#include "keel/config.hpp"

#include <atomic>

namespace keel {
inline namespace v0 {
namespace detail {

inline std::atomic<bool> running_under_test_client{false};

}  // namespace detail
}  // namespace v0
}  // namespace keel
