// keel_bench: the TechEmpower plaintext and JSON tests, for benchmarks/compare.sh.
//   build/benchmarks/keel_bench --port 8080 --threads 1
// GET /plaintext -> "Hello, World!" (text/plain); GET /json -> {"message":"Hello, World!"} serialized per
// request.
#include <keel.hpp>
#include <keel/json/response.hpp>

#include <string_view>

namespace {
struct message {
  std::string_view message;
};
}  // namespace

int main(int argc, char** argv) {
  auto api = keel::router{
      keel::get<"/plaintext">([] {
        return keel::static_body{"Hello, World!", "text/plain"};
      }),
      keel::get<"/json">([] { return message{"Hello, World!"}; }),
  };
  keel::app{std::move(api)}.serve(keel::server_config::from_args(argc, argv));
}
