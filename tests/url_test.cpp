#include "keel/http/url.hpp"

#include <catch2/catch.hpp>

#include <string>
#include <utility>
#include <vector>

using keel::http::needs_decoding;
using keel::http::path_segments;
using keel::http::percent_decode;
using keel::http::query_params;

TEST_CASE("percent_decode decodes escapes and optionally '+'", "[url]") {
  std::string out = "previous contents";
  REQUIRE(percent_decode("a%20b%2Fc%e2%82%AC", out));
  CHECK(out == "a b/c\xe2\x82\xac");
  REQUIRE(percent_decode("a+b", out));
  CHECK(out == "a+b");
  REQUIRE(percent_decode("a+b%2B", out, true));
  CHECK(out == "a b+");
  REQUIRE(percent_decode("", out));
  CHECK(out.empty());
  REQUIRE(percent_decode("%00", out));
  CHECK(out == std::string(1, '\0'));
}

TEST_CASE("percent_decode rejects bad escapes and leaves the output empty", "[url]") {
  std::string out;
  for (const char* bad : {"%", "%2", "abc%", "%zz", "%2g", "%g2", "ok%%41"}) {
    INFO(bad);
    CHECK_FALSE(percent_decode(bad, out));
    CHECK(out.empty());
  }
}

TEST_CASE("needs_decoding finds work to do", "[url]") {
  CHECK_FALSE(needs_decoding(""));
  CHECK_FALSE(needs_decoding("/plain/path"));
  CHECK(needs_decoding("/with%20space"));
  CHECK_FALSE(needs_decoding("a+b"));
  CHECK(needs_decoding("a+b", true));
  CHECK(needs_decoding(std::string(100, 'x') + "%41"));
}

TEST_CASE("query_params iterates raw pairs in order", "[url]") {
  std::vector<std::pair<std::string_view, std::string_view>> pairs;
  for (auto [key, value] : query_params("a=1&b=&c&&d=x%20y&=v&e=f=g&")) pairs.emplace_back(key, value);
  using P = std::pair<std::string_view, std::string_view>;
  CHECK(pairs ==
        std::vector<P>{P{"a", "1"}, P{"b", ""}, P{"c", ""}, P{"d", "x%20y"}, P{"", "v"}, P{"e", "f=g"}});

  int count = 0;
  for ([[maybe_unused]] auto pair : query_params("")) ++count;
  for ([[maybe_unused]] auto pair : query_params("&&&")) ++count;
  CHECK(count == 0);
}

TEST_CASE("query_params::find returns the first raw value", "[url]") {
  const query_params q("limit=20&tag=a%20b&tag=second&flag");
  CHECK(q.find("limit") == "20");
  CHECK(q.find("tag") == "a%20b");
  REQUIRE(q.find("flag").has_value());
  CHECK(q.find("flag")->empty());
  CHECK_FALSE(q.find("missing").has_value());
  CHECK_FALSE(q.find("lim").has_value());
  CHECK(q.contains("flag"));
  CHECK_FALSE(q.contains("Flag"));
}

TEST_CASE("path_segments splits on '/' keeping a trailing empty segment", "[url]") {
  auto split = [](std::string_view path) {
    std::vector<std::string_view> out;
    for (std::string_view s : path_segments(path)) out.push_back(s);
    return out;
  };
  using V = std::vector<std::string_view>;
  CHECK(split("/a/b") == V{"a", "b"});
  CHECK(split("/a/b/") == V{"a", "b", ""});
  CHECK(split("/") == V{""});
  CHECK(split("/a//b") == V{"a", "", "b"});
  CHECK(split("/caf%C3%A9") == V{"caf%C3%A9"});
}
