#include "keel/http/writer.hpp"

#include <catch2/catch.hpp>

#include <string>

using keel::response;
using keel::http::status;
using keel::http::write_response;
using keel::http::writer_options;

namespace {

// Writes `res` and checks the bytes against `expected`, in which "{date}" stands for the Date value. The
// date is read before and after writing, so a second boundary in between cannot fail the test.
void check_bytes(const response& res, const writer_options& options, bool head, bool close,
                 const std::string& expected) {
  const std::string before(keel::http::cached_date());
  std::string out;
  write_response(out, res, options, head, close);
  const std::string after(keel::http::cached_date());

  const std::size_t marker = expected.find("{date}");
  REQUIRE(marker != std::string::npos);
  const std::string date = out.substr(marker, keel::http::imf_fixdate_size);
  CHECK((date == before || date == after));
  std::string want = expected;
  want.replace(marker, 6, date);
  CHECK(out == want);
}

}  // namespace

TEST_CASE("200 with a body, Server and custom headers", "[writer]") {
  response res(status::ok, "hello", "text/plain");
  res.header("X-Id", "7");
  check_bytes(res, {"keel"}, false, false,
              "HTTP/1.1 200 OK\r\nServer: keel\r\nDate: {date}\r\nContent-Length: 5\r\n"
              "Content-Type: text/plain\r\nX-Id: 7\r\n\r\nhello");
}

TEST_CASE("no Server header when the option is empty", "[writer]") {
  response res(status::created, "{}", "application/json");
  check_bytes(res, {}, false, false,
              "HTTP/1.1 201 Created\r\nDate: {date}\r\nContent-Length: 2\r\nContent-Type: "
              "application/json\r\n\r\n{}");
}

TEST_CASE("204 and 304 carry neither Content-Length nor a body", "[writer]") {
  response no_content(status::no_content);
  no_content.body("ignored");
  check_bytes(no_content, {"keel"}, false, false,
              "HTTP/1.1 204 No Content\r\nServer: keel\r\nDate: {date}\r\n\r\n");
  response not_modified(status::not_modified);
  not_modified.header("ETag", "\"v1\"");
  check_bytes(not_modified, {}, false, false,
              "HTTP/1.1 304 Not Modified\r\nDate: {date}\r\nETag: \"v1\"\r\n\r\n");
  response switching(status::switching_protocols);
  switching.header("Upgrade", "websocket");
  check_bytes(switching, {}, false, false,
              "HTTP/1.1 101 Switching Protocols\r\nDate: {date}\r\nUpgrade: websocket\r\n\r\n");
}

TEST_CASE("HEAD keeps GET's Content-Length but sends no body", "[writer]") {
  response res(status::ok, "0123456789", "text/plain");
  check_bytes(res, {}, true, false,
              "HTTP/1.1 200 OK\r\nDate: {date}\r\nContent-Length: 10\r\nContent-Type: text/plain\r\n\r\n");
}

TEST_CASE("Connection: close when the connection will close", "[writer]") {
  response res(status::not_found, "nope", "text/plain");
  check_bytes(
      res, {"keel"}, false, true,
      "HTTP/1.1 404 Not Found\r\nServer: keel\r\nDate: {date}\r\nContent-Length: 4\r\nConnection: close\r\n"
      "Content-Type: text/plain\r\n\r\nnope");
}

TEST_CASE("an empty 200 still says Content-Length: 0", "[writer]") {
  response res;
  check_bytes(res, {}, false, false, "HTTP/1.1 200 OK\r\nDate: {date}\r\nContent-Length: 0\r\n\r\n");
}

TEST_CASE("codes without a known reason phrase get an empty one", "[writer]") {
  response res(static_cast<status>(418));
  check_bytes(res, {}, false, false, "HTTP/1.1 418 \r\nDate: {date}\r\nContent-Length: 0\r\n\r\n");
}

TEST_CASE("every named status gets its precomputed status line", "[writer]") {
  for (int code = 100; code < 600; ++code) {
    const auto s = static_cast<status>(code);
    const std::string_view reason = keel::http::reason_phrase(s);
    if (reason == "Unknown") continue;
    response res(s);
    std::string out;
    write_response(out, res, {}, false, false);
    INFO(code);
    CHECK(out.rfind("HTTP/1.1 " + std::to_string(code) + " " + std::string(reason) + "\r\n", 0) == 0);
  }
}

TEST_CASE("write_response appends and never clears", "[writer]") {
  std::string out = "HTTP/1.1 100 Continue\r\n\r\n";
  keel::http::write_continue(out);
  REQUIRE(out == "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 100 Continue\r\n\r\n");
  response res(status::ok, "a", "text/plain");
  write_response(out, res, {}, false, false);
  write_response(out, res, {}, false, false);
  CHECK(out.rfind("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n", 0) == 0);
  const std::size_t first = out.find("HTTP/1.1 200 OK");
  CHECK(out.find("HTTP/1.1 200 OK", first + 1) == out.rfind("HTTP/1.1 200 OK"));
  CHECK(out.rfind("HTTP/1.1 200 OK") > first);
  CHECK(out.substr(out.size() - 1) == "a");
}

TEST_CASE("IMF-fixdate formatting", "[writer]") {
  char text[keel::http::imf_fixdate_size];
  auto format = [&](std::int64_t t) {
    keel::http::format_imf_fixdate(t, text);
    return std::string(text, sizeof text);
  };
  CHECK(format(784111777) == "Sun, 06 Nov 1994 08:49:37 GMT");  // RFC 9110's example
  CHECK(format(0) == "Thu, 01 Jan 1970 00:00:00 GMT");
  CHECK(format(951782400) == "Tue, 29 Feb 2000 00:00:00 GMT");
  CHECK(format(1709164799) == "Wed, 28 Feb 2024 23:59:59 GMT");
  CHECK(format(1709251199) == "Thu, 29 Feb 2024 23:59:59 GMT");
  CHECK(format(4102444800) == "Fri, 01 Jan 2100 00:00:00 GMT");
  CHECK(format(253402300799) == "Fri, 31 Dec 9999 23:59:59 GMT");
}

TEST_CASE("the date cache changes with the second and formats each value correctly", "[writer]") {
  using keel::http::date_cache;
  CHECK(date_cache::at(784111777) == "Sun, 06 Nov 1994 08:49:37 GMT");
  CHECK(date_cache::at(784111778) == "Sun, 06 Nov 1994 08:49:38 GMT");
  CHECK(date_cache::at(784111778) == "Sun, 06 Nov 1994 08:49:38 GMT");
  date_cache::tick();  // back to the real clock
  const std::string_view now = keel::http::cached_date();
  REQUIRE(now.size() == keel::http::imf_fixdate_size);
  CHECK(now.substr(now.size() - 4) == " GMT");
  CHECK(now[3] == ',');
  const std::time_t t = std::time(nullptr);
  char expected[keel::http::imf_fixdate_size];
  keel::http::format_imf_fixdate(static_cast<std::int64_t>(t), expected);
  // The coarse clock may lag the precise one across a second boundary.
  char previous[keel::http::imf_fixdate_size];
  keel::http::format_imf_fixdate(static_cast<std::int64_t>(t) - 1, previous);
  CHECK((now == std::string_view(expected, sizeof expected) ||
         now == std::string_view(previous, sizeof previous)));
}
