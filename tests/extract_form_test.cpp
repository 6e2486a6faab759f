// keel::form<T>: an application/x-www-form-urlencoded body into a DTO.
#include "keel/extractors/form.hpp"

#include "keel/app.hpp"
#include "keel/router/router.hpp"
#include "keel/test_client.hpp"
#include "support/field_errors.hpp"
#include "keel/validate/rules.hpp"

#include <catch2/catch.hpp>

#include <optional>
#include <string>
#include <vector>

// Named, not anonymous: field-name reflection needs DTOs with linkage (clang).
namespace extract_form_test {

struct signup {
  keel::text<3, 20> user;
  keel::email email;
  std::optional<keel::range<int, 13, 130>> age;
  std::vector<std::string> interest;
  bool newsletter;
};

struct settings {
  bool dark = false;
  int font_size = 12;
  using keel_missing_fields = keel::use_defaults;  // unchecked boxes are simply absent
};

auto make_app() {
  auto api = keel::router{
      keel::post<"/signup">([](keel::form<signup> f) {
        std::string out = *f->user + "|" + *f->email + "|" + (f->age ? std::to_string(**f->age) : "-") + "|";
        for (const auto& i : f->interest) out += i + ",";
        return out + (f->newsletter ? "|yes" : "|no");
      }),
      keel::post<"/settings">([](keel::form<settings> s) {
        return std::string(s->dark ? "dark" : "light") + "/" + std::to_string(s->font_size);
      }),
  };
  return keel::app{std::move(api)};
}

constexpr std::string_view form_type = "application/x-www-form-urlencoded";

bool has_field(const keel::test_response& r, std::string_view path) {
  return keel_test::has_field(r, "form", path);
}

}  // namespace extract_form_test

using namespace extract_form_test;

TEST_CASE("form<T> exposes its DTO and place for the OpenAPI generator", "[extract][form]") {
  STATIC_REQUIRE(std::is_same_v<keel::form<signup>::keel_dto, signup>);
  STATIC_REQUIRE(keel::form<signup>::keel_location == keel::location::form);
}

TEST_CASE("form<T> reads a urlencoded body, '+' as space", "[extract][form]") {
  auto app = make_app();
  keel::test_client client{app};
  auto r = client.post("/signup",
                       "user=ann+lee&email=ann%40example.org&age=30&interest=chess&interest=go&newsletter=1",
                       form_type);
  CHECK(r.status == 200);
  CHECK(r.body == "ann lee|ann@example.org|30|chess,go,|yes");
  r = client.post("/signup", "newsletter=false&email=bo@example.org&user=bob&age=",
                  "application/x-www-form-urlencoded; charset=UTF-8");
  CHECK(r.status == 200);
  CHECK(r.body == "bob|bo@example.org|-||no");
  CHECK(client.post("/settings", "dark=true", form_type).body == "dark/12");
  CHECK(client.post("/settings", "", form_type).body == "light/12");
}

TEST_CASE("form<T> answers 415 to other content types", "[extract][form]") {
  auto app = make_app();
  keel::test_client client{app};
  auto r = client.post("/settings", "dark=true", "application/json");
  CHECK(r.status == 415);
  CHECK(r.body.find("unsupported_media_type") != std::string::npos);
  CHECK(client.post("/settings", "dark=true", "multipart/form-data; boundary=x").status == 415);
}

TEST_CASE("form<T> requires its fields like a JSON body and lists every problem", "[extract][form]") {
  auto app = make_app();
  keel::test_client client{app};
  auto r = client.post("/signup", "", form_type);
  CHECK(r.status == 422);
  CHECK(has_field(r, "user"));
  CHECK(has_field(r, "email"));
  CHECK(has_field(r, "newsletter"));
  CHECK_FALSE(has_field(r, "age"));       // optional
  CHECK_FALSE(has_field(r, "interest"));  // a list may be empty

  r = client.post("/signup", "user=al&email=nope&age=12&newsletter=perhaps", form_type);
  CHECK(r.status == 422);
  CHECK(has_field(r, "user"));
  CHECK(r.body.find("length must be 3..20") != std::string::npos);
  CHECK(has_field(r, "email"));
  CHECK(r.body.find("must be an email address") != std::string::npos);
  CHECK(has_field(r, "age"));
  CHECK(has_field(r, "newsletter"));

  CHECK(client.post("/settings", "font_size=big", form_type).status == 422);
}
