// keel::http::response_parser: the head of an HTTP/1.x response (status line and header section), for the
// HTTP client (keel/http_client.hpp). Header lines go through request_parser's own field-line reader, so a
// response head is held to the same rules as a request head (CRLF only, no obs-fold, no space before ':').
// The body is taken apart by http::body_decoder, as the server does for streamed request bodies.
//
// Framing rules (RFC 9112 section 6.3): a response to HEAD, a 1xx, 204 or 304 has no body; chunked when
// Transfer-Encoding ends in `chunked`; else Content-Length; else the body runs until the connection closes.
// Content-Length together with Transfer-Encoding, differing Content-Length values, or a coding other than a
// final `chunked` are errors (the client never guesses at framing).
#pragma once

#include "keel/config.hpp"
#include "keel/detail/http_chars.hpp"
#include "keel/http/parser.hpp"
#include "keel/http/request.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace keel {
inline namespace v0 {
namespace http {

enum class response_framing : std::uint8_t { none, fixed, chunked, until_close };

struct response_head {
  int status = 0;
  std::uint8_t version_minor = 1;
  std::string_view reason;
  header_list headers;
  bool keep_alive = true;
  bool chunked = false;
  bool has_length = false;
  std::uint64_t content_length = 0;
};

class response_parser {
 public:
  explicit response_parser(std::size_t max_header_bytes = 64 * 1024) noexcept
      : max_header_bytes_(max_header_bytes) {}

  // Parses a whole response head from the start of [data, data + size). complete: `consumed` is the head's
  // size and `out` holds views into [data, data + consumed). incomplete: call again with more bytes (the
  // head is scanned again from the start: heads are small). error: malformed, or over max_header_bytes.
  parse_result parse(const char* data, std::size_t size, response_head& out) const noexcept {
    out = response_head{};
    const char* const end = data + size;
    const parse_result incomplete =
        size > max_header_bytes_ ? parse_result{parse_status::error} : parse_result{};
    // --- status line: HTTP/1.x SP 3DIGIT [SP reason] CRLF
    constexpr std::string_view prefix = "HTTP/1.";
    if (size < prefix.size() + 5) {
      const std::size_t have = std::min(size, prefix.size());
      if (std::string_view(data, have) != prefix.substr(0, have)) return {parse_status::error};
      return incomplete;
    }
    if (std::string_view(data, prefix.size()) != prefix) return {parse_status::error};
    const char* p = data + prefix.size();
    if (*p != '0' && *p != '1') return {parse_status::error};
    out.version_minor = static_cast<std::uint8_t>(*p - '0');
    ++p;
    if (*p++ != ' ') return {parse_status::error};
    int code = 0;
    for (int i = 0; i < 3; ++i, ++p) {
      if (*p < '0' || *p > '9') return {parse_status::error};
      code = code * 10 + (*p - '0');
    }
    if (code < 100) return {parse_status::error};
    out.status = code;
    if (p == end) return incomplete;
    if (*p != ' ' && *p != '\r') return {parse_status::error};
    const char* const reason_begin = *p == ' ' ? p + 1 : p;  // "HTTP/1.1 200\r\n" has no reason
    const char* const line_end = detail::find_field_value_end(reason_begin, end);
    if (end - line_end < 2) {
      if (line_end != end && *line_end != '\r') return {parse_status::error};
      return incomplete;
    }
    if (line_end[0] != '\r' || line_end[1] != '\n') return {parse_status::error};
    out.reason = std::string_view(reason_begin, static_cast<std::size_t>(line_end - reason_begin));
    p = line_end + 2;

    // --- header section
    bool length_seen = false, coding_seen = false, chunked_last = false, coding_bad = false;
    bool close = false, keep_alive = false;
    for (;;) {
      const auto line = request_parser::parse_field_line(p, end);
      if (line.status == parse_status::error) return {parse_status::error};
      if (line.status == parse_status::incomplete) return incomplete;
      p = line.next;
      if (line.empty) break;
      if (!out.headers.push(line.name, line.value)) return {parse_status::error};
      if (detail::token_equals_lower(line.name, "content-length")) {
        std::uint64_t n = 0;
        if (line.value.empty() || line.value.size() > 19) return {parse_status::error};
        for (const char c : line.value) {
          if (c < '0' || c > '9') return {parse_status::error};
          n = n * 10 + static_cast<std::uint64_t>(c - '0');
        }
        if (length_seen && n != out.content_length) return {parse_status::error};
        length_seen = true;
        out.content_length = n;
      } else if (detail::token_equals_lower(line.name, "transfer-encoding")) {
        coding_seen = true;
        detail::for_each_list_element(line.value, [&](std::string_view coding) {
          if (chunked_last) coding_bad = true;
          chunked_last = detail::token_equals_lower(coding, "chunked");
          if (!chunked_last) coding_bad = true;
          return true;
        });
      } else if (detail::token_equals_lower(line.name, "connection")) {
        detail::for_each_list_element(line.value, [&](std::string_view option) {
          if (detail::token_equals_lower(option, "close")) close = true;
          if (detail::token_equals_lower(option, "keep-alive")) keep_alive = true;
          return true;
        });
      }
    }
    if (static_cast<std::size_t>(p - data) > max_header_bytes_) return {parse_status::error};
    if (coding_seen && (length_seen || coding_bad || !chunked_last)) return {parse_status::error};
    out.chunked = coding_seen;
    out.has_length = length_seen;
    out.keep_alive = out.version_minor == 1 ? !close : keep_alive && !close;
    return {parse_status::complete, static_cast<std::size_t>(p - data)};
  }

  // How the body of a response with this head is delimited.
  static response_framing framing(const response_head& head, bool head_request) noexcept {
    if (head_request || head.status < 200 || head.status == 204 || head.status == 304)
      return response_framing::none;
    if (head.chunked) return response_framing::chunked;
    if (head.has_length) return head.content_length == 0 ? response_framing::none : response_framing::fixed;
    return response_framing::until_close;
  }

 private:
  std::size_t max_header_bytes_;
};

}  // namespace http
}  // namespace v0
}  // namespace keel
