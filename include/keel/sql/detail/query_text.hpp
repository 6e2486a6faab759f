// keel::sql internals: SQL text written at compile time (identifiers, placeholders in each engine's style).
#pragma once

#include "keel/config.hpp"
#include "keel/sql/connection.hpp"

#include <array>
#include <cstddef>
#include <string_view>

namespace keel {
inline namespace v0 {
namespace sql {
namespace detail {

// `question` is the engine-neutral `?` text the builder hands to connection::prepare (which renumbers it
// once per cached statement); the numbered styles are what each engine finally receives.
enum class placeholders { question, sqlite, postgres };

constexpr placeholders placeholders_of(engine e) noexcept {
  return e == engine::postgres ? placeholders::postgres : placeholders::sqlite;
}

consteval bool safe_identifier(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s)
    if (c == '"' || c == '\0') return false;
  return true;
}

// Writes into `out`, or only counts when `out` is null: each text is written twice, once to size its array.
struct text_builder {
  char* out = nullptr;
  std::size_t size = 0;
  placeholders style = placeholders::question;
  std::size_t params = 0;

  constexpr void add(std::string_view s) {
    for (char c : s) {
      if (out != nullptr) out[size] = c;
      ++size;
    }
  }
  constexpr void quoted(std::string_view s) {
    add("\"");
    add(s);
    add("\"");
  }
  constexpr void number(std::size_t n) {
    char digits[20]{};
    std::size_t k = 0;
    do {
      digits[k++] = static_cast<char>('0' + n % 10);
      n /= 10;
    } while (n != 0);
    while (k > 0) add(std::string_view(&digits[--k], 1));
  }
  constexpr void param() {
    ++params;
    if (style == placeholders::question) {
      add("?");
      return;
    }
    add(style == placeholders::sqlite ? "?" : "$");
    number(params);
  }
};

// The text a Writer (a type with `static constexpr void write(text_builder&)`) writes, as a constant in
// static storage. Keyed by the type, so every query object of one shape shares one text.
template <class Writer, placeholders Style>
struct text_constant {
  static constexpr text_builder counted = [] {
    text_builder b{nullptr, 0, Style, 0};
    Writer::write(b);
    return b;
  }();
  static constexpr std::size_t size = counted.size;
  static constexpr std::size_t params = counted.params;
  static constexpr auto storage = [] {
    std::array<char, size + 1> buffer{};
    text_builder b{buffer.data(), 0, Style, 0};
    Writer::write(b);
    return buffer;
  }();
  static constexpr std::string_view value{storage.data(), size};
};

template <auto Build>
struct lambda_writer {
  static constexpr void write(text_builder& b) { Build(b); }
};

// `static_sql<[](text_builder& b) { ... }>::value`: a one-off constant text.
template <auto Build>
using static_sql = text_constant<lambda_writer<Build>, placeholders::question>;

template <class Shape, placeholders Style = placeholders::question>
inline constexpr std::string_view shape_text = text_constant<Shape, Style>::value;

template <auto Member>
consteval std::string_view member_pointer_text() {
  return __PRETTY_FUNCTION__;
}

// `&article::author_id` -> "author_id", from the compiler's spelling of the template argument.
template <auto Member>
consteval std::string_view member_name() {
  std::string_view text = member_pointer_text<Member>();
  std::size_t end = text.find_first_of(";]", text.find("Member = "));
  std::size_t begin = end;
  while (begin > 0 && is_identifier_char(text[begin - 1])) --begin;
  return text.substr(begin, end - begin);
}

template <auto Member>
inline constexpr std::string_view quoted_member =
    static_sql<[](text_builder& b) { b.quoted(member_name<Member>()); }>::value;

template <class M>
struct member_traits;
template <class C, class V>
struct member_traits<V C::*> {
  using class_type = C;
  using value_type = V;
};

}  // namespace detail
}  // namespace sql
}  // namespace v0
}  // namespace keel
