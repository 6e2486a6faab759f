// The separate_server ctest's second app: the non-buffered paths through keel::detail::erased_app (a streamed
// response, a streamed request body with its own limit, a buffered body) and an app-wide layer that sees
// rejected requests (keel::request_id), built with keel_add_app(... SEPARATE_SERVER).
#include <keel.hpp>

#include <cstddef>
#include <string>
#include <string_view>

int main(int argc, char** argv) {
  auto api = keel::router{
      // GET /count?n=N streams the numbers 0..N-1, one per line (chunked).
      keel::get<"/count">([](keel::request_context& ctx, keel::stream_writer out) -> keel::task<> {
        const std::string_view query = ctx.request().query;
        const int n = query.starts_with("n=") ? std::stoi(std::string(query.substr(2))) : 10;
        out.content_type("text/plain");
        for (int i = 0; i < n; ++i) {
          const std::string line = std::to_string(i) + "\n";
          co_await out.write(line);
        }
      }),
      // POST /upload reads its body in pieces and answers its size (at most 1 MiB).
      keel::post<"/upload">([](keel::body_stream body) -> keel::task<std::string> {
        std::size_t bytes = 0;
        for (std::string_view piece; !(piece = co_await body.read()).empty();) bytes += piece.size();
        co_return std::to_string(bytes);
      }).body_limit(std::size_t{1} << 20),
      keel::post<"/echo">([](keel::body b) { return std::string(b.data); }),
  };
  keel::app{std::move(api)}.use<keel::request_id>().serve(keel::server_config::from_args(argc, argv));
}
