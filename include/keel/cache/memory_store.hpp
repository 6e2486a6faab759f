// keel::cache::memory_store: the in-process cache backend. Sharded by key hash (one mutex per shard), each
// shard an LRU list bounded in bytes, entries with an optional time to live.
#pragma once

#include "keel/config.hpp"

#include <chrono>
#include <coroutine>
#include <cstddef>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace keel {
inline namespace v0 {
namespace cache {

// An awaitable that is ready at once (the memory store never suspends).
template <class T>
struct ready {
  T value;
  bool await_ready() const noexcept { return true; }
  void await_suspend(std::coroutine_handle<>) const noexcept {}
  T await_resume() { return std::move(value); }
};
template <>
struct ready<void> {
  bool await_ready() const noexcept { return true; }
  void await_suspend(std::coroutine_handle<>) const noexcept {}
  void await_resume() const noexcept {}
};

struct memory_options {
  std::size_t max_bytes = 64u << 20;  // keys + values + per-entry overhead, over all shards
  std::size_t shards = 16;            // each holds max_bytes / shards
};

class memory_store {
 public:
  using clock = std::chrono::steady_clock;
  // What an entry costs besides its key and value (list node, hash node, bookkeeping), counted against
  // max_bytes.
  static constexpr std::size_t entry_overhead = 96;

  explicit memory_store(memory_options options = {})
      : shard_count_(options.shards == 0 ? 1 : options.shards),
        shard_bytes_(options.max_bytes / shard_count_),
        shards_(std::make_unique<shard[]>(shard_count_)) {}

  // The value, or nullopt when missing or expired. A hit becomes the shard's most recently used entry.
  ready<std::optional<std::string>> get(std::string_view key) { return {lookup(key, clock::now())}; }

  // Stores `value` for `ttl` (0: until evicted). A value larger than a shard is not stored.
  ready<void> set(std::string_view key, std::string_view value, std::chrono::milliseconds ttl = {}) {
    store(key, value, ttl, clock::now());
    return {};
  }

  ready<bool> erase(std::string_view key) {
    shard& s = shard_of(key);
    std::lock_guard lock(s.mutex);
    auto it = s.index.find(key);
    if (it == s.index.end()) return {false};
    s.remove(it->second);
    return {true};
  }

  // Bytes and entries held now (expired entries count until touched or evicted).
  std::size_t bytes() const {
    std::size_t total = 0;
    for (std::size_t i = 0; i < shard_count_; ++i) {
      std::lock_guard lock(shards_[i].mutex);
      total += shards_[i].bytes;
    }
    return total;
  }
  std::size_t size() const {
    std::size_t total = 0;
    for (std::size_t i = 0; i < shard_count_; ++i) {
      std::lock_guard lock(shards_[i].mutex);
      total += shards_[i].lru.size();
    }
    return total;
  }
  std::size_t max_bytes() const noexcept { return shard_bytes_ * shard_count_; }
  std::size_t shard_count() const noexcept { return shard_count_; }
  std::size_t shard_index(std::string_view key) const noexcept {
    return std::hash<std::string_view>{}(key) % shard_count_;
  }

  // With an explicit clock reading (the tests' way to see TTLs pass without sleeping).
  std::optional<std::string> lookup(std::string_view key, clock::time_point now) {
    shard& s = shard_of(key);
    std::lock_guard lock(s.mutex);
    auto it = s.index.find(key);
    if (it == s.index.end()) return std::nullopt;
    auto node = it->second;
    if (node->expires != clock::time_point{} && node->expires <= now) {
      s.remove(node);
      return std::nullopt;
    }
    s.lru.splice(s.lru.begin(), s.lru, node);
    return node->value;
  }

  void store(std::string_view key, std::string_view value, std::chrono::milliseconds ttl,
             clock::time_point now) {
    const std::size_t cost = key.size() + value.size() + entry_overhead;
    shard& s = shard_of(key);
    std::lock_guard lock(s.mutex);
    if (auto it = s.index.find(key); it != s.index.end()) s.remove(it->second);
    if (cost > shard_bytes_) return;
    while (s.bytes + cost > shard_bytes_ && !s.lru.empty()) s.remove(std::prev(s.lru.end()));
    s.lru.push_front(
        entry{std::string(key), std::string(value), ttl.count() > 0 ? now + ttl : clock::time_point{}, cost});
    s.index.emplace(std::string_view(s.lru.front().key), s.lru.begin());
    s.bytes += cost;
  }

 private:
  struct entry {
    std::string key;
    std::string value;
    clock::time_point expires;  // epoch: never
    std::size_t cost = 0;
  };
  struct shard {
    mutable std::mutex mutex;
    std::list<entry> lru;                                                    // most recently used first
    std::unordered_map<std::string_view, std::list<entry>::iterator> index;  // views into lru's keys
    std::size_t bytes = 0;

    void remove(std::list<entry>::iterator node) {
      bytes -= node->cost;
      index.erase(std::string_view(node->key));
      lru.erase(node);
    }
  };

  shard& shard_of(std::string_view key) noexcept { return shards_[shard_index(key)]; }

  std::size_t shard_count_;
  std::size_t shard_bytes_;
  std::unique_ptr<shard[]> shards_;
};

}  // namespace cache
}  // namespace v0
}  // namespace keel
