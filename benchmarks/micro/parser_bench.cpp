// Parser throughput (Google Benchmark): requests parsed per second for a minimal request and a ~500-byte
// browser-like one, each alone and as a pipelined batch of 16 in one buffer.
#include "keel/http/parser.hpp"

#include <benchmark/benchmark.h>

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace {

constexpr std::string_view minimal_request = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";

// What a desktop browser sends for a page on a site it already has cookies for (~500 bytes).
constexpr std::string_view browser_request =
    "GET /articles/2026/11/keel-benchmarks?page=2&sort=new HTTP/1.1\r\n"
    "Host: www.example.com\r\n"
    "User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0\r\n"
    "Accept: text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8\r\n"
    "Accept-Language: en-US,en;q=0.5\r\n"
    "Accept-Encoding: gzip, deflate, br\r\n"
    "Referer: https://www.example.com/articles\r\n"
    "Connection: keep-alive\r\n"
    "Cookie: session=8f3a2c9d41b7e6f0; theme=dark; consent=yes\r\n"
    "Upgrade-Insecure-Requests: 1\r\n"
    "Sec-Fetch-Dest: document\r\n"
    "Sec-Fetch-Mode: navigate\r\n"
    "\r\n";

void parse_batch(benchmark::State& state, std::string_view one, int per_buffer) {
  std::string text;
  for (int i = 0; i < per_buffer; ++i) text.append(one);
  std::vector<char> buffer(text.begin(), text.end());
  keel::http::request_parser parser;
  keel::http::request request;
  for (auto _ : state) {
    std::size_t at = 0;
    for (int i = 0; i < per_buffer; ++i) {
      const auto r = parser.parse(buffer.data() + at, buffer.size() - at, request);
      if (r.status != keel::http::parse_status::complete) {
        state.SkipWithError("request did not parse");
        return;
      }
      at += r.consumed;
    }
    benchmark::DoNotOptimize(request);
  }
  state.SetItemsProcessed(state.iterations() * per_buffer);
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(text.size()));
  state.counters["bytes/request"] = static_cast<double>(one.size());
}

void BM_parse_minimal(benchmark::State& state) { parse_batch(state, minimal_request, 1); }
void BM_parse_minimal_pipelined16(benchmark::State& state) { parse_batch(state, minimal_request, 16); }
void BM_parse_browser(benchmark::State& state) { parse_batch(state, browser_request, 1); }
void BM_parse_browser_pipelined16(benchmark::State& state) { parse_batch(state, browser_request, 16); }

}  // namespace

BENCHMARK(BM_parse_minimal);
BENCHMARK(BM_parse_minimal_pipelined16);
BENCHMARK(BM_parse_browser);
BENCHMARK(BM_parse_browser_pipelined16);

BENCHMARK_MAIN();
