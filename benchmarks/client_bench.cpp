// client_bench: keel::http_client throughput. N GET requests to one URL from C coroutines on one io_context
// (one thread), each coroutine sending its requests one after another on a kept-alive connection. Prints
// "requests=N concurrency=C seconds=S rps=R connections=K" and exits 1 if any response was not 200 with the
// expected body length. Used by benchmarks/client.sh.
// Usage: client_bench URL REQUESTS CONCURRENCY EXPECTED_BODY_BYTES
#include "keel/http_client.hpp"

#include <asio/io_context.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace {

struct counters {
  long remaining = 0;
  long failures = 0;
  int running = 0;
};

keel::task<void> worker(keel::http_client& client, std::string url, std::size_t expected, counters& c) {
  while (c.remaining > 0) {
    --c.remaining;
    keel::task<keel::client_response> getting = client.get(url);
    const keel::client_response r = co_await std::move(getting);
    if (r.status != 200 || r.body.size() != expected) ++c.failures;
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 5) {
    std::fprintf(stderr, "usage: client_bench URL REQUESTS CONCURRENCY EXPECTED_BODY_BYTES\n");
    return 2;
  }
  const std::string url = argv[1];
  const long requests = std::atol(argv[2]);
  const int concurrency = std::atoi(argv[3]);
  const auto expected = static_cast<std::size_t>(std::atol(argv[4]));
  asio::io_context io(1);
  keel::client_options options;
  options.max_idle_per_host = static_cast<std::size_t>(concurrency);
  keel::http_client client(io, options);
  counters c;
  c.remaining = requests;
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < concurrency; ++i) {
    ++c.running;
    keel::detail::start_detached(worker(client, url, expected, c), [&c](keel::detail::task_result<void>&& r) {
      if (r.exception) {
        try {
          std::rethrow_exception(r.exception);
        } catch (const std::exception& e) {
          std::fprintf(stderr, "client_bench: %s\n", e.what());
        }
        ++c.failures;
      }
      --c.running;
    });
  }
  while (c.running > 0) io.run_one();
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("requests=%ld concurrency=%d seconds=%.3f rps=%.0f connections=%zu failures=%ld\n", requests,
              concurrency, seconds, static_cast<double>(requests) / seconds, client.connections_opened(),
              c.failures);
  return c.failures == 0 ? 0 : 1;
}
