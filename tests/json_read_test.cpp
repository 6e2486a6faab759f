// The JSON reader on valid input: every supported member type, the entry points (padded buffer, std::string
// capacity, copy), round trips through the writer, naming policies, defaults and escaped keys.
#include "keel/json/reader.hpp"
#include "keel/validate/rules.hpp"

#include <catch2/catch.hpp>

#include <array>
#include <chrono>
#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <variant>
#include <vector>

namespace json_read_test {

enum class status { draft, published };

struct author {
  std::string username;
  std::optional<std::string> bio;
};

struct article {
  using keel_naming = keel::camel_case;
  std::int64_t id;
  std::string title;
  std::vector<std::string> tag_list;
  author written_by;
  status state;
  std::optional<int> favorites_count;
  double score;
  bool featured;
  std::chrono::system_clock::time_point created_at;
};

struct widths {
  std::int8_t i8;
  std::uint8_t u8;
  std::int16_t i16;
  std::uint16_t u16;
  std::int32_t i32;
  std::uint32_t u32;
  std::int64_t i64;
  std::uint64_t u64;
  float f;
};

struct containers {
  std::array<int, 3> triple;
  std::map<std::string, int> counts;
  std::unordered_map<std::string, std::vector<std::string>> groups;
  std::vector<std::vector<int>> grid;
  std::vector<author> people;
};

struct shape {
  std::variant<std::int64_t, double, std::string, author, std::vector<int>, bool, std::monostate> value;
};

struct with_defaults {
  using keel_missing_fields = keel::use_defaults;
  int page = 1;
  int per_page = 20;
  std::string sort = "new";
};

struct tree {
  int value;
  std::vector<tree> children;
};

article sample_article() {
  using namespace std::chrono;
  return article{
      .id = 5'000'000'000,
      .title = "Caf\xc3\xa9 \"quoted\" \\ line\nbreak \xf0\x9f\x98\x80",
      .tag_list = {"c++", "json"},
      .written_by = {"jake", "I work at statefarm"},
      .state = status::published,
      .favorites_count = 42,
      .score = 0.1,
      .featured = true,
      .created_at = sys_days{year{2026} / 11 / 21} + 12h + 345ms,
  };
}

bool same(const article& a, const article& b) {
  return a.id == b.id && a.title == b.title && a.tag_list == b.tag_list &&
         a.written_by.username == b.written_by.username && a.written_by.bio == b.written_by.bio &&
         a.state == b.state && a.favorites_count == b.favorites_count && a.score == b.score &&
         a.featured == b.featured && a.created_at == b.created_at;
}

}  // namespace json_read_test

using namespace json_read_test;
using keel::json_io::read;

TEST_CASE("a DTO round-trips through write and read", "[json]") {
  article original = sample_article();
  std::string text = keel::json_io::to_string(original);
  auto result = read<article>(std::string_view(text));
  REQUIRE(result.ok());
  CHECK(same(*result, original));
  CHECK(keel::json_io::to_string(*result) == text);

  auto pretty = read<article>(
      std::string_view(keel::json_io::to_string(original, {.pretty = true, .escape_unicode = true})));
  REQUIRE(pretty.ok());
  CHECK(same(*pretty, original));
}

TEST_CASE("fields in any order, optional fields absent; null for an optional field is refused", "[json]") {
  auto r = read<author>(std::string_view(R"({"bio":"b","username":"x"})"));
  REQUIRE(r.ok());
  CHECK(r->username == "x");
  CHECK(r->bio == "b");
  auto missing = read<author>(std::string_view(R"({"username":"y"})"));
  REQUIRE(missing.ok());
  CHECK_FALSE(missing->bio.has_value());
  // An optional says "may be left out"; read as absent, a null would be a PATCH that changes nothing.
  auto null = read<author>(std::string_view(R"({"bio":null,"username":"x"})"));
  REQUIRE_FALSE(null.ok());
  REQUIRE(null.errors().size() == 1);
  CHECK(null.errors()[0].path == "bio");
  CHECK(null.errors()[0].reason == "must not be null (leave the field out to keep its value)");
}

struct lenient_author {
  using keel_null_fields = keel::as_absent;  // an old client sends null for "not set"
  std::string username;
  std::optional<std::string> bio;
};

struct patch {
  keel::nullable<std::string> bio;
  keel::nullable<keel::range<int, 0, 5>> priority;
  std::optional<std::string> title;
  std::vector<std::optional<int>> scores;  // an array element may be null: the rule is about DTO fields
};

TEST_CASE("keel_null_fields = keel::as_absent reads null for an optional field as absent", "[json]") {
  auto r = read<lenient_author>(std::string_view(R"({"bio":null,"username":"x"})"));
  REQUIRE(r.ok());
  CHECK_FALSE(r->bio.has_value());
}

TEST_CASE("keel::nullable<T>: absent, null and a value are three states", "[json]") {
  auto r = read<patch>(std::string_view(R"({"bio":null,"priority":3,"scores":[1,null]})"));
  REQUIRE(r.ok());
  CHECK(r->bio.is_null());
  CHECK_FALSE(r->bio.is_absent());
  CHECK_FALSE(r->bio.has_value());
  REQUIRE(r->priority.has_value());
  CHECK(**r->priority == 3);
  CHECK_FALSE(r->title.has_value());
  CHECK(r->scores == std::vector<std::optional<int>>{1, std::nullopt});
  auto absent = read<patch>(std::string_view(R"({"scores":[]})"));
  REQUIRE(absent.ok());
  CHECK(absent->bio.is_absent());
  CHECK(absent->priority.is_absent());
  auto value = read<patch>(std::string_view(R"({"bio":"hello","scores":[]})"));
  REQUIRE(value.ok());
  REQUIRE(value->bio.has_value());
  CHECK(*value->bio == "hello");
  // The value inside still carries its checks.
  auto bad = read<patch>(std::string_view(R"({"priority":9,"scores":[]})"));
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.errors()[0].path == "priority");

  // apply_to: what a PATCH does to the stored value.
  std::optional<std::string> stored = "old";
  absent->bio.apply_to(stored);
  CHECK(stored == "old");
  value->bio.apply_to(stored);
  CHECK(stored == "hello");
  r->bio.apply_to(stored);
  CHECK_FALSE(stored.has_value());
  std::optional<int> level;
  r->priority.apply_to(level);
  CHECK(level == 3);

  // Written back: absent left out, null written as null.
  CHECK(keel::json_io::to_string(*r) == R"({"bio":null,"priority":3,"scores":[1,null]})");
  CHECK(keel::json_io::to_string(*absent) == R"({"scores":[]})");
}

TEST_CASE("unknown fields are ignored by default, whatever their shape", "[json]") {
  auto r = read<author>(
      std::string_view(R"({"extra":{"deep":[1,{"x":null}],"s":"\u00e9"},"username":"u","n":-1.5e3})"));
  REQUIRE(r.ok());
  CHECK(r->username == "u");
}

TEST_CASE("keys written with escapes still match", "[json]") {
  auto r = read<author>(std::string_view(R"({"user\u006eame":"esc"})"));
  REQUIRE(r.ok());
  CHECK(r->username == "esc");
}

TEST_CASE("strings are unescaped, UTF-8 kept", "[json]") {
  auto r = read<author>(std::string_view(R"({"username":"a\"b\\c\/d\n\u00e9\ud83d\ude00"})"));
  REQUIRE(r.ok());
  CHECK(r->username == "a\"b\\c/d\n\xc3\xa9\xf0\x9f\x98\x80");
}

TEST_CASE("every integer width at its limits", "[json]") {
  std::string text = R"({"i8":-128,"u8":255,"i16":-32768,"u16":65535,"i32":-2147483648,"u32":4294967295,)"
                     R"("i64":-9223372036854775808,"u64":18446744073709551615,"f":1.5})";
  auto r = read<widths>(std::string_view(text));
  REQUIRE(r.ok());
  CHECK(r->i8 == -128);
  CHECK(r->u8 == 255);
  CHECK(r->i16 == -32768);
  CHECK(r->u16 == 65535);
  CHECK(r->i32 == std::numeric_limits<std::int32_t>::min());
  CHECK(r->u32 == 4294967295u);
  CHECK(r->i64 == std::numeric_limits<std::int64_t>::min());
  CHECK(r->u64 == std::numeric_limits<std::uint64_t>::max());
  CHECK(r->f == 1.5f);
}

TEST_CASE("doubles accept integers and exponents", "[json]") {
  auto r = read<std::vector<double>>(std::string_view("[1, -0.5, 2e3, 1E-2, 0]"));
  REQUIRE(r.ok());
  CHECK(*r == std::vector<double>{1, -0.5, 2000, 0.01, 0});
}

TEST_CASE("containers: fixed arrays, maps, nested vectors, vectors of DTOs", "[json]") {
  auto r = read<containers>(std::string_view(
      R"({"triple":[1,2,3],"counts":{"a":1,"b":2},"groups":{"g":["x","y"]},"grid":[[],[1,2]],)"
      R"("people":[{"username":"p1"},{"username":"p2","bio":"b"}]})"));
  REQUIRE(r.ok());
  CHECK(r->triple == std::array<int, 3>{1, 2, 3});
  CHECK(r->counts == std::map<std::string, int>{{"a", 1}, {"b", 2}});
  CHECK(r->groups.at("g") == std::vector<std::string>{"x", "y"});
  CHECK(r->grid == std::vector<std::vector<int>>{{}, {1, 2}});
  REQUIRE(r->people.size() == 2);
  CHECK(r->people[1].bio == "b");
}

TEST_CASE("the root may be an array or a map", "[json]") {
  auto list = read<std::vector<author>>(std::string_view(R"([{"username":"a"},{"username":"b"}])"));
  REQUIRE(list.ok());
  CHECK(list->size() == 2);
  auto map = read<std::map<std::string, int>>(std::string_view(R"({"x":1})"));
  REQUIRE(map.ok());
  CHECK(map->at("x") == 1);
}

TEST_CASE("variants pick the alternative by JSON type", "[json]") {
  auto value_of = [](std::string_view json) {
    auto r = read<shape>(json);
    REQUIRE(r.ok());
    return r->value;
  };
  CHECK(std::get<std::int64_t>(value_of(R"({"value":7})")) == 7);
  CHECK(std::get<double>(value_of(R"({"value":7.5})")) == 7.5);
  CHECK(std::get<double>(value_of(R"({"value":1e2})")) == 100.0);
  CHECK(std::get<std::string>(value_of(R"({"value":"s"})")) == "s");
  CHECK(std::get<author>(value_of(R"({"value":{"username":"v"}})")).username == "v");
  CHECK(std::get<std::vector<int>>(value_of(R"({"value":[1]})")) == std::vector<int>{1});
  CHECK(std::get<bool>(value_of(R"({"value":false})")) == false);
  CHECK(std::holds_alternative<std::monostate>(value_of(R"({"value":null})")));
}

TEST_CASE("time points accept any RFC 3339 offset and fraction", "[json]") {
  using namespace std::chrono;
  auto r = read<std::vector<system_clock::time_point>>(std::string_view(
      R"(["2026-11-21T12:00:00Z","2026-11-21T14:00:00+02:00","2026-11-21t11:30:00.5-00:30","2026-11-21 12:00:00.123456z"])"));
  REQUIRE(r.ok());
  system_clock::time_point noon = sys_days{year{2026} / 11 / 21} + 12h;
  CHECK((*r)[0] == noon);
  CHECK((*r)[1] == noon);
  CHECK((*r)[2] == noon + 500ms);
  CHECK(time_point_cast<microseconds>((*r)[3]) == noon + 123456us);
}

TEST_CASE("use_defaults keeps member initializers for missing fields", "[json]") {
  auto r = read<with_defaults>(std::string_view(R"({"per_page":50})"));
  REQUIRE(r.ok());
  CHECK(r->page == 1);
  CHECK(r->per_page == 50);
  CHECK(r->sort == "new");
}

TEST_CASE("recursive DTOs", "[json]") {
  auto r = read<tree>(std::string_view(
      R"({"value":1,"children":[{"value":2,"children":[]},{"value":3,"children":[{"value":4,"children":[]}]}]})"));
  REQUIRE(r.ok());
  CHECK(r->children[1].children[0].value == 4);
}

TEST_CASE("parsing in place from a buffer with padding", "[json]") {
  std::string text = R"({"username":"in place"})";
  std::vector<char> buffer(text.size() + simdjson::SIMDJSON_PADDING);
  std::copy(text.begin(), text.end(), buffer.begin());
  auto r = read<author>(buffer.data(), text.size(), buffer.size());
  REQUIRE(r.ok());
  CHECK(r->username == "in place");
  auto view = read<author>(simdjson::padded_string_view(buffer.data(), text.size(), buffer.size()));
  REQUIRE(view.ok());
  CHECK(view->username == "in place");
}

TEST_CASE("a buffer without padding is copied", "[json]") {
  std::string text = R"({"username":"tight"})";
  auto r = read<author>(text.data(), text.size(), text.size());
  REQUIRE(r.ok());
  CHECK(r->username == "tight");
}

TEST_CASE("std::string with spare capacity, and without", "[json]") {
  std::string roomy = R"({"username":"roomy"})";
  roomy.reserve(roomy.size() + 100);
  auto r = read<author>(roomy);
  REQUIRE(r.ok());
  CHECK(r->username == "roomy");
  std::string tight = R"({"username":"tight"})";
  tight.shrink_to_fit();
  auto t = read<author>(tight);
  REQUIRE(t.ok());
  CHECK(t->username == "tight");
}

TEST_CASE("values do not point into the parser's buffer after the next read", "[json]") {
  auto first = read<author>(std::string_view(R"({"username":"first"})"));
  auto second = read<author>(std::string_view(R"({"username":"second-and-longer"})"));
  REQUIRE(first.ok());
  REQUIRE(second.ok());
  CHECK(first->username == "first");
  CHECK(second->username == "second-and-longer");
}

TEST_CASE("large documents", "[json]") {
  std::vector<article> many(300, sample_article());
  std::string text = keel::json_io::to_string(many);
  auto r = read<std::vector<article>>(std::string_view(text));
  REQUIRE(r.ok());
  REQUIRE(r->size() == 300);
  CHECK(same((*r)[299], sample_article()));
}
