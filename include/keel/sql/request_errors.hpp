// keel::sql errors that are no fault of the server, as the HTTP answers a handler's co_await SQL call throws:
// a busy database is 503 with Retry-After, a statement too large for the engine is 413, a value the engine
// cannot store is 422, each in keel's one error shape. Every other sql_error stays as it is (a 500 when a
// handler lets it escape).
#pragma once

#include "keel/config.hpp"
#include "keel/error.hpp"
#include "keel/http/status.hpp"
#include "keel/sql/error.hpp"

#include <exception>

namespace keel {
inline namespace v0 {
namespace sql {
namespace detail {

// What Retry-After says on a 503 for a busy database: a lock is usually held for milliseconds, and a
// client that retries sooner than a second adds to the contention it met.
inline constexpr const char* busy_retry_after_seconds = "1";

// Call inside a catch block: throws the in-flight exception again, as an http_error (with the sql_error
// nested: std::rethrow_if_nested reaches it) when it is one of the kinds above. The engine's message (and its
// SQL) is not put in the response: it goes to whoever logs the nested error.
[[noreturn]] inline void rethrow_for_request() {
  try {
    throw;
  } catch (const busy_error&) {
    http_error busy(http::status::service_unavailable, "the database is busy; retry shortly",
                    "database_busy");
    busy.with_header("Retry-After", busy_retry_after_seconds);
    std::throw_with_nested(std::move(busy));
  } catch (const limit_error&) {
    std::throw_with_nested(http_error(http::status::payload_too_large,
                                      "the request is too large for one database statement",
                                      "request_too_large"));
  } catch (const value_error&) {
    std::throw_with_nested(http_error(http::status::unprocessable_content,
                                      "a value of the request cannot be stored (it holds a NUL character)",
                                      "invalid_value"));
  }
}

}  // namespace detail
}  // namespace sql
}  // namespace v0
}  // namespace keel
