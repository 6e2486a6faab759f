// keel::cache::cache<Store>: typed get / set / erase and get_or_compute with single-flight over a byte store
// (memory_store by default, redis_store for a shared cache). Values go through keel's JSON layer.
#pragma once

#include "keel/cache/detail/single_flight.hpp"
#include "keel/cache/memory_store.hpp"
#include "keel/config.hpp"
#include "keel/json/reader.hpp"
#include "keel/json/writer.hpp"
#include "keel/task.hpp"

#include <array>
#include <chrono>
#include <concepts>
#include <exception>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

namespace keel {
inline namespace v0 {
namespace cache {

// What a cache backend provides: awaitables (anything co_await-able) over bytes.
//   co_await s.get(key)             -> std::optional<std::string>
//   co_await s.set(key, value, ttl)    (ttl 0: no expiry)
//   co_await s.erase(key)
template <class S>
concept store = requires(S& s, std::string_view key, std::string_view value, std::chrono::milliseconds ttl) {
  s.get(key);
  s.set(key, value, ttl);
  s.erase(key);
};

namespace detail {

// JSON documents must be objects or arrays: a scalar is kept as a one-element array.
template <class T>
inline constexpr bool wrapped = ::keel::detail::json_kind_of<T>() !=
                                ::keel::detail::json_kind::object&& ::keel::detail::json_kind_of<T>() !=
                                ::keel::detail::json_kind::array;

template <class T>
std::string encode(const T& value) {
  if constexpr (wrapped<T>) {
    std::string out = "[";
    json_io::write(out, value);
    out.push_back(']');
    return out;
  } else {
    return json_io::to_string(value);
  }
}

// nullopt when the bytes are not a T (written by an older version of the type): treated as a miss.
template <class T>
std::optional<T> decode(std::string_view json) {
  if constexpr (wrapped<T>) {
    auto r = json_io::read<std::array<T, 1>>(json);
    if (!r) return std::nullopt;
    return std::move(r.value()[0]);
  } else {
    auto r = json_io::read<T>(json);
    if (!r) return std::nullopt;
    return std::move(r).value();
  }
}

template <class F, class T>
concept computes = std::invocable<F&> &&
    (std::convertible_to<std::invoke_result_t<F&>, T> || std::same_as<std::invoke_result_t<F&>, task<T>>);

}  // namespace detail

struct options {
  std::chrono::milliseconds default_ttl{0};  // for set() / get_or_compute() without a TTL; 0: none
};

template <store Store = memory_store>
class cache {
 public:
  explicit cache(Store s = Store{}, options o = {}) : store_(std::move(s)), options_(o) {}
  cache(const cache&) = delete;
  cache& operator=(const cache&) = delete;

  // The value, or nullopt on a miss (also when the stored JSON is no longer a T).
  template <class T>
  task<std::optional<T>> get(std::string key) {
    std::optional<std::string> bytes = co_await store_.get(key);
    if (!bytes) co_return std::nullopt;
    co_return detail::decode<T>(*bytes);
  }

  template <class T>
  task<void> set(std::string key, T value, std::chrono::milliseconds ttl) {
    const std::string bytes = detail::encode(value);
    co_await store_.set(key, bytes, ttl);
  }
  template <class T>
  task<void> set(std::string key, T value) {
    const std::string bytes = detail::encode(value);
    co_await store_.set(key, bytes, options_.default_ttl);
  }

  task<void> erase(std::string key) { co_await store_.erase(key); }

  // The cached value; on a miss, compute() (a T, or a keel::task<T>) runs once however many coroutines
  // miss the same key at the same time in this process: the others wait for its result. The result is
  // stored for `ttl`. An exception from compute() reaches every waiter and nothing is stored.
  template <class T, class F>
  requires detail::computes<F, T> task<T> get_or_compute(std::string key, std::chrono::milliseconds ttl,
                                                         F compute) {
    std::optional<std::string> bytes = co_await store_.get(key);
    if (bytes) {
      std::optional<T> hit = detail::decode<T>(*bytes);
      if (hit) co_return std::move(*hit);
    }
    if (std::shared_ptr<detail::flight> f = flights_.join(key)) {
      std::shared_ptr<const detail::flight> landed = co_await flights_.wait(std::move(f));
      std::optional<T> shared = detail::decode<T>(landed->value);
      if (!shared) throw std::runtime_error("keel::cache: a computed value did not read back");
      co_return std::move(*shared);
    }
    std::optional<T> value;
    std::exception_ptr error;
    try {
      if constexpr (std::same_as<std::invoke_result_t<F&>, task<T>>) {
        task<T> work = compute();
        value.emplace(co_await std::move(work));
      } else {
        value.emplace(compute());
      }
    } catch (...) {
      error = std::current_exception();
    }
    if (error) {
      flights_.land(key, {}, error);
      std::rethrow_exception(error);
    }
    std::string encoded = detail::encode(*value);
    try {
      co_await store_.set(key, encoded, ttl);
    } catch (...) {
      // The store failed (Redis down): the value is still good for everyone waiting.
    }
    flights_.land(key, std::move(encoded), nullptr);
    co_return std::move(*value);
  }
  template <class T, class F>
  requires detail::computes<F, T> task<T> get_or_compute(std::string key, F compute) {
    return get_or_compute<T>(std::move(key), options_.default_ttl, std::move(compute));
  }

  Store& backend() noexcept { return store_; }
  // Keys being computed right now.
  std::size_t computing() const { return flights_.in_flight(); }

 private:
  Store store_;
  options options_;
  detail::single_flight flights_;
};

}  // namespace cache
}  // namespace v0
}  // namespace keel
