// The JSON writer: scalars, escaping, doubles, containers, DTOs, optionals, enums, time points, variants,
// pretty printing, appending.
#include "keel/json/writer.hpp"

#include <catch2/catch.hpp>

#include <array>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <variant>
#include <vector>

namespace json_write_test {

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
};

struct empty {};

struct only_optional {
  std::optional<int> a;
  std::optional<int> b;
};

struct views {
  std::string_view name;
  const char* c_string;
  std::span<const int> numbers;
};

}  // namespace json_write_test

using namespace json_write_test;
using keel::json_io::to_string;

TEST_CASE("scalars", "[json]") {
  CHECK(to_string(true) == "true");
  CHECK(to_string(false) == "false");
  CHECK(to_string(0) == "0");
  CHECK(to_string(std::numeric_limits<std::int8_t>::min()) == "-128");
  CHECK(to_string(std::numeric_limits<std::uint8_t>::max()) == "255");
  CHECK(to_string(std::numeric_limits<std::int64_t>::min()) == "-9223372036854775808");
  CHECK(to_string(std::numeric_limits<std::uint64_t>::max()) == "18446744073709551615");
  CHECK(to_string(nullptr) == "null");
  CHECK(to_string(std::monostate{}) == "null");
}

TEST_CASE("doubles are the shortest text that reads back to the same value", "[json]") {
  CHECK(to_string(0.1) == "0.1");
  CHECK(to_string(1.0) == "1");
  CHECK(to_string(-2.5e-300) == "-2.5e-300");
  CHECK(to_string(1e21) == "1e+21");
  CHECK(to_string(0.1f) == "0.1");
  double tricky = 0.30000000000000004;
  CHECK(std::stod(to_string(tricky)) == tricky);
  CHECK(to_string(std::numeric_limits<double>::max()) == "1.7976931348623157e+308");
}

TEST_CASE("NaN and infinities become null", "[json]") {
  CHECK(to_string(std::nan("")) == "null");
  CHECK(to_string(std::numeric_limits<double>::infinity()) == "null");
  CHECK(to_string(-std::numeric_limits<float>::infinity()) == "null");
}

TEST_CASE("strings are escaped", "[json]") {
  CHECK(to_string(std::string("plain")) == R"("plain")");
  CHECK(to_string(std::string_view("a\"b\\c")) == R"("a\"b\\c")");
  CHECK(to_string("\n\r\t\b\f") == R"("\n\r\t\b\f")");
  CHECK(to_string(std::string("\x01\x1f\x7f", 3)) == "\"\\u0001\\u001f\x7f\"");
  CHECK(to_string(std::string("nul\0in", 6)) == R"("nul\u0000in")");
  CHECK(to_string("/") == R"("/")");
  CHECK(to_string("") == R"("")");
}

TEST_CASE("escapes are found in every position of the 8-byte blocks", "[json]") {
  for (std::size_t length = 1; length <= 40; ++length) {
    for (std::size_t at = 0; at < length; ++at) {
      for (char special : {'"', '\\', '\n', '\x01'}) {
        std::string text(length, 'x');
        text[at] = special;
        std::string expected = "\"" + std::string(at, 'x');
        switch (special) {
          case '"':
            expected += "\\\"";
            break;
          case '\\':
            expected += "\\\\";
            break;
          case '\n':
            expected += "\\n";
            break;
          default:
            expected += "\\u0001";
        }
        expected += std::string(length - at - 1, 'x') + "\"";
        REQUIRE(to_string(text) == expected);
      }
    }
  }
}

TEST_CASE("non-ASCII passes through as UTF-8, or as \\u escapes on request", "[json]") {
  std::string text = "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80!";  // café € 😀!
  CHECK(to_string(text) == "\"" + text + "\"");
  keel::json_io::write_options ascii{.escape_unicode = true};
  CHECK(to_string(text, ascii) == R"("caf\u00e9 \u20ac \ud83d\ude00!")");
  CHECK(to_string(std::string("long enough prefix \xc3\xa9"), ascii) == R"("long enough prefix \u00e9")");
  // A broken sequence cannot be re-encoded: it becomes U+FFFD rather than invalid output.
  CHECK(to_string(std::string("\xc3("), ascii) == R"("\ufffd(")");
  CHECK(to_string(std::string("\xe2\x82"), ascii) == R"("\ufffd\ufffd")");
  // Strings of 8..16 bytes take a shorter path: a non-ASCII character anywhere in them still counts.
  for (std::size_t length = 8; length <= 16; ++length) {
    for (std::size_t at = 0; at + 2 <= length; ++at) {
      const std::string before(at, 'x'), after(length - at - 2, 'x');
      const std::string with_e_acute = before + "\xc3\xa9" + after;
      REQUIRE(to_string(with_e_acute) == "\"" + with_e_acute + "\"");
      REQUIRE(to_string(with_e_acute, ascii) == "\"" + before + "\\u00e9" + after + "\"");
    }
  }
}

TEST_CASE("containers", "[json]") {
  CHECK(to_string(std::vector<int>{}) == "[]");
  CHECK(to_string(std::vector<int>{1, 2, 3}) == "[1,2,3]");
  CHECK(to_string(std::array<bool, 2>{true, false}) == "[true,false]");
  CHECK(to_string(std::vector<std::vector<int>>{{}, {1}, {}}) == "[[],[1],[]]");
  std::map<std::string, int> counts{{"b", 2}, {"a\"", 1}};
  CHECK(to_string(counts) == R"({"a\"":1,"b":2})");
  CHECK(to_string(std::map<std::string, int>{}) == "{}");
  std::unordered_map<std::string, std::vector<int>> single{{"k", {1}}};
  CHECK(to_string(single) == R"({"k":[1]})");
  std::vector<std::optional<int>> holes{1, std::nullopt};
  CHECK(to_string(holes) == "[1,null]");
}

TEST_CASE("DTOs: names after the naming policy, empty optionals left out", "[json]") {
  article a{4294967297, "Hi", {"x", "y"}, {"jake", std::nullopt}, status::published, std::nullopt};
  CHECK(
      to_string(a) ==
      R"({"id":4294967297,"title":"Hi","tagList":["x","y"],"writtenBy":{"username":"jake"},"state":"published"})");
  a.favorites_count = 3;
  a.written_by.bio = "bio";
  CHECK(to_string(a) ==
        R"({"id":4294967297,"title":"Hi","tagList":["x","y"],"writtenBy":{"username":"jake","bio":"bio"},)"
        R"("state":"published","favoritesCount":3})");
  CHECK(to_string(empty{}) == "{}");
  CHECK(to_string(author{"solo", std::nullopt}) == R"({"username":"solo"})");
}

TEST_CASE("empty optionals as null on request", "[json]") {
  keel::json_io::write_options nulls{.null_for_empty_optional = true};
  CHECK(to_string(author{"a", std::nullopt}, nulls) == R"({"username":"a","bio":null})");
}

TEST_CASE("an optional that only has empty fields writes an empty object", "[json]") {
  CHECK(to_string(only_optional{}) == "{}");
  CHECK(to_string(only_optional{std::nullopt, 2}) == R"({"b":2})");
  CHECK(to_string(std::vector<only_optional>{{}, {1, std::nullopt}}) == R"([{},{"a":1}])");
}

TEST_CASE("views and pointers are writable", "[json]") {
  int numbers[] = {4, 5};
  views v{"n", "c", numbers};
  CHECK(to_string(v) == R"({"name":"n","c_string":"c","numbers":[4,5]})");
}

TEST_CASE("a null C string is null", "[json]") {
  const char* nothing = nullptr;
  CHECK(to_string(nothing) == "null");
  CHECK(to_string(std::vector<const char*>{"a", nullptr}) == R"(["a",null])");
}

TEST_CASE("enums as names, unnamed values as numbers", "[json]") {
  CHECK(to_string(status::draft) == R"("draft")");
  CHECK(to_string(static_cast<status>(7)) == "7");
}

TEST_CASE("time points as RFC 3339 UTC with milliseconds", "[json]") {
  using namespace std::chrono;
  system_clock::time_point t = sys_days{year{2026} / 11 / 21} + 12h;
  CHECK(to_string(t) == R"("2026-11-21T12:00:00.000Z")");
  CHECK(to_string(t + 1234ms + 999us) == R"("2026-11-21T12:00:01.234Z")");
  CHECK(to_string(system_clock::time_point{}) == R"("1970-01-01T00:00:00.000Z")");
  CHECK(to_string(time_point_cast<seconds>(t)) == R"("2026-11-21T12:00:00.000Z")");
  CHECK(to_string(sys_days{year{2024} / 2 / 29} + 23h + 59min + 59s + 999ms) ==
        R"("2024-02-29T23:59:59.999Z")");
}

TEST_CASE("variants write their active alternative", "[json]") {
  std::variant<int, std::string, author> v = 5;
  CHECK(to_string(v) == "5");
  v = std::string("s");
  CHECK(to_string(v) == R"("s")");
  v = author{"x", std::nullopt};
  CHECK(to_string(v) == R"({"username":"x"})");
}

TEST_CASE("write appends to what the buffer holds", "[json]") {
  std::string out = "prefix:";
  keel::json_io::write(out, std::vector<int>{1});
  CHECK(out == "prefix:[1]");
  keel::json_io::write(out, 2);
  CHECK(out == "prefix:[1]2");
}

TEST_CASE("large output grows the buffer", "[json]") {
  std::vector<std::string> many(2000, std::string(50, 'q'));
  std::string out = keel::json_io::to_string(many);
  CHECK(out.size() == 2 + 2000 * 52 + 1999);
  CHECK(out.substr(0, 4) == "[\"qq");
  CHECK(out.substr(out.size() - 4) == "qq\"]");
  std::string escaped_heavy(10000, '\n');
  CHECK(keel::json_io::to_string(escaped_heavy).size() == 20002);
}

TEST_CASE("long strings are escaped across chunk borders", "[json]") {
  // "x" then 2-byte sequences: the 4096-byte chunk border falls inside a sequence.
  std::string text = "x";
  for (int i = 0; i < 3000; ++i) text += "\xc3\xa9";
  text += "\"";
  CHECK(to_string(text) == "\"" + text.substr(0, text.size() - 1) + "\\\"\"");
  std::string ascii = "\"x";
  for (int i = 0; i < 3000; ++i) ascii += "\\u00e9";
  CHECK(to_string(text, {.escape_unicode = true}) == ascii + "\\\"\"");
}

TEST_CASE("pretty printing", "[json]") {
  article a{1, "T", {"x"}, {"u", std::nullopt}, status::draft, std::nullopt};
  CHECK(to_string(a, {.pretty = true}) == R"({
  "id": 1,
  "title": "T",
  "tagList": [
    "x"
  ],
  "writtenBy": {
    "username": "u"
  },
  "state": "draft"
})");
  CHECK(to_string(std::vector<int>{}, {.pretty = true}) == "[]");
  CHECK(to_string(std::map<std::string, int>{{"a", 1}}, {.pretty = true, .indent = 4}) ==
        "{\n    \"a\": 1\n}");
}
