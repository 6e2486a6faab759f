// keel::compress's encoders on typical bodies: compression ratio and speed (MB of input per CPU second) for
// gzip levels and brotli qualities, buffered (one call per body, as keel::compress does for a buffered
// response) and streamed (keel::compress's stream encoder, one flush per 4 KiB write).
//   build/benchmarks/compress_bench [--seconds S]      (S: CPU time per measurement, default 0.5)
// Prints one Markdown table; benchmarks/RESULTS.md keeps the runs.
#include <keel/compress.hpp>
#include <keel/json.hpp>

#include <time.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

namespace bench {

double cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

struct article {
  std::string slug, title, description, body;
  std::vector<std::string> tag_list;
  int favorites_count = 0;
  bool favorited = false;
};

// A page of 20 articles as the Conduit list answers it (~14 KB of JSON).
std::string json_page() {
  std::vector<article> page;
  for (int i = 0; i < 20; ++i)
    page.push_back({"how-to-train-your-dragon-" + std::to_string(i),
                    "How to train your dragon " + std::to_string(i),
                    "Ever wonder how?",
                    std::string("It takes a Jacobian. ") + std::string(400, 'a' + i % 26),
                    {"dragons", "training", "tag" + std::to_string(i % 5)},
                    i * 7,
                    i % 2 == 0});
  return keel::json_io::to_string(page);
}

// An HTML page of ~40 KB: markup and prose.
std::string html_page() {
  std::string s =
      "<!doctype html><html><head><title>keel</title><link rel=stylesheet href=/a.css></head><body>";
  for (int i = 0; i < 200; ++i)
    s += "<div class=\"row\"><a href=\"/articles/" + std::to_string(i) + "\">Article number " +
         std::to_string(i) +
         "</a><p>Lorem ipsum dolor sit amet, consectetur adipiscing "
         "elit, sed do eiusmod tempor.</p></div>\n";
  return s + "</body></html>";
}

template <class F>
double mb_per_cpu_second(std::size_t bytes, double seconds, F&& run) {
  std::size_t done = 0;
  const double start = cpu_seconds();
  double now = start;
  while (now - start < seconds) {
    run();
    done += bytes;
    now = cpu_seconds();
  }
  return static_cast<double>(done) / 1e6 / (now - start);
}

void row(const char* body_name, const std::string& body, const char* codec, int level, double seconds) {
  std::string out;
  keel::detail::gzip_encoder gz;
  const bool br = std::strcmp(codec, "br") == 0;
  auto buffered = [&] {
    const bool ok = br ? keel::detail::brotli_compress(body, level, out) : gz.compress(body, level, out);
    if (!ok) std::abort();
  };
  buffered();
  const double ratio = static_cast<double>(body.size()) / static_cast<double>(out.size());
  const double speed = mb_per_cpu_second(body.size(), seconds, buffered);
  // Streamed: one encoder per body, a flush per 4 KiB piece, as a keel::stream_writer under keel::compress.
  std::size_t streamed_size = 0;
  auto streamed = [&] {
    keel::detail::stream_encoder enc(br, level);
    streamed_size = 0;
    for (std::size_t at = 0; at < body.size(); at += 4096)
      streamed_size += enc.encode(std::string_view(body).substr(at, 4096), false).size();
    streamed_size += enc.encode({}, true).size();
  };
  streamed();
  const double stream_ratio = static_cast<double>(body.size()) / static_cast<double>(streamed_size);
  const double stream_speed = mb_per_cpu_second(body.size(), seconds, streamed);
  std::printf("| %s (%zu B) | %s %d | %.2f | %.0f | %.2f | %.0f |\n", body_name, body.size(), codec, level,
              ratio, speed, stream_ratio, stream_speed);
}

}  // namespace bench

int main(int argc, char** argv) {
  double seconds = 0.5;
  for (int i = 1; i + 1 < argc; ++i)
    if (std::string_view(argv[i]) == "--seconds") seconds = std::atof(argv[i + 1]);
  const std::string json = bench::json_page();
  const std::string html = bench::html_page();
  std::printf(
      "| body | codec | ratio (buffered) | MB/s (buffered) | ratio (streamed, 4 KiB flushes) | MB/s "
      "(streamed) |\n");
  std::printf("|---|---|---:|---:|---:|---:|\n");
  for (const auto& [name, body] :
       {std::pair<const char*, const std::string*>{"JSON page", &json}, {"HTML page", &html}}) {
    for (int level : {1, 6, 9}) bench::row(name, *body, "gzip", level, seconds);
    for (int q : {1, 4, 5, 11}) bench::row(name, *body, "br", q, seconds);
  }
}
