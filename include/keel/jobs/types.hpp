// keel::jobs vocabulary: what a job payload type declares, the options of a queue and of one enqueue, the
// context a handler receives, the statistics DTO and the errors.
//   struct welcome_email {
//     static constexpr std::string_view keel_job = "welcome_email";   // the name stored with each job
//     static constexpr std::string_view keel_queue = "emails";        // optional; "default" otherwise
//     std::int64_t user_id;                                           // fields: anything keel's JSON writes
//   };
#pragma once

#include "keel/customization.hpp"
#include "keel/config.hpp"

#include <atomic>
#include <chrono>
#include <concepts>
#include <cstdint>
#include <functional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace keel {
inline namespace v0 {
namespace jobs {

// A job payload: a DTO with a stable name. The name, not the C++ type, is what the table stores, so renaming
// the struct keeps queued jobs runnable; renaming keel_job does not.
// keel_job and keel_queue are read from keel::dto_traits<T> when it declares them (types keel cannot edit),
// else from T (keel/customization.hpp).
template <class T>
concept payload = requires {
  { keel::detail::job_owner<T>::keel_job } -> std::convertible_to<std::string_view>;
};

template <payload T>
constexpr std::string_view job_name_of() noexcept {
  return keel::detail::job_owner<T>::keel_job;
}

template <payload T>
constexpr std::string_view queue_of() noexcept {
  if constexpr (requires {
                  { keel::detail::queue_owner<T>::keel_queue } -> std::convertible_to<std::string_view>;
                })
    return keel::detail::queue_owner<T>::keel_queue;
  else
    return "default";
}

// Registration or configuration mistakes: a job type enqueued without a handler, a handler registered twice,
// a bad name. Thrown at start-up (handle, run) or by the enqueue that would otherwise queue a job nothing
// runs.
class config_error : public std::logic_error {
 public:
  using std::logic_error::logic_error;
};

// Thrown by a handler: the job goes to the dead state at once, without further attempts (a payload that no
// longer makes sense). Any other exception is retried.
class permanent_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct retry_policy {
  int max_attempts = 5;                                     // attempts in all, the first included
  std::chrono::milliseconds base{std::chrono::seconds(5)};  // delay after the first failure
  std::chrono::milliseconds max{std::chrono::hours(1)};     // the delay never exceeds this
  double jitter = 0.25;  // each delay is cut by a random fraction in [0, jitter]
};

// A named queue and how many of its jobs this process runs at once.
struct queue_config {
  std::string name;
  int concurrency = 1;
};

struct options {
  // Queues this process works on; a job type's keel_queue must be one of them (or "default", which is always
  // there: concurrency `default_concurrency`).
  std::vector<queue_config> queues;
  int default_concurrency = 4;
  // How often an idle worker looks for due jobs (an enqueue in this process wakes it at once).
  std::chrono::milliseconds poll_interval{200};
  // A running job whose lease ran out (its process died) is run again; a live worker renews its leases.
  std::chrono::milliseconds lease{std::chrono::seconds(60)};
  // At shutdown in-flight jobs get this long to finish; the rest go back to the queue (their lease released).
  std::chrono::milliseconds shutdown_grace{std::chrono::seconds(5)};
  retry_policy retry;
  // The clock for run_at, backoff, leases and cron; tests inject one. Steady time (poll waits) is not from
  // it.
  std::function<std::chrono::system_clock::time_point()> clock;
  // Applies keel::jobs' migrations (table keel_jobs, recorded in keel_jobs_migrations) when the queue is
  // made.
  bool migrate = true;
};

struct enqueue_options {
  std::chrono::system_clock::time_point run_at{};  // not before this (default: now)
  std::chrono::milliseconds delay{0};              // or: now + delay
  std::string unique_key;  // non-empty: a second enqueue with the same key is ignored (returns std::nullopt)
  int max_attempts = 0;    // 0: the queue's retry_policy
};

// What a handler is told about the job it runs.
class context {
 public:
  context(std::int64_t id, std::string_view type, std::string_view queue, int attempt, int max_attempts,
          const std::atomic<bool>* stopping) noexcept
      : id_(id),
        type_(type),
        queue_(queue),
        attempt_(attempt),
        max_attempts_(max_attempts),
        stopping_(stopping) {}

  std::int64_t id() const noexcept { return id_; }
  std::string_view type() const noexcept { return type_; }
  std::string_view queue() const noexcept { return queue_; }
  int attempt() const noexcept { return attempt_; }  // 1 for the first run
  int max_attempts() const noexcept { return max_attempts_; }
  // True once shutdown began: a long job may stop early by throwing (it is retried later).
  bool stopping() const noexcept { return stopping_->load(std::memory_order_relaxed); }

 private:
  std::int64_t id_;
  std::string_view type_;
  std::string_view queue_;
  int attempt_;
  int max_attempts_;
  const std::atomic<bool>* stopping_;
};

// Counts by state, for /metrics. `failed`: failed at least once and waiting for its next attempt.
struct stats {
  std::int64_t queued = 0;
  std::int64_t running = 0;
  std::int64_t done = 0;
  std::int64_t failed = 0;
  std::int64_t dead = 0;
  double oldest_waiting_seconds = 0;  // how long the oldest due job (queued or failed) has waited; 0 if none
};

}  // namespace jobs
}  // namespace v0
}  // namespace keel
