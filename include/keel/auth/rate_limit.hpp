// Rate limiting: token buckets keyed by whatever the app chooses (client address, user, API key), a
// middleware that answers 429, and a login-failure throttle.
//
//   keel::auth::memory_rate_store buckets;                       // per process; outlives the app
//   auto per_key = keel::auth::rate_limit{{.limit = 100, .window = std::chrono::minutes(1)},
//       [](keel::request_context& ctx) { return ctx.request().header("X-API-Key"); }, buckets};
//   keel::group<"/api">(...).use(per_key)
//
// A bucket holds `limit` tokens and refills at limit/window per second; each request takes one. Every answer
// of a limited route carries the IETF RateLimit header fields in the form of draft-ietf-httpapi-ratelimit-
// headers-07 (three separate fields), plus Retry-After on the 429:
//   RateLimit-Limit: 100        the bucket's size
//   RateLimit-Remaining: 41     requests that would pass now
//   RateLimit-Reset: 36         seconds until the bucket is full again
//   Retry-After: 2              (429 only) seconds until one request passes again
//
// The in-memory store is sharded (64 shards, each a small mutex over a hash map) so reactor threads rarely
// meet, and bounded: a shard over its share of max_keys first drops buckets that have refilled completely
// (they hold no information), then the least recently used one. Other stores plug in through the
// rate_limit_store concept (synchronous: the memory store) or async_rate_limit_store (a store that does I/O,
// keel::redis::rate_store: its functions are keel::tasks, and the middleware's `before` then awaits them).
#pragma once

#include "keel/config.hpp"
#include "keel/context.hpp"
#include "keel/error.hpp"
#include "keel/middleware/middleware.hpp"
#include "keel/task.hpp"

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <unordered_map>
#include <utility>

namespace keel {
inline namespace v0 {
namespace auth {

struct rate_limit_policy {
  std::uint32_t limit = 60;                                     // bucket size: the burst allowed
  std::chrono::milliseconds window = std::chrono::seconds(60);  // time to refill `limit` tokens
};

// The outcome of taking (or looking at) a bucket.
struct rate_decision {
  bool allowed = true;
  std::uint32_t limit = 0;
  std::uint32_t remaining = 0;      // whole tokens left
  std::uint32_t reset_seconds = 0;  // until the bucket is full again
  std::uint32_t retry_after = 0;    // when refused: seconds until `cost` tokens are there
};

template <class S>
concept rate_limit_store = requires(S& s, std::string_view key, const rate_limit_policy& p,
                                    std::uint32_t cost) {
  { s.take(key, p, cost) } -> std::same_as<rate_decision>;
  { s.peek(key, p) } -> std::same_as<rate_decision>;
  s.reset(key);
};

// A store that does I/O (Redis): the same three operations as keel::tasks, so a reactor thread never blocks
// on them. Arguments are taken by value (the coroutine keeps them while it waits).
template <class S>
concept async_rate_limit_store = requires(S& s, std::string key, const rate_limit_policy& p,
                                          std::uint32_t cost) {
  { s.take(key, p, cost) } -> std::same_as<task<rate_decision>>;
  { s.peek(key, p) } -> std::same_as<task<rate_decision>>;
  { s.reset(key) } -> std::same_as<task<void>>;
};

template <class S>
concept any_rate_limit_store = rate_limit_store<S> || async_rate_limit_store<S>;

class memory_rate_store {
 public:
  using clock = std::chrono::steady_clock;
  static constexpr std::size_t shard_count = 64;

  explicit memory_rate_store(std::size_t max_keys = 100000)
      : per_shard_(std::max<std::size_t>(1, max_keys / shard_count)) {}
  memory_rate_store(const memory_rate_store&) = delete;
  memory_rate_store& operator=(const memory_rate_store&) = delete;

  // Takes `cost` tokens when there are that many (allowed), else nothing (refused).
  rate_decision take(std::string_view key, const rate_limit_policy& p, std::uint32_t cost = 1) {
    return update(key, p, cost, true);
  }
  // Whether one request would pass now (allowed, retry_after), taking nothing.
  rate_decision peek(std::string_view key, const rate_limit_policy& p) { return update(key, p, 1, false); }
  // Forgets the bucket (a full one).
  void reset(std::string_view key) {
    shard& s = shard_for(key);
    std::lock_guard lock(s.mutex);
    auto it = s.buckets.find(key);
    if (it != s.buckets.end()) s.buckets.erase(it);
  }
  std::size_t size() const {
    std::size_t n = 0;
    for (const auto& s : shards_) {
      std::lock_guard lock(s.mutex);
      n += s.buckets.size();
    }
    return n;
  }
  // Tests move time along.
  void set_clock_for_tests(clock::time_point (*now)()) noexcept { now_ = now; }

 private:
  struct bucket {
    double tokens = 0;
    std::int64_t updated = 0;  // steady_clock nanoseconds
    std::int64_t full_at = 0;  // when it will have refilled completely
  };
  struct string_hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
  };
  struct alignas(64) shard {
    mutable std::mutex mutex;
    std::unordered_map<std::string, bucket, string_hash, std::equal_to<>> buckets;
  };

  shard& shard_for(std::string_view key) {
    const std::size_t h = std::hash<std::string_view>{}(key);
    return shards_[(h ^ (h >> 17)) % shard_count];
  }

  std::int64_t now_ns() const {
    const auto t = now_ ? now_() : clock::now();
    return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
  }

  static rate_decision decide(const bucket& b, const rate_limit_policy& p, double rate, bool allowed,
                              std::uint32_t cost) {
    rate_decision d;
    d.allowed = allowed;
    d.limit = p.limit;
    d.remaining = static_cast<std::uint32_t>(std::floor(std::max(0.0, b.tokens)));
    d.reset_seconds = static_cast<std::uint32_t>(std::ceil((p.limit - b.tokens) / rate));
    if (!allowed)
      d.retry_after =
          std::max<std::uint32_t>(1, static_cast<std::uint32_t>(std::ceil((cost - b.tokens) / rate)));
    return d;
  }

  void make_room(shard& s, std::int64_t now) {
    std::erase_if(s.buckets, [now](const auto& e) { return e.second.full_at <= now; });
    if (s.buckets.size() < per_shard_) return;
    auto oldest = s.buckets.begin();
    for (auto it = s.buckets.begin(); it != s.buckets.end(); ++it)
      if (it->second.updated < oldest->second.updated) oldest = it;
    s.buckets.erase(oldest);
  }

  rate_decision update(std::string_view key, const rate_limit_policy& p, std::uint32_t cost, bool take) {
    const double window_s = std::max<double>(0.001, static_cast<double>(p.window.count()) / 1000.0);
    const double rate = p.limit / window_s;  // tokens per second
    const std::int64_t now = now_ns();
    shard& s = shard_for(key);
    std::lock_guard lock(s.mutex);
    auto it = s.buckets.find(key);
    bucket b;
    if (it == s.buckets.end()) {
      b.tokens = p.limit;
    } else {
      b = it->second;
      const double elapsed = static_cast<double>(now - b.updated) / 1e9;
      b.tokens = std::min<double>(p.limit, b.tokens + elapsed * rate);
    }
    b.updated = now;
    const bool allowed = b.tokens >= cost;
    if (take && allowed) b.tokens -= cost;
    const rate_decision d = decide(b, p, rate, allowed, cost);
    if (!take || (cost > 0 && !allowed && it == s.buckets.end())) return d;
    b.full_at = now + static_cast<std::int64_t>((p.limit - b.tokens) / rate * 1e9);
    if (it != s.buckets.end()) {
      it->second = b;
    } else if (b.tokens < p.limit) {
      if (s.buckets.size() >= per_shard_) make_room(s, now);
      s.buckets.emplace(std::string(key), b);
    }
    return d;
  }

  std::array<shard, shard_count> shards_;
  std::size_t per_shard_;
  clock::time_point (*now_)() = nullptr;
};
static_assert(rate_limit_store<memory_rate_store>);

namespace detail {

inline void add_rate_limit_headers(response& res, const rate_decision& d) {
  res.header("RateLimit-Limit", std::to_string(d.limit));
  res.header("RateLimit-Remaining", std::to_string(d.remaining));
  res.header("RateLimit-Reset", std::to_string(d.reset_seconds));
}

inline http_error too_many_requests(std::uint32_t retry_after, std::string message) {
  return http_error(http::status::too_many_requests, std::move(message), "rate_limited")
      .with_header("Retry-After", std::to_string(retry_after));
}

template <class T>
std::string_view as_key(const T& k) {
  if constexpr (requires {
                  k.has_value();
                  *k;
                }) {
    return k ? std::string_view(*k) : std::string_view{};
  } else {
    return std::string_view(k);
  }
}

}  // namespace detail

struct rate_limit_options {
  std::uint32_t limit = 60;
  std::chrono::milliseconds window = std::chrono::seconds(60);
  std::string name = "rl";  // prefixes the keys: layers sharing a store keep separate buckets
  bool headers = true;      // RateLimit-* on every answer, not only the 429
};

// The middleware. KeyFn: `(Ctx&) -> something convertible to std::string_view` (or an optional of it); an
// empty key is not limited (say, no API key: another layer answers that). Store: a rate_limit_store or an
// async_rate_limit_store that outlives the app (without one, the layer owns a memory_rate_store shared by its
// copies). With a synchronous store `before` is a plain function; with an asynchronous one it is a
// keel::task<flow> (only such a layer costs a coroutine frame).
template <class KeyFn, any_rate_limit_store Store = memory_rate_store>
class rate_limit {
  static constexpr bool async = !rate_limit_store<Store>;

 public:
  // Per request: the decision, for the headers after the handler. Nested, so each layer has its own.
  struct info {
    rate_decision decision{};
    bool applied = false;
  };
  using state = info;

  rate_limit(rate_limit_options options, KeyFn key, Store& store)
      : options_(std::move(options)), key_(std::move(key)), store_(&store) {}
  rate_limit(rate_limit_options options, KeyFn key) requires std::same_as<Store, memory_rate_store>
      : options_(std::move(options)), key_(std::move(key)), owned_(std::make_shared<memory_rate_store>()) {
    store_ = owned_.get();
  }

  template <class Ctx>
  requires(!async) flow before(Ctx& ctx)
  const {
    const auto key = key_(ctx);
    const std::string_view k = detail::as_key(key);
    if (k.empty()) return flow::next;
    thread_local std::string scratch;  // prefix + key, without an allocation per request
    scratch.assign(options_.name).push_back(':');
    scratch.append(k);
    return apply(ctx, store_->take(scratch, policy(), 1));
  }

  template <class Ctx>
  requires async task<flow> before(Ctx& ctx)
  const {
    std::string full;
    {
      const auto key = key_(ctx);
      const std::string_view k = detail::as_key(key);
      if (k.empty()) co_return flow::next;
      full.reserve(options_.name.size() + 1 + k.size());
      full.assign(options_.name).push_back(':');
      full.append(k);
    }
    const rate_limit_policy p = policy();
    auto pending = store_->take(std::move(full), p, 1);
    const rate_decision d = co_await std::move(pending);
    co_return apply(ctx, d);
  }

  template <class Ctx>
  void after(Ctx& ctx) const {
    const info& i = ctx.template state<info>();
    if (i.applied && (options_.headers || !i.decision.allowed))
      detail::add_rate_limit_headers(ctx.response(), i.decision);
  }

 private:
  rate_limit_policy policy() const { return {options_.limit, options_.window}; }

  template <class Ctx>
  flow apply(Ctx& ctx, const rate_decision& d) const {
    info& i = ctx.template state<info>();
    i.decision = d;
    i.applied = true;
    if (!d.allowed) {
      ctx.fail(detail::too_many_requests(d.retry_after, "too many requests"));
      return flow::respond;
    }
    return flow::next;
  }

  rate_limit_options options_;
  KeyFn key_;
  Store* store_ = nullptr;
  std::shared_ptr<memory_rate_store> owned_;
};

template <class KeyFn, class Store>
rate_limit(rate_limit_options, KeyFn, Store&) -> rate_limit<KeyFn, Store>;
template <class KeyFn>
rate_limit(rate_limit_options, KeyFn) -> rate_limit<KeyFn, memory_rate_store>;

// --- key functions

// The value of a request header (an API key, a tenant id); "" when absent (then not limited).
struct by_header {
  std::string name;
  std::string_view operator()(const request_context& ctx) const { return ctx.request().header(name); }
};

// The peer's IP address (request_context::remote_address()): the client's own when nothing sits in between.
// Behind a reverse proxy every client shares the proxy's address: use by_forwarded_for there.
struct by_ip {
  std::string_view operator()(const request_context& ctx) const { return ctx.remote_address(); }
};

// The client address a trusted reverse proxy put in X-Forwarded-For: the entry `trusted_proxies` from the
// right (the address the nearest proxy saw). Entries further left are the client's own words and are not
// used. "" without the header (then not limited: put the limit where the proxy is, or pair this with
// another key).
struct by_forwarded_for {
  std::size_t trusted_proxies = 1;
  std::string_view operator()(const request_context& ctx) const {
    std::string_view v = ctx.request().header("X-Forwarded-For");
    for (std::size_t hop = 1; !v.empty(); ++hop) {
      const auto comma = v.rfind(',');
      std::string_view entry = comma == std::string_view::npos ? v : v.substr(comma + 1);
      while (!entry.empty() && entry.front() == ' ') entry.remove_prefix(1);
      while (!entry.empty() && entry.back() == ' ') entry.remove_suffix(1);
      if (hop == trusted_proxies || comma == std::string_view::npos) return entry;
      v = v.substr(0, comma);
    }
    return {};
  }
};

// --- login failures: "more than N failed logins a minute for one username and client -> 429"

struct login_throttle_options {
  std::uint32_t max_failures = 5;
  std::chrono::milliseconds window = std::chrono::seconds(60);
};

// A failure takes a token from the bucket of (username, client); a success forgets the bucket. With the
// bucket empty, check() says how long to wait, before the password is even looked at.
//   if (auto wait = throttle.check(user, client)) return throttle.refusal(*wait);   // 429 + Retry-After
//   if (!password_ok) throttle.failed(user, client); else throttle.succeeded(user, client);
// Over an async_rate_limit_store (Redis) the three are keel::tasks to co_await: check() gives a
// task<std::optional<std::uint32_t>>, failed() and succeeded() a task<void>.
template <any_rate_limit_store Store = memory_rate_store>
class basic_login_throttle {
  static constexpr bool async = !rate_limit_store<Store>;

 public:
  explicit basic_login_throttle(
      login_throttle_options options = {}) requires std::same_as<Store, memory_rate_store>
      : options_(options), owned_(std::make_shared<memory_rate_store>()), store_(owned_.get()) {}
  basic_login_throttle(login_throttle_options options, Store& store) : options_(options), store_(&store) {}

  // Seconds to wait when (username, client) failed too often, nullopt when it may try.
  std::optional<std::uint32_t> check(std::string_view username, std::string_view client) const
      requires(!async) {
    return wait_of(store_->peek(key(username, client), policy()));
  }
  void failed(std::string_view username, std::string_view client) const requires(!async) {
    static_cast<void>(store_->take(key(username, client), policy(), 1));
  }
  void succeeded(std::string_view username, std::string_view client) const requires(!async) {
    store_->reset(key(username, client));
  }

  // The same over an asynchronous store. The arguments are read at once: they need not outlive the call.
  task<std::optional<std::uint32_t>> check(std::string_view username,
                                           std::string_view client) const requires async {
    return check_in(*store_, key(username, client), policy());
  }
  task<void> failed(std::string_view username, std::string_view client) const requires async {
    return fail_in(*store_, key(username, client), policy());
  }
  task<void> succeeded(std::string_view username, std::string_view client) const requires async {
    return store_->reset(key(username, client));
  }

  // The 429 to answer with.
  static http_error refusal(std::uint32_t retry_after) {
    return detail::too_many_requests(retry_after, "too many failed login attempts, try again later");
  }

 private:
  rate_limit_policy policy() const { return {options_.max_failures, options_.window}; }
  static std::optional<std::uint32_t> wait_of(const rate_decision& d) {
    if (d.allowed) return std::nullopt;
    return d.retry_after;
  }
  static task<std::optional<std::uint32_t>> check_in(Store& store, std::string key, rate_limit_policy p) {
    auto pending = store.peek(std::move(key), p);
    const rate_decision d = co_await std::move(pending);
    const std::optional<std::uint32_t> wait = wait_of(d);
    co_return wait;
  }
  static task<void> fail_in(Store& store, std::string key, rate_limit_policy p) {
    auto pending = store.take(std::move(key), p, 1);
    const rate_decision d = co_await std::move(pending);
    static_cast<void>(d);
  }
  static std::string key(std::string_view username, std::string_view client) {
    std::string k = "login:";
    k.append(std::to_string(username.size())).push_back(':');  // length-prefixed: no ambiguity
    k.append(username).push_back(':');
    k.append(client);
    return k;
  }
  login_throttle_options options_;
  std::shared_ptr<memory_rate_store> owned_;
  Store* store_ = nullptr;
};
using login_throttle = basic_login_throttle<>;

}  // namespace auth
}  // namespace v0
}  // namespace keel
