// libFuzzer target for keel::redis's RESP2 reply parser (keel/redis/detail/resp.hpp): the bytes a server
// sends. Invariants: a parse either throws protocol_error, needs more bytes (0), or takes 1..size bytes; when
// it takes n bytes, every shorter prefix needs more bytes (a reply is never taken early) and re-parsing the
// first n bytes alone gives the same reply.
#include "keel/redis/detail/resp.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

namespace {

bool same(const keel::redis::reply& a, const keel::redis::reply& b) {
  if (a.type != b.type || a.integer != b.integer || a.text != b.text ||
      a.elements.size() != b.elements.size())
    return false;
  for (std::size_t i = 0; i < a.elements.size(); ++i)
    if (!same(a.elements[i], b.elements[i])) return false;
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using keel::redis::detail::resp_parser;
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  keel::redis::reply whole;
  std::size_t used = 0;
  try {
    used = resp_parser::parse(in, whole);
  } catch (const keel::redis::protocol_error&) {
    return 0;
  }
  if (used > size) std::abort();
  if (used == 0) return 0;
  keel::redis::reply again;
  if (resp_parser::parse(in.substr(0, used), again) != used || !same(whole, again)) std::abort();
  for (std::size_t cut = 0; cut < used; ++cut) {
    keel::redis::reply part;
    if (resp_parser::parse(in.substr(0, cut), part) != 0) std::abort();
  }
  return 0;
}
