// keel::http::write_response: serialises a keel::response into HTTP/1.1 bytes, appending to an output buffer.
#pragma once

#include "keel/config.hpp"
#include "keel/http/date.hpp"
#include "keel/http/response.hpp"
#include "keel/http/status.hpp"

#include <array>
#include <charconv>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace keel::inline v0 {

namespace detail {

// "HTTP/1.1 <code> <reason>\r\n" for every code that http::reason_phrase names, built at compile time and
// packed into one buffer, so writing a status line is one memcpy.
struct status_line_table {
  static constexpr int first_code = 100;
  static constexpr int code_count = 500;
  std::array<char, 2048> text{};
  std::array<std::uint16_t, code_count> offset{};
  std::array<std::uint8_t, code_count> length{};

  constexpr std::string_view find(int code) const noexcept {
    const int i = code - first_code;
    if (i < 0 || i >= code_count || length[static_cast<std::size_t>(i)] == 0) return {};
    return {text.data() + offset[static_cast<std::size_t>(i)], length[static_cast<std::size_t>(i)]};
  }
};

consteval status_line_table make_status_line_table() {
  status_line_table table;
  std::size_t used = 0;
  auto put = [&](std::string_view s) {
    for (const char c : s) table.text[used++] = c;
  };
  for (int code = status_line_table::first_code;
       code < status_line_table::first_code + status_line_table::code_count; ++code) {
    const std::string_view reason = http::reason_phrase(static_cast<http::status>(code));
    if (reason == "Unknown") continue;
    const std::size_t begin = used;
    put("HTTP/1.1 ");
    table.text[used++] = static_cast<char>('0' + code / 100);
    table.text[used++] = static_cast<char>('0' + code / 10 % 10);
    table.text[used++] = static_cast<char>('0' + code % 10);
    table.text[used++] = ' ';
    put(reason);
    put("\r\n");
    const auto i = static_cast<std::size_t>(code - status_line_table::first_code);
    table.offset[i] = static_cast<std::uint16_t>(begin);
    table.length[i] = static_cast<std::uint8_t>(used - begin);
  }
  return table;
}

inline constexpr status_line_table status_lines = make_status_line_table();

}  // namespace detail

namespace http {

struct writer_options {
  std::string_view server;  // value of the Server header; empty = no Server header
};

// 1xx, 204 and 304 responses never carry a body or Content-Length (RFC 9110 sections 8.6, 15.3.5, 15.4.5).
constexpr bool status_allows_body(int code) noexcept { return code >= 200 && code != 204 && code != 304; }

// Appends the status line, Server (if set), Date, Content-Length (unless the status forbids a body),
// "Connection: close" when `close`, the response's own header lines, the blank line and the body (not for a
// HEAD request, which still gets the Content-Length a GET would). Never clears `out`.
// `close` is the connection's decision: the caller folds in response::close(), the request's keep-alive
// state and shutdown.
inline void write_response(std::string& out, const keel::response& res, const writer_options& options,
                           bool head_request, bool close) {
  const int code = res.status_code();
  const bool with_body = status_allows_body(code);
  const std::string_view body = res.body();
  const std::string_view headers = res.header_block();
  const std::string_view date = cached_date();

  char length_digits[24];
  const auto length_end = std::to_chars(length_digits, length_digits + sizeof length_digits, body.size()).ptr;

  // Fixed text: status line <= 64, "Server: \r\n" 10, "Date: \r\n" 8, "Content-Length: \r\n" 18,
  // "Connection: close\r\n" 19, final CRLF 2.
  out.reserve(out.size() + 128 + options.server.size() + date.size() + headers.size() +
              (with_body && !head_request ? body.size() : 0));

  if (const std::string_view line = keel::detail::status_lines.find(code); !line.empty()) {
    out.append(line);
  } else {
    char code_digits[8];
    const auto code_end = std::to_chars(code_digits, code_digits + sizeof code_digits, code).ptr;
    out.append("HTTP/1.1 ").append(code_digits, code_end).append(" \r\n");  // reason-phrase may be empty
  }
  if (!options.server.empty()) out.append("Server: ").append(options.server).append("\r\n");
  out.append("Date: ").append(date).append("\r\n");
  if (with_body) out.append("Content-Length: ").append(length_digits, length_end).append("\r\n");
  if (close) out.append("Connection: close\r\n");
  out.append(headers).append("\r\n");
  if (with_body && !head_request) out.append(body);
}

// The interim response a client waiting on "Expect: 100-continue" needs before it sends the body.
inline void write_continue(std::string& out) { out.append("HTTP/1.1 100 Continue\r\n\r\n"); }

}  // namespace http
}  // namespace keel::inline v0
