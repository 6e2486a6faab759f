// keel::static_files' open-file cache: what a request path resolved to (the open file, its precompressed
// siblings, sizes, validators, Content-Type, Cache-Control), kept per reactor thread so a hit takes no lock,
// no system call but a dup(), and no heap allocation. An entry is used for `valid` after it was resolved;
// then the path is resolved again from scratch (realpath, open, fstat: every rule of static_files applies
// again). At most `max_entries` per thread; an entry's files are closed when it is dropped (evicted,
// replaced, or with the static_files routes).
#pragma once

#include "keel/config.hpp"

#include <unistd.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>

namespace keel {
inline namespace v0 {
namespace detail {

// An owned file descriptor.
class static_fd {
 public:
  static_fd() = default;
  explicit static_fd(int fd) noexcept : fd_(fd) {}
  static_fd(const static_fd&) = delete;
  static_fd& operator=(const static_fd&) = delete;
  static_fd(static_fd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  static_fd& operator=(static_fd&& o) noexcept {
    if (this != &o) reset(std::exchange(o.fd_, -1));
    return *this;
  }
  ~static_fd() { reset(); }
  int get() const noexcept { return fd_; }
  int release() noexcept { return std::exchange(fd_, -1); }
  void reset(int fd = -1) noexcept {
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
  }
  bool open() const noexcept { return fd_ >= 0; }

 private:
  int fd_ = -1;
};

// One representation of a path on disk: the file itself or a precompressed sibling.
struct static_variant {
  static_fd fd;  // not open: no such representation
  std::uint64_t size = 0;
  std::int64_t mtime = 0;  // seconds, for If-Modified-Since
  std::string etag, last_modified;
};

// What a request path resolves to. Immutable once shared.
struct static_entry {
  enum coding : std::uint8_t { identity = 0, br = 1, gzip = 2 };
  std::array<static_variant, 3> variants;  // by coding
  std::string_view content_type;           // static storage (the MIME table)
  std::string_view cache_control;          // the options' value (they live as long as the routes)
};

using static_entry_ptr = std::shared_ptr<const static_entry>;

// One reactor thread's entries.
class static_file_cache {
 public:
  using clock = std::chrono::steady_clock;

  static_file_cache(std::size_t max_entries, clock::duration valid) : max_(max_entries), valid_(valid) {
    map_.reserve(max_entries);
  }

  // The entry for `rel` when it was resolved less than `valid` ago; null otherwise.
  const static_entry_ptr* find(std::string_view rel, clock::time_point now) const {
    const auto it = map_.find(rel);
    if (it == map_.end() || now - it->second.resolved >= valid_) return nullptr;
    return &it->second.entry;
  }
  // Stores what `rel` resolved to at `now`, dropping a stale entry (else the oldest) when full.
  void store(std::string_view rel, static_entry_ptr entry, clock::time_point now) {
    if (max_ == 0) return;
    if (const auto it = map_.find(rel); it != map_.end()) {
      it->second = slot{std::move(entry), now};
      return;
    }
    if (map_.size() >= max_) evict(now);
    map_.emplace(std::string(rel), slot{std::move(entry), now});
  }
  void erase(std::string_view rel) {
    if (const auto it = map_.find(rel); it != map_.end()) map_.erase(it);
  }
  std::size_t size() const noexcept { return map_.size(); }

  // Scratch space for cleaning a request's path (capacity reused request after request).
  std::string decoded, rel;

 private:
  struct slot {
    static_entry_ptr entry;
    clock::time_point resolved;
  };
  struct key_hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
  };

  // Drops every stale entry; when none is, the one resolved longest ago.
  void evict(clock::time_point now) {
    auto oldest = map_.end();
    for (auto it = map_.begin(); it != map_.end();) {
      if (now - it->second.resolved >= valid_) {
        it = map_.erase(it);
        continue;
      }
      if (oldest == map_.end() || it->second.resolved < oldest->second.resolved) oldest = it;
      ++it;
    }
    if (map_.size() >= max_ && oldest != map_.end()) map_.erase(oldest);
  }

  std::size_t max_;
  clock::duration valid_;
  std::unordered_map<std::string, slot, key_hash, std::equal_to<>> map_;
};

// The caches of one static_files mount, one per thread that serves it. A thread claims a slot on its first
// request (one compare-and-swap) and is the only one to touch that slot's cache afterwards. Threads beyond
// the slot count are served without a cache.
class static_cache_slots {
 public:
  static constexpr std::size_t count = 64;

  // This thread's cache; nullptr when the cache is off or every slot is taken.
  static_file_cache* for_this_thread(std::size_t max_entries, static_file_cache::clock::duration valid) {
    if (max_entries == 0) return nullptr;
    const std::uint64_t me = thread_id();
    for (slot& s : slots_) {
      std::uint64_t owner = s.owner.load(std::memory_order_acquire);
      if (owner == me) return s.cache.get();
      if (owner == 0) {
        if (!s.owner.compare_exchange_strong(owner, me, std::memory_order_acq_rel)) continue;
        s.cache = std::make_unique<static_file_cache>(max_entries, valid);
        return s.cache.get();
      }
    }
    return nullptr;
  }

 private:
  struct slot {
    std::atomic<std::uint64_t> owner{0};  // thread_id() of the thread using it, 0: free
    std::unique_ptr<static_file_cache> cache;
  };
  // Never reused, unlike std::thread::id: a slot's owner is only ever one thread.
  static std::uint64_t thread_id() noexcept {
    static std::atomic<std::uint64_t> next{1};
    thread_local const std::uint64_t id = next.fetch_add(1, std::memory_order_relaxed);
    return id;
  }
  std::array<slot, count> slots_;
};

}  // namespace detail
}  // namespace v0
}  // namespace keel
