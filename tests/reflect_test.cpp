// Reflection: field names on both compilers, naming policies, renames, DTO policies, enum names.
#include "keel/json/reflect.hpp"
#include "keel/json/enum.hpp"

#include <catch2/catch.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace reflect_test {

struct user {
  std::int64_t id;
  std::string email_address;
  std::vector<int> tag_list;
};

struct camel_article {
  using keel_naming = keel::camel_case;
  std::int64_t id;
  std::vector<std::string> tag_list;
  std::string created_at_utc;
  std::string _leading;
};

struct renamed {
  using keel_naming = keel::camel_case;
  using keel_rename = keel::renames<keel::rename<"id", "ID">, keel::rename<"body_html", "body">>;
  int id;
  std::string body_html;
  std::string tag_list;
};

struct one_rename {
  using keel_rename = keel::rename<"kind", "type">;
  int kind;
  int other;
};

struct quoted_rename {
  using keel_rename = keel::rename<"x", "a\"b">;
  int x;
};

struct pascal {
  using keel_naming = keel::pascal_case;
  int user_name;
};
struct kebab {
  using keel_naming = keel::kebab_case;
  int user_name;
};
struct snake {
  using keel_naming = keel::snake_case;
  int userName;
  int HTTPCode;
};

// A custom naming policy: any type with transform(std::string_view) -> keel::key_text.
struct upper_case {
  static constexpr keel::key_text transform(std::string_view name) {
    keel::key_text out;
    for (char c : name) out.push_back(c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c);
    return out;
  }
};
struct shouting {
  using keel_naming = upper_case;
  int quiet_please;
};

struct strict {
  using keel_unknown_fields = keel::reject;
  using keel_missing_fields = keel::use_defaults;
  int a = 1;
};

enum class color { red, green = 5, blue = -3 };
enum plain_enum { first_value, second_value };
enum class small : std::uint8_t { low = 0, high = 250 };
enum class sparse { near = 1, far = 1000 };

}  // namespace reflect_test

template <>
struct keel::enum_range<reflect_test::sparse> {
  static constexpr long long min = 0;
  static constexpr long long max = 1000;
};

using namespace reflect_test;

TEST_CASE("field names come from the C++ declaration", "[reflect]") {
  STATIC_REQUIRE(keel::field_count<user> == 3);
  STATIC_REQUIRE(keel::json_field_name<user, 0> == "id");
  STATIC_REQUIRE(keel::json_field_name<user, 1> == "email_address");
  STATIC_REQUIRE(keel::json_field_name<user, 2> == "tag_list");
  STATIC_REQUIRE(keel::json_field_names<user>.size() == 3);
  CHECK(keel::json_field_names<user>[1] == "email_address");
  CHECK(keel::detail::json_key_token<user, 1> == "\"email_address\":");
}

TEST_CASE("naming policies transform names at compile time", "[reflect]") {
  STATIC_REQUIRE(keel::json_field_name<camel_article, 1> == "tagList");
  STATIC_REQUIRE(keel::json_field_name<camel_article, 2> == "createdAtUtc");
  STATIC_REQUIRE(keel::json_field_name<camel_article, 3> == "leading");
  STATIC_REQUIRE(keel::json_field_name<pascal, 0> == "UserName");
  STATIC_REQUIRE(keel::json_field_name<kebab, 0> == "user-name");
  STATIC_REQUIRE(keel::json_field_name<snake, 0> == "user_name");
  STATIC_REQUIRE(keel::json_field_name<snake, 1> == "h_t_t_p_code");
  STATIC_REQUIRE(keel::json_field_name<shouting, 0> == "QUIET_PLEASE");
}

TEST_CASE("renames win over the naming policy and are escaped in key tokens", "[reflect]") {
  STATIC_REQUIRE(keel::json_field_name<renamed, 0> == "ID");
  STATIC_REQUIRE(keel::json_field_name<renamed, 1> == "body");
  STATIC_REQUIRE(keel::json_field_name<renamed, 2> == "tagList");
  STATIC_REQUIRE(keel::json_field_name<one_rename, 0> == "type");
  STATIC_REQUIRE(keel::json_field_name<one_rename, 1> == "other");
  CHECK(keel::json_field_name<quoted_rename, 0> == "a\"b");
  CHECK(keel::detail::json_key_token<quoted_rename, 0> == "\"a\\\"b\":");
}

TEST_CASE("the Dto concept accepts plain aggregates only", "[reflect]") {
  STATIC_REQUIRE(keel::Dto<user>);
  STATIC_REQUIRE(keel::Dto<camel_article>);
  STATIC_REQUIRE_FALSE(keel::Dto<int>);
  STATIC_REQUIRE_FALSE(keel::Dto<std::string>);
  STATIC_REQUIRE_FALSE(keel::Dto<std::vector<int>>);
  STATIC_REQUIRE_FALSE(keel::Dto<std::array<int, 3>>);
  STATIC_REQUIRE_FALSE(keel::Dto<std::optional<user>>);
}

TEST_CASE("DTO policies are read from member aliases", "[reflect]") {
  STATIC_REQUIRE(keel::rejects_unknown_fields<strict>);
  STATIC_REQUIRE(keel::missing_fields_use_defaults<strict>);
  STATIC_REQUIRE_FALSE(keel::rejects_unknown_fields<user>);
  STATIC_REQUIRE_FALSE(keel::missing_fields_use_defaults<user>);
}

TEST_CASE("for_each_field visits members in order with their index", "[reflect]") {
  user u{7, "a@b.c", {1, 2}};
  std::vector<std::string> seen;
  keel::for_each_field(u, [&]<std::size_t I>(std::integral_constant<std::size_t, I>, auto& member) {
    seen.emplace_back(keel::json_field_name<user, I>);
    if constexpr (std::is_same_v<std::remove_cvref_t<decltype(member)>, std::int64_t>) member = 8;
  });
  CHECK(seen == std::vector<std::string>{"id", "email_address", "tag_list"});
  CHECK(u.id == 8);
}

TEST_CASE("enum names by compile-time extraction", "[reflect]") {
  STATIC_REQUIRE(keel::enum_name(color::red) == "red");
  STATIC_REQUIRE(keel::enum_name(color::green) == "green");
  STATIC_REQUIRE(keel::enum_name(color::blue) == "blue");
  STATIC_REQUIRE(keel::enum_entries<color>.size() == 3);
  CHECK(keel::enum_entries<color>[0].second == "blue");  // increasing value order
  CHECK(keel::enum_name(static_cast<color>(2)).empty());
  CHECK(keel::enum_from_name<color>("green") == color::green);
  CHECK_FALSE(keel::enum_from_name<color>("Green").has_value());
  CHECK(keel::enum_name(second_value) == "second_value");
  CHECK(keel::enum_name(small::high) == "high");
  CHECK(keel::enum_entries<small>.size() == 2);
}

TEST_CASE("enum_range widens the searched values", "[reflect]") {
  CHECK(keel::enum_name(sparse::far) == "far");
  CHECK(keel::enum_from_name<sparse>("far") == sparse::far);
  CHECK(keel::enum_entries<sparse>.size() == 2);
}
