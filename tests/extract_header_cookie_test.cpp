// keel::header<"X-Name", T> and keel::cookie<"name", T>: typed values, optional ones, missing and bad ones.
#include "keel/extractors/header.hpp"

#include "keel/extractors/cookie.hpp"

#include "keel/app.hpp"
#include "keel/router/router.hpp"
#include "keel/test_client.hpp"
#include "support/field_errors.hpp"
#include "keel/validate/rules.hpp"

#include <catch2/catch.hpp>

#include <cstdint>
#include <optional>
#include <string>

// Named, not anonymous: enum-name reflection needs enums with linkage (clang).
namespace extract_header_cookie_test {
enum class theme { light, dark };
}  // namespace extract_header_cookie_test
using extract_header_cookie_test::theme;

namespace {

auto make_app() {
  auto api = keel::router{
      keel::get<"/h">([](keel::header<"X-Page", std::uint16_t> page,
                         keel::header<"X-Trace", std::optional<std::string>> trace,
                         keel::header<"X-Debug", std::optional<bool>> debug) {
        return std::to_string(*page) + "|" + trace->value_or("-") + "|" +
               (debug.value ? (*debug.value ? "y" : "n") : "-");
      }),
      keel::get<"/v">(
          [](keel::header<"X-Lang", keel::one_of<"en", "de">> lang) { return std::string(**lang); }),
      keel::get<"/c">(
          [](keel::cookie<"session", std::string> session, keel::cookie<"theme", std::optional<theme>> t) {
            return *session + "|" + (t.value ? (*t.value == theme::dark ? "dark" : "light") : "-");
          }),
  };
  return keel::app{std::move(api)};
}

}  // namespace

TEST_CASE("header<> and cookie<> expose name, type and place for the OpenAPI generator",
          "[extract][header]") {
  using h = keel::header<"X-Page", int>;
  using c = keel::cookie<"session", std::optional<std::string>>;
  STATIC_REQUIRE(h::keel_name == "X-Page");
  STATIC_REQUIRE(h::keel_location == keel::location::header);
  STATIC_REQUIRE(std::is_same_v<h::keel_dto, int>);
  STATIC_REQUIRE(c::keel_name == "session");
  STATIC_REQUIRE(c::keel_location == keel::location::cookie);
  STATIC_REQUIRE(std::is_same_v<c::keel_dto, std::optional<std::string>>);
  // Only single text values: no DTOs, no pointers.
  STATIC_REQUIRE_FALSE(keel::detail::single_text_target<std::vector<int>>);
  STATIC_REQUIRE_FALSE(keel::detail::single_text_target<const char*>);
}

TEST_CASE("header<> converts typed and optional headers", "[extract][header]") {
  auto app = make_app();
  keel::test_client client{app};
  auto r = client.get("/h", {{"X-Page", "7"}});
  CHECK(r.status == 200);
  CHECK(r.body == "7|-|-");
  r = client.get("/h", {{"x-page", "65535"}, {"X-TRACE", "abc def"}, {"X-Debug", "true"}});
  CHECK(r.body == "65535|abc def|y");
  CHECK(client.get("/v", {{"X-Lang", "de"}}).body == "de");
}

TEST_CASE("header<> rejects missing and bad values with a 422 naming the header", "[extract][header]") {
  auto app = make_app();
  keel::test_client client{app};
  auto r = client.get("/h");
  CHECK(r.status == 422);
  CHECK(keel_test::has_field(r, "header", "X-Page"));
  CHECK(r.body.find("required") != std::string::npos);

  r = client.get("/h", {{"X-Page", "65536"}});  // out of range for uint16_t
  CHECK(r.status == 422);
  CHECK(keel_test::has_field(r, "header", "X-Page"));
  CHECK(r.body.find("non-negative integer in range") != std::string::npos);
  CHECK(client.get("/h", {{"X-Page", "-1"}}).status == 422);
  CHECK(client.get("/h", {{"X-Page", "12abc"}}).status == 422);

  r = client.get("/h",
                 {{"X-Page", "1"}, {"X-Debug", "maybe"}});  // an optional header that is present must parse
  CHECK(r.status == 422);
  CHECK(keel_test::has_field(r, "header", "X-Debug"));

  r = client.get("/v", {{"X-Lang", "fr"}});  // validator rules apply
  CHECK(r.status == 422);
  CHECK(keel_test::has_field(r, "header", "X-Lang"));
  CHECK(r.body.find("must be one of: en, de") != std::string::npos);
}

TEST_CASE("cookie<> finds its cookie among others", "[extract][cookie]") {
  auto app = make_app();
  keel::test_client client{app};
  auto r = client.get("/c", {{"Cookie", "a=1; session=s3cr3t; theme=dark"}});
  CHECK(r.status == 200);
  CHECK(r.body == "s3cr3t|dark");
  CHECK(client.get("/c", {{"Cookie", "session=\"quoted\""}}).body == "quoted|-");
  // Several Cookie headers, names case-sensitive.
  CHECK(client.get("/c", {{"Cookie", "SESSION=no"}, {"Cookie", "x=1;session=yes"}}).body == "yes|-");
  CHECK(keel::http::find_cookie("a=1;  b=2 ", "b") == "2");
  CHECK(keel::http::find_cookie("ab=1", "a") == std::nullopt);
  CHECK(keel::http::find_cookie("a", "a") == std::nullopt);
}

TEST_CASE("cookie<> rejects missing and bad cookies with a 422 naming the cookie", "[extract][cookie]") {
  auto app = make_app();
  keel::test_client client{app};
  auto r = client.get("/c");
  CHECK(r.status == 422);
  CHECK(keel_test::has_field(r, "cookie", "session"));
  r = client.get("/c", {{"Cookie", "session=x; theme=blue"}});
  CHECK(r.status == 422);
  CHECK(keel_test::has_field(r, "cookie", "theme"));
  CHECK(r.body.find("must be one of: light, dark") != std::string::npos);
  CHECK_FALSE(keel_test::has_field(r, "cookie", "session"));
}
