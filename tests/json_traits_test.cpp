// The json_traits customization point: a user type written and read through a stand-in JSON type.
#include "keel/json/traits.hpp"
#include "keel/json/reader.hpp"
#include "keel/validate/rules.hpp"

#include <catch2/catch.hpp>

#include <charconv>
#include <cstdint>
#include <string>
#include <vector>

namespace json_traits_test {

// Money in cents, written as a decimal string "12.50".
struct money {
  std::int64_t cents;
};

// Written only.
struct secret_handle {
  int id;
};

// A point written as [x, y].
class point {
 public:
  point() = default;
  point(int x, int y) : x_(x), y_(y) {}
  int x() const { return x_; }
  int y() const { return y_; }

 private:
  int x_ = 0, y_ = 0;
};

struct invoice {
  money total;
  std::vector<point> path;
  secret_handle handle;
};

struct incoming {
  money total;
  std::vector<point> path;
};

// A settings blob stored as a JSON string inside JSON: its from_json calls json_io::read during a read.
struct inner_settings {
  int level;
};
struct settings_blob {
  inner_settings value;
};
struct envelope {
  std::string name;
  settings_blob settings;
  std::string after;
};

}  // namespace json_traits_test

template <>
struct keel::json_traits<json_traits_test::money> {
  using json_type = keel::pattern<"^-?[0-9]+\\.[0-9]{2}$">;  // the stand-in may itself be a validator
  static std::string to_json(const json_traits_test::money& m) {
    std::string s = std::to_string(m.cents / 100) + ".";
    auto rest = m.cents % 100;
    s += static_cast<char>('0' + rest / 10);
    s += static_cast<char>('0' + rest % 10);
    return s;
  }
  static bool from_json(json_type&& text, json_traits_test::money& out, std::string& reason) {
    const std::string& s = text.get();
    std::int64_t whole = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size() - 3, whole);
    if (ec != std::errc{}) {
      reason = "amount too large";
      return false;
    }
    out.cents = whole * 100 + (s[s.size() - 2] - '0') * 10 + (s.back() - '0');
    return true;
  }
};

template <>
struct keel::json_traits<json_traits_test::point> {
  using json_type = std::array<int, 2>;
  static json_type to_json(const json_traits_test::point& p) { return {p.x(), p.y()}; }
  static bool from_json(json_type&& xy, json_traits_test::point& out, std::string& reason) {
    if (xy[0] < 0 || xy[1] < 0) {
      reason = "coordinates must not be negative";
      return false;
    }
    out = json_traits_test::point(xy[0], xy[1]);
    return true;
  }
};

template <>
struct keel::json_traits<json_traits_test::secret_handle> {
  static std::string_view to_json(const json_traits_test::secret_handle&) { return "<hidden>"; }
};

template <>
struct keel::json_traits<json_traits_test::settings_blob> {
  using json_type = std::string;
  static std::string to_json(const json_traits_test::settings_blob& b) {
    return keel::json_io::to_string(b.value);
  }
  static bool from_json(std::string&& text, json_traits_test::settings_blob& out, std::string& reason) {
    auto inner = keel::json_io::read<json_traits_test::inner_settings>(std::string_view(text));
    if (!inner) {
      reason = "settings: " + inner.errors()[0].path + " " + inner.errors()[0].reason;
      return false;
    }
    out.value = *inner;
    return true;
  }
};

using namespace json_traits_test;
using errors = std::vector<keel::json_io::error>;

TEST_CASE("traits decide how a type is written", "[json]") {
  STATIC_REQUIRE(keel::HasJsonTraits<money>);
  STATIC_REQUIRE_FALSE(keel::Dto<money>);  // an aggregate, but its traits win
  STATIC_REQUIRE(keel::JsonWritableByTraits<secret_handle>);
  STATIC_REQUIRE_FALSE(keel::JsonReadableByTraits<secret_handle>);
  invoice inv{{1250}, {{1, 2}, {3, 4}}, {7}};
  CHECK(keel::json_io::to_string(inv) == R"({"total":"12.50","path":[[1,2],[3,4]],"handle":"<hidden>"})");
}

TEST_CASE("traits decide how a type is read", "[json]") {
  auto r = keel::json_io::read<incoming>(std::string_view(R"({"total":"99.05","path":[[5,6]]})"));
  REQUIRE(r.ok());
  CHECK(r->total.cents == 9905);
  REQUIRE(r->path.size() == 1);
  CHECK(r->path[0].x() == 5);
  CHECK(r->path[0].y() == 6);
}

TEST_CASE("the stand-in's own checks and from_json's refusals become errors at the path", "[json]") {
  auto r =
      keel::json_io::read<incoming>(std::string_view(R"({"total":"12.5","path":[[1,2],[-1,0],[1],"x"]})"));
  CHECK(r.errors() == errors{
                          {"total", "must match pattern ^-?[0-9]+\\.[0-9]{2}$"},
                          {"path[1]", "coordinates must not be negative"},
                          {"path[2]", "expected 2 elements, got 1"},
                          {"path[3]", "expected an array, got a string"},
                      });
  auto big =
      keel::json_io::read<incoming>(std::string_view(R"({"total":"99999999999999999999.00","path":[]})"));
  CHECK(big.errors() == errors{{"total", "amount too large"}});
}

TEST_CASE("from_json may itself call json_io::read", "[json]") {
  envelope e{"n", {{3}}, "tail"};
  std::string text = keel::json_io::to_string(e);
  CHECK(text == R"({"name":"n","settings":"{\"level\":3}","after":"tail"})");
  auto r = keel::json_io::read<envelope>(std::string_view(text));
  REQUIRE(r.ok());
  CHECK(r->settings.value.level == 3);
  CHECK(r->after == "tail");
  auto bad = keel::json_io::read<envelope>(
      std::string_view(R"({"name":"n","settings":"{\"level\":\"x\"}","after":"t"})"));
  CHECK(bad.errors() == errors{{"settings", "settings: level expected an integer, got a string"}});
}
