// keel::compress and keel::decompress_requests over real sockets: curl (--compressed and raw bytes decoded by
// the gzip and brotli command-line tools), raw sockets for bogus Accept-Encoding values.
#include "keel/compress.hpp"

#include "keel/app.hpp"
#include "keel/file.hpp"
#include "keel/offload.hpp"
#include "keel/server/server.hpp"
#include "keel/static_files.hpp"
#include "keel/stream.hpp"
#include "support/curl_output.hpp"
#include "support/local_server.hpp"
#include "support/running_server.hpp"
#include "support/raw_client.hpp"

#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <zlib.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <string>

namespace {

using keel_test::run_command;
using namespace std::chrono_literals;

std::string text_body() {
  std::string s;
  for (int i = 0; i < 400; ++i) s += "line " + std::to_string(i) + " of a compressible text\n";
  return s;
}

std::atomic<bool> second_piece{false};

// The body of a chunked response (everything after the head), de-chunked as far as whole chunks go.
std::string dechunk(std::string_view raw) {
  std::string out;
  const std::size_t head_end = raw.find("\r\n\r\n");
  if (head_end == std::string_view::npos) return out;
  raw.remove_prefix(head_end + 4);
  for (;;) {
    const std::size_t line_end = raw.find("\r\n");
    if (line_end == std::string_view::npos) return out;
    const std::size_t size = std::stoul(std::string(raw.substr(0, line_end)), nullptr, 16);
    if (size == 0 || raw.size() < line_end + 2 + size + 2) return out;
    out.append(raw.substr(line_end + 2, size));
    raw.remove_prefix(line_end + 2 + size + 2);
  }
}

// Inflates gzip data that need not be complete (a stream flushed so far).
std::string gunzip_so_far(std::string_view in) {
  z_stream z{};
  REQUIRE(inflateInit2(&z, 15 + 16) == Z_OK);
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  z.avail_in = static_cast<uInt>(in.size());
  std::string out;
  char buf[4096];
  int rc = Z_OK;
  while (rc == Z_OK && (z.avail_in != 0 || z.avail_out == 0)) {
    z.next_out = reinterpret_cast<Bytef*>(buf);
    z.avail_out = sizeof buf;
    rc = inflate(&z, Z_SYNC_FLUSH);
    out.append(buf, sizeof buf - z.avail_out);
  }
  inflateEnd(&z);
  return out;
}

struct temp_dir {
  std::string path;
  temp_dir() {
    char tmpl[] = "/tmp/keel-compress-XXXXXX";
    path = ::mkdtemp(tmpl);
  }
  ~temp_dir() { (void)std::system(("rm -rf " + path).c_str()); }
};

auto make_app(const std::string& dir) {
  return keel::app{
      keel::router{
          keel::get<"/text">([] { return text_body(); }),
          keel::get<"/small">([] { return "tiny"; }),
          keel::get<"/png">([] { return keel::response(keel::http::status::ok, text_body(), "image/png"); }),
          keel::get<"/encoded">([] {
            keel::response r(keel::http::status::ok, text_body());
            r.header("Content-Encoding", "identity-ish");
            return r;
          }),
          keel::get<"/etag">([] {
            keel::response r(keel::http::status::ok, text_body(), "application/json");
            r.header("ETag", "\"v1\"");
            return r;
          }),
          keel::get<"/no-transform">([] {
            keel::response r(keel::http::status::ok, text_body());
            r.header("Cache-Control", "no-transform");
            return r;
          }),
          keel::get<"/stream">([](keel::stream_writer out) -> keel::task<> {
            out.content_type("text/plain");
            const std::string body = text_body();
            co_await out.write(body);
          }),
          keel::get<"/stream-length">([](keel::stream_writer out) -> keel::task<> {
            out.content_type("text/plain");
            const std::string body = text_body();
            out.set_length(body.size());
            co_await out.write(body);
          }),
          keel::get<"/stream-png">([](keel::stream_writer out) -> keel::task<> {
            out.content_type("image/png");
            const std::string body = text_body();
            co_await out.write(body);
          }),
          // Two pieces: the second waits until the test decoded the first (or 5 s pass).
          keel::get<"/ticks">([](keel::stream_writer out) -> keel::task<> {
            out.content_type("text/event-stream");
            co_await out.write("data: first piece\n\n");
            co_await out.flush();
            for (int i = 0; i < 500 && !second_piece.load(); ++i) co_await keel::sleep_for(10ms);
            co_await out.write("data: second piece\n\n");
          }),
          keel::post<"/echo">([](keel::body b) { return std::string(b.data); }),
          keel::static_files<"/files">(dir),
          keel::static_files<"/buffered">(dir, {.buffer_compressible_below = 64 * 1024}),
      }}
      .use(keel::compress{}, keel::decompress_requests{.max_bytes = 1 << 20});
}
using app_type = decltype(make_app(""));

using keel_test::header_of;
using keel_test::status_of;

struct running {
  temp_dir dir;
  app_type app = make_app(dir.path);
  keel_test::running_server<app_type> server{app, keel_test::local_config(1)};
  std::uint16_t port = server.port();
  std::string base = server.base();
  // Headers only (the body goes to `body_file`).
  std::string head(const std::string& args, const std::string& body_file = "/dev/null") const {
    return run_command("curl -s -D - -o " + body_file + " --max-time 10 " + args);
  }
};

}  // namespace

TEST_CASE("compress: negotiation, round trips through gzip and brotli", "[compress][socket]") {
  running s;
  const std::string body = text_body();
  const std::string out = s.dir.path + "/out.bin";

  auto h = s.head("-H 'Accept-Encoding: gzip' " + s.base + "/text", out);
  CHECK(header_of(h, "Content-Encoding") == "gzip");
  CHECK(header_of(h, "Vary") == "Accept-Encoding");
  CHECK(std::stoul(header_of(h, "Content-Length")) < body.size() / 3);
  CHECK(run_command("gzip -dc < " + out) == body);

  h = s.head("-H 'Accept-Encoding: br' " + s.base + "/text", out);
  CHECK(header_of(h, "Content-Encoding") == "br");
  CHECK(run_command("brotli -dc < " + out) == body);

  h = s.head("-H 'Accept-Encoding: gzip, deflate, br' " + s.base + "/text");
  CHECK(header_of(h, "Content-Encoding") == "br");  // br wins a tie
  h = s.head("-H 'Accept-Encoding: gzip;q=1.0, br;q=0.8' " + s.base + "/text");
  CHECK(header_of(h, "Content-Encoding") == "gzip");
  h = s.head("-H 'Accept-Encoding: *;q=0.5' " + s.base + "/text");
  CHECK(header_of(h, "Content-Encoding") == "br");
  h = s.head("-H 'Accept-Encoding: br;q=0, gzip;q=0' " + s.base + "/text");
  CHECK(header_of(h, "Content-Encoding").empty());
  CHECK(header_of(h, "Vary") == "Accept-Encoding");
  h = s.head(s.base + "/text");  // no Accept-Encoding: identity, still Vary
  CHECK(header_of(h, "Content-Encoding").empty());
  CHECK(header_of(h, "Vary") == "Accept-Encoding");

  // curl decodes what it negotiated.
  CHECK(run_command("curl -s --compressed --max-time 10 " + s.base + "/text") == body);
  // HEAD announces the compressed length a GET gets.
  const std::string get_len =
      header_of(s.head("-H 'Accept-Encoding: gzip' " + s.base + "/text"), "Content-Length");
  CHECK(header_of(s.head("-I -H 'Accept-Encoding: gzip' " + s.base + "/text"), "Content-Length") == get_len);

  // Bogus Accept-Encoding values: skipped, identity, never an error.
  for (const char* bogus : {"gzip;q=2", "br;q=abc", ";;;,,,", "gzip;q=", "compress, zstd", "br;level=5"}) {
    INFO(bogus);
    keel_test::raw_client c("127.0.0.1", s.port);
    c.send(std::string("GET /text HTTP/1.1\r\nHost: x\r\nConnection: close\r\nAccept-Encoding: ") + bogus +
           "\r\n\r\n");
    std::string r;
    c.read_until_closed(&r);
    CHECK(status_of(r) == 200);
    CHECK(header_of(r, "Content-Encoding").empty());
    CHECK(r.ends_with(body));
  }
}

TEST_CASE("compress: what is left alone", "[compress][socket]") {
  running s;
  const std::string ae = "-H 'Accept-Encoding: gzip, br' ";
  auto h = s.head(ae + s.base + "/small");
  CHECK(header_of(h, "Content-Encoding").empty());
  CHECK(header_of(h, "Vary").empty());
  h = s.head(ae + s.base + "/png");
  CHECK(header_of(h, "Content-Encoding").empty());
  h = s.head(ae + s.base + "/encoded");
  CHECK(header_of(h, "Content-Encoding") == "identity-ish");
  h = s.head(ae + s.base + "/no-transform");
  CHECK(header_of(h, "Content-Encoding").empty());
  // Streams with an announced length or of another type, and file bodies go out as they are.
  const std::string out = s.dir.path + "/out.bin";
  h = s.head(ae + s.base + "/stream-length", out);
  CHECK(header_of(h, "Content-Encoding").empty());
  CHECK(header_of(h, "Content-Length") == std::to_string(text_body().size()));
  CHECK(run_command("cat " + out) == text_body());
  h = s.head(ae + s.base + "/stream-png", out);
  CHECK(header_of(h, "Content-Encoding").empty());
  CHECK(run_command("cat " + out) == text_body());
  std::ofstream(s.dir.path + "/page.txt") << text_body();
  h = s.head(ae + s.base + "/files/page.txt", out);
  CHECK(status_of(h) == 200);
  CHECK(header_of(h, "Content-Encoding").empty());
  h = s.head(ae + "-r 0-9 " + s.base + "/files/page.txt", out);
  CHECK(status_of(h) == 206);
  CHECK(header_of(h, "Content-Encoding").empty());
  CHECK(run_command("cat " + out) == text_body().substr(0, 10));
  // static_files with buffer_compressible_below: small text files are compressed, with a weak ETag that
  // still validates; ranges and clients without Accept-Encoding still get the file by sendfile.
  h = s.head(ae + s.base + "/buffered/page.txt", out);
  CHECK(header_of(h, "Content-Encoding") == "br");
  CHECK(run_command("brotli -dc < " + out) == text_body());
  const std::string weak = header_of(h, "ETag");
  CHECK(weak.starts_with("W/\""));
  CHECK(status_of(s.head(ae + "-H 'If-None-Match: " + weak + "' " + s.base + "/buffered/page.txt")) == 304);
  h = s.head(s.base + "/buffered/page.txt", out);
  CHECK(header_of(h, "Content-Encoding").empty());
  CHECK(run_command("cat " + out) == text_body());
  h = s.head(ae + "-r 0-9 " + s.base + "/buffered/page.txt", out);
  CHECK(status_of(h) == 206);
  CHECK(run_command("cat " + out) == text_body().substr(0, 10));
  // A strong ETag becomes weak on a compressed body.
  h = s.head(ae + s.base + "/etag");
  CHECK(header_of(h, "Content-Encoding") == "br");
  CHECK(header_of(h, "ETag") == "W/\"v1\"");
  CHECK(header_of(s.head(s.base + "/etag"), "ETag") == "\"v1\"");
}

TEST_CASE("compress: streamed bodies are compressed as they stream", "[compress][stream][socket]") {
  running s;
  const std::string body = text_body();
  const std::string out = s.dir.path + "/out.bin";
  auto h = s.head("-H 'Accept-Encoding: gzip' " + s.base + "/stream", out);
  CHECK(header_of(h, "Content-Encoding") == "gzip");
  CHECK(header_of(h, "Transfer-Encoding") == "chunked");
  CHECK(header_of(h, "Vary") == "Accept-Encoding");
  CHECK(run_command("gzip -dc < " + out) == body);
  CHECK(std::stoul(run_command("wc -c < " + out)) < body.size() / 3);
  h = s.head("-H 'Accept-Encoding: br' " + s.base + "/stream", out);
  CHECK(header_of(h, "Content-Encoding") == "br");
  CHECK(run_command("brotli -dc < " + out) == body);
  CHECK(run_command("curl -s --compressed --max-time 10 " + s.base + "/stream") == body);
  h = s.head(s.base + "/stream", out);  // no Accept-Encoding: as written
  CHECK(header_of(h, "Content-Encoding").empty());
  CHECK(run_command("cat " + out) == body);
  h = s.head("-I -H 'Accept-Encoding: gzip' " + s.base + "/stream");  // HEAD: the same head, no body
  CHECK(status_of(h) == 200);
  CHECK(header_of(h, "Content-Encoding") == "gzip");

  // Each write is flushed: the first piece decodes at the client while the handler still waits.
  second_piece = false;
  keel_test::raw_client c("127.0.0.1", s.port);
  REQUIRE(c.send("GET /ticks HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip\r\nConnection: close\r\n\r\n"));
  std::string seen;
  std::string first;
  for (int i = 0; i < 100 && first.find("first piece") == std::string::npos; ++i) {
    if (c.read_some(4096) == 0) break;
    seen += c.take();
    first = gunzip_so_far(dechunk(seen));
  }
  CHECK(header_of(seen, "Content-Encoding") == "gzip");
  CHECK(first == "data: first piece\n\n");
  second_piece = true;
  std::string rest;
  CHECK(c.read_until_closed(&rest));
  seen += rest;
  CHECK(seen.ends_with("0\r\n\r\n"));
  CHECK(gunzip_so_far(dechunk(seen)) == "data: first piece\n\ndata: second piece\n\n");
}

TEST_CASE("decompress_requests: gzip and br bodies, limits", "[compress][socket]") {
  running s;
  const std::string plain = s.dir.path + "/body.txt";
  std::ofstream(plain) << text_body();
  REQUIRE(std::system(("gzip -k -9 " + plain + " && brotli -k " + plain).c_str()) == 0);
  std::string r = run_command(
      "curl -s --max-time 10 -H 'Content-Encoding: gzip' -H 'Content-Type: text/plain' "
      "--data-binary @" +
      plain + ".gz " + s.base + "/echo");
  CHECK(r == text_body());
  r = run_command("curl -s --max-time 10 -H 'Content-Encoding: br' --data-binary @" + plain + ".br " +
                  s.base + "/echo");
  CHECK(r == text_body());
  r = run_command("curl -s --max-time 10 --data-binary @" + plain + " " + s.base + "/echo");  // no coding
  CHECK(r == text_body());

  // A zip bomb: 64 MiB of zeros in ~64 KB, over the 1 MiB limit.
  const std::string bomb = s.dir.path + "/bomb.gz";
  REQUIRE(std::system(("head -c 67108864 /dev/zero | gzip -9 > " + bomb).c_str()) == 0);
  auto code = [&](const std::string& args) {
    return run_command("curl -s -o /dev/null -w '%{http_code}' --max-time 20 " + args + " " + s.base +
                       "/echo");
  };
  CHECK(code("-H 'Content-Encoding: gzip' --data-binary @" + bomb) == "413");
  CHECK(code("-H 'Content-Encoding: gzip' --data-binary 'not gzip at all'") == "400");
  CHECK(code("-H 'Content-Encoding: br' --data-binary 'not brotli'") == "400");
  CHECK(code("-H 'Content-Encoding: zstd' --data-binary 'x'") == "415");
  // Truncated gzip: 400.
  const std::string cut = s.dir.path + "/cut.gz";
  REQUIRE(std::system(("head -c 40 " + plain + ".gz > " + cut).c_str()) == 0);
  CHECK(code("-H 'Content-Encoding: gzip' --data-binary @" + cut) == "400");
}

TEST_CASE("compress: codec helpers round-trip", "[compress]") {
  const std::string body = text_body();
  keel::detail::gzip_encoder gz;
  std::string packed, back;
  REQUIRE(gz.compress(body, 6, packed));
  REQUIRE(keel::detail::gunzip(packed, body.size(), back) == keel::detail::decode_result::ok);
  CHECK(back == body);
  CHECK(keel::detail::gunzip(packed, body.size() - 1, back) == keel::detail::decode_result::too_large);
  REQUIRE(gz.compress(body, 1, packed));  // another level on the same encoder
  REQUIRE(keel::detail::gunzip(packed, body.size(), back) == keel::detail::decode_result::ok);
  CHECK(back == body);
  REQUIRE(keel::detail::brotli_compress(body, 5, packed));
  REQUIRE(keel::detail::unbrotli(packed, body.size(), back) == keel::detail::decode_result::ok);
  CHECK(back == body);
  CHECK(keel::detail::unbrotli(packed, 100, back) == keel::detail::decode_result::too_large);
}
