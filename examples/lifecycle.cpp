// App lifecycle: a start-up hook, a supervised background task, a periodic timer and a stop hook, with the
// fixed shutdown order (requests in flight finish, then the task is asked to stop, then on_stop runs).
//   build/examples/lifecycle --port 8080      then  curl http://127.0.0.1:8080/ticks, and Ctrl-C
//   build/examples/lifecycle --stubborn ...   adds a task that ignores the stop request: it is abandoned at
//                                             the shutdown deadline with a warning, and the exit is still 0
#include <keel.hpp>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

using namespace std::chrono_literals;

namespace {
std::atomic<int> ticks{0};

void say(const char* event) {
  std::printf("%s\n", event);
  std::fflush(stdout);
}
}  // namespace

int main(int argc, char** argv) {
  bool stubborn = false;
  std::vector<char*> args;
  for (int i = 0; i < argc; ++i) {
    if (std::strcmp(argv[i], "--stubborn") == 0) {
      stubborn = true;
    } else {
      args.push_back(argv[i]);
    }
  }

  auto api = keel::router{
      keel::get<"/ticks">([] { return std::to_string(ticks.load()); }),
      keel::get<"/slow">([]() -> keel::task<std::string> {
        co_await keel::sleep_for(300ms);
        say("request finished");
        co_return "slow";
      }),
  };
  auto app = keel::app{std::move(api)}
                 .on_start([] { say("on_start"); })
                 .spawn([](keel::background& bg) -> keel::task<> {
                   say("task started");
                   while (co_await bg.sleep(50ms)) {
                   }
                   say("task stopped");
                 })
                 .every(20ms, [] { ++ticks; })
                 .on_stop([] { say("on_stop"); });
  if (stubborn) {
    app.spawn([](keel::background&) -> keel::task<> {
      for (;;) co_await keel::sleep_for(50ms);  // never looks at bg.stopping()
    });
  }
  app.serve(keel::server_config::from_args(static_cast<int>(args.size()), args.data()));
  say("exit");
}
