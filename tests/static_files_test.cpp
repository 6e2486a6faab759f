// keel::static_files over real sockets: curl for ranges, conditional requests and precompressed siblings, raw
// sockets for traversal attempts and bogus headers.
#include "keel/static_files.hpp"

#include "keel/app.hpp"
#include "keel/server/server.hpp"
#include "support/curl_output.hpp"
#include "support/local_server.hpp"
#include "support/running_server.hpp"
#include "support/raw_client.hpp"

#include <catch2/catch.hpp>

#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

namespace {

using keel_test::run_command;

void write_file(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

// A scratch tree: site/ is the root, outside.txt sits next to it.
struct fixture_tree {
  std::string base;
  std::string root;
  std::string big;
  fixture_tree() {
    char tmpl[] = "/tmp/keel-static-XXXXXX";
    base = ::mkdtemp(tmpl);
    root = base + "/site";
    ::mkdir(root.c_str(), 0755);
    ::mkdir((root + "/sub").c_str(), 0755);
    ::mkdir((root + "/empty").c_str(), 0755);
    write_file(base + "/outside.txt", "secret outside");
    write_file(root + "/hello.txt", "hello world\n");
    write_file(root + "/index.html", "<h1>home</h1>");
    write_file(root + "/sub/index.html", "<h1>sub</h1>");
    write_file(root + "/.env", "PASSWORD=x");
    write_file(root + "/app.js", "console.log('plain');");
    write_file(root + "/app.js.br", "BROTLI-BYTES");
    write_file(root + "/app.js.gz", "GZIP-BYTES");
    write_file(root + "/style.css", "body{}");
    write_file(root + "/style.css.gz", "GZ-CSS");
    for (int i = 0; i < 10000; ++i) big += static_cast<char>('a' + i % 26);
    write_file(root + "/big.txt", big);
    (void)::symlink((base + "/outside.txt").c_str(), (root + "/escape.txt").c_str());
    (void)::symlink(base.c_str(), (root + "/escape-dir").c_str());
    (void)::symlink((root + "/hello.txt").c_str(), (root + "/inside-link.txt").c_str());
  }
  ~fixture_tree() { (void)std::system(("rm -rf " + base).c_str()); }
};

auto make_app(const std::string& root) {
  return keel::app{keel::router{
      keel::get<"/api/ping">([] { return "pong"; }),
      keel::static_files<"/assets">(
          root, {.cache_control = {{"*.html", "no-cache"}, {"*.js", "public, max-age=31536000, immutable"}}}),
      keel::static_files<"/">(root, {.spa_fallback = true, .offload_io = false}),
  }};
}
using app_type = decltype(make_app(""));

using keel_test::body_of;
using keel_test::header_of;
using keel_test::status_of;

struct running {
  fixture_tree tree;
  app_type app = make_app(tree.root);
  keel_test::running_server<app_type> server{app, keel_test::local_config(1)};
  std::uint16_t port = server.port();
  std::string base = server.base();
  // curl -i: status line, headers, body.
  std::string curl(const std::string& args) const { return run_command("curl -s -i --max-time 10 " + args); }
  // One raw request; the whole response (the connection closes after it).
  std::string raw(const std::string& target, const std::string& extra = "") const {
    keel_test::raw_client c("127.0.0.1", port);
    c.send("GET " + target + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n" + extra + "\r\n");
    std::string out;
    c.read_until_closed(&out);
    return out;
  }
};

}  // namespace

TEST_CASE("static files: content types, validators, index, redirects", "[static][socket]") {
  running s;
  auto r = s.curl(s.base + "/assets/hello.txt");
  CHECK(status_of(r) == 200);
  CHECK(body_of(r) == "hello world\n");
  CHECK(header_of(r, "Content-Type") == "text/plain; charset=utf-8");
  CHECK(header_of(r, "Accept-Ranges") == "bytes");
  CHECK(header_of(r, "Vary") == "Accept-Encoding");
  const std::string etag = header_of(r, "ETag");
  const std::string modified = header_of(r, "Last-Modified");
  CHECK(etag.size() > 4);
  CHECK(modified.ends_with("GMT"));

  r = s.curl(s.base + "/assets/style.css");
  CHECK(header_of(r, "Content-Type") == "text/css; charset=utf-8");
  CHECK(header_of(r, "Content-Encoding").empty());  // curl sends no Accept-Encoding by default

  // Conditional requests.
  r = s.curl("-H 'If-None-Match: " + etag + "' " + s.base + "/assets/hello.txt");
  CHECK(status_of(r) == 304);
  CHECK(body_of(r).empty());
  CHECK(header_of(r, "ETag") == etag);
  r = s.curl("-H 'If-None-Match: \"other\", W/" + etag + "' " + s.base + "/assets/hello.txt");
  CHECK(status_of(r) == 304);
  r = s.curl("-H 'If-None-Match: \"other\"' " + s.base + "/assets/hello.txt");
  CHECK(status_of(r) == 200);
  r = s.curl("-H 'If-Modified-Since: " + modified + "' " + s.base + "/assets/hello.txt");
  CHECK(status_of(r) == 304);
  r = s.curl("-H 'If-Modified-Since: Sat, 01 Jan 2000 00:00:00 GMT' " + s.base + "/assets/hello.txt");
  CHECK(status_of(r) == 200);
  // If-None-Match wins over If-Modified-Since.
  r = s.curl("-H 'If-None-Match: \"other\"' -H 'If-Modified-Since: " + modified + "' " + s.base +
             "/assets/hello.txt");
  CHECK(status_of(r) == 200);

  // Directories: index.html, redirect without the trailing slash.
  r = s.curl(s.base + "/assets/sub/");
  CHECK(status_of(r) == 200);
  CHECK(body_of(r) == "<h1>sub</h1>");
  CHECK(header_of(r, "Content-Type") == "text/html; charset=utf-8");
  CHECK(header_of(r, "Cache-Control") == "no-cache");
  r = s.curl(s.base + "/assets/sub");
  CHECK(status_of(r) == 301);
  CHECK(header_of(r, "Location") == "/assets/sub/");
  r = s.curl(s.base + "/assets");
  CHECK(status_of(r) == 301);
  CHECK(header_of(r, "Location") == "/assets/");
  r = s.curl(s.base + "/assets/");
  CHECK(body_of(r) == "<h1>home</h1>");
  r = s.curl(s.base + "/assets/empty/");
  CHECK(status_of(r) == 404);
  r = s.curl(s.base + "/");
  CHECK(body_of(r) == "<h1>home</h1>");
  // "//host/dir" is not turned into a protocol-relative redirect.
  r = s.raw("//sub");
  CHECK(status_of(r) == 301);
  CHECK(header_of(r, "Location") == "/sub/");

  // Cache-Control by pattern; literal routes win over the "/" mount.
  r = s.curl(s.base + "/assets/app.js");
  CHECK(header_of(r, "Cache-Control") == "public, max-age=31536000, immutable");
  CHECK(header_of(r, "Content-Type") == "text/javascript; charset=utf-8");
  CHECK(body_of(s.curl(s.base + "/api/ping")) == "pong");

  // SPA fallback on the "/" mount only, and only for paths without an extension.
  r = s.curl(s.base + "/some/client/route");
  CHECK(status_of(r) == 200);
  CHECK(body_of(r) == "<h1>home</h1>");
  CHECK(status_of(s.curl(s.base + "/missing.png")) == 404);
  CHECK(status_of(s.curl(s.base + "/assets/some/client/route")) == 404);

  // HEAD: the length, no body.
  r = s.curl("-I " + s.base + "/assets/big.txt");
  CHECK(status_of(r) == 200);
  CHECK(header_of(r, "Content-Length") == "10000");
  // Other methods: 405 from the router.
  CHECK(status_of(s.curl("-X POST " + s.base + "/assets/hello.txt")) == 405);
  // A symlink inside the root is followed.
  CHECK(body_of(s.curl(s.base + "/assets/inside-link.txt")) == "hello world\n");
}

TEST_CASE("static files: ranges", "[static][socket]") {
  running s;
  const std::string& big = s.tree.big;
  auto r = s.curl("-r 10-19 " + s.base + "/assets/big.txt");
  CHECK(status_of(r) == 206);
  CHECK(body_of(r) == big.substr(10, 10));
  CHECK(header_of(r, "Content-Range") == "bytes 10-19/10000");
  CHECK(header_of(r, "Content-Length") == "10");
  r = s.curl("-r -5 " + s.base + "/assets/big.txt");  // suffix
  CHECK(body_of(r) == big.substr(9995));
  CHECK(header_of(r, "Content-Range") == "bytes 9995-9999/10000");
  r = s.curl("-r 9990- " + s.base + "/assets/big.txt");  // open-ended
  CHECK(body_of(r) == big.substr(9990));
  r = s.curl("-r 9990-20000 " + s.base + "/assets/big.txt");  // clamped
  CHECK(header_of(r, "Content-Range") == "bytes 9990-9999/10000");

  // Several ranges: multipart/byteranges; overlapping ones are coalesced.
  r = s.curl("-r 0-4,100-104 " + s.base + "/assets/big.txt");
  CHECK(status_of(r) == 206);
  const std::string type = header_of(r, "Content-Type");
  REQUIRE(type.starts_with("multipart/byteranges; boundary="));
  const std::string boundary = type.substr(type.find('=') + 1);
  const std::string body = body_of(r);
  CHECK(body.find("--" + boundary +
                  "\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Range: bytes "
                  "0-4/10000\r\n\r\n" +
                  big.substr(0, 5) + "\r\n") == 0);
  CHECK(body.find("Content-Range: bytes 100-104/10000\r\n\r\n" + big.substr(100, 5) + "\r\n--" + boundary +
                  "--\r\n") != std::string::npos);
  r = s.curl("-r 0-9,5-14 " + s.base + "/assets/big.txt");
  CHECK(status_of(r) == 206);
  CHECK(header_of(r, "Content-Range") == "bytes 0-14/10000");
  CHECK(body_of(r) == big.substr(0, 15));

  // Unsatisfiable: 416 with the size.
  r = s.curl("-r 20000-20010 " + s.base + "/assets/big.txt");
  CHECK(status_of(r) == 416);
  CHECK(header_of(r, "Content-Range") == "bytes */10000");

  // If-Range: a current validator keeps the range, a stale one gets the whole file.
  const std::string etag = header_of(s.curl("-I " + s.base + "/assets/big.txt"), "ETag");
  r = s.curl("-r 0-1 -H 'If-Range: " + etag + "' " + s.base + "/assets/big.txt");
  CHECK(status_of(r) == 206);
  r = s.curl("-r 0-1 -H 'If-Range: \"stale\"' " + s.base + "/assets/big.txt");
  CHECK(status_of(r) == 200);
  CHECK(body_of(r).size() == 10000);

  // Bogus Range headers are ignored (200 with the whole file), over a raw socket.
  for (const char* bogus : {"bytes=abc", "bytes=5-1", "items=0-1", "bytes=", "bytes=--1", "bytes=1-2-3",
                            "bytes=99999999999999999999999-"}) {
    INFO(bogus);
    r = s.raw("/assets/big.txt", std::string("Range: ") + bogus + "\r\n");
    CHECK(status_of(r) == 200);
    CHECK(body_of(r).size() == 10000);
  }
  // Too many ranges: ignored.
  std::string many = "Range: bytes=0-0";
  for (int i = 1; i < 40; ++i) many += "," + std::to_string(i * 10) + "-" + std::to_string(i * 10);
  r = s.raw("/assets/big.txt", many + "\r\n");
  CHECK(status_of(r) == 200);
}

TEST_CASE("static files: precompressed siblings by Accept-Encoding", "[static][socket]") {
  running s;
  auto r = s.curl("-H 'Accept-Encoding: gzip, br' " + s.base + "/assets/app.js");
  CHECK(body_of(r) == "BROTLI-BYTES");  // br wins a tie
  CHECK(header_of(r, "Content-Encoding") == "br");
  CHECK(header_of(r, "Content-Type") == "text/javascript; charset=utf-8");
  CHECK(header_of(r, "Vary") == "Accept-Encoding");
  const std::string br_tag = header_of(r, "ETag");
  r = s.curl("-H 'Accept-Encoding: gzip;q=1, br;q=0.5' " + s.base + "/assets/app.js");
  CHECK(body_of(r) == "GZIP-BYTES");
  CHECK(header_of(r, "Content-Encoding") == "gzip");
  CHECK(header_of(r, "ETag") != br_tag);
  r = s.curl("-H 'Accept-Encoding: br;q=0, gzip;q=0' " + s.base + "/assets/app.js");
  CHECK(body_of(r) == "console.log('plain');");
  CHECK(header_of(r, "Content-Encoding").empty());
  r = s.curl("-H 'Accept-Encoding: *' " + s.base + "/assets/app.js");
  CHECK(header_of(r, "Content-Encoding") == "br");
  // Only a .gz sibling: gzip even when br is preferred.
  r = s.curl("-H 'Accept-Encoding: br, gzip;q=0.1' " + s.base + "/assets/style.css");
  CHECK(body_of(r) == "GZ-CSS");
  CHECK(header_of(r, "Content-Encoding") == "gzip");
  // Bogus Accept-Encoding values are skipped: identity.
  for (const char* bogus : {"br;q=2", "br;q=abc", "br;x=1", ";;;", "gzip;q=1.5, br;q=-1"}) {
    INFO(bogus);
    r = s.raw("/assets/app.js", std::string("Accept-Encoding: ") + bogus + "\r\n");
    CHECK(status_of(r) == 200);
    CHECK(body_of(r) == "console.log('plain');");
  }
  // curl --compressed decodes a real precompressed file.
  const std::string gz = s.tree.root + "/real.txt";
  write_file(gz, std::string(3000, 'z'));
  REQUIRE(std::system(("gzip -k -9 " + gz).c_str()) == 0);
  const std::string decoded =
      run_command("curl -s --compressed --max-time 10 " + s.base + "/assets/real.txt");
  CHECK(decoded == std::string(3000, 'z'));
  const std::string raw_gz = run_command("curl -s -H 'Accept-Encoding: gzip' --max-time 10 " + s.base +
                                         "/assets/real.txt | gzip -dc");
  CHECK(raw_gz == std::string(3000, 'z'));
}

TEST_CASE("static files: traversal and other refusals are 404", "[static][socket]") {
  running s;
  for (const char* target : {"/assets/../outside.txt",
                             "/assets/%2e%2e/outside.txt",
                             "/assets/%2E%2E/outside.txt",
                             "/assets/sub/..%2f..%2foutside.txt",
                             "/assets/..%2foutside.txt",
                             "/assets/sub%2f..%2f..%2foutside.txt",
                             "/assets/%2e%2e%5coutside.txt",
                             "/assets/..\\outside.txt",
                             "/assets/sub\\..\\hello.txt",
                             "/assets/hello.txt%00.png",
                             "/assets/%00",
                             "/assets/.env",
                             "/assets/%2eenv",
                             "/assets/sub/./index.html",
                             "/assets/escape.txt",
                             "/assets/escape-dir/outside.txt",
                             "/assets/./hello.txt",
                             "/../outside.txt",
                             "/%2e%2e/%2e%2e/etc/passwd",
                             "/assets//etc/passwd",
                             "/assets/%2fetc%2fpasswd"}) {
    INFO(target);
    const std::string r = s.raw(target);
    CHECK(status_of(r) == 404);
    CHECK(r.find("secret outside") == std::string::npos);
    CHECK(r.find("PASSWORD") == std::string::npos);
    CHECK(r.find("root:") == std::string::npos);
  }
  // Not percent-encoding at all: 400 from the router.
  CHECK(status_of(s.raw("/assets/%zz")) == 400);
  // A doubled slash stays under the root.
  CHECK(body_of(s.raw("/assets//hello.txt")) == "hello world\n");
}

TEST_CASE("static files: dotfiles when allowed, helpers", "[static]") {
  fixture_tree tree;
  auto app = keel::app{keel::router{keel::static_files<"/">(tree.root, {.allow_dotfiles = true})}};
  keel::detail::server<decltype(app)> server(app, keel_test::local_config(1));
  const auto port = server.start();
  const std::string out =
      run_command("curl -s --max-time 10 http://127.0.0.1:" + std::to_string(port) + "/.env");
  CHECK(out == "PASSWORD=x");
  server.stop();
  server.wait();

  CHECK(keel::mime_type("PNG") == "image/png");
  CHECK(keel::mime_type("unknown") == "application/octet-stream");
  CHECK(keel::detail::glob_match("*.html", "a/b/index.html"));
  CHECK_FALSE(keel::detail::glob_match("assets/*", "x/assets/a"));
  CHECK(keel::detail::accept_encoding_q("gzip;q=0.8, br", "gzip") == 800);
  CHECK(keel::detail::accept_encoding_q("x-gzip", "gzip") == 1000);
  CHECK(keel::detail::accept_encoding_q("identity;q=0", "br") == 0);
  std::int64_t t = 0;
  REQUIRE(keel::detail::parse_imf_fixdate("Sun, 06 Nov 1994 08:49:37 GMT", t));
  CHECK(t == 784111777);
  CHECK_FALSE(keel::detail::parse_imf_fixdate("Sunday, 06-Nov-94 08:49:37 GMT", t));
  CHECK_THROWS(keel::static_files<"/x">("/nonexistent/dir"));
}

TEST_CASE("static files: clients closing during large downloads do not kill the server (SIGPIPE)",
          "[static][socket]") {
  fixture_tree tree;
  {
    std::ofstream big(tree.root + "/large.bin", std::ios::binary);
    const std::string mib(1 << 20, 'z');
    for (int i = 0; i < 32; ++i) big << mib;
  }
  auto app = keel::app{keel::router{keel::static_files<"/">(tree.root)}};
  keel::detail::server<decltype(app)> server(app, keel_test::local_config(1));
  const auto port = server.start();
  // Each client reads what has arrived and closes with nothing left unread (a FIN, not a reset) while the
  // server is still sending: its next sendfile meets the reset of a closed peer. Without SIGPIPE ignored,
  // that signal ends this test process.
  for (int round = 0; round < 20; ++round) {
    std::vector<std::unique_ptr<keel_test::raw_client>> clients;
    for (int i = 0; i < 8; ++i) {
      clients.push_back(std::make_unique<keel_test::raw_client>("127.0.0.1", port));
      REQUIRE(clients.back()->send("GET /large.bin HTTP/1.1\r\nHost: x\r\n\r\n"));
    }
    for (auto& c : clients) {
      REQUIRE(c->read_some(65536) > 0);
      char sink[1 << 16];
      while (::recv(c->fd(), sink, sizeof sink, MSG_DONTWAIT) > 0) {
      }
      c->close();
    }
  }
  const std::string after =
      keel_test::run_command("curl -s --max-time 10 http://127.0.0.1:" + std::to_string(port) + "/hello.txt");
  CHECK(after == "hello world\n");
  server.stop();
  server.wait();
}
