// keel::multipart<T> and its parser: RFC 2046 framing split at every byte, CRLF edge cases, preamble and
// epilogue, quoted parameters, limits (413), validation (422), files in the sink's directory only.
#include "keel/multipart.hpp"

#include "keel/app.hpp"
#include "keel/detail/multipart_parser.hpp"
#include "keel/detail/sha256.hpp"
#include "keel/openapi/document.hpp"
#include "keel/router/router.hpp"
#include "keel/test_client.hpp"
#include "keel/validate/rules.hpp"
#include "support/field_errors.hpp"

#include <catch2/catch.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

namespace multipart_test {

using namespace std::string_literals;

using keel::detail::multipart_error;
using keel::detail::multipart_parser;

// Feeds `body` in pieces cut at `cuts` and writes down every event: "<name|file|type>" for a part's start,
// its content, "/" at its end, "." at the body's end, "!<error>" on failure.
std::string transcript(std::string_view body, std::string_view boundary, std::vector<std::size_t> cuts = {},
                       keel::detail::multipart_parser_limits limits = {}) {
  multipart_parser p(boundary, limits);
  std::string out;
  cuts.push_back(body.size());
  std::size_t from = 0;
  bool done = false;
  for (std::size_t cut : cuts) {
    if (done) break;
    p.feed(body.substr(from, cut - from));
    from = cut;
    for (bool more = true; more;) {
      switch (p.next()) {
        case multipart_parser::event::need_more:
          more = false;
          break;
        case multipart_parser::event::part_begin:
          out += "<" + p.head().name + "|" + (p.head().has_filename ? p.head().filename : "-") + "|" +
                 p.head().content_type + ">";
          break;
        case multipart_parser::event::data:
          out.append(p.data());
          break;
        case multipart_parser::event::part_end:
          out += "/";
          break;
        case multipart_parser::event::done:
          out += ".";
          more = false;
          done = true;
          break;
        case multipart_parser::event::error:
          return out + "!" + std::to_string(int(p.error()));
      }
    }
  }
  if (!done && !p.finish()) out += "!" + std::to_string(int(p.error()));
  return out;
}

std::string err(multipart_error e) { return "!" + std::to_string(int(e)); }

const std::string sample =
    "preamble text\r\n"
    "--XyZ\r\n"
    "Content-Disposition: form-data; name=\"title\"\r\n"
    "\r\n"
    "Hello\r\n--Xy-not-quite\r\n"
    "--XyZ  \t\r\n"
    "content-disposition: form-data; name=\"file\"; filename=\"a \\\"q\\\".txt\"\r\n"
    "Content-Type: application/octet-stream\r\n"
    "\r\n"
    "\r\n\r\r\n-\r\n--\r\n--X\r\n--Xy\x00\xff end\r\n"
    "--XyZ--\r\n"
    "epilogue --XyZ garbage"s;

const std::string sample_transcript =
    "<title|-|text/plain>Hello\r\n--Xy-not-quite/"
    "<file|a \"q\".txt|application/octet-stream>"
    "\r\n\r\r\n-\r\n--\r\n--X\r\n--Xy" +
    std::string("\x00\xff end", 6) + "/.";

// Named, not anonymous: field-name reflection needs DTOs with linkage (clang).
struct photo_form {
  keel::text<1, 100> title;
  keel::upload file;
  std::optional<int> rating;
  static constexpr auto keel_multipart_limits = keel::multipart_limits{}.file_bytes(1000).parts(6).hash();
};

struct gallery_form {
  std::vector<keel::upload> images;
  std::optional<keel::upload> cover;
  std::string note;
};

std::filesystem::path fresh_dir(const std::string& name) {
  auto dir = std::filesystem::temp_directory_path() / ("keel-multipart-test-" + name);
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

std::size_t files_in(const std::filesystem::path& dir) {
  std::size_t n = 0;
  for (auto& e : std::filesystem::directory_iterator(dir)) n += e.is_regular_file() ? 1 : 0;
  return n;
}

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string part(std::string_view name, std::string_view value, std::string_view filename = {}) {
  std::string out = "--B\r\nContent-Disposition: form-data; name=\"" + std::string(name) + "\"";
  if (!filename.empty()) out += "; filename=\"" + std::string(filename) + "\"\r\nContent-Type: image/png";
  return out + "\r\n\r\n" + std::string(value) + "\r\n";
}

auto make_app(keel::temp_dir_sink& sink) {
  auto api = keel::router{
      keel::post<"/photo">([](keel::multipart<photo_form> f) -> keel::task<std::string> {
        co_return std::string(*f->title) + "|" + f->file.filename + "|" + f->file.content_type + "|" +
            std::to_string(f->file.size) + "|" + f->file.sha256 + "|" + f->file.path + "|" +
            (f->rating ? std::to_string(*f->rating) : "-");
      }).body_limit(1 << 20),
      keel::post<"/gallery">([](keel::multipart<gallery_form> f) -> keel::task<std::string> {
        std::string out = f->note + ":";
        for (auto& u : f->images) out += u.filename + "=" + slurp(u.path) + ",";
        if (f->cover) out += "cover=" + slurp(f->cover->path);
        co_return out;
      }).body_limit(1 << 20),
  };
  return keel::app{std::move(api)}.provide(sink);
}

keel::test_headers multipart_type() { return {{"Content-Type", "multipart/form-data; boundary=B"}}; }

}  // namespace multipart_test

using namespace multipart_test;

TEST_CASE("multipart parser: preamble, epilogue, padding, quoted parameters, near-boundaries",
          "[multipart]") {
  CHECK(transcript(sample, "XyZ") == sample_transcript);
}

TEST_CASE("multipart parser: the same events for a split at every byte position", "[multipart]") {
  for (std::size_t i = 0; i <= sample.size(); ++i) {
    INFO("split at " << i);
    REQUIRE(transcript(sample, "XyZ", {i}) == sample_transcript);
  }
  for (std::size_t i = 0; i + 7 <= sample.size(); i += 3) {
    INFO("splits at " << i << ", " << i + 1 << ", " << i + 7);
    REQUIRE(transcript(sample, "XyZ", {i, i + 1, i + 7}) == sample_transcript);
  }
  std::vector<std::size_t> every_byte;
  for (std::size_t i = 1; i < sample.size(); ++i) every_byte.push_back(i);
  CHECK(transcript(sample, "XyZ", every_byte) == sample_transcript);
}

TEST_CASE("multipart parser: CRLF edge cases", "[multipart]") {
  // The body may start with the delimiter itself; an empty part; a part without headers is refused.
  CHECK(transcript("--b\r\nContent-Disposition: form-data; name=a\r\n\r\n\r\n--b--", "b") ==
        "<a|-|text/plain>/.");
  CHECK(transcript("--b\r\n\r\nx\r\n--b--", "b") == err(multipart_error::missing_name));
  // Content ending in CR or CRLF keeps them; a lone LF before the delimiter is content.
  CHECK(transcript("--b\r\nContent-Disposition: form-data; name=a\r\n\r\nx\r\r\n--b--", "b") ==
        "<a|-|text/plain>x\r/.");
  CHECK(transcript("--b\r\nContent-Disposition: form-data; name=a\r\n\r\nx\r\n\r\n--b--", "b") ==
        "<a|-|text/plain>x\r\n/.");
  CHECK(transcript("--b\r\nContent-Disposition: form-data; name=a\r\n\r\nx\n--b\r\n--b--", "b") ==
        "<a|-|text/plain>x\n--b/.");
  // A delimiter must end its line: "--b" followed by other text is malformed.
  CHECK(transcript("--b\r\nContent-Disposition: form-data; name=a\r\n\r\nx\r\n--bc\r\n--b--", "b") ==
        "<a|-|text/plain>x/" + err(multipart_error::bad_delimiter));
  CHECK(transcript("--b\nContent-Disposition: form-data; name=a\r\n\r\nx\r\n--b--", "b") ==
        err(multipart_error::bad_delimiter));
  CHECK(transcript("--b-x", "b") == err(multipart_error::bad_delimiter));
  // Header lines: folding and lines without a colon are refused; values are trimmed.
  CHECK(transcript("--b\r\nX-A: 1\r\n folded\r\nContent-Disposition: form-data; name=a\r\n\r\nx\r\n--b--",
                   "b") == err(multipart_error::bad_header));
  CHECK(transcript("--b\r\nno colon\r\n\r\nx\r\n--b--", "b") == err(multipart_error::bad_header));
  CHECK(transcript("--b\r\nContent-Disposition:form-data ;name=\"a;b\" \r\n\r\nx\r\n--b--", "b") ==
        "<a;b|-|text/plain>x/.");
  CHECK(transcript("--b\r\nContent-Disposition: attachment; name=a\r\n\r\nx\r\n--b--", "b") ==
        err(multipart_error::missing_name));
  CHECK(transcript("--b\r\nContent-Disposition: form-data; name=\"a\r\n\r\nx\r\n--b--", "b") ==
        err(multipart_error::bad_header));
  CHECK(transcript("--b\r\nContent-Disposition: form-data; filename=x\r\n\r\nx\r\n--b--", "b") ==
        err(multipart_error::missing_name));
}

TEST_CASE("multipart parser: missing boundary, truncated bodies", "[multipart]") {
  CHECK(transcript("", "b") == err(multipart_error::no_parts));
  CHECK(transcript("just text, no boundary", "b") == err(multipart_error::no_parts));
  CHECK(transcript("--b\r\nContent-Disposition: form-data; name=a\r\n\r\npartial", "b") ==
        "<a|-|text/plain>partial" + err(multipart_error::truncated));
  CHECK(transcript("--b\r\nContent-Disposition: form-data; name=a\r\n\r\nx\r\n--b", "b") ==
        "<a|-|text/plain>x/" + err(multipart_error::truncated));
  CHECK(transcript("--b\r\nContent-Disposition: form-data; name=a\r\n", "b") ==
        err(multipart_error::truncated));
  CHECK(transcript("--b\r\nContent-Disposition: form-data; name=a\r\n\r\nx\r\n--", "b") ==
        "<a|-|text/plain>x" + err(multipart_error::truncated));
}

TEST_CASE("multipart parser: huge headers and too many parts", "[multipart]") {
  const std::string huge =
      "--b\r\nContent-Disposition: form-data; name=a\r\nX-Pad: " + std::string(9000, 'p') +
      "\r\n\r\nx\r\n--b--";
  CHECK(transcript(huge, "b") == err(multipart_error::header_too_large));
  CHECK(transcript(huge, "b", {}, {100, 10000}) == "<a|-|text/plain>x/.");
  std::string many;
  for (int i = 0; i < 5; ++i) many += "--b\r\nContent-Disposition: form-data; name=a\r\n\r\nx\r\n";
  many += "--b--";
  CHECK(transcript(many, "b", {}, {5, 100}) ==
        "<a|-|text/plain>x/<a|-|text/plain>x/<a|-|text/plain>x/"
        "<a|-|text/plain>x/<a|-|text/plain>x/.");
  CHECK(transcript(many, "b", {}, {4, 100}).ends_with(err(multipart_error::too_many_parts)));
}

TEST_CASE("multipart boundary and file name helpers", "[multipart]") {
  using keel::detail::multipart_boundary;
  using keel::detail::sanitize_filename;
  CHECK(multipart_boundary("multipart/form-data; boundary=abc") == "abc");
  CHECK(multipart_boundary("Multipart/Form-Data ; charset=utf-8; BOUNDARY=\"a b:c\"") == "a b:c");
  CHECK(!multipart_boundary("multipart/form-data"));
  CHECK(!multipart_boundary("multipart/form-data; boundary="));
  CHECK(!multipart_boundary("multipart/form-data; boundary=\"unterminated"));
  CHECK(!multipart_boundary("multipart/form-data; boundary=a\rb"));
  CHECK(!multipart_boundary("multipart/form-data; boundary=" + std::string(71, 'x')));
  CHECK(!multipart_boundary("multipart/form-data; boundary=a; boundary=b"));
  CHECK(!multipart_boundary("multipart/mixed; boundary=abc"));
  CHECK(!multipart_boundary("application/x-www-form-urlencoded"));

  CHECK(sanitize_filename("photo.png") == "photo.png");
  CHECK(sanitize_filename("../../x") == "x");
  CHECK(sanitize_filename("..\\..\\x") == "x");
  CHECK(sanitize_filename("/etc/passwd") == "passwd");
  CHECK(sanitize_filename("C:\\Users\\me\\cv.pdf") == "cv.pdf");
  CHECK(sanitize_filename(std::string("a\0b\x01\x7f.txt", 9)) == "ab.txt");
  CHECK(sanitize_filename("...hidden") == "hidden");
  CHECK(sanitize_filename(" . .x. ") == "x");
  CHECK(sanitize_filename("..") == "upload");
  CHECK(sanitize_filename("dir/") == "upload");
  CHECK(sanitize_filename("") == "upload");
  CHECK(sanitize_filename(std::string(300, 'a')).size() == 200);
  // A cut inside a UTF-8 sequence backs off to its start.
  std::string utf8;
  for (int i = 0; i < 100; ++i) utf8 += "\xc3\xa9";  // é
  CHECK(sanitize_filename("x" + utf8, 10) == "x\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9");
}

TEST_CASE("sha256 hasher matches known digests, fed in any pieces", "[multipart]") {
  keel::detail::sha256_hasher empty;
  CHECK(empty.hex() == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  keel::detail::sha256_hasher abc;
  abc.update("abc");
  CHECK(abc.hex() == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  const std::string long_text = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
  for (std::size_t cut = 0; cut <= long_text.size(); ++cut) {
    keel::detail::sha256_hasher h;
    h.update(std::string_view(long_text).substr(0, cut));
    h.update(std::string_view(long_text).substr(cut));
    REQUIRE(h.hex() == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  }
  keel::detail::sha256_hasher million;
  const std::string as(1000, 'a');
  for (int i = 0; i < 1000; ++i) million.update(as);
  CHECK(million.hex() == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST_CASE("multipart<T>: form values and a file into a DTO, the file in the sink's directory",
          "[multipart]") {
  const auto dir = fresh_dir("ok");
  keel::temp_dir_sink sink{dir.string()};
  auto app = make_app(sink);
  keel::test_client client{app};
  const std::string body = "ignored preamble\r\n" + part("title", "Sunset") + part("rating", "4") +
                           part("file", "PNGDATA\r\n--", "../../x.png") + "--B--\r\n";
  auto r = client.post("/photo", body, multipart_type());
  REQUIRE(r.status == 200);
  // sha256 of "PNGDATA\r\n--"
  keel::detail::sha256_hasher h;
  h.update("PNGDATA\r\n--");
  const std::string digest = h.hex();
  const std::string prefix = "Sunset|x.png|image/png|11|" + digest + "|";
  REQUIRE(r.body.starts_with(prefix));
  const std::string path = r.body.substr(prefix.size(), r.body.rfind('|') - prefix.size());
  CHECK(std::filesystem::path(path).parent_path() == dir);
  CHECK(std::filesystem::path(path).filename().string().starts_with("keel-upload-"));
  CHECK(slurp(path) == "PNGDATA\r\n--");
  CHECK(r.body.ends_with("|4"));
  CHECK(files_in(dir) == 1);
}

TEST_CASE("multipart<T>: repeated files, optional file, unknown parts skipped", "[multipart]") {
  const auto dir = fresh_dir("gallery");
  keel::temp_dir_sink sink{dir.string()};
  auto app = make_app(sink);
  keel::test_client client{app};
  const std::string body = part("images", "one", "1.png") + part("ignored", "zzz", "x.bin") +
                           part("images", "two", "2.png") + part("note", "hi") + part("cover", "C", "c.png") +
                           "--B--";
  auto r = client.post("/gallery", body, multipart_type());
  REQUIRE(r.status == 200);
  CHECK(r.body == "hi:1.png=one,2.png=two,cover=C");
  CHECK(files_in(dir) == 3);
}

TEST_CASE("multipart<T>: a file larger than the read window, full of near-delimiters", "[multipart]") {
  const auto dir = fresh_dir("large");
  keel::temp_dir_sink sink{dir.string()};
  auto app = make_app(sink);
  keel::test_client client{app};
  std::string content;
  for (int i = 0; content.size() < 300 * 1024; ++i) content += "\r\n--" + std::string(i % 7, 'A') + "\r\r\n-";
  auto r = client.post("/gallery", part("images", content, "big.bin") + part("note", "n") + "--B--",
                       multipart_type());
  REQUIRE(r.status == 200);
  CHECK(r.body == "n:big.bin=" + content + ",");
}

TEST_CASE("multipart<T>: bad input is a 4xx in keel's error shape and leaves no file behind", "[multipart]") {
  const auto dir = fresh_dir("errors");
  keel::temp_dir_sink sink{dir.string()};
  auto app = make_app(sink);
  keel::test_client client{app};

  SECTION("oversized file: 413 naming the field") {
    auto r =
        client.post("/photo", part("title", "t") + part("file", std::string(1001, 'x'), "big.bin") + "--B--",
                    multipart_type());
    CHECK(r.status == 413);
    CHECK(r.body.find("\"code\":\"file_too_large\"") != std::string::npos);
    CHECK(keel_test::has_field(r, "multipart", "file"));
  }
  SECTION("bad title and missing file: one 422 listing both") {
    auto r = client.post("/photo", part("title", "") + part("rating", "x") + "--B--", multipart_type());
    CHECK(r.status == 422);
    CHECK(keel_test::has_field(r, "multipart", "title"));
    CHECK(keel_test::has_field(r, "multipart", "rating"));
    CHECK(keel_test::has_field(r, "multipart", "file"));
  }
  SECTION("bad title after a stored file: 422, the file removed") {
    auto r =
        client.post("/photo", part("file", "abc", "a.png") + part("title", std::string(101, 't')) + "--B--",
                    multipart_type());
    CHECK(r.status == 422);
    CHECK(keel_test::has_field(r, "multipart", "title"));
  }
  SECTION("a value where a file belongs, a file where a value belongs") {
    auto r =
        client.post("/photo", part("title", "t", "t.txt") + part("file", "abc") + "--B--", multipart_type());
    CHECK(r.status == 422);
    CHECK(r.body.find("must be a file") != std::string::npos);
    CHECK(r.body.find("must be a form value, not a file") != std::string::npos);
  }
  SECTION("too many parts: 413") {
    std::string body;
    for (int i = 0; i < 7; ++i) body += part("x", "y");
    auto r = client.post("/photo", body + "--B--", multipart_type());
    CHECK(r.status == 413);
    CHECK(r.body.find("\"code\":\"too_many_parts\"") != std::string::npos);
  }
  SECTION("huge part headers: 413") {
    auto r = client.post("/photo",
                         "--B\r\nContent-Disposition: form-data; name=title\r\nX: " + std::string(9000, 'h') +
                             "\r\n\r\nt\r\n--B--",
                         multipart_type());
    CHECK(r.status == 413);
    CHECK(r.body.find("\"code\":\"part_header_too_large\"") != std::string::npos);
  }
  SECTION("truncated body: 400") {
    auto r = client.post("/photo", part("title", "t") + part("file", "abc", "a.png"), multipart_type());
    CHECK(r.status == 400);
    CHECK(r.body.find("\"code\":\"bad_multipart\"") != std::string::npos);
  }
  SECTION("missing boundary: 400; another media type: 415") {
    auto r = client.post("/photo", part("title", "t") + "--B--", {{"Content-Type", "multipart/form-data"}});
    CHECK(r.status == 400);
    auto r2 = client.post("/photo", "title=t", {{"Content-Type", "application/x-www-form-urlencoded"}});
    CHECK(r2.status == 415);
    auto r3 =
        client.post("/photo", part("title", "t") + "--B--",
                    {{"Content-Type", "multipart/form-data; boundary=B"}, {"Content-Encoding", "gzip"}});
    CHECK(r3.status == 415);
  }
  SECTION("a body over the route's limit: 413 before reading") {
    auto r = client.post("/photo", std::string((1 << 20) + 1, 'x'), multipart_type());
    CHECK(r.status == 413);
  }
  CHECK(files_in(dir) == 0);
}

TEST_CASE("multipart<T> in the OpenAPI document: a multipart/form-data body, files as binary strings",
          "[multipart][openapi]") {
  keel::temp_dir_sink sink;
  auto app = make_app(sink);
  using router_t = std::remove_cvref_t<decltype(app.router())>;
  const std::string doc = keel::openapi::document<router_t>();
  INFO(doc);
  CHECK(doc.find(R"("requestBody":{"required":true,"content":{"multipart/form-data":{"schema":)") !=
        std::string::npos);
  CHECK(doc.find(R"("file":{"type":"string","format":"binary"})") != std::string::npos);
  CHECK(doc.find(R"("cover":{"type":"string","format":"binary"})") != std::string::npos);
  CHECK(doc.find(R"("images":{"type":"array","items":{"type":"string","format":"binary"}})") !=
        std::string::npos);
  CHECK(doc.find(R"("title":{"type":"string","minLength":1,"maxLength":100})") != std::string::npos);
  CHECK(doc.find(R"("required":["title","file"])") != std::string::npos);
}
