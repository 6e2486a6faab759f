// keel::http::request_parser: a strict, incremental, zero-copy HTTP/1.1 request parser (RFC 9112).
//
// Strictness choices (each one has a test in tests/parser_test.cpp):
// - Every line ends in CRLF; a bare LF anywhere in the head or the chunk framing is a 400. Empty lines (CRLF)
//   before the request line are skipped (RFC 9112 section 2.2), and count towards the header byte limit.
// - The request-target may hold only VCHARs (0x21..0x7E): raw UTF-8 or a second space is a 400.
// - obs-fold, whitespace before the colon, CTLs (other than HTAB) or DEL in values: 400.
// - Content-Length must be digits only; repeated identical values are accepted, different ones are a 400; a
//   list form ("5, 5") is a 400. Content-Length with Transfer-Encoding is a 400.
// - Transfer-Encoding: only a single, final `chunked` is implemented. Any other coding is a 501; `chunked`
//   applied twice or not last is a 400. HTTP/1.0 with chunked is accepted but never kept alive.
// - HTTP/1.1 needs exactly one Host field. Versions other than HTTP/1.0 and HTTP/1.1 that are well formed
//   (HTTP/2.0, HTTP/3, HTTP/1.2) are a 505; anything else is a 400.
// - Expect: 100-continue is only honoured for HTTP/1.1 (RFC 9110 section 10.1.1).
#pragma once

#include "keel/config.hpp"
#include "keel/detail/http_chars.hpp"
#include "keel/http/method.hpp"
#include "keel/http/request.hpp"
#include "keel/http/status.hpp"
#include "keel/server/config.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string_view>

namespace keel {
inline namespace v0 {
namespace http {

enum class parse_status : std::uint8_t { complete, incomplete, error };

struct parse_result {
  parse_status status = parse_status::incomplete;
  std::size_t consumed = 0;                        // on complete: bytes the request used
  http::status error = http::status::bad_request;  // on error: 400, 413, 414, 431, 501 or 505
  bool headers_complete = false;                   // on incomplete: only body bytes are missing
};

class request_parser {
 public:
  // A chunk-size line (size + extensions) longer than this is a 400: extensions are ignored, and an endless
  // one would otherwise keep the connection reading.
  static constexpr std::size_t max_chunk_line_bytes = 4096;
  // Chunk framing (size lines and CRLFs) may add at most max_body_bytes plus this much to a body: 413 beyond.
  static constexpr std::size_t max_chunk_framing_slack = 64 * 1024;

  explicit request_parser(const http_limits& limits = {}) noexcept
      : limits_(limits),
        max_fields_(std::min<std::size_t>(limits.max_headers, header_list::capacity)),
        body_limit_(limits.max_body_bytes) {}

  // Split mode (the server's): a request with a body stops after its head, returned as incomplete with
  // headers_complete set and `consumed` = the head's size, before any body limit is applied. The caller
  // then picks the body limit of the route the head names (set_body_limit) and calls parse() again to
  // buffer the body, or reset() to read the body itself (keel::body_stream).
  void split_body(bool on) noexcept { split_ = on; }
  // The limit on the decoded body of the request being parsed (in split mode, set after the head).
  void set_body_limit(std::size_t n) noexcept { body_limit_ = n; }

  // Parses ONE request from the start of [data, data + size). On complete, `out` holds views into
  // [data, data + consumed) and the parser is ready for the next request (which starts at data + consumed).
  // On incomplete, call again with the same bytes plus more; the parser remembers how far it got as offsets,
  // so the caller may move the unparsed bytes (compact its buffer) between calls. A chunked body is
  // de-chunked in place when it is complete, so the bytes after the head change.
  // Syntax errors are reported as soon as the offending line is complete; errors that depend on a field's
  // meaning (a second Host, a bad Content-Length) when the header section is complete, so feeding a head
  // in pieces or whole gives the same answer.
  parse_result parse(char* data, std::size_t size, request& out) noexcept {
    if (progress_.phase == stage::head) {
      if (progress_.resume != 0) {
        const parse_result scanned = scan_new_field_lines(data, size);
        if (scanned.status != parse_status::complete) return scanned;
      }
      const head_result head = parse_head(data, size, out);
      if (head.status == parse_status::incomplete) {
        progress_.resume = head.resume;
        progress_.fields = head.fields;
        return {};
      }
      if (head.status == parse_status::error) return fail(head.error);
      if (KEEL_LIKELY(!out.chunked && out.content_length == 0)) {  // no body: done (out.body is empty)
        progress_.resume = 0;
        progress_.fields = 0;
        return {parse_status::complete, head.end};
      }
      progress_.head_end = head.end;
      progress_.chunk_pos = head.end;
      progress_.phase = out.chunked ? stage::chunked_body : stage::fixed_body;
      if (split_) return {parse_status::incomplete, head.end, http::status::bad_request, true};
    } else {
      // The head was validated by an earlier call; refill `out` so the caller may pass a fresh request
      // (out of line: a second inlined copy of parse_head here would double parse's code for a cold path).
      refresh_head(data, out);
    }
    return progress_.phase == stage::chunked_body ? parse_chunked_body(data, size, out)
                                                  : parse_fixed_body(data, size, out);
  }

  // Fills `out` again from the head the last parse() stopped after (split mode), for a caller that moved the
  // request's bytes to `data`.
  KEEL_NOINLINE void refresh_head(char* data, request& out) noexcept {
    parse_head<false>(data, progress_.head_end, out);
  }

  // Forgets any partial progress; call before parsing from a new buffer position after an error.
  void reset() noexcept { progress_ = {}; }

  const http_limits& limits() const noexcept { return limits_; }

 private:
  friend class body_decoder;
  friend class response_parser;  // the HTTP client's status line + the same field-line rules
  enum class stage : std::uint8_t { head, fixed_body, chunked_body };

  struct progress_state {
    stage phase = stage::head;
    bool in_trailers = false;
    std::size_t resume = 0;     // head: start of the first unfinished field line; 0 = request line unfinished
    std::size_t fields = 0;     // head: field lines seen before `resume`
    std::size_t head_end = 0;   // just past the empty line ending the header section
    std::size_t chunk_pos = 0;  // chunked: start of the next chunk-size line or trailer line
    std::size_t decoded = 0;    // chunked: body bytes in the complete chunks before chunk_pos
    std::size_t trailer_fields = 0;
    std::size_t trailer_start =
        0;  // chunked: where the trailer section begins (its size is limited as a whole)
  };

  struct head_result {
    parse_status status = parse_status::incomplete;
    http::status error = http::status::bad_request;
    std::size_t end = 0;
    std::size_t resume = 0;
    std::size_t fields = 0;
  };

  struct field_line {
    parse_status status = parse_status::incomplete;
    bool empty = false;  // the CRLF ending a header or trailer section
    std::string_view name{};
    std::string_view value{};
    const char* next = nullptr;
  };

  struct chunk_line {
    parse_status status = parse_status::incomplete;
    std::uint64_t size = 0;
    const char* data = nullptr;  // first byte of the chunk data
  };

  parse_result fail(http::status error) noexcept {
    progress_ = {};
    return {parse_status::error, 0, error, false};
  }

  // One "name: value CRLF" line (or the empty line) starting at p.
  static KEEL_ALWAYS_INLINE field_line parse_field_line(const char* p, const char* end) noexcept {
    field_line line;
    if (p == end) return line;
    if (*p == '\r') {
      if (end - p < 2) return line;
      if (p[1] != '\n') return {parse_status::error};
      line.status = parse_status::complete;
      line.empty = true;
      line.next = p + 2;
      return line;
    }
    const char* const name_end = detail::find_token_end(p, end);
    if (name_end == end) return line;
    // An empty name covers obs-fold (a line starting with SP/HTAB); a space before ':' fails here too.
    if (*name_end != ':' || name_end == p) return {parse_status::error};
    const char* value = name_end + 1;
    while (value != end && (*value == ' ' || *value == '\t')) ++value;
    const char* value_end = detail::find_field_value_end(value, end);
    if (value_end == end) return line;
    if (*value_end != '\r') return {parse_status::error};
    if (end - value_end < 2) return line;
    if (value_end[1] != '\n') return {parse_status::error};
    line.next = value_end + 2;
    while (value_end != value && (value_end[-1] == ' ' || value_end[-1] == '\t')) --value_end;
    line.status = parse_status::complete;
    line.name = std::string_view(p, static_cast<std::size_t>(name_end - p));
    line.value = std::string_view(value, static_cast<std::size_t>(value_end - value));
    return line;
  }

  // While the head is incomplete: validate only the lines that arrived since the last call, so a slowly
  // trickled head costs linear time. Returns complete once the empty line is there.
  parse_result scan_new_field_lines(const char* data, std::size_t size) noexcept {
    const char* const end = data + size;
    const char* p = data + progress_.resume;
    for (;;) {
      const field_line line = parse_field_line(p, end);
      if (line.status == parse_status::error) return fail(http::status::bad_request);
      if (line.status == parse_status::incomplete) break;
      if (line.empty) return {parse_status::complete};
      if (++progress_.fields > max_fields_) return fail(http::status::request_header_fields_too_large);
      p = line.next;
    }
    progress_.resume = static_cast<std::size_t>(p - data);
    if (size > limits_.max_header_bytes) return fail(http::status::request_header_fields_too_large);
    return {};
  }

  // "HTTP/" DIGIT ["." DIGIT] CRLF when the fast path did not match. Sets the minor version on success.
  static head_result parse_version(const char*& p, const char* end, request& out) noexcept {
    constexpr std::string_view prefix = "HTTP/";
    const std::size_t have = std::min<std::size_t>(prefix.size(), static_cast<std::size_t>(end - p));
    if (std::memcmp(p, prefix.data(), have) != 0) return {parse_status::error};
    if (have < prefix.size()) return {};
    const char* q = p + prefix.size();
    auto is_digit = [](char c) { return c >= '0' && c <= '9'; };
    if (q == end) return {};
    if (!is_digit(*q)) return {parse_status::error};
    const char major = *q++;
    char minor = 0;
    if (q == end) return {};
    if (*q == '.') {
      if (++q == end) return {};
      if (!is_digit(*q)) return {parse_status::error};
      minor = *q++;
    }
    if (q == end) return {};
    if (*q != '\r') return {parse_status::error};
    if (++q == end) return {};
    if (*q != '\n') return {parse_status::error};
    if (major == '1' && minor == 0) return {parse_status::error};  // "HTTP/1" is not a version
    if (major != '1' || (minor != '0' && minor != '1'))
      return {parse_status::error, http::status::http_version_not_supported};
    out.version_minor = static_cast<std::uint8_t>(minor - '0');
    p = q + 1;
    return {parse_status::complete};
  }

  // Splits the request-target into path and query (origin-form, absolute-form, asterisk, authority).
  static bool split_target(request& out) noexcept {
    const std::string_view target = out.target;
    std::string_view rest;
    if (target.front() == '/') {
      rest = target;  // origin-form (parse_head handles it inline; kept for completeness)
    } else if (target == "*") {
      if (out.method != method::options) return false;
      out.path = target;
      return true;
    } else if (out.method == method::connect) {
      return true;  // authority-form: host:port, no path
    } else {
      // absolute-form: scheme "://" authority path-abempty [ "?" query ]
      std::size_t i = 0;
      if (!((target[0] | 0x20) >= 'a' && (target[0] | 0x20) <= 'z')) return false;
      while (i < target.size() && detail::is_char(target[i], detail::char_scheme)) ++i;
      if (target.substr(i, 3) != "://") return false;
      const std::size_t authority = i + 3;
      const std::size_t path_begin = target.find_first_of("/?", authority);
      if (path_begin == authority) return false;  // no host
      rest = path_begin == std::string_view::npos ? std::string_view{} : target.substr(path_begin);
    }
    const std::size_t question = rest.find('?');
    out.path = rest.substr(0, question);
    if (question != std::string_view::npos) out.query = rest.substr(question + 1);
    if (out.path.empty()) out.path = "/";  // "http://host" or "http://host?q" means the root
    return true;
  }

  // A field name the parser acts on, another common request field name, or neither.
  enum class field_kind : std::uint8_t {
    unknown,
    other,
    host,
    expect,
    connection,
    content_length,
    transfer_encoding
  };

  // The kind of a field name (a token), by the names the parser acts on. (Compares, not a switch: a jump
  // table per inlined copy is rodata every program carries.)
  static KEEL_ALWAYS_INLINE field_kind classify(std::string_view name) noexcept {
    using detail::token_equals_lower;
    const std::size_t n = name.size();
    if (n == 4) return token_equals_lower(name, "host") ? field_kind::host : field_kind::unknown;
    if (n == 10) return token_equals_lower(name, "connection") ? field_kind::connection : field_kind::unknown;
    if (n == 14)
      return token_equals_lower(name, "content-length") ? field_kind::content_length : field_kind::unknown;
    if (n == 6) return token_equals_lower(name, "expect") ? field_kind::expect : field_kind::unknown;
    if (n == 17)
      return token_equals_lower(name, "transfer-encoding") ? field_kind::transfer_encoding
                                                           : field_kind::unknown;
    return field_kind::unknown;
  }

  // Whether p[0, N - 1) is `name_colon` (a lower-case field name and ':'), letters in either case and every
  // other byte exactly: a match proves the name a token without scanning it. The caller guarantees the bytes.
  // The case bits come from the literal itself (0x20 where it holds a lower-case letter: bit 0x40 shifted
  // down), so no control byte can pass for '-' or ':'.
  template <std::size_t N>
  static KEEL_ALWAYS_INLINE bool starts_with_name(const char* p, const char (&name_colon)[N]) noexcept {
    constexpr std::size_t n = N - 1;
    static_assert(n >= 4 && n <= 24);
    constexpr std::uint64_t bit6 = 0x4040404040404040ull;
    if constexpr (n < 8) {
      const std::uint32_t a = detail::load_u32(name_colon), b = detail::load_u32(name_colon + n - 4);
      return (detail::load_u32(p) | ((a & 0x40404040u) >> 1)) == a &&
             (detail::load_u32(p + n - 4) | ((b & 0x40404040u) >> 1)) == b;
    } else {
      for (std::size_t i = 0; i + 8 < n; i += 8) {
        const std::uint64_t w = detail::load_u64(name_colon + i);
        if ((detail::load_u64(p + i) | ((w & bit6) >> 1)) != w) return false;
      }
      const std::uint64_t w = detail::load_u64(name_colon + n - 8);
      return (detail::load_u64(p + n - 8) | ((w & bit6) >> 1)) == w;
    }
  }

  // The most common request field names, matched with their ':' from the line's first byte. Returns the
  // name's length (0: not one of them; the caller scans the name) and sets `kind`. Needs 18 readable bytes.
  static constexpr std::size_t common_name_bytes = 18;
  static KEEL_ALWAYS_INLINE std::size_t common_name(const char* p, field_kind& kind) noexcept {
    auto is = [&](const auto& name_colon, field_kind k) KEEL_ALWAYS_INLINE_LAMBDA {
      if (!starts_with_name(p, name_colon)) return false;
      kind = k;
      return true;
    };
    constexpr field_kind other = field_kind::other;
    switch (*p | 0x20) {
      case 'a':
        if (is("accept:", other)) return 6;
        if (is("accept-encoding:", other) || is("accept-language:", other)) return 15;
        if (is("authorization:", other)) return 13;
        return 0;
      case 'c':
        if (is("connection:", field_kind::connection)) return 10;
        if (is("content-length:", field_kind::content_length)) return 14;
        if (is("content-type:", other)) return 12;
        if (is("cookie:", other)) return 6;
        if (is("cache-control:", other)) return 13;
        return 0;
      case 'e':
        return is("expect:", field_kind::expect) ? 6 : 0;
      case 'h':
        return is("host:", field_kind::host) ? 4 : 0;
      case 'i':
        if (is("if-none-match:", other)) return 13;
        return is("if-modified-since:", other) ? 17 : 0;
      case 'o':
        return is("origin:", other) ? 6 : 0;
      case 'r':
        return is("referer:", other) ? 7 : 0;
      case 't':
        return is("transfer-encoding:", field_kind::transfer_encoding) ? 17 : 0;
      case 'u':
        if (is("user-agent:", other)) return 10;
        return is("upgrade:", other) ? 7 : 0;
      default:
        return 0;
    }
  }

  // What the parser acts on in the header section. Errors that need a field's meaning wait for the end of
  // the section, so a head fed in pieces is rejected exactly when the same head in one buffer is.
  struct header_facts {
    bool malformed = false;
    bool host_seen = false, length_seen = false, coding_seen = false;
    bool chunked_last = false, coding_misplaced = false, coding_unknown = false;
    bool connection_close = false, connection_keep_alive = false;
    std::size_t content_length = 0;

    KEEL_ALWAYS_INLINE void note(std::string_view name, std::string_view value, request& out) noexcept {
      note(classify(name), value, out);
    }

    KEEL_ALWAYS_INLINE void note(field_kind kind, std::string_view value, request& out) noexcept {
      if (kind <= field_kind::other) return;  // most fields: nothing to act on
      if (kind == field_kind::host) {
        malformed |= host_seen;  // RFC 9112 section 3.2: exactly one Host
        host_seen = true;
      } else if (kind == field_kind::connection) {
        note_connection(value);
      } else if (kind == field_kind::content_length) {
        note_content_length(value);
      } else if (kind == field_kind::expect) {
        if (detail::token_equals_lower(value, "100-continue")) out.expect_continue = out.version_minor == 1;
      } else {  // transfer_encoding
        coding_seen = true;
        detail::for_each_list_element(value, [&](std::string_view coding) {
          if (chunked_last) coding_misplaced = true;
          chunked_last = detail::token_equals_lower(coding, "chunked");
          if (!chunked_last) coding_unknown = true;
          return true;
        });
      }
    }

    KEEL_ALWAYS_INLINE void note_connection(std::string_view value) noexcept {
      // The usual single option skips the list walk.
      if (detail::token_equals_lower(value, "keep-alive"))
        connection_keep_alive = true;
      else if (detail::token_equals_lower(value, "close"))
        connection_close = true;
      else
        detail::for_each_list_element(value, [&](std::string_view option) {
          if (detail::token_equals_lower(option, "close"))
            connection_close = true;
          else if (detail::token_equals_lower(option, "keep-alive"))
            connection_keep_alive = true;
          return true;
        });
    }

    void note_content_length(std::string_view value) noexcept {
      std::size_t n = 0;
      malformed |= value.empty();
      for (const char c : value) {
        if (c < '0' || c > '9') {
          malformed = true;
          break;
        }
        // Saturate: any value this large is over every body limit anyway.
        n = n > (std::numeric_limits<std::size_t>::max() - 9) / 10
                ? std::numeric_limits<std::size_t>::max()
                : n * 10 + static_cast<std::size_t>(c - '0');
      }
      malformed |= length_seen && n != content_length;
      length_seen = true;
      content_length = n;
    }
  };

  // Like request::clear(), but one plain store per field: its chained `a = b = {}` reloads a 16-byte view
  // from two 8-byte stores, a store-forwarding stall that cost ~10% of a minimal parse.
  static KEEL_ALWAYS_INLINE void clear_request(request& out) noexcept {
    out.method = method::unknown;
    out.method_name = {};
    out.target = {};
    out.path = {};
    out.query = {};
    out.body = {};
    out.version_minor = 1;
    out.keep_alive = true;
    out.chunked = false;
    out.expect_continue = false;
    out.content_length = 0;
    out.headers.clear();
    out.trailer_begin = 0;
  }

  // The request line and the header section. Fills every field of `out` but the body. Without `fast_fields`
  // every field line takes the careful loop (same result, less code: the refill of a validated head).
  template <bool fast_fields = true>
  KEEL_ALWAYS_INLINE head_result parse_head(const char* data, std::size_t size, request& out) const noexcept {
    clear_request(out);
    head_result result;
    const char* const end = data + size;
    const char* p = data;
    while (end - p >= 2 && p[0] == '\r' && p[1] == '\n') p += 2;
    if (end - p == 1 && *p == '\r') return head_result{};  // maybe one more empty line

    auto unfinished = [&](std::size_t resume, std::size_t fields) {
      if (size > limits_.max_header_bytes)
        return head_result{parse_status::error, http::status::request_header_fields_too_large};
      return head_result{parse_status::incomplete, http::status::bad_request, 0, resume, fields};
    };
    constexpr head_result bad_request{parse_status::error};

    // --- request line
    if (KEEL_LIKELY(end - p >= 4 && detail::load_u32(p) == detail::word32("GET "))) {
      out.method_name = std::string_view(p, 3);
      out.method = method::get;
      p += 4;
    } else {
      const char* const method_begin = p;
      p = detail::find_token_end(p, end);
      if (p == end) return unfinished(0, 0);
      if (*p != ' ' || p == method_begin) return bad_request;
      out.method_name = std::string_view(method_begin, static_cast<std::size_t>(p - method_begin));
      out.method = parse_method(out.method_name);
      ++p;
    }

    const char* const target_begin = p;
    const char* question = nullptr;
    p = detail::find_target_end(p, end, question);
    if (static_cast<std::size_t>(p - target_begin) > limits_.max_target_bytes)
      return {parse_status::error, http::status::uri_too_long};
    if (p == end) return unfinished(0, 0);
    if (*p != ' ' || p == target_begin) return bad_request;
    out.target = std::string_view(target_begin, static_cast<std::size_t>(p - target_begin));
    ++p;

    // "HTTP/1.1" CRLF or "HTTP/1.0" CRLF as two word compares; anything else takes the careful path.
    constexpr std::uint64_t minor_bit = detail::word64("HTTP/1.1") ^ detail::word64("HTTP/1.0");
    if (KEEL_LIKELY(end - p >= 10 && (detail::load_u64(p) | minor_bit) == detail::word64("HTTP/1.1") &&
                    detail::load_u16(p + 8) == detail::word16("\r\n"))) {
      out.version_minor = static_cast<std::uint8_t>(p[7] - '0');
      p += 10;
    } else {
      const head_result version = parse_version(p, end, out);
      if (version.status == parse_status::incomplete) return unfinished(0, 0);
      if (version.status == parse_status::error) return version;
    }
    if (KEEL_LIKELY(*target_begin == '/')) {  // origin-form, inline: nearly every request
      if (question == nullptr) {
        out.path = out.target;
      } else {
        const auto path_size = static_cast<std::size_t>(question - target_begin);
        out.path = out.target.substr(0, path_size);
        out.query = out.target.substr(path_size + 1);
      }
    } else if (!split_target(out)) {
      return bad_request;
    }

    // --- header section
    std::size_t fields = 0;
    header_facts facts;
    bool section_done = false;
    // Fast path: line ends taken from one classification of the head's control bytes (detail::head_window).
    // It takes only lines that are plainly well formed (values without HTAB, control bytes or unusual
    // whitespace) and leaves everything else, from the first such line on, to the careful loop below, which
    // applies every rule; both accept and store a line the same way.
    if constexpr (fast_fields) {
      detail::head_window window = detail::load_head_window(p, data, end);
      const std::size_t max_fields = max_fields_;  // a local: the stores into `out` below could alias it
      for (;;) {
        // The empty line ending the section, tested before the name scan (which it would end at once).
        if (KEEL_UNLIKELY(end - p < 2)) break;
        if (detail::load_u16(p) == detail::word16("\r\n")) {
          p += 2;
          section_done = true;
          break;
        }
        // A common name and its ':' are matched whole; any other name is scanned.
        field_kind kind = field_kind::unknown;
        const std::size_t common = end - p >= std::ptrdiff_t{common_name_bytes} ? common_name(p, kind) : 0;
        const char* name_end = p + common;
        if (common == 0) {
          name_end = detail::find_token_end(p, end);
          if (KEEL_UNLIKELY(name_end == end || *name_end != ':' || name_end == p)) break;
          kind = classify(std::string_view(p, static_cast<std::size_t>(name_end - p)));
        }
        const std::string_view name(p, static_cast<std::size_t>(name_end - p));
        const char* const line_end = detail::find_control_in_head(window, name_end + 1, data, end);
        if (KEEL_UNLIKELY(end - line_end < 2 || detail::load_u16(line_end) != detail::word16("\r\n"))) break;
        // One SP after the colon and none before the CR is the norm; other whitespace takes the careful loop
        // (no HTAB can be here: it would have ended the line above).
        const char* const value = name_end + 1 + (name_end[1] == ' ');
        if (KEEL_UNLIKELY((*value == ' ' && value != line_end) || (line_end[-1] == ' ' && line_end != value)))
          break;
        if (KEEL_UNLIKELY(++fields > max_fields))
          return {parse_status::error, http::status::request_header_fields_too_large};
        const std::string_view field_value(value, static_cast<std::size_t>(line_end - value));
        out.headers.push_unchecked(name, field_value);  // max_fields_ <= capacity, so it fits
        facts.note(kind, field_value, out);
        p = line_end + 2;
      }
    }
    // The careful loop: the same checks as parse_field_line, with the error timing of the incremental path.
    while (!section_done) {
      const char* const line_begin = p;
      if (KEEL_UNLIKELY(end - p < 2)) {
        if (p != end && *p != '\r' && !detail::is_char(*p, detail::char_tchar)) return bad_request;
        return unfinished(static_cast<std::size_t>(line_begin - data), fields);
      }
      if (*p == '\r') {
        if (p[1] != '\n') return bad_request;
        p += 2;
        break;
      }
      const char* const name_end = detail::find_token_end(p, end);
      if (KEEL_UNLIKELY(name_end == end))
        return unfinished(static_cast<std::size_t>(line_begin - data), fields);
      // An empty name covers obs-fold (a line starting with SP/HTAB); a space before ':' fails here too.
      if (KEEL_UNLIKELY(*name_end != ':' || name_end == p)) return bad_request;
      const char* value = name_end + 1;
      while (value != end && (*value == ' ' || *value == '\t')) ++value;
      const char* value_end = detail::find_field_value_end(value, end);
      if (KEEL_UNLIKELY(end - value_end < 2)) {
        if (value_end != end && *value_end != '\r') return bad_request;
        return unfinished(static_cast<std::size_t>(line_begin - data), fields);
      }
      if (KEEL_UNLIKELY(detail::load_u16(value_end) != detail::word16("\r\n"))) return bad_request;
      p = value_end + 2;
      while (value_end != value && (value_end[-1] == ' ' || value_end[-1] == '\t')) --value_end;
      if (KEEL_UNLIKELY(++fields > max_fields_))
        return {parse_status::error, http::status::request_header_fields_too_large};
      const std::string_view name(line_begin, static_cast<std::size_t>(name_end - line_begin));
      const std::string_view field_value(value, static_cast<std::size_t>(value_end - value));
      out.headers.push_unchecked(name, field_value);
      facts.note(name, field_value, out);
    }
    if (static_cast<std::size_t>(p - data) > limits_.max_header_bytes)
      return {parse_status::error, http::status::request_header_fields_too_large};
    if (facts.malformed) return bad_request;

    // --- framing and connection semantics, decided on the whole section
    if (facts.coding_seen) {
      if (facts.length_seen || facts.coding_misplaced) return bad_request;  // request smuggling guards
      if (facts.coding_unknown) return {parse_status::error, http::status::not_implemented};
      if (!facts.chunked_last) return bad_request;  // an empty Transfer-Encoding
      out.chunked = true;
    } else if (!split_ && facts.content_length > body_limit_) {
      return {parse_status::error, http::status::payload_too_large};
    }
    out.content_length = facts.content_length;
    if (out.version_minor == 1) {
      if (!facts.host_seen) return bad_request;
      out.keep_alive = !facts.connection_close;
    } else {
      // RFC 9112 section 6.1: a chunked HTTP/1.0 request must not keep the connection.
      out.keep_alive = facts.connection_keep_alive && !facts.connection_close && !out.chunked;
    }
    out.trailer_begin = out.headers.size();
    result.status = parse_status::complete;
    result.end = static_cast<std::size_t>(p - data);
    return result;
  }

  parse_result parse_fixed_body(const char* data, std::size_t size, request& out) noexcept {
    const std::size_t begin = progress_.head_end;
    if (size - begin < out.content_length)
      return {parse_status::incomplete, 0, http::status::bad_request, true};
    out.body = std::string_view(data + begin, out.content_length);
    progress_ = {};
    return {parse_status::complete, begin + out.content_length};
  }

  // chunk-size [ BWS ";" chunk-ext ] CRLF, starting at p.
  static chunk_line parse_chunk_line(const char* p, const char* end) noexcept {
    const char* q = p;
    std::uint64_t n = 0;
    while (q != end && detail::is_char(*q, detail::char_hex)) {
      if (n >> 60) return {parse_status::error};  // the next digit would overflow 64 bits
      n = n * 16 + static_cast<std::uint64_t>(detail::hex_value(*q));
      ++q;
    }
    if (q == p && q != end) return {parse_status::error};
    const char* const digits_end = q;
    while (q != end && (*q == ' ' || *q == '\t')) ++q;  // BWS, allowed only before ';'
    if (q != end && *q == ';')
      q = detail::find_field_value_end(q + 1, end);  // extensions are ignored
    else if (q != end && q != digits_end)
      return {parse_status::error};
    if (static_cast<std::size_t>(q - p) > max_chunk_line_bytes) return {parse_status::error};
    if (q == end) return {};
    if (*q != '\r') return {parse_status::error};
    if (end - q < 2) return {};
    if (q[1] != '\n') return {parse_status::error};
    return {parse_status::complete, n, q + 2};
  }

  parse_result parse_chunked_body(char* data, std::size_t size, request& out) noexcept {
    const char* const end = data + size;
    const parse_result waiting{parse_status::incomplete, 0, http::status::bad_request, true};
    const std::size_t max_trailer_fields = max_fields_ - std::min(max_fields_, out.headers.size());
    while (!progress_.in_trailers) {
      const chunk_line chunk = parse_chunk_line(data + progress_.chunk_pos, end);
      if (chunk.status == parse_status::error) return fail(http::status::bad_request);
      if (chunk.status == parse_status::incomplete) return waiting;
      if (chunk.size == 0) {
        progress_.in_trailers = true;
        progress_.chunk_pos = static_cast<std::size_t>(chunk.data - data);
        progress_.trailer_start = progress_.chunk_pos;
        break;
      }
      if (chunk.size > body_limit_ - progress_.decoded) return fail(http::status::payload_too_large);
      const std::size_t data_begin = static_cast<std::size_t>(chunk.data - data);
      if (size - data_begin < chunk.size + 2) return waiting;
      const char* const crlf = chunk.data + chunk.size;
      if (crlf[0] != '\r' || crlf[1] != '\n') return fail(http::status::bad_request);
      progress_.decoded += static_cast<std::size_t>(chunk.size);
      progress_.chunk_pos = data_begin + static_cast<std::size_t>(chunk.size) + 2;
      // Tiny chunks with long extensions could make the raw body many times the decoded limit.
      const std::size_t framing = progress_.chunk_pos - progress_.head_end - progress_.decoded;
      if (framing > body_limit_ + max_chunk_framing_slack) return fail(http::status::payload_too_large);
    }
    // Trailer section: field lines up to an empty line, validated as they arrive.
    std::size_t trailer_end = 0;
    for (;;) {
      const field_line line = parse_field_line(data + progress_.chunk_pos, end);
      if (line.status == parse_status::error) return fail(http::status::bad_request);
      // The whole trailer section counts against max_header_bytes, measured the same way whether it arrived
      // in one read or in many (the fuzzer compares the two).
      if (line.status == parse_status::incomplete) {
        if (size - progress_.trailer_start > limits_.max_header_bytes)
          return fail(http::status::request_header_fields_too_large);
        return waiting;
      }
      progress_.chunk_pos = static_cast<std::size_t>(line.next - data);
      if (progress_.chunk_pos - progress_.trailer_start > limits_.max_header_bytes)
        return fail(http::status::request_header_fields_too_large);
      if (line.empty) {
        trailer_end = progress_.chunk_pos;
        break;
      }
      if (++progress_.trailer_fields > max_trailer_fields)
        return fail(http::status::request_header_fields_too_large);
    }

    // Complete: move the chunk data together right after the head, then collect the trailer fields (they lie
    // after the last chunk, so the move never touches them).
    char* const body = data + progress_.head_end;
    std::size_t written = 0;
    const char* p = body;
    for (;;) {
      const chunk_line chunk = parse_chunk_line(p, end);
      if (chunk.size == 0) {
        p = chunk.data;
        break;
      }
      std::memmove(body + written, chunk.data, static_cast<std::size_t>(chunk.size));
      written += static_cast<std::size_t>(chunk.size);
      p = chunk.data + chunk.size + 2;
    }
    for (;;) {
      const field_line line = parse_field_line(p, end);
      if (line.empty) break;
      out.headers.push(line.name, line.value);
      p = line.next;
    }
    out.body = std::string_view(body, written);
    out.content_length = written;
    progress_ = {};
    return {parse_status::complete, trailer_end};
  }

  http_limits limits_;
  std::size_t max_fields_;
  std::size_t body_limit_;
  bool split_ = false;
  progress_state progress_;
};

}  // namespace http
}  // namespace v0
}  // namespace keel
