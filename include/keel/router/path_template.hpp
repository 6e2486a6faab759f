// Compile-time parsing and checking of route paths such as "/users/{id}/posts/{post_id}" or
// "/files/{rest...}".
#pragma once

#include "keel/config.hpp"
#include "keel/router/fixed_string.hpp"

#include <array>
#include <cstddef>
#include <string_view>

namespace keel {
inline namespace v0 {
namespace detail {

enum class segment_kind : unsigned char { literal, param, tail };

struct path_segment {
  std::string_view text;  // the literal text, or the parameter's name
  segment_kind kind = segment_kind::literal;
};

constexpr bool is_param_name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}
// RFC 3986 pchar minus '%' (literals are matched against the raw path, so they must not need encoding).
constexpr bool is_literal_char(char c) {
  if (is_param_name_char(c)) return true;
  switch (c) {
    case '-':
    case '.':
    case '~':
    case '!':
    case '$':
    case '&':
    case '\'':
    case '(':
    case ')':
    case '*':
    case '+':
    case ',':
    case ';':
    case '=':
    case ':':
    case '@':
      return true;
    default:
      return false;
  }
}

// Compile errors for malformed route paths: calling a non-constexpr function during constant evaluation
// fails, and the compiler's note shows the call with its message argument.
inline void invalid_route_path(const char* /*message*/) {}
constexpr void path_error(const char* message) {
  if (message != nullptr) invalid_route_path(message);
}

consteval std::size_t count_segments(std::string_view p) {
  if (p.empty() || p[0] != '/') path_error("keel: a route path must start with '/'");
  if (p.size() == 1) return 0;
  std::size_t n = 1;
  for (std::size_t i = 1; i < p.size(); ++i)
    if (p[i] == '/') ++n;
  return n;
}

// The index of the next '/' at or after `from`, or p.size(). A loop rather than string_view::find: g++ 12
// with -fsanitize=undefined null-checks find()'s pointer into the template argument object, and that check
// is "not a constant expression", so every route path failed to compile under UBSan. (The trie uses it too.)
constexpr std::size_t next_slash(std::string_view p, std::size_t from) {
  while (from < p.size() && p[from] != '/') ++from;
  return from;
}

template <std::size_t N>
consteval std::array<path_segment, N> parse_path(std::string_view p) {
  std::array<path_segment, N> out{};
  std::size_t idx = 0;
  std::size_t i = 1;
  while (idx < N) {
    std::size_t end = next_slash(p, i);
    std::string_view seg = p.substr(i, end - i);
    if (seg.empty() && end != p.size())
      path_error("keel: a route path must not contain an empty segment ('//')");
    if (!seg.empty() && seg.front() == '{') {
      if (seg.back() != '}') path_error("keel: a path parameter must be a whole segment: '{name}'");
      std::string_view name = seg.substr(1, seg.size() - 2);
      segment_kind kind = segment_kind::param;
      if (name.size() > 3 && name.substr(name.size() - 3) == "...") {
        name = name.substr(0, name.size() - 3);
        kind = segment_kind::tail;
        if (end != p.size()) path_error("keel: a tail parameter '{name...}' must be the last segment");
      }
      if (name.empty()) path_error("keel: a path parameter needs a name: '{name}'");
      for (char c : name)
        if (!is_param_name_char(c)) path_error("keel: a path parameter name may only use [A-Za-z0-9_]");
      out[idx] = {name, kind};
    } else {
      for (char c : seg) {
        if (c == '{' || c == '}') path_error("keel: a path parameter must be a whole segment: '{name}'");
        if (!is_literal_char(c))
          path_error("keel: a literal route segment has a character that needs %-encoding");
      }
      out[idx] = {seg, segment_kind::literal};
    }
    ++idx;
    i = end + 1;
  }
  for (std::size_t a = 0; a < N; ++a)
    for (std::size_t b = a + 1; b < N; ++b)
      if (out[a].kind != segment_kind::literal && out[b].kind != segment_kind::literal &&
          out[a].text == out[b].text)
        path_error("keel: two path parameters have the same name");
  return out;
}

// Everything the router needs to know about one path, computed once per distinct path.
template <fixed_string Path>
struct path_info {
  static constexpr std::string_view text = Path.view();
  static constexpr std::size_t segment_count = count_segments(Path.view());
  static constexpr std::array<path_segment, segment_count> segments = parse_path<segment_count>(Path.view());
  static constexpr std::size_t param_count = [] {
    std::size_t n = 0;
    for (const auto& s : segments) n += s.kind != segment_kind::literal;
    return n;
  }();
  static constexpr std::array<std::string_view, param_count> param_names = [] {
    std::array<std::string_view, param_count> names{};
    std::size_t n = 0;
    for (const auto& s : segments)
      if (s.kind != segment_kind::literal) names[n++] = s.text;
    return names;
  }();
  // Index of the parameter called `name`, or param_count when there is none.
  static constexpr std::size_t param_index(std::string_view name) {
    for (std::size_t i = 0; i < param_count; ++i)
      if (param_names[i] == name) return i;
    return param_count;
  }
};

}  // namespace detail
}  // namespace v0
}  // namespace keel
