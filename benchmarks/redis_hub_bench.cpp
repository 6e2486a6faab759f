// keel::redis_hub_backend: two hubs in one process, each with its own Redis connections (as two processes
// would have), a queued subscriber on hub B. Throughput: hub A publishes --messages payloads of 64 bytes to
// one topic back to back, timed until B's subscriber took the last. Latency: one message at a time, from A's
// publish to B's subscriber taking it (the Redis round trip plus both hubs).
// redis_hub_bench --redis-port N [--runs R] [--messages M] [--samples S]   (benchmarks/redis_hub.sh)
#include <keel/redis_hub.hpp>

#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

using clock_type = std::chrono::steady_clock;
using redis_hub = keel::basic_hub<keel::redis_hub_backend>;

struct result {
  double per_second = 0;
  double p50_us = 0;
  double p90_us = 0;
};

keel::task<void> wait_subscribed(keel::redis::client& check, std::string channel) {
  for (int i = 0; i < 1000; ++i) {
    keel::redis::reply r = co_await check.command("PUBSUB", "NUMSUB", channel);
    if (r.is_array() && r.elements.size() == 2 && r.elements[1].integer == 1) co_return;
    co_await keel::sleep_for(std::chrono::milliseconds(5));
  }
  throw std::runtime_error("the subscriber never subscribed");
}

keel::task<result> run(redis_hub& a, redis_hub& b, keel::redis::client& check, int messages, int samples) {
  keel::hub_subscription sub = b.subscribe("bench");
  co_await wait_subscribed(check, b.backend().channel("bench"));
  co_await a.backend().client().ping();  // A's publishing connection is up
  const std::string payload(64, 'x');
  result r;

  const auto start = clock_type::now();
  for (int i = 0; i < messages; ++i) a.publish("bench", payload);
  for (int i = 0; i < messages; ++i) {
    keel::hub_message_ptr m = co_await sub.next(std::chrono::seconds(10));
    if (!m) throw std::runtime_error("a message did not arrive");
  }
  const double seconds = std::chrono::duration<double>(clock_type::now() - start).count();
  r.per_second = messages / seconds;

  std::vector<double> us;
  for (int i = 0; i < samples; ++i) {
    const auto t0 = clock_type::now();
    a.publish("bench", payload);
    keel::hub_message_ptr m = co_await sub.next(std::chrono::seconds(10));
    if (!m) throw std::runtime_error("a message did not arrive");
    us.push_back(std::chrono::duration<double, std::micro>(clock_type::now() - t0).count());
  }
  std::sort(us.begin(), us.end());
  r.p50_us = us[us.size() / 2];
  r.p90_us = us[us.size() * 9 / 10];
  co_return r;
}

result run_once(int port, int messages, int samples) {
  keel::redis::config cfg;
  cfg.port = static_cast<std::uint16_t>(port);
  keel::hub_options ho;
  ho.queue_messages = static_cast<std::size_t>(messages) + 16;
  ho.replay = 0;
  redis_hub a(ho, cfg);
  redis_hub b(ho, cfg);
  asio::io_context io;  // this thread's reactor: B's subscriber is served here
  keel::redis::client check(io, cfg);
  keel::detail::reactor_scope scope(io);
  keel::detail::task_result<result> out;
  bool done = false;
  keel::detail::start_detached(run(a, b, check, messages, samples),
                               [&](keel::detail::task_result<result>&& r) {
                                 out = std::move(r);
                                 done = true;
                               });
  auto work = asio::make_work_guard(io);
  while (!done) io.run_one_for(std::chrono::milliseconds(50));
  if (out.exception) std::rethrow_exception(out.exception);
  return *out.value;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  int port = 0, runs = 5, messages = 20000, samples = 500;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--redis-port") == 0) port = std::atoi(argv[i + 1]);
    if (std::strcmp(argv[i], "--runs") == 0) runs = std::atoi(argv[i + 1]);
    if (std::strcmp(argv[i], "--messages") == 0) messages = std::atoi(argv[i + 1]);
    if (std::strcmp(argv[i], "--samples") == 0) samples = std::atoi(argv[i + 1]);
  }
  if (port == 0 || runs < 1 || messages < 1 || samples < 1) {
    std::fprintf(stderr, "usage: redis_hub_bench --redis-port N [--runs R] [--messages M] [--samples S]\n");
    return 2;
  }
  std::vector<double> rate, p50, p90;
  for (int i = 0; i < runs; ++i) {
    const result r = run_once(port, messages, samples);
    rate.push_back(r.per_second);
    p50.push_back(r.p50_us);
    p90.push_back(r.p90_us);
  }
  const auto [rmin, rmax] = std::minmax_element(rate.begin(), rate.end());
  const auto [lmin, lmax] = std::minmax_element(p50.begin(), p50.end());
  std::printf("| measure | median | min - max (%d runs) |\n|---|---:|---:|\n", runs);
  std::printf("| A publishes %d x 64 B, B's subscriber takes them: messages/s | %.0f | %.0f - %.0f |\n",
              messages, median(rate), *rmin, *rmax);
  std::printf("| one at a time, A's publish to B's subscriber: p50 us | %.0f | %.0f - %.0f |\n", median(p50),
              *lmin, *lmax);
  std::printf("| the same, p90 us | %.0f | |\n", median(p90));
}
