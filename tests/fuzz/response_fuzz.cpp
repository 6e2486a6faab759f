// libFuzzer target for keel::http::response_parser (the HTTP client's response heads): a head that parses
// whole is incomplete at every shorter prefix, one refused whole is never complete at a prefix, and every
// view of a parsed head lies inside the bytes it consumed.
#include "keel/http/response_parser.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

namespace {

void require(bool condition, const char* what) {
  if (!condition) {
    std::fprintf(stderr, "response_fuzz invariant failed: %s\n", what);
    std::abort();
  }
}

bool inside(std::string_view view, const char* begin, std::size_t size) {
  return view.empty() || (view.data() >= begin && view.data() + view.size() <= begin + size);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string input(reinterpret_cast<const char*>(data), size);
  const keel::http::response_parser parser(4096);
  keel::http::response_head whole;
  const auto all = parser.parse(input.data(), input.size(), whole);
  if (all.status == keel::http::parse_status::complete) {
    require(all.consumed <= input.size(), "consumed beyond the input");
    require(whole.status >= 100 && whole.status <= 999, "status out of range");
    require(inside(whole.reason, input.data(), all.consumed), "reason outside the head");
    for (const auto& field : whole.headers) {
      require(inside(field.name, input.data(), all.consumed), "name outside the head");
      require(inside(field.value, input.data(), all.consumed), "value outside the head");
    }
    require(!(whole.chunked && whole.has_length), "both framings");
  }
  for (std::size_t cut = 0; cut < input.size(); ++cut) {
    keel::http::response_head part;
    const auto prefix = parser.parse(input.data(), cut, part);
    if (all.status == keel::http::parse_status::complete && cut < all.consumed)
      require(prefix.status == keel::http::parse_status::incomplete,
              "a prefix of a good head is not incomplete");
    if (all.status == keel::http::parse_status::error)
      require(prefix.status != keel::http::parse_status::complete, "a prefix of a bad head is complete");
  }
  return 0;
}
