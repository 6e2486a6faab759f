// How a DTO's C++ field names become JSON keys: naming policies (camel_case ...) and per-field renames.
#pragma once

#include "keel/config.hpp"
#include "keel/customization.hpp"
#include "keel/detail/reflect/field_names.hpp"
#include "keel/detail/reflect/static_text.hpp"
#include "keel/router/fixed_string.hpp"

#include <array>
#include <cstddef>
#include <string_view>
#include <type_traits>

//
//   struct article {
//     using keel_naming = keel::camel_case;                  // tag_list -> "tagList"
//     using keel_rename = keel::renames<keel::rename<"id", "ID">,  // C++ name -> JSON key, wins over the
//     policy
//                                       keel::rename<"body_html", "body">>;
//     std::int64_t id;
//     std::vector<std::string> tag_list;
//     std::string body_html;
//   };
//
// A single rename may be given without `renames<...>`. A rename naming no field is a compile error. Both are
// type aliases, so the struct stays a plain aggregate. A policy is any type with
// `static constexpr keel::key_text transform(std::string_view cpp_name)`; everything runs at compile time.
// (key_text rather than std::string: clang 16 cannot evaluate libstdc++ 12's std::string at compile time.)

namespace keel {
inline namespace v0 {

// A JSON key being built at compile time (at most 255 bytes).
struct key_text {
  char chars[256]{};
  std::size_t length = 0;

  constexpr key_text() = default;
  constexpr explicit key_text(std::string_view text) {
    for (char c : text) push_back(c);
  }
  constexpr void push_back(char c) { chars[length++] = c; }
  constexpr bool empty() const { return length == 0; }
  constexpr char& back() { return chars[length - 1]; }
  constexpr std::string_view view() const { return {chars, length}; }
};

// The C++ name unchanged (the default).
struct as_declared {
  static constexpr key_text transform(std::string_view name) { return key_text(name); }
};

// tag_list -> tagList
struct camel_case {
  static constexpr key_text transform(std::string_view name) {
    key_text out;
    bool upper_next = false;
    for (char c : name) {
      if (c == '_') {
        upper_next = !out.empty();
        continue;
      }
      out.push_back(upper_next && c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c);
      upper_next = false;
    }
    return out;
  }
};

// tag_list -> TagList
struct pascal_case {
  static constexpr key_text transform(std::string_view name) {
    key_text out = camel_case::transform(name);
    char& first = out.chars[0];
    if (first >= 'a' && first <= 'z') first = static_cast<char>(first - 'a' + 'A');
    return out;
  }
};

// tag_list -> tag-list
struct kebab_case {
  static constexpr key_text transform(std::string_view name) {
    key_text out(name);
    for (std::size_t i = 0; i < out.length; ++i)
      if (out.chars[i] == '_') out.chars[i] = '-';
    return out;
  }
};

// tagList -> tag_list (for C++ code written in camelCase that must speak snake_case JSON)
struct snake_case {
  static constexpr key_text transform(std::string_view name) {
    key_text out;
    for (char c : name) {
      if (c >= 'A' && c <= 'Z') {
        if (!out.empty() && out.back() != '_') out.push_back('_');
        out.push_back(static_cast<char>(c - 'A' + 'a'));
      } else {
        out.push_back(c);
      }
    }
    return out;
  }
};

template <class P>
concept NamingPolicy = requires(std::string_view name) {
  { P::transform(name) } -> std::same_as<key_text>;
};

// One field rename: the C++ field `From` is the JSON key `To`.
template <fixed_string From, fixed_string To>
struct rename {
  static constexpr std::string_view from = From.view();
  static constexpr std::string_view to = To.view();
};

template <class... Renames>
struct renames {};

}  // namespace v0
}  // namespace keel

namespace keel {
inline namespace v0 {
namespace detail {

template <class T>
struct naming_policy_of {
  using type = as_declared;
};
template <declares_naming T>
struct naming_policy_of<T> {
  static_assert(NamingPolicy<naming_hook<T>>,
                "keel_naming must name a naming policy such as keel::camel_case");
  using type = naming_hook<T>;
};

template <class R>
struct rename_list {
  static_assert(sizeof(R) == 0, "keel_rename must be keel::rename<\"field\", \"key\"> or keel::renames<...>");
};
template <fixed_string From, fixed_string To>
struct rename_list<rename<From, To>> {
  static constexpr std::array<std::string_view, 1> from{From.view()};
  static constexpr std::array<std::string_view, 1> to{To.view()};
};
template <class... R>
struct rename_list<renames<R...>> {
  static constexpr std::array<std::string_view, sizeof...(R)> from{R::from...};
  static constexpr std::array<std::string_view, sizeof...(R)> to{R::to...};
};

template <class T>
struct renames_of {
  static constexpr std::array<std::string_view, 0> from{};
  static constexpr std::array<std::string_view, 0> to{};
};
template <declares_rename T>
struct renames_of<T> : rename_list<rename_hook<T>> {};

template <class T>
consteval bool renames_name_existing_fields() {
  for (std::string_view from : renames_of<T>::from) {
    bool found = false;
    for (std::string_view name : cpp_field_names<T>) found = found || name == from;
    if (!found) return false;
  }
  return true;
}

template <class T, std::size_t I>
constexpr key_text json_name_string() {
  constexpr std::string_view cpp = cpp_field_name<T, I>;
  for (std::size_t r = 0; r < renames_of<T>::from.size(); ++r)
    if (renames_of<T>::from[r] == cpp) return key_text(renames_of<T>::to[r]);
  return naming_policy_of<T>::type::transform(cpp);
}

// `"key":` with the quotes escaped, ready to be copied into output as one block.
template <class T, std::size_t I>
constexpr key_text json_key_token_string() {
  key_text out("\"");
  const key_text name = json_name_string<T, I>();
  for (char c : name.view()) {
    if (c == '"' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  out.push_back('"');
  out.push_back(':');
  return out;
}

template <class T, std::size_t I>
struct json_name_holder {
  static_assert(renames_name_existing_fields<T>(), "keel_rename names a field this struct does not have");
  static constexpr key_text name = json_name_string<T, I>();
  static constexpr std::size_t size = name.length;
  static constexpr auto storage = to_char_array<size>(name.view());
  static constexpr key_text token = json_key_token_string<T, I>();
  static constexpr std::size_t token_size = token.length;
  static constexpr auto token_storage = to_char_array<token_size>(token.view());
};

}  // namespace detail
}  // namespace v0
}  // namespace keel

namespace keel {
inline namespace v0 {

// The JSON key of field I of T, after renames and the naming policy.
template <class T, std::size_t I>
inline constexpr std::string_view json_field_name{detail::json_name_holder<T, I>::storage.data(),
                                                  detail::json_name_holder<T, I>::size};

}  // namespace v0
}  // namespace keel

namespace keel {
inline namespace v0 {
namespace detail {

template <class T, std::size_t I>
inline constexpr std::string_view json_key_token{json_name_holder<T, I>::token_storage.data(),
                                                 json_name_holder<T, I>::token_size};

}  // namespace detail
}  // namespace v0
}  // namespace keel
