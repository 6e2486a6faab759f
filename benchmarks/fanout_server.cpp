// fanout_server: the server side of benchmarks/fanout.sh. Every WebSocket on /sub subscribes to one
// keel::hub topic; once --subscribers of them are in, a publisher thread publishes --messages messages, one
// every --interval-ms, each carrying its number and the CLOCK_REALTIME time it was published (padded to
// --size bytes), then stops the server.
//   fanout_server --port 8080 [--threads 1] [--subscribers 10000] [--messages 100] [--interval-ms 100]
//   [--size 64]
#include <keel.hpp>
#include <keel/hub.hpp>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <ctime>

#include <sys/resource.h>
#include <unistd.h>

namespace {

double cpu_seconds() {  // user + system time of the whole process
  rusage u{};
  ::getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

keel::task<> subscriber(keel::hub& hub, keel::websocket& ws) {
  keel::hub_subscription sub = hub.subscribe("bench", ws);
  while (auto msg = co_await ws.receive()) {
  }
}

}  // namespace

int main(int argc, char** argv) {
  std::size_t subscribers = 10'000, messages = 100, size = 64;
  long interval_ms = 100;
  for (int i = 1; i + 1 < argc; ++i) {
    if (!std::strcmp(argv[i], "--subscribers")) subscribers = std::strtoul(argv[i + 1], nullptr, 10);
    if (!std::strcmp(argv[i], "--messages")) messages = std::strtoul(argv[i + 1], nullptr, 10);
    if (!std::strcmp(argv[i], "--interval-ms")) interval_ms = std::atol(argv[i + 1]);
    if (!std::strcmp(argv[i], "--size")) size = std::strtoul(argv[i + 1], nullptr, 10);
  }
  keel::ws_options o;
  o.ping_interval = std::chrono::milliseconds(0);
  o.idle_timeout = std::chrono::minutes(10);
  keel::hub hub;
  std::thread publisher([&] {
    while (hub.subscribers("bench") < subscribers) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    std::fprintf(stderr, "fanout_server: %zu subscribers; publishing\n", subscribers);
    const double cpu_before = cpu_seconds();
    auto next = std::chrono::steady_clock::now();
    char head[64];
    for (std::size_t i = 1; i <= messages; ++i) {
      std::this_thread::sleep_until(next);
      next += std::chrono::milliseconds(interval_ms);
      timespec now{};  // CLOCK_REALTIME: the clock of the kernel's receive timestamps fanout_load reads
      ::clock_gettime(CLOCK_REALTIME, &now);
      const long long t0 = now.tv_sec * 1'000'000'000LL + now.tv_nsec;
      const int n = std::snprintf(head, sizeof head, "%010zu %020lld", i, t0);
      std::string payload(head, static_cast<std::size_t>(n));
      if (payload.size() < size) payload.append(size - payload.size(), 'x');
      hub.publish("bench", payload);
    }
    // The last deliveries: until the process stops using CPU (under 2 ms in 200 ms; at most 60 s), so that a
    // server running behind its publisher (a loaded machine) is charged for all of them.
    double cpu = cpu_seconds() - cpu_before;
    for (int i = 0; i < 300; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
      const double now = cpu_seconds() - cpu_before;
      const bool idle = now - cpu < 0.002;
      cpu = now;
      if (idle) break;
    }
    std::printf("server_cpu_ms_per_publish=%.2f server_cpu_us_per_delivery=%.2f\n", cpu * 1e3 / messages,
                cpu * 1e6 / static_cast<double>(messages * subscribers));
    std::fflush(stdout);
    std::this_thread::sleep_for(std::chrono::seconds(2));  // the client counts the last receipts
    ::kill(::getpid(), SIGTERM);
  });
  keel::app{keel::router{keel::ws<"/sub">(&subscriber, o)}}.provide(hub).serve(
      keel::server_config::from_args(argc, argv));
  publisher.join();
}
