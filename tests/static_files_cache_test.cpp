// keel::static_files' open-file cache over real sockets: changes on disk (rewritten, replaced, removed, a
// symlink swapped to point outside the root) are seen once the entry is older than open_file_cache_valid;
// descriptors stay bounded by open_file_cache and are all closed with the routes.
#include "keel/static_files.hpp"

#include "keel/app.hpp"
#include "keel/server/server.hpp"
#include "support/http_exchange.hpp"
#include "support/local_server.hpp"
#include "support/running_server.hpp"
#include "support/raw_client.hpp"

#include <catch2/catch.hpp>

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <string>
#include <thread>

namespace {

using namespace std::chrono_literals;
using keel_test::exchange;

void write_file(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << text;
}

// Writes `text` to a new file and renames it over `path` (a deploy: a new inode).
void replace_file(const std::string& path, const std::string& text) {
  write_file(path + ".tmp", text);
  REQUIRE(std::rename((path + ".tmp").c_str(), path.c_str()) == 0);
}

std::size_t open_fds() {
  std::size_t n = 0;
  if (DIR* d = ::opendir("/proc/self/fd")) {
    while (const dirent* e = ::readdir(d))
      if (e->d_name[0] != '.') ++n;
    ::closedir(d);
  }
  return n - 1;  // the directory stream itself
}

struct scratch_tree {
  std::string base, root;
  scratch_tree() {
    char tmpl[] = "/tmp/keel-static-cache-XXXXXX";
    base = ::mkdtemp(tmpl);
    root = base + "/site";
    ::mkdir(root.c_str(), 0755);
    ::mkdir((root + "/sub").c_str(), 0755);
    write_file(base + "/outside.txt", "secret outside");
    write_file(root + "/hello.txt", "hello");
    write_file(root + "/sub/index.html", "<h1>sub</h1>");
    write_file(root + "/app.js", "plain");
    write_file(root + "/app.js.gz", "GZ");
    (void)::symlink((root + "/hello.txt").c_str(), (root + "/link.txt").c_str());
  }
  ~scratch_tree() { (void)std::system(("rm -rf " + base).c_str()); }
};

auto make_app(const std::string& root, std::chrono::milliseconds valid, std::size_t entries, bool offload) {
  keel::static_files_options opt;
  opt.offload_io = offload;
  opt.open_file_cache = entries;
  opt.open_file_cache_valid = valid;
  return keel::app{keel::router{
      keel::get<"/ping">([] { return "pong"; }),
      keel::static_files<"/">(root, std::move(opt)),
  }};
}
using app_type = decltype(make_app("", 1s, 1, true));

struct running {
  app_type app;
  keel_test::running_server<app_type> server{app, keel_test::local_config(1)};
  std::uint16_t port = server.port();
  running(const std::string& root, std::chrono::milliseconds valid, std::size_t entries = 256,
          bool offload = true)
      : app(make_app(root, valid, entries, offload)) {}
  keel_test::http_answer get(const std::string& path, const std::vector<std::string>& headers = {}) const {
    return exchange(port, "GET", path, headers);
  }
};

}  // namespace

TEST_CASE("static files cache: an entry serves until it is older than the interval", "[static][socket]") {
  scratch_tree tree;
  for (const bool offload : {true, false}) {
    INFO("offload_io " << offload);
    write_file(tree.root + "/hello.txt", "hello");
    running s(tree.root, 1h, 256, offload);  // nothing expires during the test
    const auto first = s.get("/hello.txt");
    CHECK(first.body == "hello");
    replace_file(tree.root + "/hello.txt", "a new hello");
    // The cached entry holds the old file open: same bytes, same ETag, also as a 304.
    const auto cached = s.get("/hello.txt");
    CHECK(cached.body == "hello");
    CHECK(cached.header("ETag") == first.header("ETag"));
    CHECK(s.get("/hello.txt", {"If-None-Match: " + std::string(first.header("ETag"))}).status == 304);
    // Each Accept-Encoding still gets its representation from the one entry.
    CHECK(s.get("/app.js").body == "plain");
    CHECK(s.get("/app.js", {"Accept-Encoding: gzip"}).body == "GZ");
    CHECK(s.get("/app.js", {"Accept-Encoding: gzip"}).header("Content-Encoding") == "gzip");
    CHECK(s.get("/app.js", {"Accept-Encoding: br"}).body == "plain");
    // "sub/" and "sub" stay apart: the index, and the redirect to it.
    CHECK(s.get("/sub/").body == "<h1>sub</h1>");
    const auto redirect = s.get("/sub");
    CHECK(redirect.status == 301);
    CHECK(redirect.header("Location") == "/sub/");
    CHECK(s.get("/sub/").body == "<h1>sub</h1>");
  }
}

TEST_CASE("static files cache: changed, replaced and removed files are seen after the interval",
          "[static][socket]") {
  scratch_tree tree;
  for (const bool offload : {true, false}) {
    INFO("offload_io " << offload);
    write_file(tree.root + "/hello.txt", "hello");
    running s(tree.root, 100ms, 256, offload);
    const auto first = s.get("/hello.txt");
    CHECK(first.body == "hello");

    write_file(tree.root + "/hello.txt", "rewritten in place");  // same inode, new size and mtime
    std::this_thread::sleep_for(300ms);
    const auto rewritten = s.get("/hello.txt");
    CHECK(rewritten.body == "rewritten in place");
    CHECK(rewritten.header("ETag") != first.header("ETag"));

    replace_file(tree.root + "/hello.txt", "replaced");  // a new inode
    std::this_thread::sleep_for(300ms);
    CHECK(s.get("/hello.txt").body == "replaced");

    REQUIRE(::unlink((tree.root + "/hello.txt").c_str()) == 0);
    std::this_thread::sleep_for(300ms);
    CHECK(s.get("/hello.txt").status == 404);
    CHECK(s.get("/hello.txt").status == 404);

    write_file(tree.root + "/hello.txt", "back");  // a refusal is not cached
    CHECK(s.get("/hello.txt").body == "back");
  }
}

TEST_CASE("static files cache: a symlink swapped to point outside the root is refused after revalidation",
          "[static][socket]") {
  scratch_tree tree;
  running s(tree.root, 100ms);
  CHECK(s.get("/link.txt").body == "hello");
  const std::string link = tree.root + "/link.txt";
  REQUIRE(::unlink(link.c_str()) == 0);
  REQUIRE(::symlink((tree.base + "/outside.txt").c_str(), link.c_str()) == 0);
  std::this_thread::sleep_for(300ms);
  for (int i = 0; i < 3; ++i) {
    const auto r = s.get("/link.txt");
    CHECK(r.status == 404);
    CHECK(r.body.find("secret") == std::string::npos);
  }
  // A directory swapped in under a cached name: the name is looked up again, the redirect comes back.
  CHECK(s.get("/hello.txt").body == "hello");
  REQUIRE(::unlink((tree.root + "/hello.txt").c_str()) == 0);
  REQUIRE(::symlink(tree.base.c_str(), (tree.root + "/hello.txt").c_str()) == 0);
  std::this_thread::sleep_for(300ms);
  CHECK(s.get("/hello.txt").status == 404);
  CHECK(s.get("/hello.txt/outside.txt").status == 404);
}

TEST_CASE("static files cache: descriptors stay within the bound and are closed with the routes",
          "[static][socket]") {
  scratch_tree tree;
  for (int i = 0; i < 20; ++i) write_file(tree.root + "/f" + std::to_string(i) + ".txt", std::to_string(i));
  const std::size_t before = open_fds();
  {
    running s(tree.root, 1h, 4);
    keel_test::raw_client c("127.0.0.1", s.port);  // one keep-alive connection for everything
    auto ask = [&](const std::string& path) {
      REQUIRE(c.send("GET " + path + " HTTP/1.1\r\nHost: x\r\n\r\n"));
      return keel_test::parse_answer(c.read_responses(1));
    };
    CHECK(ask("/f0.txt").body == "0");
    CHECK(ask("/ping").body == "pong");  // the file's response is done: its dup()ed descriptor is closed
    const std::size_t one_entry = open_fds();
    for (int round = 0; round < 3; ++round)
      for (int i = 0; i < 20; ++i) CHECK(ask("/f" + std::to_string(i) + ".txt").body == std::to_string(i));
    CHECK(ask("/ping").body == "pong");
    // Four entries of one descriptor each at most; without the bound there would be 20.
    CHECK(open_fds() <= one_entry + 3);
  }
  CHECK(open_fds() == before);
}

TEST_CASE("static files cache: the bound, stale entries first", "[static]") {
  using clock = keel::detail::static_file_cache::clock;
  keel::detail::static_file_cache cache(3, 1s);
  const auto t0 = clock::now();
  auto entry = std::make_shared<const keel::detail::static_entry>();
  cache.store("a", entry, t0);
  cache.store("b", entry, t0 + 10ms);
  cache.store("c", entry, t0 + 20ms);
  CHECK(cache.size() == 3);
  cache.store("d", entry, t0 + 30ms);  // full: the oldest ("a") goes
  CHECK(cache.size() == 3);
  CHECK(cache.find("a", t0 + 30ms) == nullptr);
  CHECK(cache.find("b", t0 + 30ms) != nullptr);
  CHECK(cache.find("b", t0 + 2s) == nullptr);  // stale
  cache.store("e", entry, t0 + 1025ms);        // "b" and "c" are stale by now: both go
  CHECK(cache.size() == 2);
  CHECK(cache.find("d", t0 + 1025ms) != nullptr);
  CHECK(cache.find("e", t0 + 1025ms) != nullptr);
  keel::detail::static_file_cache off(0, 1s);
  off.store("a", entry, t0);
  CHECK(off.size() == 0);
}
