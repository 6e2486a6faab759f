// The JSON reader on bad input: every class of error, with its path; all field errors of a document at
// once; a syntax error alone.
#include "keel/json/reader.hpp"

#include <catch2/catch.hpp>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace json_read_errors_test {

enum class status { draft, published };

struct item {
  std::string name;
  double price;
  std::uint16_t quantity;
};

struct order {
  std::int64_t id;
  std::vector<item> items;
  std::optional<std::string> note;
  status state;
  std::map<std::string, int> counts;
};

struct strict_item {
  using keel_unknown_fields = keel::reject;
  std::string name;
};

struct narrow {
  std::int8_t i8;
  std::uint8_t u8;
  std::uint32_t u32;
  std::int64_t i64;
  std::uint64_t u64;
};

struct flag {
  bool on;
};

struct nested_list {
  std::vector<nested_list> inner;
};

struct fixed {
  std::array<int, 2> pair;
};

struct clock_holder {
  std::chrono::system_clock::time_point at;
};

struct choice {
  std::variant<int, std::string> v;
};

using errors = std::vector<keel::json_io::error>;

template <class T>
errors errors_of(std::string_view json) {
  auto r = keel::json_io::read<T>(json);
  REQUIRE_FALSE(r.ok());
  return r.errors();
}

template <class T>
keel::json_io::error syntax_error_of(std::string_view json) {
  auto r = keel::json_io::read<T>(json);
  REQUIRE_FALSE(r.ok());
  REQUIRE(r.syntax_error());
  REQUIRE(r.errors().size() == 1);
  return r.errors()[0];
}

}  // namespace json_read_errors_test

using namespace json_read_errors_test;
using keel::json_io::error;

TEST_CASE("all field errors of a document come back together, with paths", "[json]") {
  auto e = errors_of<order>(
      R"({"id":"7","items":[{"name":"a","price":1,"quantity":1},{"name":2,"price":"x","quantity":70000},)"
      R"({"price":3}],"state":"lost","counts":{"a":"b"}})");
  CHECK(e == errors{
                 {"id", "expected an integer, got a string"},
                 {"items[1].name", "expected a string, got a number"},
                 {"items[1].price", "expected a number, got a string"},
                 {"items[1].quantity", "integer out of range 0..65535"},
                 {"items[2].name", "field required"},
                 {"items[2].quantity", "field required"},
                 {"state", "must be one of: draft, published"},
                 {"counts.a", "expected an integer, got a string"},
             });
}

TEST_CASE("missing required fields; optional ones may be missing", "[json]") {
  CHECK(errors_of<order>("{}") == errors{{"id", "field required"},
                                         {"items", "field required"},
                                         {"state", "field required"},
                                         {"counts", "field required"}});
}

TEST_CASE("wrong container types", "[json]") {
  CHECK(
      errors_of<order>(R"({"id":1,"items":{},"state":"draft","counts":[]})") ==
      errors{{"items", "expected an array, got an object"}, {"counts", "expected an object, got an array"}});
  CHECK(errors_of<order>("[]") == errors{{"", "expected an object, got an array"}});
  CHECK(errors_of<std::vector<int>>(R"({"a":1})") == errors{{"", "expected an array, got an object"}});
  CHECK(errors_of<order>("42") == errors{{"", "expected an object"}});
  CHECK(errors_of<flag>(R"({"on":"true"})") == errors{{"on", "expected a boolean, got a string"}});
  CHECK(errors_of<flag>(R"({"on":null})") == errors{{"on", "expected a boolean, got null"}});
}

TEST_CASE("integers: range of the target width, fractions, overflow of 64 bits", "[json]") {
  CHECK(errors_of<narrow>(
            R"({"i8":128,"u8":-1,"u32":4294967296,"i64":9223372036854775808,"u64":18446744073709551616})") ==
        errors{{"i8", "integer out of range -128..127"},
               {"u8", "integer out of range 0..255"},
               {"u32", "integer out of range 0..4294967295"},
               {"i64", "integer out of range -9223372036854775808..9223372036854775807"},
               {"u64", "integer out of range 0..18446744073709551615"}});
  CHECK(errors_of<narrow>(R"({"i8":1.5,"u8":1e2,"u32":1,"i64":1,"u64":1})") ==
        errors{{"i8", "expected an integer, got a fraction"}, {"u8", "expected an integer, got a fraction"}});
}

TEST_CASE("doubles out of range", "[json]") {
  CHECK(errors_of<item>(R"({"name":"n","price":1e400,"quantity":1})") ==
        errors{{"price", "number out of range"}});
}

TEST_CASE("duplicate keys", "[json]") {
  CHECK(errors_of<item>(R"({"name":"a","price":1,"quantity":1,"name":"b"})") ==
        errors{{"name", "duplicate key"}});
  CHECK(errors_of<std::map<std::string, int>>(R"({"k":1,"k":2})") == errors{{"k", "duplicate key"}});
}

TEST_CASE("unknown fields rejected where the DTO asks", "[json]") {
  CHECK(errors_of<strict_item>(R"({"name":"a","extra":1,"more":{"x":[]}})") ==
        errors{{"extra", "unknown field"}, {"more", "unknown field"}});
  CHECK(errors_of<std::vector<strict_item>>(R"([{"name":"a"},{"name":"b","x":null}])") ==
        errors{{"[1].x", "unknown field"}});
}

TEST_CASE("fixed-size arrays need exactly their size", "[json]") {
  CHECK(errors_of<fixed>(R"({"pair":[1]})") == errors{{"pair", "expected 2 elements, got 1"}});
  CHECK(errors_of<fixed>(R"({"pair":[1,2,3]})") == errors{{"pair", "expected 2 elements, got 3"}});
}

TEST_CASE("time points that are not RFC 3339", "[json]") {
  for (std::string_view bad :
       {"\"2026-11-21\"", "\"2026-13-01T00:00:00Z\"", "\"2026-02-30T00:00:00Z\"", "\"2026-11-21T12:00:00\"",
        "\"2026-11-21T25:00:00Z\"", "\"2026-11-21T12:00:00.Z\"", "\"2026-11-21T12:00:00Zjunk\""}) {
    std::string json = std::string(R"({"at":)") + std::string(bad) + "}";
    CAPTURE(json);
    CHECK(errors_of<clock_holder>(json) ==
          errors{{"at", "expected an RFC 3339 date-time such as 2026-11-21T12:00:00Z"}});
  }
}

TEST_CASE("variants with no matching alternative", "[json]") {
  CHECK(errors_of<choice>(R"({"v":true})") ==
        errors{{"v", "expected an integer or a string, got a boolean"}});
}

TEST_CASE("syntax errors are reported alone, replacing field errors found before them", "[json]") {
  CHECK(syntax_error_of<order>(R"({"id":"wrong type","items":[1,)").path.empty());
  for (std::string_view bad :
       {R"({"id":1)", R"({"id":1,})", R"({"id" 1})", R"({"id":1 "x":2})", R"({"id":tru})", R"({"id":nul})",
        R"({"id":01})", R"({"id":-})", R"({"id":"\x"})", R"({"id":"\ud800"})", R"({id:1})", R"({"note":"a)",
        "", "   "}) {
    CAPTURE(bad);
    error e = syntax_error_of<order>(bad);
    CHECK(e.reason.rfind("malformed JSON", 0) == 0);
  }
}

TEST_CASE("malformed values inside ignored or mismatched values are still syntax errors", "[json]") {
  for (std::string_view bad :
       {R"({"name":"a","price":1,"quantity":1,"extra":tru})",
        R"({"name":"a","price":1,"quantity":1,"extra":{"x":[1,nul]}})",
        R"({"name":["a",-],"price":1,"quantity":1})", R"({"name":"a","price":{"x":"\q"},"quantity":1})"}) {
    CAPTURE(bad);
    CHECK(syntax_error_of<item>(bad).reason.rfind("malformed JSON", 0) == 0);
  }
}

TEST_CASE("trailing content after the document", "[json]") {
  CHECK(syntax_error_of<item>(R"({"name":"a","price":1,"quantity":1} x)").reason.rfind("malformed JSON", 0) ==
        0);
  CHECK(syntax_error_of<item>(R"({"name":"a","price":1,"quantity":1}{})").reason.rfind("malformed JSON", 0) ==
        0);
  CHECK(syntax_error_of<std::vector<int>>("[1] [2]").reason.rfind("malformed JSON", 0) == 0);
  CHECK(keel::json_io::read<item>(std::string_view(R"({"name":"a","price":1,"quantity":1}  )"
                                                   "\n"))
            .ok());
}

TEST_CASE("invalid UTF-8 and raw control characters", "[json]") {
  CHECK(syntax_error_of<item>("{\"name\":\"\xff\",\"price\":1,\"quantity\":1}").reason.find("UTF-8") !=
        std::string::npos);
  CHECK(syntax_error_of<item>("{\"name\":\"\xc3\",\"price\":1,\"quantity\":1}").reason.find("UTF-8") !=
        std::string::npos);
  CHECK(
      syntax_error_of<item>("{\"name\":\"\xed\xa0\x80\",\"price\":1,\"quantity\":1}").reason.find("UTF-8") !=
      std::string::npos);  // an encoded surrogate
  CHECK(
      syntax_error_of<item>("{\"name\":\"a\tb\",\"price\":1,\"quantity\":1}").reason.rfind("malformed", 0) ==
      0);
}

TEST_CASE("nesting deeper than the limit", "[json]") {
  std::string deep;
  for (int i = 0; i < 70; ++i) deep += R"({"inner":[)";
  for (int i = 0; i < 70; ++i) deep += "]}";
  auto r = keel::json_io::read<nested_list>(std::string_view(deep));
  REQUIRE_FALSE(r.ok());
  REQUIRE(r.errors().size() == 1);
  CHECK(r.errors()[0].reason == "nesting deeper than 64 levels");
  CHECK(r.errors()[0].path.rfind("inner[0].inner[0]", 0) == 0);
  CHECK(keel::json_io::read<nested_list>(std::string_view(deep), {.max_depth = 200}).ok());

  std::string deep_unknown =
      R"({"name":"a","price":1,"quantity":1,"x":)" + std::string(100, '[') + std::string(100, ']') + "}";
  auto unknown = keel::json_io::read<item>(std::string_view(deep_unknown));
  REQUIRE_FALSE(unknown.ok());
  CHECK(unknown.errors()[0].reason == "nesting deeper than 64 levels");
}

TEST_CASE("errors convert to the framework's 422 / 400", "[json]") {
  auto bad_fields = keel::json_io::read<item>(std::string_view(R"({"name":1,"price":1,"quantity":1})"));
  keel::http_error e = keel::json_io::to_http_error(bad_fields);
  CHECK(e.status() == keel::http::status::unprocessable_content);
  REQUIRE(e.fields().size() == 1);
  CHECK(e.fields()[0].location == "body");
  CHECK(e.fields()[0].path == "name");
  auto malformed = keel::json_io::read<item>(std::string_view("{"));
  CHECK(keel::json_io::to_http_error(malformed).status() == keel::http::status::bad_request);
}
