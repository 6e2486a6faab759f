// RESP2 on the wire: detail::encode_command writes a command as an array of bulk strings, detail::parse_reply
// reads one reply from a buffer (strict: a malformed byte throws protocol_error, a partial reply returns 0).
#pragma once

#include "keel/config.hpp"
#include "keel/redis/reply.hpp"

#include <charconv>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <type_traits>

namespace keel {
inline namespace v0 {
namespace redis {
namespace detail {

// Redis's own limits: a bulk string holds at most 512 MB; nesting deeper than this is not a real reply.
inline constexpr std::int64_t max_bulk_length = 512ll * 1024 * 1024;
inline constexpr std::int64_t max_array_length = 1ll << 31;
inline constexpr int max_reply_depth = 32;

template <class T>
concept command_argument = std::convertible_to<const T&, std::string_view> ||
    (std::integral<T> && !std::same_as<T, bool> && !std::same_as<T, char>);

inline void append_bulk(std::string& out, std::string_view arg) {
  char digits[24];
  auto [end, ec] = std::to_chars(digits, digits + sizeof digits, arg.size());
  out.push_back('$');
  out.append(digits, end);
  out.append("\r\n");
  out.append(arg);
  out.append("\r\n");
}

template <command_argument T>
void append_argument(std::string& out, const T& arg) {
  if constexpr (std::convertible_to<const T&, std::string_view>) {
    append_bulk(out, std::string_view(arg));
  } else {
    char digits[24];
    auto [end, ec] = std::to_chars(digits, digits + sizeof digits, arg);
    append_bulk(out, std::string_view(digits, static_cast<std::size_t>(end - digits)));
  }
}

inline void append_array_header(std::string& out, std::size_t count) {
  char digits[24];
  auto [end, ec] = std::to_chars(digits, digits + sizeof digits, count);
  out.push_back('*');
  out.append(digits, end);
  out.append("\r\n");
}

// Appends `*N\r\n` and one bulk string per argument.
template <command_argument... A>
void encode_command(std::string& out, const A&... args) {
  append_array_header(out, sizeof...(A));
  (append_argument(out, args), ...);
}

class resp_parser {
 public:
  // Parses one reply at the start of `in` into `out`. Returns the bytes it took, or 0 when `in` holds only
  // part of a reply (then `out` is unspecified). Throws protocol_error for bytes that are not RESP2.
  static std::size_t parse(std::string_view in, reply& out) {
    std::size_t pos = 0;
    return parse_at(in, pos, out, 0) ? pos : 0;
  }

 private:
  // The line from `pos` to its CRLF (exclusive); false when the CRLF has not arrived.
  static bool line(std::string_view in, std::size_t& pos, std::string_view& text) {
    const std::size_t cr = in.find('\r', pos);
    if (cr == std::string_view::npos || cr + 1 >= in.size()) return false;
    if (in[cr + 1] != '\n') throw protocol_error("redis: CR without LF in a reply line");
    text = in.substr(pos, cr - pos);
    pos = cr + 2;
    return true;
  }

  static std::int64_t number(std::string_view text) {
    std::int64_t v = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (text.empty() || ec != std::errc{} || end != text.data() + text.size())
      throw protocol_error("redis: malformed number in a reply");
    return v;
  }

  static bool parse_at(std::string_view in, std::size_t& pos, reply& out, int depth) {
    if (pos >= in.size()) return false;
    if (depth > max_reply_depth) throw protocol_error("redis: reply nested too deeply");
    const char marker = in[pos++];
    std::string_view text;
    if (!line(in, pos, text)) return false;
    switch (marker) {
      case '+':
      case '-':
        if (text.find('\n') != std::string_view::npos) throw protocol_error("redis: LF in a status line");
        out.type = marker == '+' ? reply::kind::status : reply::kind::error;
        out.text.assign(text);
        return true;
      case ':':
        out.type = reply::kind::integer;
        out.integer = number(text);
        return true;
      case '$': {
        const std::int64_t n = number(text);
        if (n == -1) {
          out.type = reply::kind::nil;
          return true;
        }
        if (n < 0 || n > max_bulk_length) throw protocol_error("redis: bad bulk string length");
        const auto len = static_cast<std::size_t>(n);
        if (in.size() - pos < len + 2) return false;
        if (in[pos + len] != '\r' || in[pos + len + 1] != '\n')
          throw protocol_error("redis: bulk string not followed by CRLF");
        out.type = reply::kind::string;
        out.text.assign(in.substr(pos, len));
        pos += len + 2;
        return true;
      }
      case '*': {
        const std::int64_t n = number(text);
        if (n == -1) {
          out.type = reply::kind::nil;
          return true;
        }
        if (n < 0 || n > max_array_length) throw protocol_error("redis: bad array length");
        out.type = reply::kind::array;
        out.elements.clear();
        // Every element takes at least 3 bytes: do not reserve for elements that cannot have arrived.
        out.elements.reserve(std::min<std::size_t>(static_cast<std::size_t>(n), (in.size() - pos) / 3));
        for (std::int64_t i = 0; i < n; ++i) {
          out.elements.emplace_back();
          if (!parse_at(in, pos, out.elements.back(), depth + 1)) return false;
        }
        return true;
      }
      default:
        throw protocol_error("redis: unknown reply type byte");
    }
  }
};

}  // namespace detail
}  // namespace redis
}  // namespace v0
}  // namespace keel
