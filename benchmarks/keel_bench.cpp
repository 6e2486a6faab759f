// keel_bench: the TechEmpower plaintext and JSON tests, for benchmarks/compare.sh.
//   build/benchmarks/keel_bench --port 8080 --threads 1
// GET /plaintext -> "Hello, World!" (text/plain); GET /json -> {"message":"Hello, World!"} serialized per
// request.
#include <keel.hpp>
#include <keel/json/response.hpp>

#include <string_view>

namespace keel_bench {
// Named namespace: clang reflects field names only for types with linkage.
struct message {
  std::string_view message;
};
}  // namespace keel_bench

int main(int argc, char** argv) {
  auto api = keel::router{
      keel::get<"/plaintext">([] {
        return keel::static_body{"Hello, World!", "text/plain"};
      }),
      keel::get<"/json">([] { return keel_bench::message{"Hello, World!"}; }),
  };
  keel::app{std::move(api)}.serve(keel::server_config::from_args(argc, argv));
}
