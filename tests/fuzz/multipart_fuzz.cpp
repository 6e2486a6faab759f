// libFuzzer target for keel's multipart/form-data parser (keel/detail/multipart_parser.hpp): the input is
// a body for boundary "b" (its first byte picks where to cut it in two); the events for the whole body and
// for the two pieces must agree, every piece of content must lie inside the input or the delimiter, the
// header limit must hold, and sanitized file names must be free of path separators and control characters.
#include "keel/detail/multipart_parser.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

namespace {

using keel::detail::multipart_parser;

void require(bool condition, const char* what) {
  if (!condition) {
    std::fprintf(stderr, "multipart_fuzz invariant failed: %s\n", what);
    std::abort();
  }
}

void check_filename(std::string_view raw) {
  const std::string name = keel::detail::sanitize_filename(raw);
  require(!name.empty() && name.size() <= 200, "sanitized name length");
  require(name.front() != '.' && name.front() != ' ', "sanitized name start");
  for (char c : name) {
    const auto u = static_cast<unsigned char>(c);
    require(c != '/' && c != '\\' && u >= 0x20 && u != 0x7f, "sanitized name characters");
  }
}

std::string run(std::string_view body, std::size_t cut) {
  constexpr keel::detail::multipart_parser_limits limits{8, 256};
  multipart_parser p("b", limits);
  std::string out;
  const std::string_view pieces[2] = {body.substr(0, cut), body.substr(cut)};
  for (std::string_view piece : pieces) {
    p.feed(piece);
    for (;;) {
      const auto e = p.next();
      if (e == multipart_parser::event::need_more) break;
      if (e == multipart_parser::event::done) return out + ".";
      if (e == multipart_parser::event::error) return out + "!" + std::to_string(int(p.error()));
      if (e == multipart_parser::event::part_begin) {
        const auto& h = p.head();
        require(h.name.size() + h.filename.size() + h.content_type.size() <= 256 + 10, "header limit");
        if (h.has_filename) check_filename(h.filename);
        out += "<" + h.name + "|" + h.filename + "|" + h.content_type + ">";
      } else if (e == multipart_parser::event::data) {
        const std::string_view d = p.data();
        require(!d.empty(), "empty data event");
        const bool in_piece = d.data() >= piece.data() && d.data() + d.size() <= piece.data() + piece.size();
        const std::string_view delimiter = "\r\n--b";
        require(in_piece || (d.size() < delimiter.size() && delimiter.starts_with(d)), "data outside input");
        out.append(d);
      } else {
        out += "/";
      }
    }
  }
  if (!p.finish()) out += "!" + std::to_string(int(p.error()));
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::string_view body(reinterpret_cast<const char*>(data) + 1, size - 1);
  const std::size_t cut = body.empty() ? 0 : data[0] % (body.size() + 1);
  const std::string whole = run(body, body.size());
  const std::string split = run(body, cut);
  require(whole == split, "split and whole input disagree");
  // The Content-Type parameter parser on the same bytes.
  (void)keel::detail::multipart_boundary(std::string("multipart/form-data; ") +
                                         std::string(body.substr(0, 200)));
  check_filename(body.substr(0, 300));
  return 0;
}
