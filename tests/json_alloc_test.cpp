// The hot-path promise of the JSON code: once buffers are warm, writing and reading allocate nothing
// beyond what the values themselves own (checked with a counting global operator new in this binary).
#include "keel/json/reader.hpp"
#include "keel/json/writer.hpp"
#include "keel/validate/rules.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <new>
#include <optional>
#include <string>
#include <vector>

// AddressSanitizer brings its own operator new; replacing it as well makes its bookkeeping disagree, so under
// ASan the code still runs but the counts are not checked.
#if defined(__SANITIZE_ADDRESS__)
#define KEEL_COUNT_ALLOCATIONS 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define KEEL_COUNT_ALLOCATIONS 0
#endif
#endif
#ifndef KEEL_COUNT_ALLOCATIONS
#define KEEL_COUNT_ALLOCATIONS 1
#endif

namespace {
std::atomic<long> allocations{0};
}

#if KEEL_COUNT_ALLOCATIONS
void* operator new(std::size_t size) {
  allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
#endif

namespace json_alloc_test {

enum class level { low, high };

struct point {
  std::int64_t x;
  double y;
  bool visible;
  level priority;
  std::optional<int> weight;
  keel::range<int, 0, 100> percent;
};

struct shape {
  using keel_naming = keel::camel_case;
  std::int32_t shape_id;
  std::array<point, 3> corners;
  std::string_view label;  // output only
};

struct scalars_only {
  std::int32_t shape_id;
  std::array<point, 3> corners;
};

}  // namespace json_alloc_test

using namespace json_alloc_test;

TEST_CASE("writing into a warm buffer allocates nothing", "[json][alloc]") {
  shape s{7,
          {point{1, 0.5, true, level::high, 3, 50}, point{}, point{-5, 1e300, false, level::low, {}, 0}},
          "a \"label\""};
  std::string out;
  keel::json_io::write(out, s);
  std::string first = out;
  long before = allocations.load();
  for (int i = 0; i < 100; ++i) {
    out.clear();
    keel::json_io::write(out, s);
  }
  if (KEEL_COUNT_ALLOCATIONS) CHECK(allocations.load() == before);
  CHECK(out == first);
}

TEST_CASE("reading scalars from a padded buffer allocates nothing once the parser is warm", "[json][alloc]") {
  std::string text = keel::json_io::to_string(scalars_only{
      3, {point{1, 0.5, true, level::high, 3, 50}, point{}, point{-5, 2.5, false, level::low, {}, 0}}});
  std::vector<char> buffer(text.begin(), text.end());
  buffer.resize(text.size() + simdjson::SIMDJSON_PADDING);
  REQUIRE(
      keel::json_io::read<scalars_only>(buffer.data(), text.size(), buffer.size()).ok());  // warms the parser
  long before = allocations.load();
  for (int i = 0; i < 100; ++i) {
    auto r = keel::json_io::read<scalars_only>(buffer.data(), text.size(), buffer.size());
    REQUIRE(r.ok());
    REQUIRE(r->corners[2].x == -5);
  }
  if (KEEL_COUNT_ALLOCATIONS) CHECK(allocations.load() == before);
}
