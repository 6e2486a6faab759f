// keel_bench's buffered routes (GET /plaintext, GET /json), for benchmarks/instructions.sh: measure.sh builds
// it twice, with keel_add_app (the server instantiated here) and keel_add_app(... SEPARATE_SERVER) (the
// server in keel_separate_server, reached through keel::detail::erased_app), so the difference in
// instructions per request is the cost of the dispatch boundary.
#include <keel.hpp>
#include <keel/json/response.hpp>

#include <string_view>

namespace bench_tu {
// Named namespace: clang reflects field names only for types with linkage.
struct message {
  std::string_view message;
};
}  // namespace bench_tu

int main(int argc, char** argv) {
  auto api = keel::router{
      keel::get<"/plaintext">([] {
        return keel::static_body{"Hello, World!", "text/plain"};
      }),
      keel::get<"/json">([] { return bench_tu::message{"Hello, World!"}; }),
  };
  const auto cfg = keel::server_config::from_args(argc, argv);
  keel::app{std::move(api)}.serve(cfg);
}
