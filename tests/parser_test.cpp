#include "keel/http/parser.hpp"

#include <catch2/catch.hpp>

#include <string>
#include <vector>

using keel::http_limits;
using keel::http::method;
using keel::http::parse_result;
using keel::http::parse_status;
using keel::http::request;
using keel::http::request_parser;
using keel::http::status;

namespace {

parse_result parse_whole(std::string& text, request& req, const http_limits& limits = {}) {
  request_parser parser(limits);
  return parser.parse(text.data(), text.size(), req);
}

// Feeds `text` one byte more per call, from a buffer whose unread tail is garbage, so a parser that peeked
// past `size` would see it. Returns the first non-incomplete result (or the last incomplete one).
parse_result parse_bytewise(const std::string& text, std::vector<char>& buffer, request& req,
                            const http_limits& limits = {}) {
  buffer.assign(text.size() + 16, '\n');
  request_parser parser(limits);
  parse_result result;
  for (std::size_t n = 1; n <= text.size(); ++n) {
    buffer[n - 1] = text[n - 1];
    result = parser.parse(buffer.data(), n, req);
    if (result.status != parse_status::incomplete) return result;
  }
  return result;
}

// The status `text` is rejected with; also checks that byte-by-byte feeding rejects it the same way.
status rejection(std::string text, const http_limits& limits = {}) {
  request req;
  const parse_result whole = parse_whole(text, req, limits);
  REQUIRE(whole.status == parse_status::error);
  std::vector<char> buffer;
  const parse_result bytewise = parse_bytewise(text, buffer, req, limits);
  REQUIRE(bytewise.status == parse_status::error);
  CHECK(bytewise.error == whole.error);
  return whole.error;
}

// A valid HTTP/1.1 GET carrying `fields` (each "Name: value\r\n") after Host.
std::string get_with(std::string_view fields) {
  return "GET / HTTP/1.1\r\nHost: example.com\r\n" + std::string(fields) + "\r\n";
}

}  // namespace

TEST_CASE("a minimal GET fills every field", "[parser]") {
  std::string text =
      "GET /hello/world?x=1&y=2 HTTP/1.1\r\nHost: localhost\r\nUser-Agent: curl/8\r\nAccept: */*\r\n\r\n";
  request req;
  const parse_result r = parse_whole(text, req);
  REQUIRE(r.status == parse_status::complete);
  CHECK(r.consumed == text.size());
  CHECK(req.method == method::get);
  CHECK(req.method_name == "GET");
  CHECK(req.target == "/hello/world?x=1&y=2");
  CHECK(req.path == "/hello/world");
  CHECK(req.query == "x=1&y=2");
  CHECK(req.version_minor == 1);
  CHECK(req.keep_alive);
  CHECK_FALSE(req.chunked);
  CHECK_FALSE(req.expect_continue);
  CHECK(req.content_length == 0);
  CHECK(req.body.empty());
  REQUIRE(req.headers.size() == 3);
  CHECK(req.trailer_begin == 3);
  CHECK(req.headers[0].name == "Host");
  CHECK(req.headers[0].value == "localhost");
  CHECK(req.header("user-agent") == "curl/8");
  CHECK(req.header("ACCEPT") == "*/*");
  CHECK(req.header("missing").empty());
}

TEST_CASE("every method parses; unknown tokens are kept by name", "[parser]") {
  const std::pair<std::string_view, method> methods[] = {
      {"GET", method::get},         {"HEAD", method::head},      {"POST", method::post},
      {"PUT", method::put},         {"DELETE", method::delete_}, {"PATCH", method::patch},
      {"OPTIONS", method::options}, {"TRACE", method::trace},    {"PURGE", method::unknown},
      {"M-SEARCH", method::unknown}};
  for (const auto& [name, expected] : methods) {
    std::string text = std::string(name) + " /x HTTP/1.1\r\nHost: h\r\n\r\n";
    request req;
    INFO(text);
    REQUIRE(parse_whole(text, req).status == parse_status::complete);
    CHECK(req.method == expected);
    CHECK(req.method_name == name);
    CHECK(req.path == "/x");
  }
  SECTION("methods are case-sensitive") {
    std::string text = "get / HTTP/1.1\r\nHost: h\r\n\r\n";
    request req;
    REQUIRE(parse_whole(text, req).status == parse_status::complete);
    CHECK(req.method == method::unknown);
  }
  SECTION("CONNECT takes an authority-form target") {
    std::string text = "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n";
    request req;
    REQUIRE(parse_whole(text, req).status == parse_status::complete);
    CHECK(req.method == method::connect);
    CHECK(req.target == "example.com:443");
    CHECK(req.path.empty());
  }
}

TEST_CASE("request-target forms", "[parser]") {
  request req;
  SECTION("absolute-form takes the path from the URI") {
    std::string text = "GET http://example.com:8080/a/b?q=1 HTTP/1.1\r\nHost: example.com\r\n\r\n";
    REQUIRE(parse_whole(text, req).status == parse_status::complete);
    CHECK(req.target == "http://example.com:8080/a/b?q=1");
    CHECK(req.path == "/a/b");
    CHECK(req.query == "q=1");
  }
  SECTION("absolute-form without a path is the root") {
    std::string text = "GET https://example.com?x HTTP/1.1\r\nHost: example.com\r\n\r\n";
    REQUIRE(parse_whole(text, req).status == parse_status::complete);
    CHECK(req.path == "/");
    CHECK(req.query == "x");
  }
  SECTION("asterisk-form only for OPTIONS") {
    std::string text = "OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n";
    REQUIRE(parse_whole(text, req).status == parse_status::complete);
    CHECK(req.path == "*");
    CHECK(rejection("GET * HTTP/1.1\r\nHost: h\r\n\r\n") == status::bad_request);
  }
  SECTION("an empty query is still split off") {
    std::string text = "GET /p? HTTP/1.1\r\nHost: h\r\n\r\n";
    REQUIRE(parse_whole(text, req).status == parse_status::complete);
    CHECK(req.path == "/p");
    CHECK(req.query.empty());
  }
  SECTION("malformed targets") {
    CHECK(rejection("GET example.com/a HTTP/1.1\r\nHost: h\r\n\r\n") == status::bad_request);
    CHECK(rejection("GET http:/x HTTP/1.1\r\nHost: h\r\n\r\n") == status::bad_request);
    CHECK(rejection("GET http:///x HTTP/1.1\r\nHost: h\r\n\r\n") == status::bad_request);
    CHECK(rejection("GET 1http://h/ HTTP/1.1\r\nHost: h\r\n\r\n") == status::bad_request);
  }
}

TEST_CASE("pipelined requests are parsed one at a time", "[parser]") {
  std::string text =
      "GET /a HTTP/1.1\r\nHost: h\r\n\r\n"
      "POST /b HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello"
      "GET /c HTTP/1.1\r\nHost: h\r\n\r\n";
  request_parser parser;
  request req;
  std::size_t offset = 0;
  std::vector<std::string> seen;
  while (offset < text.size()) {
    const parse_result r = parser.parse(text.data() + offset, text.size() - offset, req);
    REQUIRE(r.status == parse_status::complete);
    REQUIRE(r.consumed > 0);
    seen.push_back(std::string(req.path) + ":" + std::string(req.body));
    offset += r.consumed;
  }
  CHECK(offset == text.size());
  CHECK(seen == std::vector<std::string>{"/a:", "/b:hello", "/c:"});
}

TEST_CASE("byte-by-byte feeding gives the same result as the whole buffer", "[parser]") {
  const std::string texts[] = {
      "GET /a?b=c HTTP/1.1\r\nHost: h\r\nX-Tab: a\tb\r\nConnection: close\r\n\r\n",
      "\r\n\r\nPOST /form HTTP/1.0\r\nContent-Length: 11\r\nConnection: keep-alive\r\n\r\nhello world",
      "PUT /up HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
      "4;ext=1\r\nWiki\r\n5\r\npedia\r\nE\r\n in\r\n\r\nchunks.\r\n0\r\nX-Checksum: 42\r\nX-More: "
      "yes\r\n\r\n",
  };
  for (const std::string& text : texts) {
    INFO(text);
    std::string copy = text;
    request whole;
    const parse_result expected = parse_whole(copy, whole);
    REQUIRE(expected.status == parse_status::complete);

    std::vector<char> buffer;
    request piecewise;
    const parse_result got = parse_bytewise(text, buffer, piecewise);
    REQUIRE(got.status == parse_status::complete);
    CHECK(got.consumed == expected.consumed);
    CHECK(got.consumed == text.size());
    CHECK(piecewise.method_name == whole.method_name);
    CHECK(piecewise.target == whole.target);
    CHECK(piecewise.path == whole.path);
    CHECK(piecewise.query == whole.query);
    CHECK(piecewise.version_minor == whole.version_minor);
    CHECK(piecewise.keep_alive == whole.keep_alive);
    CHECK(piecewise.chunked == whole.chunked);
    CHECK(piecewise.content_length == whole.content_length);
    CHECK(piecewise.body == whole.body);
    CHECK(piecewise.trailer_begin == whole.trailer_begin);
    REQUIRE(piecewise.headers.size() == whole.headers.size());
    for (std::size_t i = 0; i < whole.headers.size(); ++i) {
      CHECK(piecewise.headers[i].name == whole.headers[i].name);
      CHECK(piecewise.headers[i].value == whole.headers[i].value);
    }
  }
}

TEST_CASE("an incomplete body reports that the headers are complete", "[parser]") {
  std::string text = "POST /p HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 10\r\n\r\nabc";
  request_parser parser;
  request req;
  parse_result r = parser.parse(text.data(), text.size(), req);
  REQUIRE(r.status == parse_status::incomplete);
  CHECK(r.headers_complete);
  CHECK(req.expect_continue);
  CHECK(req.content_length == 10);
  CHECK(req.path == "/p");

  SECTION("and completes later, even into a fresh request object") {
    text += "defghij";
    request fresh;
    r = parser.parse(text.data(), text.size(), fresh);
    REQUIRE(r.status == parse_status::complete);
    CHECK(fresh.body == "abcdefghij");
    CHECK(fresh.header("host") == "h");
    CHECK(r.consumed == text.size());
  }
  SECTION("an unfinished head is not headers_complete") {
    std::string head = "GET / HTTP/1.1\r\nHost: h\r\n";
    request_parser p2;
    const parse_result partial = p2.parse(head.data(), head.size(), req);
    CHECK(partial.status == parse_status::incomplete);
    CHECK_FALSE(partial.headers_complete);
  }
}

TEST_CASE("chunked bodies are de-chunked in place, with extensions ignored and trailers kept", "[parser]") {
  std::string text =
      "POST /c HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
      "4;name=value;flag\r\nWiki\r\n5 ; spaced=\"quoted\"\r\npedia\r\n0\r\nX-Trailer: yes\r\n\r\n"
      "GET /next HTTP/1.1\r\n";
  request req;
  const parse_result r = parse_whole(text, req);
  REQUIRE(r.status == parse_status::complete);
  CHECK(r.consumed == text.find("GET /next"));
  CHECK(req.chunked);
  CHECK(req.body == "Wikipedia");
  CHECK(req.content_length == 9);
  REQUIRE(req.headers.size() == 3);
  CHECK(req.trailer_begin == 2);
  CHECK(req.headers[2].name == "X-Trailer");
  CHECK(req.header("x-trailer") == "yes");
  CHECK(req.body.data() == text.data() + text.find("\r\n\r\n") + 4);  // contiguous, right after the head

  SECTION("an empty chunked body") {
    std::string empty = "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n";
    REQUIRE(parse_whole(empty, req).status == parse_status::complete);
    CHECK(req.body.empty());
    CHECK(req.trailer_begin == req.headers.size());
  }
  SECTION("coding names are case-insensitive") {
    std::string upper = "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: Chunked\r\n\r\n1\r\nx\r\n0\r\n\r\n";
    REQUIRE(parse_whole(upper, req).status == parse_status::complete);
    CHECK(req.body == "x");
  }
  SECTION("HTTP/1.0 with chunked is accepted but not kept alive") {
    std::string old =
        "POST / HTTP/1.0\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nx\r\n0\r\n\r\n";
    REQUIRE(parse_whole(old, req).status == parse_status::complete);
    CHECK_FALSE(req.keep_alive);
  }
}

TEST_CASE("Expect: 100-continue", "[parser]") {
  request req;
  std::string v11 = "POST / HTTP/1.1\r\nHost: h\r\nExpect: 100-Continue\r\nContent-Length: 0\r\n\r\n";
  REQUIRE(parse_whole(v11, req).status == parse_status::complete);
  CHECK(req.expect_continue);
  std::string v10 = "POST / HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 0\r\n\r\n";
  REQUIRE(parse_whole(v10, req).status == parse_status::complete);
  CHECK_FALSE(req.expect_continue);  // RFC 9110: ignore it from HTTP/1.0 clients
  std::string other = get_with("Expect: something-else\r\n");
  REQUIRE(parse_whole(other, req).status == parse_status::complete);
  CHECK_FALSE(req.expect_continue);
}

TEST_CASE("keep-alive follows the version and the Connection options", "[parser]") {
  auto keep_alive = [](std::string text) {
    request req;
    REQUIRE(parse_whole(text, req).status == parse_status::complete);
    return req.keep_alive;
  };
  CHECK(keep_alive("GET / HTTP/1.1\r\nHost: h\r\n\r\n"));
  CHECK_FALSE(keep_alive("GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n"));
  CHECK_FALSE(keep_alive("GET / HTTP/1.1\r\nHost: h\r\nConnection: CLOSE\r\n\r\n"));
  CHECK_FALSE(keep_alive("GET / HTTP/1.1\r\nHost: h\r\nConnection: upgrade,  Close \r\n\r\n"));
  CHECK(keep_alive("GET / HTTP/1.1\r\nHost: h\r\nConnection: closed\r\n\r\n"));
  CHECK_FALSE(keep_alive("GET / HTTP/1.0\r\n\r\n"));
  CHECK(keep_alive("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n"));
  CHECK(keep_alive("GET / HTTP/1.0\r\nConnection: foo, keep-alive\r\n\r\n"));
  CHECK_FALSE(keep_alive("GET / HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n"));
}

TEST_CASE("field values: optional whitespace is trimmed, HTAB and obs-text are allowed", "[parser]") {
  std::string text = get_with("X-A:   spaced value \t \r\nX-B:\r\nX-C: tab\there\r\nX-D: caf\xc3\xa9\r\n");
  request req;
  REQUIRE(parse_whole(text, req).status == parse_status::complete);
  CHECK(req.header("x-a") == "spaced value");
  CHECK(req.header("x-b").empty());
  CHECK(req.headers.contains("X-B"));
  CHECK(req.header("x-c") == "tab\there");
  CHECK(req.header("x-d") == "caf\xc3\xa9");
}

TEST_CASE("empty lines before the request line are skipped", "[parser]") {
  std::string text = "\r\n\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n";
  request req;
  const parse_result r = parse_whole(text, req);
  REQUIRE(r.status == parse_status::complete);
  CHECK(r.consumed == text.size());
  CHECK(req.method == method::get);
}

TEST_CASE("400: malformed request lines", "[parser]") {
  CHECK(rejection("GET /\r\n\r\n") == status::bad_request);  // HTTP/0.9
  CHECK(rejection("GET  / HTTP/1.1\r\nHost: h\r\n\r\n") == status::bad_request);
  CHECK(rejection("GET / HTTP/1.1 \r\nHost: h\r\n\r\n") == status::bad_request);
  CHECK(rejection(" / HTTP/1.1\r\nHost: h\r\n\r\n") == status::bad_request);
  CHECK(rejection("GET\t/ HTTP/1.1\r\nHost: h\r\n\r\n") == status::bad_request);
  CHECK(rejection("GET / HTTP/1.1\rHost: h\r\n\r\n") == status::bad_request);
  CHECK(rejection("\n") == status::bad_request);
}

TEST_CASE("400: invalid characters in the method, target, names and values", "[parser]") {
  CHECK(rejection("GE(T / HTTP/1.1\r\nHost: h\r\n\r\n") == status::bad_request);
  CHECK(rejection("G\x01T / HTTP/1.1\r\nHost: h\r\n\r\n") == status::bad_request);
  CHECK(rejection("GET /a\x01z HTTP/1.1\r\nHost: h\r\n\r\n") == status::bad_request);
  CHECK(rejection("GET /caf\xc3\xa9 HTTP/1.1\r\nHost: h\r\n\r\n") == status::bad_request);
  CHECK(rejection("GET /a\x7f HTTP/1.1\r\nHost: h\r\n\r\n") == status::bad_request);
  CHECK(rejection(get_with("Ho(st: x\r\n")) == status::bad_request);
  CHECK(rejection(get_with("Bad\x01Name: x\r\n")) == status::bad_request);
  CHECK(rejection(get_with("X: a\x01z\r\n")) == status::bad_request);
  CHECK(rejection(get_with("X: a\x7fz\r\n")) == status::bad_request);
  CHECK(rejection(get_with(std::string("X: a\0z\r\n", 8))) == status::bad_request);
  CHECK(rejection(get_with("X: " + std::string(40, 'v') + "\x1b" + "\r\n")) == status::bad_request);
  CHECK(rejection(get_with(": empty name\r\n")) == status::bad_request);
  CHECK(rejection(get_with("NoColon\r\n")) == status::bad_request);
}

TEST_CASE("400: obs-fold and whitespace before the colon", "[parser]") {
  CHECK(rejection(get_with("X-Long: first\r\n  continued\r\n")) == status::bad_request);
  CHECK(rejection(get_with("X-Long: first\r\n\tcontinued\r\n")) == status::bad_request);
  CHECK(rejection(get_with("X-Space : v\r\n")) == status::bad_request);
  CHECK(rejection(get_with("X-Tab\t: v\r\n")) == status::bad_request);
}

TEST_CASE("400: bare LF or lone CR where CRLF is required", "[parser]") {
  CHECK(rejection("GET / HTTP/1.1\nHost: h\n\n") == status::bad_request);
  CHECK(rejection("GET / HTTP/1.1\r\nHost: h\n\r\n") == status::bad_request);
  CHECK(rejection("GET / HTTP/1.1\r\nHost: h\r\n\n") == status::bad_request);
  CHECK(rejection("GET / HTTP/1.1\r\nHost: h\r\nX: a\rb\r\n\r\n") == status::bad_request);
  CHECK(rejection("GET / HTTP/1.1\r\nHost: h\r\n\r\r\n") == status::bad_request);
  CHECK(rejection("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n1\nx\r\n0\r\n\r\n") ==
        status::bad_request);
  CHECK(rejection("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nx\n0\r\n\r\n") ==
        status::bad_request);
  CHECK(rejection("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\n") ==
        status::bad_request);
}

TEST_CASE("400: Host is required once in HTTP/1.1", "[parser]") {
  CHECK(rejection("GET / HTTP/1.1\r\nAccept: */*\r\n\r\n") == status::bad_request);
  CHECK(rejection("GET / HTTP/1.1\r\nHost: a\r\nhost: b\r\n\r\n") == status::bad_request);
  std::string v10 = "GET / HTTP/1.0\r\n\r\n";
  request req;
  CHECK(parse_whole(v10, req).status == parse_status::complete);
}

TEST_CASE("400: Content-Length must be one unambiguous number", "[parser]") {
  const std::string post = "POST / HTTP/1.1\r\nHost: h\r\n";
  CHECK(rejection(post + "Content-Length: 12a\r\n\r\n") == status::bad_request);
  CHECK(rejection(post + "Content-Length: -1\r\n\r\n") == status::bad_request);
  CHECK(rejection(post + "Content-Length: +5\r\n\r\n") == status::bad_request);
  CHECK(rejection(post + "Content-Length: \r\n\r\n") == status::bad_request);
  CHECK(rejection(post + "Content-Length: 0x10\r\n\r\n") == status::bad_request);
  CHECK(rejection(post + "Content-Length: 5, 5\r\n\r\nhello") == status::bad_request);
  CHECK(rejection(post + "Content-Length: 5\r\nContent-Length: 6\r\n\r\nhello!") == status::bad_request);
  SECTION("identical repeated values are accepted") {
    std::string text = post + "Content-Length: 5\r\ncontent-length: 5\r\n\r\nhello";
    request req;
    REQUIRE(parse_whole(text, req).status == parse_status::complete);
    CHECK(req.body == "hello");
  }
}

TEST_CASE("400: Content-Length together with Transfer-Encoding", "[parser]") {
  CHECK(rejection("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n"
                  "3\r\nabc\r\n0\r\n\r\n") == status::bad_request);
  CHECK(rejection("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n"
                  "3\r\nabc\r\n0\r\n\r\n") == status::bad_request);
}

TEST_CASE("Transfer-Encoding other than a final chunked", "[parser]") {
  const std::string post = "POST / HTTP/1.1\r\nHost: h\r\n";
  CHECK(rejection(post + "Transfer-Encoding: gzip\r\n\r\n") == status::not_implemented);
  CHECK(rejection(post + "Transfer-Encoding: gzip, chunked\r\n\r\n") == status::not_implemented);
  CHECK(rejection(post + "Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n") ==
        status::not_implemented);
  CHECK(rejection(post + "Transfer-Encoding: chunked, gzip\r\n\r\n") == status::bad_request);
  CHECK(rejection(post + "Transfer-Encoding: chunked, chunked\r\n\r\n") == status::bad_request);
  CHECK(rejection(post + "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n") ==
        status::bad_request);
  CHECK(rejection(post + "Transfer-Encoding: \r\n\r\n") == status::bad_request);
}

TEST_CASE("400: invalid chunk framing", "[parser]") {
  const std::string head = "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n";
  CHECK(rejection(head + "zz\r\nxx\r\n0\r\n\r\n") == status::bad_request);
  CHECK(rejection(head + ";ext\r\n0\r\n\r\n") == status::bad_request);
  CHECK(rejection(head + "4\r\nWikiXX0\r\n\r\n") == status::bad_request);
  CHECK(rejection(head + "4 \r\nWiki\r\n0\r\n\r\n") == status::bad_request);
  CHECK(rejection(head + "4;a\x01\r\nWiki\r\n0\r\n\r\n") == status::bad_request);
  CHECK(rejection(head + "1\r\nx\r\n0\r\nBad Trailer: x\r\n\r\n") == status::bad_request);
  CHECK(rejection(head + "1;" + std::string(request_parser::max_chunk_line_bytes, 'e') +
                  "\r\nx\r\n0\r\n\r\n") == status::bad_request);
  SECTION("chunk-size overflow") {
    CHECK(rejection(head + "10000000000000000\r\n") == status::bad_request);
    CHECK(rejection(head + "fffffffffffffffff\r\n") == status::bad_request);
  }
}

TEST_CASE("431: header section over the byte or field limit", "[parser]") {
  http_limits limits;
  limits.max_header_bytes = 200;
  limits.max_headers = 4;
  CHECK(rejection(get_with("X-Big: " + std::string(200, 'b') + "\r\n"), limits) ==
        status::request_header_fields_too_large);
  CHECK(rejection(get_with("A: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\n"), limits) ==
        status::request_header_fields_too_large);
  SECTION("detected before the header section ends") {
    std::string partial = "GET / HTTP/1.1\r\nHost: h\r\nX-Big: " + std::string(300, 'b');
    request req;
    const parse_result r = parse_whole(partial, req, limits);
    REQUIRE(r.status == parse_status::error);
    CHECK(r.error == status::request_header_fields_too_large);
  }
  SECTION("exactly at the limits is fine") {
    std::string text = get_with("A: 1\r\nB: 2\r\nC: 3\r\n");
    text.insert(text.size() - 2,
                "X: " + std::string(limits.max_header_bytes - text.size() - 5, 'v') + "\r\n");
    limits.max_headers = 5;
    REQUIRE(text.size() == limits.max_header_bytes);
    request req;
    CHECK(parse_whole(text, req, limits).status == parse_status::complete);
  }
}

TEST_CASE("414: request-target over the limit, also before the request line ends", "[parser]") {
  http_limits limits;
  limits.max_target_bytes = 32;
  CHECK(rejection("GET /" + std::string(40, 'a') + " HTTP/1.1\r\nHost: h\r\n\r\n", limits) ==
        status::uri_too_long);
  std::string partial = "GET /" + std::string(40, 'a');
  request req;
  const parse_result r = parse_whole(partial, req, limits);
  REQUIRE(r.status == parse_status::error);
  CHECK(r.error == status::uri_too_long);
  std::string fits = "GET /" + std::string(31, 'a') + " HTTP/1.1\r\nHost: h\r\n\r\n";
  CHECK(parse_whole(fits, req, limits).status == parse_status::complete);
}

TEST_CASE("413: body over the limit, decided from Content-Length or while de-chunking", "[parser]") {
  http_limits limits;
  limits.max_body_bytes = 8;
  SECTION("Content-Length is checked before any body byte arrives") {
    std::string head = "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 9\r\n\r\n";
    request req;
    const parse_result r = parse_whole(head, req, limits);
    REQUIRE(r.status == parse_status::error);
    CHECK(r.error == status::payload_too_large);
    CHECK(rejection("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 99999999999999999999999\r\n\r\n",
                    limits) == status::payload_too_large);
  }
  SECTION("the de-chunked size") {
    const std::string head = "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n";
    CHECK(rejection(head + "5\r\nhello\r\n4\r\nabcd\r\n0\r\n\r\n", limits) == status::payload_too_large);
    std::string early = head + "5\r\nhello\r\n4\r\n";  // the second chunk has not arrived yet
    request req;
    const parse_result r = parse_whole(early, req, limits);
    REQUIRE(r.status == parse_status::error);
    CHECK(r.error == status::payload_too_large);
    std::string fits = head + "5\r\nhello\r\n3\r\nabc\r\n0\r\n\r\n";
    REQUIRE(parse_whole(fits, req, limits).status == parse_status::complete);
    CHECK(req.body == "helloabc");
  }
}

TEST_CASE("505 for well-formed versions other than 1.0/1.1, 400 for garbage", "[parser]") {
  CHECK(rejection("GET / HTTP/2.0\r\nHost: h\r\n\r\n") == status::http_version_not_supported);
  CHECK(rejection("GET / HTTP/3\r\nHost: h\r\n\r\n") == status::http_version_not_supported);
  CHECK(rejection("GET / HTTP/1.2\r\nHost: h\r\n\r\n") == status::http_version_not_supported);
  CHECK(rejection("GET / HTTP/0.9\r\n\r\n") == status::http_version_not_supported);
  CHECK(rejection("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n") == status::http_version_not_supported);
  CHECK(rejection("GET / HTTP/1\r\nHost: h\r\n\r\n") == status::bad_request);
  CHECK(rejection("GET / HTTP/x.1\r\nHost: h\r\n\r\n") == status::bad_request);
  CHECK(rejection("GET / HTTQ/1.1\r\nHost: h\r\n\r\n") == status::bad_request);
  CHECK(rejection("GET / http/1.1\r\nHost: h\r\n\r\n") == status::bad_request);
  CHECK(rejection("GET / HTTP/1.10\r\nHost: h\r\n\r\n") == status::bad_request);
  CHECK(rejection("GET / HTTP/11.1\r\nHost: h\r\n\r\n") == status::bad_request);
}

TEST_CASE("garbage is rejected before the head is complete", "[parser]") {
  request_parser parser;
  request req;
  std::string text = "GET / HTTP/1.1\r\nHost: h\r\nBad Name: x\r\n";  // no blank line yet
  const parse_result r = parser.parse(text.data(), text.size(), req);
  REQUIRE(r.status == parse_status::error);
  CHECK(r.error == status::bad_request);
  std::string tls = "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03";  // a TLS ClientHello on the plain port
  request_parser p2;
  CHECK(p2.parse(tls.data(), tls.size(), req).status == parse_status::error);
}

TEST_CASE("the parser is reusable after reset()", "[parser]") {
  request_parser parser;
  request req;
  std::string bad = "GET / HTTP/1.1\r\nHost: h\r\nX : y\r\n\r\n";
  REQUIRE(parser.parse(bad.data(), bad.size(), req).status == parse_status::error);
  parser.reset();
  std::string partial = "GET /first HTTP/1.1\r\nHost: h\r\n";
  REQUIRE(parser.parse(partial.data(), partial.size(), req).status == parse_status::incomplete);
  parser.reset();
  std::string good = "GET /ok HTTP/1.1\r\nHost: h\r\n\r\n";
  REQUIRE(parser.parse(good.data(), good.size(), req).status == parse_status::complete);
  CHECK(req.path == "/ok");
}

// Found by tests/fuzz/parser_fuzz: a duplicate Host was rejected at once in a whole buffer but only at the
// end of the head when fed in pieces. Errors that need a field's meaning now wait for the end of the section.
TEST_CASE("regression: field-meaning errors are reported when the head completes", "[parser]") {
  for (const std::string_view field : {"Host: b\r\n", "Content-Length: x\r\n"}) {
    std::string text = "POST / HTTP/1.1\r\nHost: a\r\n" + std::string(field) + "X: \xff";
    request req;
    INFO(field);
    CHECK(parse_whole(text, req).status == parse_status::incomplete);
    text += "\r\n\r\n";
    CHECK(rejection(text) == status::bad_request);
  }
}

TEST_CASE("regression: a chunked trailer section counts against max_header_bytes as a whole", "[parser]") {
  // Found by the fuzzer: short trailer lines adding up past the limit were accepted when the request came
  // whole and rejected with 431 when it came in pieces.
  http_limits limits;
  limits.max_header_bytes = 256;
  std::string head = "POST /up HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n";
  std::string trailers;
  for (int i = 0; i < 10; ++i) trailers += "X-T" + std::to_string(i) + ": " + std::string(30, 'v') + "\r\n";
  CHECK(rejection(head + trailers + "\r\n", limits) == status::request_header_fields_too_large);
  // Under the limit, the same shape is accepted either way.
  std::string small = head + "X-T: v\r\n\r\n";
  request req;
  CHECK(parse_whole(small, req, limits).status == parse_status::complete);
  std::vector<char> buffer;
  CHECK(parse_bytewise(small, buffer, req, limits).status == parse_status::complete);
}

// The scanners switch between 16-byte SSE2, 8-byte SWAR and byte loops depending on how much input is left,
// so every check is tried at every offset of short and long values and names.
TEST_CASE("character checks hold at every position of values and names", "[parser]") {
  request req;
  for (std::size_t length = 1; length <= 40; ++length) {
    for (std::size_t at = 0; at < length; ++at) {
      std::string value(length, 'v');
      INFO("length " << length << " at " << at);
      value[at] = '\t';
      std::string tab = get_with("X: " + value + "\r\n");
      REQUIRE(parse_whole(tab, req).status == parse_status::complete);
      value[at] = '\xff';
      std::string high = get_with("X: " + value + "\r\n");
      REQUIRE(parse_whole(high, req).status == parse_status::complete);
      CHECK(req.header("x").size() == length);
      for (const char bad : {'\x01', '\x1f', '\x7f', '\n', '\0'}) {
        value[at] = bad;
        std::string text = get_with("X: " + value + "\r\n");
        CHECK(parse_whole(text, req).status == parse_status::error);
      }

      std::string name(length, 'n');
      name[at] = '_';
      std::string rare_tchar = get_with(name + ": v\r\n");
      REQUIRE(parse_whole(rare_tchar, req).status == parse_status::complete);
      CHECK(req.header(name) == "v");
      for (const char bad : {'(', '@', '\x80', '/', '"'}) {
        name[at] = bad;
        std::string text = get_with(name + ": v\r\n");
        CHECK(parse_whole(text, req).status == parse_status::error);
      }
    }
  }
}

// Plain field lines are sliced from one classification of the head in 64-byte windows; any other line (and
// every line after it) goes through the careful loop. Lines of every length around the window edges, mixed
// with lines only the careful loop takes, must come out in order with the same values, whole or bytewise.
TEST_CASE("field lines keep order and values across the fast path, its windows and the careful loop",
          "[parser]") {
  const std::vector<std::pair<std::string, std::string>> careful_lines = {
      {"X-Tab:\tt \r\n", "t"}, {"X-Two:  two\r\n", "two"}, {"X-Trail: trail \r\n", "trail"},
      {"X_Under: u\r\n", "u"}, {"X-Empty:\r\n", ""},       {"X-Obs: \xe2\x82\xac\r\n", "\xe2\x82\xac"},
  };
  for (std::size_t length = 0; length <= 70; ++length) {
    for (const auto& [line, expected] : careful_lines) {
      INFO("padding " << length << " before " << line);
      const std::string padding(length, 'p');
      std::string text =
          get_with("X-Pad: " + padding + "\r\nX-Mid:" + padding + "\r\n" + line + "X-Last: last\r\n");
      request req;
      REQUIRE(parse_whole(text, req).status == parse_status::complete);
      REQUIRE(req.headers.size() == 5);
      CHECK(req.headers[0].value == "example.com");
      CHECK(req.headers[1].value == padding);
      CHECK(req.headers[2].value == padding);
      CHECK(req.headers[3].value == expected);
      CHECK(req.headers[4].name == "X-Last");
      CHECK(req.headers[4].value == "last");
      std::vector<char> buffer;
      REQUIRE(parse_bytewise(text, buffer, req).status == parse_status::complete);
      CHECK(req.headers[3].value == expected);
      CHECK(req.headers[4].value == "last");
    }
  }
}

TEST_CASE("the field limit applies to plainly formed lines before a malformed one", "[parser]") {
  http_limits limits;
  limits.max_headers = 2;
  CHECK(rejection(get_with("A: 1\r\nC: 3\r\nB : 2\r\n"), limits) == status::request_header_fields_too_large);
  CHECK(rejection(get_with("A: 1\r\nB : 2\r\n"), limits) == status::bad_request);
  CHECK(rejection(get_with("B : 2\r\n"), limits) == status::bad_request);
}

// Common field names are matched whole with their ':' (letters in either case, every other byte exactly)
// instead of being scanned; any near miss must fall back to the scan and meet the same rules.
TEST_CASE("common field names matched whole keep every rule", "[parser]") {
  const std::string tail = "X-Padding-To-Keep-The-Line-Long: 0123456789\r\n";
  request req;
  std::string mixed =
      "GET / HTTP/1.1\r\nhOsT: a\r\nCONTENT-LENGTH: 0\r\nconnection: CLOSE\r\n"
      "Accept-Encoding: gzip\r\nUSER-AGENT: t\r\n" +
      tail + "\r\n";
  REQUIRE(parse_whole(mixed, req).status == parse_status::complete);
  CHECK(req.header("host") == "a");
  CHECK(req.header("accept-encoding") == "gzip");
  CHECK(req.header("user-agent") == "t");
  CHECK_FALSE(req.keep_alive);

  CHECK(rejection("GET / HTTP/1.1\r\nHost: a\r\nHOST: b\r\n" + tail + "\r\n") == status::bad_request);
  CHECK(rejection("GET / HTTP/1.1\r\nHost: a\r\ncontent-length: 1\r\nContent-Length: 2\r\n" + tail +
                  "\r\n") == status::bad_request);
  CHECK(rejection("GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n" + tail + "\r\n") ==
        status::not_implemented);
  // A control byte or a look-alike where the literal has '-' or ':' (0x0D | 0x20 == '-', 0x1A | 0x20 == ':').
  for (const std::string bad :
       {"Content\rLength: 0\r\n", "Host\x1a a\r\n", "Accept\x1a */*\r\n", "User\rAgent: t\r\n",
        "Connection\x1a close\r\n", "Cookie : a\r\n", "Ac(ept: a\r\n", "Hos\x80: a\r\n"}) {
    INFO(bad);
    CHECK(rejection("GET / HTTP/1.1\r\nHost: a\r\n" + bad + tail + "\r\n") == status::bad_request);
  }
  // Names that only start like a common one are scanned and kept.
  std::string longer =
      "GET / HTTP/1.1\r\nHost: a\r\nHostname: b\r\nAccept-Charset: c\r\nConnections: d\r\n" + tail + "\r\n";
  REQUIRE(parse_whole(longer, req).status == parse_status::complete);
  CHECK(req.header("hostname") == "b");
  CHECK(req.header("accept-charset") == "c");
  CHECK(req.header("connections") == "d");
  CHECK(req.keep_alive);
}
