// keel_bench: the TechEmpower plaintext and JSON tests for benchmarks/compare.sh, plus the streaming body
// endpoints the stream benchmarks and tests drive.
//   build/benchmarks/keel_bench --port 8080 --threads 1 [--files DIR]
// GET /plaintext -> "Hello, World!" (text/plain); GET /json -> {"message":"Hello, World!"} serialized per
// request.
// GET /files/{name} -> the file DIR/name (keel::file: sendfile on plain TCP); 404 without --files.
// GET /stream?chunks=N&size=S -> N chunks of S bytes, written by a coroutine through keel::stream_writer
//   (N up to 1,000,000, S up to 65,536; anything else is a 400).
// POST /upload (up to 4 GiB) -> {"bytes":N,"sha256":"<hex>"}, the body read with keel::body_stream.
// GET /protected -> "Hello, World!" as /plaintext, for a request with a valid HS256 bearer token (401
// without):
//   the cost of keel::bearer<Claims> (benchmarks/instructions.sh --paths /plaintext,/protected --header
//   "Authorization: Bearer $(cat benchmarks/bench_token.txt)"). --no-token-cache verifies every request.
// --metrics serves the same app with keel::metrics as its outermost layer (and GET /metrics): its cost per
//   request (benchmarks/instructions.sh --server-arg --metrics).
#include <keel.hpp>
#include <keel/metrics.hpp>
#include <keel/auth/bearer.hpp>
#include <keel/json/response.hpp>

#include <openssl/evp.h>

#include <charconv>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace keel_bench {
// Named namespace: clang reflects field names only for types with linkage.
struct message {
  std::string_view message;
};
struct upload_result {
  std::uint64_t bytes;
  std::string sha256;
};
// A typical access token's claims (benchmarks/bench_token.txt: HS256, kid "bench", exp in 2100).
struct bench_claims {
  std::string sub;
  std::string username;
  std::vector<std::string> roles;
  std::int64_t iat;
  std::int64_t exp;
  std::string iss;
  std::string aud;
};
constexpr std::string_view bench_secret = "keel-bench-secret-0123456789abcdef";

// A query parameter as an integer in [1, max], or a 400.
std::uint64_t query_number(std::string_view query, std::string_view name, std::uint64_t max) {
  std::size_t at = 0;
  while (at < query.size()) {
    std::size_t end = query.find('&', at);
    if (end == std::string_view::npos) end = query.size();
    const std::string_view pair = query.substr(at, end - at);
    if (pair.size() > name.size() && pair.substr(0, name.size()) == name && pair[name.size()] == '=') {
      const std::string_view text = pair.substr(name.size() + 1);
      std::uint64_t v = 0;
      const auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
      if (ec == std::errc{} && p == text.data() + text.size() && v >= 1 && v <= max) return v;
      break;
    }
    at = end + 1;
  }
  throw keel::http_error(keel::http::status::bad_request,
                         std::string(name) + " must be an integer from 1 to " + std::to_string(max));
}

// A file name inside the served directory: no separators, no dot files (so no "..").
bool plain_file_name(std::string_view name) {
  return !name.empty() && name.front() != '.' && name.find('/') == std::string_view::npos &&
         name.find('\0') == std::string_view::npos;
}

struct sha256 {
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx{EVP_MD_CTX_new(), &EVP_MD_CTX_free};
  sha256() { EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr); }
  void update(std::string_view bytes) { EVP_DigestUpdate(ctx.get(), bytes.data(), bytes.size()); }
  std::string hex() {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int size = 0;
    EVP_DigestFinal_ex(ctx.get(), digest, &size);
    std::string out;
    constexpr char digits[] = "0123456789abcdef";
    for (unsigned int i = 0; i < size; ++i) {
      out.push_back(digits[digest[i] >> 4]);
      out.push_back(digits[digest[i] & 15]);
    }
    return out;
  }
};
}  // namespace keel_bench

int main(int argc, char** argv) {
  // --files DIR is keel_bench's own flag; the rest are the server's.
  std::string files_dir;
  bool token_cache = true;
  bool with_metrics =
      false;  // --metrics: the app with keel::metrics (GET /metrics), for its cost per request
  std::vector<char*> args;
  for (int i = 0; i < argc; ++i) {
    if (std::strcmp(argv[i], "--no-token-cache") == 0) {
      token_cache = false;
    } else if (std::strcmp(argv[i], "--metrics") == 0) {
      with_metrics = true;
    } else if (std::strcmp(argv[i], "--files") == 0 && i + 1 < argc) {
      files_dir = argv[++i];
    } else {
      args.push_back(argv[i]);
    }
  }

  auto api = keel::router{
      keel::get<"/plaintext">([] {
        return keel::static_body{"Hello, World!", "text/plain"};
      }),
      keel::get<"/json">([] { return keel_bench::message{"Hello, World!"}; }),
      keel::get<"/files/{name}">([&files_dir](std::string name) {
        if (files_dir.empty() || !keel_bench::plain_file_name(name)) throw keel::not_found();
        return keel::file::open(files_dir + "/" + name);
      }),
      keel::get<"/stream">([](keel::request_context& ctx, keel::stream_writer out) -> keel::task<> {
        const std::uint64_t chunks = keel_bench::query_number(ctx.request().query, "chunks", 1'000'000);
        const std::uint64_t size = keel_bench::query_number(ctx.request().query, "size", 65'536);
        const std::string piece(size, 'x');
        out.content_type("application/octet-stream");
        for (std::uint64_t i = 0; i < chunks; ++i) co_await out.write(piece);
      }),
      keel::post<"/upload">([](keel::body_stream body) -> keel::task<keel_bench::upload_result> {
        keel_bench::sha256 hash;
        std::uint64_t bytes = 0;
        for (std::string_view piece; !(piece = co_await body.read()).empty();) {
          hash.update(piece);
          bytes += piece.size();
        }
        co_return keel_bench::upload_result{bytes, hash.hex()};
      }).body_limit(std::size_t{4} << 30),
      keel::get<"/protected">([](keel::bearer<keel_bench::bench_claims>) {
        return keel::static_body{"Hello, World!", "text/plain"};
      })
          .use(keel::auth::jwt_bearer<keel_bench::bench_claims>{
              keel::auth::jwt_key::hmac(keel::auth::jwt_alg::HS256, std::string(keel_bench::bench_secret),
                                        "bench"),
              {.verify = {.issuer = "https://keel.example", .audience = "https://api.keel.example"},
               .cache = token_cache}}),
  };
  const auto cfg = keel::server_config::from_args(static_cast<int>(args.size()), args.data());
  if (with_metrics) {
    keel::app{std::move(api)}.use(keel::metrics{}).serve(cfg);
  } else {
    keel::app{std::move(api)}.serve(cfg);
  }
}
