// The consumer's program: uses keel through the one public include and checks that it really works.
#include <keel.hpp>

#include <cstdio>
#include <string_view>

namespace {
int failures = 0;

void expect(bool ok, const char* what) {
  if (!ok) {
    std::printf("FAILED: %s\n", what);
    ++failures;
  }
}
}  // namespace

int main() {
  expect(keel::http::parse_method("PATCH") == keel::http::method::patch, "parse_method(PATCH)");
  expect(keel::http::reason_phrase(keel::http::status::not_found) == "Not Found", "reason_phrase(404)");

  auto created = keel::response::json_text(R"({"id":1})", keel::http::status::created);
  created.header("Location", "/todos/1");
  expect(created.status_code() == 201, "json_text status");
  expect(created.header("location") == "/todos/1", "header lookup is case-insensitive");
  expect(created.body() == R"({"id":1})", "json_text body");

  keel::response error;
  keel::render_error<keel::json_error_formatter>(keel::not_found("no such todo"), "req-1", error);
  expect(error.status_code() == 404, "render_error status");
  expect(error.body() ==
             R"({"error":{"status":404,"code":"not_found","message":"no such todo"},"request_id":"req-1"})",
         "render_error body");

  std::printf("keel %s consumer: %s\n", KEEL_VERSION_STRING, failures == 0 ? "ok" : "FAILED");
  return failures == 0 ? 0 : 1;
}
