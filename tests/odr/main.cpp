// ODR check: links a.cpp and b.cpp (both include all of keel) and checks that both behave and share state.
#include "keel/fwd.hpp"

#include <cstdio>
#include <string>
#include <string_view>

std::string odr_a_error_body();
std::string odr_b_describe(std::string_view method_name);
const keel::http::method* odr_a_methods();
const keel::http::method* odr_b_methods();

int main() {
  int failures = 0;
  auto expect = [&](bool ok, const char* what) {
    if (!ok) {
      std::printf("FAILED: %s\n", what);
      ++failures;
    }
  };
  expect(odr_a_error_body() ==
             R"({"error":{"status":404,"code":"not_found","message":"no such todo"},"request_id":"req-a"})",
         "a.cpp renders the error");
  expect(odr_b_describe("DELETE") == "DELETE 201 Created", "b.cpp describes the method and status");
  expect(odr_a_methods() == odr_b_methods(), "an inline variable has one address in both translation units");
  std::printf("odr_test: %s\n", failures == 0 ? "ok" : "FAILED");
  return failures == 0 ? 0 : 1;
}
