// Validators as types: each built-in rule on its own, through the reader (paths, reasons, all violations),
// composition, a user rule, a user Validator type, cross-field validate(), and the constraint metadata.
#include "keel/validate/rules.hpp"
#include "keel/json/reader.hpp"

#include <catch2/catch.hpp>

#include <optional>
#include <string>
#include <vector>

namespace validate_test {

struct even {
  static constexpr keel::constraints constraints{};
  static std::string_view check(int v) { return v % 2 == 0 ? "" : "must be even"; }
};

// A Validator written from scratch rather than with keel::validated.
class port {
 public:
  using value_type = int;
  int& get() { return value_; }
  const int& get() const { return value_; }
  std::string_view check() const { return value_ >= 1 && value_ <= 65535 ? "" : "must be a TCP port"; }

 private:
  int value_ = 0;
};

struct new_article {
  keel::text<1, 12> title;
  std::optional<keel::range<int, 0, 5>> priority;
  keel::pattern<"^[a-z0-9-]+$"> slug;
  keel::email author;
  keel::one_of<"draft", "published"> state;
  keel::sized<std::vector<std::string>, 0, 2> tags;
  keel::non_empty<std::vector<int>> ids;
  keel::uuid request;
  keel::url homepage;
  keel::validated<int, even> count;
  port listen;
  keel::validated<std::string, keel::rules::length<3, 8>, keel::rules::matches<"^[a-z]+$">> login;
};

struct date_range {
  int from;
  int to;
  std::vector<keel::json_io::error> validate() const {
    if (from <= to) return {};
    return {{"to", "must not be before from"}};
  }
};

struct booking {
  std::string guest;
  std::vector<date_range> stays;
};

constexpr std::string_view valid_article = R"({"title":"Hello","priority":3,"slug":"hello-world",
  "author":"jake@example.com","state":"draft","tags":["a"],"ids":[1],
  "request":"123e4567-e89b-12d3-a456-426614174000","homepage":"https://example.com/x?y=1",
  "count":4,"listen":8080,"login":"jake"})";

}  // namespace validate_test

using namespace validate_test;
using errors = std::vector<keel::json_io::error>;

TEST_CASE("text counts code points", "[validate]") {
  CHECK(keel::text<1, 5>{"h\xc3\xa9llo"}.check().empty());  // héllo: 5 code points, 6 bytes
  CHECK(keel::text<1, 5>{"h\xc3\xa9lloo"}.check() == "length must be 1..5");
  CHECK(keel::text<1, 5>{""}.check() == "length must be 1..5");
  CHECK(keel::text<2>{"a"}.check() == "length must be at least 2");
  CHECK(keel::text<0, 2>{"abc"}.check() == "length must be at most 2");
  CHECK(keel::text<0, 2>{"\xf0\x9f\x98\x80\xf0\x9f\x98\x80"}.check().empty());
}

TEST_CASE("range is inclusive and works for every arithmetic type", "[validate]") {
  CHECK(keel::range<int, 0, 5>{0}.check().empty());
  CHECK(keel::range<int, 0, 5>{5}.check().empty());
  CHECK(keel::range<int, 0, 5>{6}.check() == "must be between 0 and 5");
  CHECK(keel::range<int, -10, -1>{0}.check() == "must be between -10 and -1");
  CHECK(keel::range<unsigned, 1, 3>{0u}.check() == "must be between 1 and 3");
  CHECK(keel::range<std::int64_t, 0, 9000000000>{8000000000}.check().empty());
  CHECK(keel::range<double, 0, 1>{0.5}.check().empty());
  CHECK(keel::range<double, 0, 1>{1.5}.check() == "must be between 0 and 1");
  CHECK_FALSE(keel::range<double, 0, 1>{std::nan("")}.check().empty());
}

TEST_CASE("pattern searches with ECMAScript syntax", "[validate]") {
  CHECK(keel::pattern<"^[a-z]+$">{"abc"}.check().empty());
  CHECK(keel::pattern<"^[a-z]+$">{"abC"}.check() == "must match pattern ^[a-z]+$");
  CHECK(keel::pattern<"\\d{3}">{"ab123cd"}.check().empty());  // unanchored, as JSON Schema
}

TEST_CASE("formats: email, uuid, url", "[validate]") {
  for (auto good : {"a@b.co", "first.last+tag@sub.example.org", "x_y@host-name.io"})
    CHECK(keel::email{good}.check().empty());
  for (auto bad : {"", "plain", "@b.co", "a@", "a@b", "a b@c.de", "a@@b.co", ".a@b.co", "a..b@c.de",
                   "a@-b.co", "a@b..co"})
    CHECK(keel::email{bad}.check() == "must be an email address");
  CHECK(keel::uuid{"123E4567-e89b-12d3-a456-426614174000"}.check().empty());
  for (auto bad : {"123e4567e89b12d3a456426614174000", "123e4567-e89b-12d3-a456-42661417400g", ""})
    CHECK_FALSE(keel::uuid{bad}.check().empty());
  for (auto good : {"http://a", "https://example.com", "https://example.com:8443/p?q=1#f", "http://[::1]:80/",
                    "HTTP://user@host.org/x", "http://127.0.0.1"})
    CHECK(keel::url{good}.check().empty());
  for (auto bad : {"example.com", "ftp://x.org", "http://", "http://a b", "http://host:port",
                   "http://host:123456", "https://-x.org", "http://[::1"})
    CHECK(keel::url{bad}.check() == "must be an http or https URL");
}

TEST_CASE("one_of, non_empty, sized", "[validate]") {
  CHECK(keel::one_of<"a", "b">{"b"}.check().empty());
  CHECK(keel::one_of<"a", "b">{"c"}.check() == "must be one of: a, b");
  CHECK(keel::non_empty<std::vector<int>>{}.check() == "must not be empty");
  CHECK(keel::non_empty<std::string>{"x"}.check().empty());
  CHECK(keel::sized<std::vector<int>, 1, 2>{std::vector<int>{1, 2, 3}}.check() == "must have 1..2 items");
  CHECK(keel::sized<std::vector<int>, 2>{std::vector<int>{1}}.check() == "must have at least 2 items");
  CHECK(keel::sized<std::vector<int>, 0, 1>{std::vector<int>{1, 2}}.check() == "must have at most 1 items");
}

TEST_CASE("validators behave like their value", "[validate]") {
  keel::text<1, 10> title = "abc";
  CHECK(title == "abc");
  CHECK(title->size() == 3);
  std::string_view view = *title;
  CHECK(view == "abc");
  const std::string& ref = title;
  CHECK(ref == "abc");
  CHECK(keel::text<1, 10>{"a"} == keel::text<1, 10>{"a"});
  CHECK_FALSE(keel::text<1, 10>{"a"} == keel::text<1, 10>{"b"});
  keel::range<int, 0, 5> n = 3;
  CHECK(n == 3);
  CHECK(*n + 1 == 4);
}

TEST_CASE("a valid DTO reads and writes as plain JSON", "[validate]") {
  auto r = keel::json_io::read<new_article>(valid_article);
  REQUIRE(r.ok());
  CHECK(r->title == "Hello");
  CHECK(r->priority.has_value());
  CHECK(*r->priority.value() == 3);
  CHECK(r->listen.get() == 8080);
  CHECK(keel::json_io::to_string(*r) ==
        R"({"title":"Hello","priority":3,"slug":"hello-world","author":"jake@example.com","state":"draft",)"
        R"("tags":["a"],"ids":[1],"request":"123e4567-e89b-12d3-a456-426614174000",)"
        R"("homepage":"https://example.com/x?y=1","count":4,"listen":8080,"login":"jake"})");
}

TEST_CASE("every violation is reported with its path", "[validate]") {
  auto r = keel::json_io::read<new_article>(std::string_view(
      R"({"title":"","priority":9,"slug":"Not Valid","author":"nobody","state":"gone","tags":["a","b","c"],)"
      R"("ids":[],"request":"nope","homepage":"ftp://x","count":3,"listen":70000,"login":"ab"})"));
  REQUIRE_FALSE(r.ok());
  CHECK_FALSE(r.syntax_error());
  CHECK(r.errors() == errors{
                          {"title", "length must be 1..12"},
                          {"priority", "must be between 0 and 5"},
                          {"slug", "must match pattern ^[a-z0-9-]+$"},
                          {"author", "must be an email address"},
                          {"state", "must be one of: draft, published"},
                          {"tags", "must have at most 2 items"},
                          {"ids", "must not be empty"},
                          {"request", "must be a UUID (8-4-4-4-12 hex digits)"},
                          {"homepage", "must be an http or https URL"},
                          {"count", "must be even"},
                          {"listen", "must be a TCP port"},
                          {"login", "length must be 3..8"},
                      });
}

TEST_CASE("a type error is reported instead of the validator's verdict", "[validate]") {
  auto r = keel::json_io::read<new_article>(std::string_view(
      R"({"title":5,"slug":"ok","author":"a@b.co","state":"draft","tags":[],"ids":[1],)"
      R"("request":"123e4567-e89b-12d3-a456-426614174000","homepage":"http://a","count":"2","listen":1,"login":"abcd"})"));
  CHECK(r.errors() ==
        errors{{"title", "expected a string, got a number"}, {"count", "expected an integer, got a string"}});
}

TEST_CASE("composed rules report the first one broken", "[validate]") {
  keel::validated<std::string, keel::rules::length<3, 8>, keel::rules::matches<"^[a-z]+$">> login{"ABCD"};
  CHECK(login.check() == "must match pattern ^[a-z]+$");
  login = std::string("ab");
  CHECK(login.check() == "length must be 3..8");
}

TEST_CASE("cross-field validate() runs after the fields read cleanly, paths relative to the DTO",
          "[validate]") {
  auto bad = keel::json_io::read<booking>(
      std::string_view(R"({"guest":"g","stays":[{"from":1,"to":2},{"from":5,"to":3}]})"));
  CHECK(bad.errors() == errors{{"stays[1].to", "must not be before from"}});
  auto ok = keel::json_io::read<booking>(std::string_view(R"({"guest":"g","stays":[{"from":1,"to":2}]})"));
  CHECK(ok.ok());
  auto field_error =
      keel::json_io::read<booking>(std::string_view(R"({"guest":"g","stays":[{"from":5,"to":"x"}]})"));
  CHECK(field_error.errors() == errors{{"stays[0].to", "expected an integer, got a string"}});
}

TEST_CASE("concepts", "[validate]") {
  STATIC_REQUIRE(keel::Validator<keel::text<1, 2>>);
  STATIC_REQUIRE(keel::Validator<port>);
  STATIC_REQUIRE_FALSE(keel::Validator<int>);
  STATIC_REQUIRE(keel::Rule<even, int>);
  STATIC_REQUIRE(keel::Rule<keel::rules::length<1, 2>, std::string>);
  STATIC_REQUIRE_FALSE(keel::Rule<int, int>);
  STATIC_REQUIRE(keel::SelfValidating<date_range>);
  STATIC_REQUIRE_FALSE(keel::SelfValidating<booking>);
  STATIC_REQUIRE(keel::Dto<new_article>);
}

TEST_CASE("constraint metadata for the OpenAPI generator", "[validate]") {
  STATIC_REQUIRE(keel::text<1, 120>::constraints.min_length == 1);
  STATIC_REQUIRE(keel::text<1, 120>::constraints.max_length == 120);
  STATIC_REQUIRE_FALSE(keel::text<0, 5>::constraints.min_length.has_value());
  STATIC_REQUIRE(keel::range<int, -1, 5>::constraints.minimum == -1);
  STATIC_REQUIRE(keel::range<int, -1, 5>::constraints.maximum == 5);
  STATIC_REQUIRE(keel::pattern<"^x$">::constraints.pattern == "^x$");
  STATIC_REQUIRE(keel::email::constraints.format == "email");
  STATIC_REQUIRE(keel::uuid::constraints.format == "uuid");
  STATIC_REQUIRE(keel::url::constraints.format == "uri");
  STATIC_REQUIRE(keel::one_of<"a", "b">::constraints.allowed.size() == 2);
  STATIC_REQUIRE(keel::one_of<"a", "b">::constraints.allowed[1] == "b");
  STATIC_REQUIRE(keel::non_empty<std::vector<int>>::constraints.min_items == 1);
  STATIC_REQUIRE_FALSE(keel::non_empty<std::vector<int>>::constraints.max_items.has_value());
  STATIC_REQUIRE(keel::sized<std::vector<int>, 2, 4>::constraints.max_items == 4);
  using login = keel::validated<std::string, keel::rules::length<3, 8>, keel::rules::matches<"^[a-z]+$">>;
  STATIC_REQUIRE(login::constraints.min_length == 3);
  STATIC_REQUIRE(login::constraints.pattern == "^[a-z]+$");
}
