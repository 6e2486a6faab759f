// keel::http::write_response: serialises a keel::response into HTTP/1.1 bytes, appending to an output buffer.
#pragma once

#include "keel/config.hpp"
#include "keel/detail/output_buffer.hpp"
#include "keel/http/date.hpp"
#include "keel/http/response.hpp"
#include "keel/http/status.hpp"

#include <array>
#include <charconv>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace keel {
inline namespace v0 {

namespace detail {

// The bytes of every "HTTP/1.1 <code> <reason>\r\n" line in the table below.
consteval std::size_t status_text_size(int first_code, int code_count) {
  std::size_t n = 0;
  for (int code = first_code; code < first_code + code_count; ++code) {
    const std::string_view reason = http::reason_phrase(static_cast<http::status>(code));
    if (reason != "Unknown") n += 13 + reason.size() + 2;  // "HTTP/1.1 200 " reason "\r\n"
  }
  return n;
}

// "HTTP/1.1 <code> <reason>\r\n" for every code that http::reason_phrase names, built at compile time and
// packed into one buffer, so writing a status line is one memcpy. Line i spans [offset[i], offset[i + 1]):
// empty for a code without a name.
struct status_line_table {
  static constexpr int first_code = 100;
  static constexpr int code_count = 406;  // 100..505: http::status names nothing above 505 (checked below)
  std::array<char, status_text_size(first_code, code_count)> text{};
  std::array<std::uint16_t, code_count + 1> offset{};

  constexpr std::string_view find(int code) const noexcept {
    const int i = code - first_code;
    if (i < 0 || i >= code_count) return {};
    const std::size_t begin = offset[static_cast<std::size_t>(i)],
                      end = offset[static_cast<std::size_t>(i) + 1];
    return {text.data() + begin, end - begin};
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
    const auto i = static_cast<std::size_t>(code - status_line_table::first_code);
    table.offset[i] = static_cast<std::uint16_t>(used);
    const std::string_view reason = http::reason_phrase(static_cast<http::status>(code));
    if (reason == "Unknown") continue;
    put("HTTP/1.1 ");
    table.text[used++] = static_cast<char>('0' + code / 100);
    table.text[used++] = static_cast<char>('0' + code / 10 % 10);
    table.text[used++] = static_cast<char>('0' + code % 10);
    table.text[used++] = ' ';
    put(reason);
    put("\r\n");
  }
  table.offset[status_line_table::code_count] = static_cast<std::uint16_t>(used);
  return table;
}

inline constexpr status_line_table status_lines = make_status_line_table();

consteval bool no_named_status_after_table() {
  for (int code = status_line_table::first_code + status_line_table::code_count; code < 1000; ++code)
    if (http::reason_phrase(static_cast<http::status>(code)) != "Unknown") return false;
  return true;
}
static_assert(no_named_status_after_table(),
              "keel: status_line_table::code_count must cover every named status");

// "HTTP/1.1 <code> \r\n" for codes without a reason phrase (the phrase may be empty), written into `buffer`.
KEEL_NOINLINE inline std::string_view unnamed_status_line(int code, char (&buffer)[32]) noexcept {
  std::memcpy(buffer, "HTTP/1.1 ", 9);
  char* p = std::to_chars(buffer + 9, buffer + 24, code).ptr;
  std::memcpy(p, " \r\n", 3);
  return std::string_view(buffer, static_cast<std::size_t>(p + 3 - buffer));
}

}  // namespace detail

namespace http {

struct writer_options {
  std::string_view server;  // value of the Server header; empty = no Server header
};

// 1xx, 204 and 304 responses never carry a body or Content-Length (RFC 9110 sections 8.6, 15.3.5, 15.4.5).
constexpr bool status_allows_body(int code) noexcept { return code >= 200 && code != 204 && code != 304; }

// Appends the status line, Server (if set), Date, Content-Length (unless the status forbids a body),
// "Connection: close" when `close`, the response's Content-Type and other header lines, the blank line and
// the body (not for a HEAD request, which still gets the Content-Length a GET would). Never clears `out`.
// `close` is the connection's decision: the caller folds in response::close(), the request's keep-alive
// state and shutdown. `out` is a std::string or a keel::detail::output_buffer. `date` is the Date value
// (imf_fixdate_size bytes): the server's session reads the clock once per batch of pipelined requests and
// passes date_cache::current(); the overload without it reads the clock.
template <class Output>
void write_response(Output& out, const keel::response& res, const writer_options& options, bool head_request,
                    bool close, std::string_view date) {
  const int code = res.status_code();
  const bool with_body = status_allows_body(code);
  const std::string_view body = res.body();
  const std::string_view headers = res.extra_header_lines();
  const std::string_view type = res.content_type();
  const bool typed = res.has_content_type();

  char length_digits[24];
  const std::size_t length_size = static_cast<std::size_t>(
      std::to_chars(length_digits, length_digits + sizeof length_digits, body.size()).ptr - length_digits);
#if defined(__GNUC__)
  // Stated for the optimizer: without it g++ 12, inlining copy_bytes below, warns that its memcpy branch for
  // pieces over 32 bytes would overread these 24 (-Wstringop-overread, a false positive).
  if (length_size > sizeof length_digits) __builtin_unreachable();
#endif

  std::string_view status_line = keel::detail::status_lines.find(code);
  char fallback_line[32];
  if (KEEL_UNLIKELY(status_line.empty()))
    status_line = keel::detail::unnamed_status_line(code, fallback_line);

  using namespace std::string_view_literals;
  constexpr std::string_view server_name = "Server: "sv, crlf = "\r\n"sv;
  constexpr std::string_view date_name = "Date: "sv, type_name = "Content-Type: "sv;
  constexpr std::string_view length_name = "Content-Length: "sv, close_line = "Connection: close\r\n"sv;
  constexpr std::string_view crlf_length_name = "\r\nContent-Length: "sv;
  const bool send_body = with_body && !head_request;
  const std::size_t size =
      status_line.size() + (options.server.empty() ? 0 : server_name.size() + options.server.size() + 2) +
      date_name.size() + imf_fixdate_size + 2 + (with_body ? length_name.size() + length_size + 2 : 0) +
      (close ? close_line.size() : 0) + (typed ? type_name.size() + type.size() + 2 : 0) + headers.size() +
      2 + (send_body ? body.size() : 0);

  // One size computation and one claim on the buffer, then plain copies: a dozen appends cost more.
  char* w = keel::detail::extend_output(out, size);
  auto put = [&w](std::string_view s) KEEL_ALWAYS_INLINE_LAMBDA {
    keel::detail::copy_bytes(w, s.data(), s.size());
    w += s.size();
  };
  put(status_line);
  if (!options.server.empty()) {
    put(server_name);
    put(options.server);
    put(crlf);
  }
  put(date_name);
  put(std::string_view(date.data(), imf_fixdate_size));  // a constant size: the copy needs no size tests
  if (with_body) {
    put(crlf_length_name);
    put(std::string_view(length_digits, length_size));
  }
  put(crlf);
  if (close) put(close_line);
  if (typed) {
    put(type_name);
    put(type);
    put(crlf);
  }
  if (!headers.empty()) put(headers);
  put(crlf);
  if (send_body && !body.empty()) put(body);
}

template <class Output>
void write_response(Output& out, const keel::response& res, const writer_options& options, bool head_request,
                    bool close) {
  write_response(out, res, options, head_request, close, cached_date());
}

// How the body after a head written by write_head is delimited.
enum class body_framing : std::uint8_t {
  none,         // no body: HEAD, 1xx, 204, 304 (a length may still be announced for HEAD)
  length,       // Content-Length
  chunked,      // Transfer-Encoding: chunked
  until_close,  // neither (HTTP/1.0 and a length nobody knows): the body ends when the connection closes
};

// The head of a response whose body is sent separately (a stream, a file region, an upgraded protocol). Not
// on the hot path: the buffered case keeps write_response above. `length` is announced with
// body_framing::length, and also with body_framing::none when announce_length is set (a HEAD answered with
// the length a GET would have). `connection` is the Connection header's value ("close", "Upgrade"), or "".
template <class Output>
void write_head(Output& out, const keel::response& res, const writer_options& options, body_framing framing,
                std::uint64_t length, std::string_view connection, bool announce_length = false) {
  const int code = res.status_code();
  std::string_view status_line = keel::detail::status_lines.find(code);
  char fallback_line[32];
  if (KEEL_UNLIKELY(status_line.empty()))
    status_line = keel::detail::unnamed_status_line(code, fallback_line);
  auto put = [&out](std::string_view s) {
    if (!s.empty()) std::memcpy(keel::detail::extend_output(out, s.size()), s.data(), s.size());
  };
  put(status_line);
  if (!options.server.empty()) {
    put("Server: ");
    put(options.server);
    put("\r\n");
  }
  put("Date: ");
  put(std::string_view(cached_date().data(), imf_fixdate_size));
  put("\r\n");
  if (framing == body_framing::length || (framing == body_framing::none && announce_length)) {
    // Digits by hand: a second caller of std::to_chars made g++ stop inlining it into write_response.
    char digits[24];
    char* first = digits + sizeof digits;
    do {
      *--first = static_cast<char>('0' + length % 10);
      length /= 10;
    } while (length != 0);
    put("Content-Length: ");
    put(std::string_view(first, static_cast<std::size_t>(digits + sizeof digits - first)));
    put("\r\n");
  } else if (framing == body_framing::chunked) {
    put("Transfer-Encoding: chunked\r\n");
  }
  if (!connection.empty()) {
    put("Connection: ");
    put(connection);
    put("\r\n");
  }
  if (res.has_content_type()) {
    put("Content-Type: ");
    put(res.content_type());
    put("\r\n");
  }
  put(res.extra_header_lines());
  put("\r\n");
}

// The interim response a client waiting on "Expect: 100-continue" needs before it sends the body.
template <class Output>
void write_continue(Output& out) {
  constexpr std::string_view line = "HTTP/1.1 100 Continue\r\n\r\n";
  std::memcpy(keel::detail::extend_output(out, line.size()), line.data(), line.size());
}

}  // namespace http
}  // namespace v0
}  // namespace keel
