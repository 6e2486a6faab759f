// A job handler must be fn(const T&, keel::jobs::context&) returning keel::task<void> or void.
#include "keel/jobs.hpp"

struct ping {
  static constexpr std::string_view keel_job = "ping";
  int n;
};

int main() {
  keel::db db{":memory:"};
  keel::jobs::queue jobs{db};
  jobs.handle<ping>([](const ping&) {});
}
