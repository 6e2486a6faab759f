// rate_limit_server: the server side of benchmarks/rate_limit.sh. One tiny route three times: without a limit
// (/none), behind keel::auth::rate_limit over a memory_rate_store (/memory) and over a
// keel::redis::rate_store
// (/redis). The budget is too large to run out, so every request passes and the figures are the cost of the
// limiter itself; every request carries the same key (wrk -H 'X-API-Key: bench'): one hot bucket.
//   KEEL_BENCH_REDIS_PORT=6379 rate_limit_server --host 127.0.0.1 --port 8080 --threads 1
#include <keel.hpp>
#include <keel/auth/rate_limit.hpp>
#include <keel/redis.hpp>
#include <keel/redis/rate_store.hpp>

#include <chrono>
#include <cstdlib>
#include <string>

int main(int argc, char** argv) {
  const char* redis_port = std::getenv("KEEL_BENCH_REDIS_PORT");
  keel::redis::io_thread redis_io;
  keel::redis::client redis(
      redis_io.context(), std::string("redis://127.0.0.1:") + (redis_port != nullptr ? redis_port : "6379"));
  keel::redis::rate_store in_redis(redis);
  keel::auth::memory_rate_store in_memory;
  const keel::auth::rate_limit_options options{
      .limit = 1'000'000'000, .window = std::chrono::seconds(1), .name = "bench", .headers = true};
  auto memory_limit = keel::auth::rate_limit{options, keel::auth::by_header{"X-API-Key"}, in_memory};
  auto redis_limit = keel::auth::rate_limit{options, keel::auth::by_header{"X-API-Key"}, in_redis};
  auto hello = [] { return "hello"; };
  keel::app{keel::router{
                keel::group<"/none">(keel::get<"/x">(hello)),
                keel::group<"/memory">(keel::get<"/x">(hello)).use(memory_limit),
                keel::group<"/redis">(keel::get<"/x">(hello)).use(redis_limit),
            }}
      .serve(keel::server_config::from_args(argc, argv));
}
