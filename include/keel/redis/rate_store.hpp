// keel::redis::rate_store: the rate-limit buckets of keel::auth::rate_limit and
// keel::auth::basic_login_throttle in Redis, so every process behind a load balancer counts against one
// budget. It satisfies keel::auth::async_rate_limit_store: take, peek and reset are keel::tasks; a reactor
// thread never blocks.
//
//   keel::redis::io_thread redis_io;                               // outlive the app
//   keel::redis::client redis(redis_io.context(), "redis://127.0.0.1:6379");
//   keel::redis::rate_store buckets(redis);
//   auto per_key = keel::auth::rate_limit{{.limit = 100, .window = std::chrono::minutes(1)},
//                                         keel::auth::by_header{"X-API-Key"}, buckets};
//
// The algorithm is memory_rate_store's token bucket, step for step, in one Lua script run with EVALSHA (EVAL
// when the server does not know it yet: NOSCRIPT after a restart or on a new server), so a bucket is read
// and written atomically whichever process asks. A bucket is a hash {t: tokens, u: updated (microseconds)}
// under prefix + key with a PEXPIRE of the time until it is full again: an idle key vanishes, as a full
// bucket holds no information. Time is the Redis server's (TIME), one clock for every process.
//
// Redis unreachable (down, restarting, slower than the client's command_timeout): with
// on_failure::allow (the default) requests pass (fail open: the limiter is a guard, not a dependency the API
// goes down with); with on_failure::refuse take() and peek() throw a 503 (code "rate_limit_unavailable",
// Retry-After: 1), so nothing passes unmetered (fail closed: the choice for login throttles that must hold).
// reset() never throws (a bucket it could not forget just refills). The first failure after a success is
// logged (one JSON line, "event":"rate_store_error"); errors() counts them all. A request waits for Redis at
// most the client's command_timeout: give the limiter a client with a short one.
#pragma once

#include "keel/auth/rate_limit.hpp"
#include "keel/config.hpp"
#include "keel/error.hpp"
#include "keel/redis/client.hpp"
#include "keel/redis/reply.hpp"
#include "keel/task.hpp"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

namespace keel {
inline namespace v0 {
namespace redis {

// What take() and peek() answer while Redis cannot be reached.
enum class on_failure : std::uint8_t {
  allow,   // fail open: the request passes (the decision says allowed, the whole limit remaining)
  refuse,  // fail closed: 503 Service Unavailable, Retry-After: 1
};

struct rate_store_options {
  std::string prefix = "keel:rate:";  // before every key (rate_limit adds its layer's name after it)
  on_failure when_unreachable = on_failure::allow;
};

namespace detail {

// KEYS[1] the bucket; ARGV: limit, window (ms), cost, take (1) or peek (0), now (microseconds; < 0: TIME).
// Returns {allowed, remaining, reset seconds, retry-after seconds}.
inline constexpr std::string_view rate_script = R"lua(local limit = tonumber(ARGV[1])
local rate = limit / math.max(0.001, tonumber(ARGV[2]) / 1000)
local cost = tonumber(ARGV[3])
local take = ARGV[4] == '1'
local now = tonumber(ARGV[5])
if now < 0 then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000000 + tonumber(t[2])
end
local b = redis.call('HMGET', KEYS[1], 't', 'u')
local exists = b[1] ~= false
local tokens = limit
if exists then
  tokens = math.min(limit, tonumber(b[1]) + math.max(0, now - tonumber(b[2])) / 1e6 * rate)
end
local allowed = tokens >= cost
if take and allowed then tokens = tokens - cost end
local retry = 0
if not allowed then retry = math.max(1, math.ceil((cost - tokens) / rate)) end
if take and (exists or (allowed and tokens < limit)) then
  redis.call('HSET', KEYS[1], 't', string.format('%.17g', tokens), 'u', string.format('%.0f', now))
  redis.call('PEXPIRE', KEYS[1], math.max(1, math.ceil((limit - tokens) / rate * 1000)))
end
return {allowed and 1 or 0, math.floor(math.max(0, tokens)), math.ceil((limit - tokens) / rate), retry}
)lua";
// SHA-1 of rate_script, for EVALSHA (redis_rate_store_test checks it against SCRIPT LOAD).
inline constexpr std::string_view rate_script_sha = "28697347be108d051b185525a7a6e5c7807d7928";

inline void log_rate_store_error(const std::string& what) {
  std::string line = R"({"level":"error","event":"rate_store_error","what":)";
  ::keel::detail::append_json_string(line, what);
  line.append("}\n");
  std::fwrite(line.data(), 1, line.size(), stderr);
}

}  // namespace detail

class rate_store {
 public:
  using clock = std::chrono::steady_clock;

  // `c` must outlive the store and the apps using it.
  explicit rate_store(client& c, rate_store_options options = {})
      : client_(&c), options_(std::move(options)) {}
  rate_store(const rate_store&) = delete;
  rate_store& operator=(const rate_store&) = delete;

  // Takes `cost` tokens when there are that many (allowed), else nothing (refused).
  task<auth::rate_decision> take(std::string key, auth::rate_limit_policy p, std::uint32_t cost = 1) {
    return run(std::move(key), p, cost, true);
  }
  // Whether one request would pass now, taking nothing.
  task<auth::rate_decision> peek(std::string key, auth::rate_limit_policy p) {
    return run(std::move(key), p, 1, false);
  }
  // Forgets the bucket (a full one).
  task<void> reset(std::string key) {
    const std::string full = options_.prefix + key;
    bool failed = false;
    std::string what;
    try {
      co_await client_->del(full);
    } catch (const error& e) {
      failed = true;
      what = e.what();
    }
    if (failed) note_failure(what);
  }

  const rate_store_options& options() const noexcept { return options_; }
  // Commands that failed (Redis unreachable, a timeout, an error reply) since the store was made.
  std::uint64_t errors() const noexcept { return errors_.load(std::memory_order_relaxed); }
  // Tests move time along: the script is then given this clock's time instead of reading Redis's.
  void set_clock_for_tests(clock::time_point (*now)()) noexcept { now_ = now; }

 private:
  task<auth::rate_decision> run(std::string key, auth::rate_limit_policy p, std::uint32_t cost, bool take) {
    const std::string full = options_.prefix + key;
    const std::int64_t limit = p.limit;
    const std::int64_t window = p.window.count();
    const std::int64_t amount = cost;
    const std::int64_t taking = take ? 1 : 0;
    const std::int64_t now =
        now_ ? std::chrono::duration_cast<std::chrono::microseconds>(now_().time_since_epoch()).count() : -1;
    bool failed = false;
    std::string what;
    reply r;
    try {
      r = co_await client_->command("EVALSHA", detail::rate_script_sha, 1, full, limit, window, amount,
                                    taking, now);
      if (r.is_error() && r.text.starts_with("NOSCRIPT")) {
        r = co_await client_->command("EVAL", detail::rate_script, 1, full, limit, window, amount, taking,
                                      now);
      }
      r.ok();
      if (!r.is_array() || r.elements.size() != 4)
        throw protocol_error("redis: unexpected rate script reply");
    } catch (const error& e) {
      failed = true;
      what = e.what();
    }
    if (failed) {
      note_failure(what);
      if (options_.when_unreachable == on_failure::refuse)
        throw http_error(http::status::service_unavailable, "rate limiter unavailable",
                         "rate_limit_unavailable")
            .with_header("Retry-After", "1");
      auth::rate_decision open;
      open.allowed = true;
      open.limit = p.limit;
      open.remaining = p.limit;
      co_return open;
    }
    ok_.store(true, std::memory_order_relaxed);
    auth::rate_decision d;
    d.allowed = r.elements[0].integer == 1;
    d.limit = p.limit;
    d.remaining = static_cast<std::uint32_t>(r.elements[1].integer);
    d.reset_seconds = static_cast<std::uint32_t>(r.elements[2].integer);
    d.retry_after = static_cast<std::uint32_t>(r.elements[3].integer);
    co_return d;
  }

  void note_failure(const std::string& what) {
    errors_.fetch_add(1, std::memory_order_relaxed);
    if (ok_.exchange(false, std::memory_order_relaxed)) detail::log_rate_store_error(what);
  }

  client* client_;
  rate_store_options options_;
  std::atomic<std::uint64_t> errors_{0};
  std::atomic<bool> ok_{true};  // the last command succeeded: the next failure is logged
  clock::time_point (*now_)() = nullptr;
};
static_assert(auth::async_rate_limit_store<rate_store>);

}  // namespace redis
}  // namespace v0
}  // namespace keel
