// keel::detail::thread_pin: server_config::affinity's mechanism. Reactor i runs only on the i-th CPU of
// the set the process started with (sched_getaffinity), round robin; the thread's old set comes back when the
// reactor ends, so the caller's thread (which runs the first reactor) is not left pinned.
#pragma once

#include <pthread.h>
#include <sched.h>

#include <cstddef>

namespace keel {
inline namespace v0 {
namespace detail {

class thread_pin {
 public:
  // Pins the calling thread to the `index`-th CPU (mod the count) of `allowed`. Does nothing if the set is
  // empty or the call fails (a container may forbid it): pinning is a speed hint, never a reason not to
  // serve.
  thread_pin(const cpu_set_t& allowed, std::size_t index) noexcept {
    const int count = CPU_COUNT(&allowed);
    if (count <= 0 || ::pthread_getaffinity_np(::pthread_self(), sizeof before_, &before_) != 0) return;
    int wanted = static_cast<int>(index % static_cast<std::size_t>(count));
    for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
      if (!CPU_ISSET(cpu, &allowed) || wanted-- != 0) continue;
      cpu_set_t one;
      CPU_ZERO(&one);
      CPU_SET(cpu, &one);
      pinned_ = ::pthread_setaffinity_np(::pthread_self(), sizeof one, &one) == 0;
      return;
    }
  }
  ~thread_pin() {
    if (pinned_) ::pthread_setaffinity_np(::pthread_self(), sizeof before_, &before_);
  }
  thread_pin(const thread_pin&) = delete;
  thread_pin& operator=(const thread_pin&) = delete;

 private:
  cpu_set_t before_{};
  bool pinned_ = false;
};

// The CPUs this process may run on now (empty if the call fails).
inline cpu_set_t usable_cpus() noexcept {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (::sched_getaffinity(0, sizeof set, &set) != 0) CPU_ZERO(&set);
  return set;
}

}  // namespace detail
}  // namespace v0
}  // namespace keel
