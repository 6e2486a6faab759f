// keel::query<T>: the query string into a DTO: conversions, defaults, repeated keys, validators, 422 paths.
#include "keel/extractors/query.hpp"

#include "keel/app.hpp"
#include "keel/router/router.hpp"
#include "keel/test_client.hpp"
#include "support/field_errors.hpp"
#include "keel/validate/rules.hpp"

#include <catch2/catch.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

// Named, not anonymous: field-name reflection needs DTOs with linkage (clang).
namespace extract_query_test {

enum class sort_order { newest, oldest };

struct search {
  std::optional<keel::text<1, 50>> q;
  std::vector<std::string> tag;
  keel::range<int, 1, 100> limit = 20;
  std::uint32_t offset = 0;
  std::optional<bool> done;
  sort_order sort = sort_order::newest;
  double min_score = 0.5;
  keel::sized<std::vector<std::int16_t>, 0, 3> ids;
};

// Everything required; unknown keys rejected; a cross-field check.
struct strict_range {
  int from;
  int to;
  using keel_missing_fields = keel::reject;
  using keel_unknown_fields = keel::reject;
  std::vector<keel::json_io::error> validate() const {
    if (from <= to) return {};
    return {{"to", "must not be less than from"}};
  }
};

std::string describe(const search& s) {
  std::string out = s.q ? std::string(**s.q) : "-";
  out += "|";
  for (const auto& t : s.tag) out += t + ",";
  out += "|" + std::to_string(*s.limit) + "|" + std::to_string(s.offset) + "|";
  out += s.done ? (*s.done ? "done" : "open") : "-";
  out += s.sort == sort_order::oldest ? "|oldest|" : "|newest|";
  out += std::to_string(s.min_score).substr(0, 4) + "|" + std::to_string(s.ids->size());
  return out;
}

auto make_app() {
  auto api = keel::router{
      keel::get<"/search">([](keel::query<search> q) { return describe(*q); }),
      keel::get<"/range">(
          [](keel::query<strict_range> r) { return std::to_string(r->from) + ".." + std::to_string(r->to); }),
  };
  return keel::app{std::move(api)};
}

bool has_field(const keel::test_response& r, std::string_view path) {
  return keel_test::has_field(r, "query", path);
}

}  // namespace extract_query_test

using namespace extract_query_test;

TEST_CASE("query<T> exposes its DTO and place for the OpenAPI generator", "[extract][query]") {
  STATIC_REQUIRE(std::is_same_v<keel::query<search>::keel_dto, search>);
  STATIC_REQUIRE(keel::query<search>::keel_location == keel::location::query);
  STATIC_REQUIRE(keel::detail::all_text_fields<search>);
  struct nested {
    search inner;
  };
  STATIC_REQUIRE_FALSE(keel::detail::all_text_fields<nested>);
}

TEST_CASE("query<T> keeps member initializers for absent keys", "[extract][query]") {
  auto app = make_app();
  keel::test_client client{app};
  CHECK(client.get("/search").body == "-||20|0|-|newest|0.50|0");
  CHECK(client.get("/search?").body == "-||20|0|-|newest|0.50|0");
}

TEST_CASE("query<T> converts, decodes and collects repeated keys", "[extract][query]") {
  auto app = make_app();
  keel::test_client client{app};
  auto r = client.get(
      "/search?q=green+tea%21&tag=a&tag=b%20c&limit=5&offset=40&done=false&sort=oldest&min_score=0.75"
      "&ids=1&ids=-2&unknown=ignored&&");
  CHECK(r.status == 200);
  CHECK(r.body == "green tea!|a,b c,|5|40|open|oldest|0.75|2");
  // Keys are decoded too; an empty value for an optional non-text field means "not given".
  CHECK(client.get("/search?%6Cimit=7&done=").body == "-||7|0|-|newest|0.50|0");
}

TEST_CASE("query<T> reports every bad key in one 422", "[extract][query]") {
  auto app = make_app();
  keel::test_client client{app};
  auto r = client.get(
      "/search?limit=0&offset=-1&done=yes&sort=random&min_score=abc&ids=1&ids=99999&ids=3&ids=4&q=");
  CHECK(r.status == 422);
  CHECK(r.body.find("validation_failed") != std::string::npos);
  CHECK(has_field(r, "limit"));
  CHECK(r.body.find("must be between 1 and 100") != std::string::npos);
  CHECK(has_field(r, "offset"));
  CHECK(has_field(r, "done"));
  CHECK(has_field(r, "sort"));
  CHECK(r.body.find("must be one of: newest, oldest") != std::string::npos);
  CHECK(has_field(r, "min_score"));
  CHECK(has_field(r, "ids[1]"));  // the second value of the repeated key
  CHECK(has_field(r, "ids"));     // four values where at most three are allowed
  CHECK(has_field(r, "q"));       // present but empty: text<1, 50> says no
  CHECK_FALSE(has_field(r, "ids[0]"));

  r = client.get("/search?limit=5&limit=6");
  CHECK(r.status == 422);
  CHECK(r.body.find("repeated key") != std::string::npos);
  r = client.get("/search?q=%zz");
  CHECK(r.status == 422);
  CHECK(r.body.find("invalid percent-encoding") != std::string::npos);
  CHECK(client.get("/search?limit=99999999999999999999").status == 422);
}

TEST_CASE("query<T> honours a DTO's own policies and validate()", "[extract][query]") {
  auto app = make_app();
  keel::test_client client{app};
  CHECK(client.get("/range?from=1&to=3").body == "1..3");
  auto r = client.get("/range?from=1");
  CHECK(r.status == 422);
  CHECK(has_field(r, "to"));
  CHECK(r.body.find("field required") != std::string::npos);
  r = client.get("/range?from=1&to=2&extra=1");
  CHECK(r.status == 422);
  CHECK(has_field(r, "extra"));
  CHECK(r.body.find("unknown field") != std::string::npos);
  r = client.get("/range?from=5&to=2");
  CHECK(r.status == 422);
  CHECK(has_field(r, "to"));
  CHECK(r.body.find("must not be less than from") != std::string::npos);
}
