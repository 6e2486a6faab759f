// The compile-time route trie: routes inserted in segment order (parameters of any name share one child),
// labels matched by length and bytes, backtracking from a literal to a parameter to a tail parameter.
#include "keel/router/trie.hpp"

#include "keel/app.hpp"
#include "keel/test_client.hpp"

#include <catch2/catch.hpp>

#include <string>
#include <string_view>

namespace {

auto make_app() {
  return keel::app{keel::router{
      keel::get<"/a/{x}/b">([](int) { return "xb"; }),
      keel::get<"/a/{y}/c">([](int) { return "yc"; }),  // another name for the same parameter child
      keel::get<"/a/{x}/d">([](int) { return "xd"; }),  // back under {x} after {y}: must not duplicate "d"
      keel::get<"/a">([] { return "a"; }),
      keel::get<"/a-b/c">([] { return "ab"; }),  // sorts between "/a" and "/a/..." as a string
      keel::get<"/a/q">([] { return "q"; }),
      keel::get<"/">([] { return "root"; }),
      keel::get<"/a/{x}/b/">([](int) { return "trailing slash"; }),
      keel::get<"/a/{y}/b/e">([](int) { return "ybe"; }),
      keel::get<"/files/{path...}">([](std::string_view p) { return std::string(p); }),
      keel::get<"/a/q/z">([] { return "qz"; }),
      keel::get<"/len/abcdefghijklmnopq">([] { return "17"; }),  // longer than 16: the word-compare loop
      keel::get<"/len/abcdefghijklmnopr">([] { return "17r"; }),
      keel::get<"/len/ab">([] { return "2"; }),
      keel::get<"/len/abc">([] { return "3"; }),
  }};
}

}  // namespace

TEST_CASE("routes with differently named parameters at one position share the parameter child", "[trie]") {
  auto app = make_app();
  keel::test_client client{app};
  CHECK(client.get("/a/1/b").body == "xb");
  CHECK(client.get("/a/2/c").body == "yc");
  CHECK(client.get("/a/3/d").body == "xd");
  CHECK(client.get("/a/5/b/e").body == "ybe");
  CHECK(client.get("/a/4/b/").body == "trailing slash");
  CHECK(client.get("/a/6/e").status == 404);
}

TEST_CASE("literal segments match by length and bytes, prefixes do not match", "[trie]") {
  auto app = make_app();
  keel::test_client client{app};
  CHECK(client.get("/").body == "root");
  CHECK(client.get("/a").body == "a");
  CHECK(client.get("/a-b/c").body == "ab");
  CHECK(client.get("/a/q").body == "q");
  CHECK(client.get("/a/q/z").body == "qz");
  CHECK(client.get("/a/q/y").status == 404);
  CHECK(client.get("/a-").status == 404);
  CHECK(client.get("/len/abcdefghijklmnopq").body == "17");
  CHECK(client.get("/len/abcdefghijklmnopr").body == "17r");
  CHECK(client.get("/len/abcdefghijklmnops").status == 404);
  CHECK(client.get("/len/ab").body == "2");
  CHECK(client.get("/len/abc").body == "3");
  CHECK(client.get("/len/abd").status == 404);
  CHECK(client.get("/len/a").status == 404);
}

TEST_CASE("a tail parameter takes the rest of the path", "[trie]") {
  auto app = make_app();
  keel::test_client client{app};
  CHECK(client.get("/files/x/y.txt").body == "x/y.txt");
  CHECK(client.get("/files/z").body == "z");
}

TEST_CASE("many children at one node are found by binary search", "[trie]") {
  auto app = keel::app{keel::router{
      keel::get<"/k/aa">([] { return "aa"; }),
      keel::get<"/k/b">([] { return "b"; }),
      keel::get<"/k/cc">([] { return "cc"; }),
      keel::get<"/k/ddd">([] { return "ddd"; }),
      keel::get<"/k/e">([] { return "e"; }),
      keel::get<"/k/ff">([] { return "ff"; }),
      keel::get<"/k/ggggggggg">([] { return "g9"; }),
      keel::get<"/k/h">([] { return "h"; }),
      keel::get<"/k/ii">([] { return "ii"; }),
      keel::get<"/k/jjjj">([] { return "jjjj"; }),
      keel::get<"/k/{other}">([](std::string_view o) { return std::string("param:") + std::string(o); }),
  }};
  keel::test_client client{app};
  for (std::string_view name : {"aa", "b", "cc", "ddd", "e", "ff", "ggggggggg", "h", "ii", "jjjj"})
    CHECK(client.get("/k/" + std::string(name)).body == std::string(name == "ggggggggg" ? "g9" : name));
  CHECK(client.get("/k/zz").body == "param:zz");
  CHECK(client.get("/k/a").body == "param:a");
}
