// libFuzzer target for keel::http::request_parser: whole-buffer and incremental parses must agree, and every
// view of a parsed request must lie inside the bytes the parser reported as consumed.
#include "keel/http/parser.hpp"

#include "keel/http/body_decoder.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

namespace {

using keel::http::parse_result;
using keel::http::parse_status;
using keel::http::request;
using keel::http::request_parser;

void require(bool condition, const char* what) {
  if (!condition) {
    std::fprintf(stderr, "parser_fuzz invariant failed: %s\n", what);
    std::abort();
  }
}

bool inside(std::string_view view, const char* begin, std::size_t size) {
  if (view.empty()) return true;
  return view.data() >= begin && view.data() + view.size() <= begin + size;
}

// An independent, simple decoder for a chunked body the parser accepted (so the framing is known to be
// valid): the parser's in-place de-chunking must produce the same bytes.
std::string reference_dechunk(std::string_view raw) {
  std::string body;
  for (;;) {
    const std::size_t line_end = raw.find("\r\n");
    require(line_end != std::string_view::npos, "accepted chunk line has a CRLF");
    std::size_t size = 0;
    for (const char c : raw.substr(0, line_end)) {
      const int digit = keel::detail::hex_value(c);
      if (digit < 0) break;
      size = size * 16 + static_cast<std::size_t>(digit);
    }
    raw.remove_prefix(line_end + 2);
    if (size == 0) return body;
    require(raw.size() >= size + 2, "accepted chunk data is there");
    body.append(raw.substr(0, size));
    raw.remove_prefix(size + 2);
  }
}

// An independent slicing of the header section of a head the parser accepted: each line split at its first
// ':' with SP/HTAB trimmed from the value. The parser's fast path and its careful loop must both agree.
void require_reference_fields(std::string_view raw, const request& req) {
  while (raw.substr(0, 2) == "\r\n") raw.remove_prefix(2);
  raw.remove_prefix(raw.find("\r\n") + 2);  // the request line
  std::size_t i = 0;
  for (;;) {
    const std::size_t line_end = raw.find("\r\n");
    require(line_end != std::string_view::npos, "accepted field line has a CRLF");
    if (line_end == 0) break;
    const std::string_view line = raw.substr(0, line_end);
    const std::size_t colon = line.find(':');
    require(colon != std::string_view::npos, "accepted field line has a colon");
    std::string_view value = line.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
    while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
    require(i < req.trailer_begin, "no more fields than the reference");
    require(req.headers[i].name == line.substr(0, colon), "field name matches the reference");
    require(req.headers[i].value == value, "field value matches the reference");
    ++i;
    raw.remove_prefix(line_end + 2);
  }
  require(i == req.trailer_begin, "as many fields as the reference");
}

// What one parse produced, copied out of the buffer so whole and incremental runs can be compared.
struct outcome {
  parse_status status = parse_status::incomplete;
  std::size_t consumed = 0;
  keel::http::status error = keel::http::status::bad_request;
  std::string summary;
};

// `original` holds the bytes as they were before parsing (a chunked body is rewritten in place).
outcome record(const parse_result& r, const request& req, const char* begin, std::size_t size,
               std::string_view original, const keel::http_limits& limits) {
  outcome o{r.status, r.consumed, r.error, {}};
  require(r.consumed <= size, "consumed <= size");
  if (r.status != parse_status::complete) {
    require(r.consumed == 0, "consumed is 0 unless complete");
    return o;
  }
  require(r.consumed > 0, "a complete request consumed bytes");
  const std::size_t used = r.consumed;
  require_reference_fields(original.substr(0, used), req);
  require(inside(req.method_name, begin, used) && !req.method_name.empty(), "method inside");
  require(inside(req.target, begin, used) && !req.target.empty(), "target inside");
  require(inside(req.path, begin, used) || req.path == "/", "path inside");
  require(inside(req.query, begin, used), "query inside");
  require(inside(req.body, begin, used), "body inside");
  require(req.body.size() == req.content_length, "body size is content_length");
  require(req.body.size() <= limits.max_body_bytes, "body within limit");
  require(req.target.size() <= limits.max_target_bytes, "target within limit");
  require(req.trailer_begin <= req.headers.size(), "trailer_begin <= headers");
  require(req.headers.size() <= limits.max_headers, "header count within limit");
  require(req.version_minor <= 1, "version is 1.0 or 1.1");
  if (!req.body.empty()) {
    const auto body_offset = static_cast<std::size_t>(req.body.data() - begin);
    require(body_offset >= 4 && original.substr(body_offset - 4, 4) == "\r\n\r\n",
            "the body follows the head");
    if (req.chunked) {
      require(reference_dechunk(original.substr(body_offset, used - body_offset)) == req.body,
              "de-chunked body matches the reference decoder");
    } else {
      require(original.substr(body_offset, req.body.size()) == req.body, "a Content-Length body is verbatim");
      require(body_offset + req.body.size() == used, "a Content-Length body ends the request");
    }
  }
  o.summary.append(req.method_name).append(" ").append(req.target).append(" ").append(req.path).append("?");
  o.summary.append(req.query).append(req.keep_alive ? " ka" : " close").append(req.chunked ? " chunked" : "");
  o.summary.append(req.expect_continue ? " 100" : "")
      .append(" trailers@")
      .append(std::to_string(req.trailer_begin));
  for (const auto& field : req.headers) {
    require(inside(field.name, begin, used) && !field.name.empty(), "field name inside");
    require(inside(field.value, begin, used), "field value inside");
    o.summary.append("\n").append(field.name).append(": ").append(field.value);
  }
  o.summary.append("\n\n").append(req.body);
  return o;
}

// Parses up to 8 pipelined requests from `input`, each in one call on an exact-size copy.
std::vector<outcome> parse_whole(std::string_view input, const keel::http_limits& limits) {
  std::vector<outcome> outcomes;
  std::vector<char> buffer(input.begin(), input.end());
  request_parser parser(limits);
  request req;
  std::size_t offset = 0;
  for (int i = 0; i < 8; ++i) {
    const std::size_t size = buffer.size() - offset;
    const parse_result r = parser.parse(buffer.data() + offset, size, req);
    outcomes.push_back(record(r, req, buffer.data() + offset, size, input.substr(offset), limits));
    if (r.status != parse_status::complete || r.consumed == size) break;
    offset += r.consumed;
  }
  return outcomes;
}

// The first request of `input`, fed as growing prefixes (cut at the given points). Each call gets a fresh
// exact-size copy of the prefix: the parser keeps offsets, not pointers, and a read past the prefix is
// caught by ASan.
outcome parse_in_pieces(std::string_view input, std::initializer_list<std::size_t> cuts,
                        const keel::http_limits& limits) {
  request_parser parser(limits);
  request req;
  outcome last;
  for (std::size_t cut : cuts) {
    if (cut == 0 || cut > input.size()) continue;
    std::vector<char> prefix(input.begin(), input.begin() + static_cast<std::ptrdiff_t>(cut));
    const parse_result r = parser.parse(prefix.data(), prefix.size(), req);
    last = record(r, req, prefix.data(), prefix.size(), input, limits);
    if (r.status != parse_status::incomplete) return last;
  }
  return last;
}

// The first request of `input` the way the server reads a streamed body: the parser in split mode stops after
// the head, then keel::http::body_decoder takes the body in pieces (cut where the input says). Whatever the
// whole parse decided must be what the decoder decides: the same body bytes, ending at the same place, or a
// failure.
void check_streamed_body(std::string_view input, const outcome& whole, const keel::http_limits& limits,
                         std::size_t mix) {
  std::vector<char> buffer(input.begin(), input.end());
  request_parser parser(limits);
  parser.split_body(true);
  request req;
  const parse_result head = parser.parse(buffer.data(), buffer.size(), req);
  if (head.status != parse_status::incomplete || !head.headers_complete) return;  // no body, or no head
  if (!req.chunked && req.content_length > limits.max_body_bytes) {
    require(whole.status == parse_status::error, "an over-limit length is refused by the whole parse too");
    return;
  }
  keel::http::body_decoder decoder;
  if (req.chunked) {
    decoder.start_chunked(limits.max_body_bytes, limits.max_header_bytes,
                          limits.max_headers - req.headers.size());
  } else {
    decoder.start_fixed(req.content_length, limits.max_body_bytes);
  }
  const std::string_view rest = input.substr(head.consumed);
  std::string pending, body;
  std::size_t fed = 0, used = 0;
  while (!decoder.done() && !decoder.failed()) {
    // Feed 1..64 more bytes, then decode as far as they go.
    const std::size_t piece = 1 + (mix >> (fed % 17)) % 64;
    const std::size_t take = std::min(piece, rest.size() - fed);
    pending.append(rest.substr(fed, take));
    fed += take;
    for (;;) {
      const auto step = decoder.next(pending.data(), pending.size());
      body.append(step.data);
      pending.erase(0, step.consumed);
      used += step.consumed;
      if (step.consumed == 0 || decoder.done() || decoder.failed()) break;
    }
    if (take == 0) break;  // all input given
  }
  if (whole.status == parse_status::complete) {
    require(decoder.done(), "the decoder finishes a body the whole parse accepted");
    require(head.consumed + used == whole.consumed, "the decoder ends where the whole parse did");
    require(whole.summary.substr(whole.summary.find("\n\n") + 2) == body, "the decoded body matches");
  } else if (whole.status == parse_status::error) {
    require(decoder.failed(), "the decoder refuses what the whole parse refused");
  } else {
    require(!decoder.done() && !decoder.failed(), "the decoder waits where the whole parse waits");
  }
}

void check(std::string_view input, const keel::http_limits& limits) {
  const std::vector<outcome> whole = parse_whole(input, limits);
  std::size_t mix = 0;
  for (const char c : input) mix = mix * 31 + static_cast<unsigned char>(c);
  const std::size_t n = input.size();
  const std::size_t cut = n == 0 ? 0 : mix % n;
  const std::size_t cut2 = cut + (n - cut) / 2;
  const outcome pieces = parse_in_pieces(input, {cut, cut2, n}, limits);
  const outcome& first = whole.front();
  require(pieces.status == first.status, "incremental status matches whole");
  if (first.status == parse_status::complete) {
    require(pieces.consumed == first.consumed, "incremental consumed matches whole");
    require(pieces.summary == first.summary, "incremental request matches whole");
  }
  check_streamed_body(input, first, limits, mix);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  check(input, keel::http_limits{});
  keel::http_limits tight;
  tight.max_header_bytes = 512;
  tight.max_target_bytes = 64;
  tight.max_body_bytes = 256;
  tight.max_headers = 8;
  check(input, tight);
  return 0;
}
