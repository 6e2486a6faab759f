// The newsletter example's storage: its schema in each engine's dialect, and the subscriber cache (in memory,
// or in Redis so that several processes share entries and invalidations).
#pragma once

#include "model.hpp"

#include <keel/auth/session.hpp>
#include <keel/cache.hpp>
#include <keel/redis.hpp>
#include <keel/redis/session_store.hpp>
#include <keel/sql/database.hpp>
#include <keel/sql/migrate.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <utility>

namespace newsletter {

constexpr keel::sql::migration sqlite_migrations[] = {
    {1, "subscribers and newsletters",
     "CREATE TABLE subscribers (id INTEGER PRIMARY KEY AUTOINCREMENT, email TEXT NOT NULL UNIQUE);"
     "CREATE TABLE newsletters (id INTEGER PRIMARY KEY AUTOINCREMENT, subject TEXT NOT NULL, "
     "body_text TEXT NOT NULL, body_html TEXT NOT NULL DEFAULT '');"},
};
constexpr keel::sql::migration postgres_migrations[] = {
    {1, "subscribers and newsletters",
     "CREATE TABLE subscribers (id BIGSERIAL PRIMARY KEY, email TEXT NOT NULL UNIQUE);"
     "CREATE TABLE newsletters (id BIGSERIAL PRIMARY KEY, subject TEXT NOT NULL, "
     "body_text TEXT NOT NULL, body_html TEXT NOT NULL DEFAULT '');"},
};

inline std::span<const keel::sql::migration> migrations_for(keel::sql::engine e) {
  if (e == keel::sql::engine::postgres) return postgres_migrations;
  return sqlite_migrations;
}

// Subscribers by id, through keel::cache: a memory_store, or a redis_store when a Redis URL is given.
class subscriber_cache {
 public:
  static constexpr std::chrono::milliseconds ttl = std::chrono::minutes(10);

  explicit subscriber_cache(const std::optional<std::string>& redis_url) {
    if (redis_url) {
      io_ = std::make_unique<keel::redis::io_thread>();
      client_ = std::make_unique<keel::redis::client>(io_->context(), *redis_url);
      shared_ = std::make_unique<keel::cache::cache<keel::cache::redis_store>>(
          keel::cache::redis_store(*client_, "newsletter:"));
    } else {
      local_.emplace();
    }
  }
  subscriber_cache(const subscriber_cache&) = delete;
  subscriber_cache& operator=(const subscriber_cache&) = delete;

  // The cached subscriber, else load()'s (once however many requests miss it together).
  template <class F>
  keel::task<subscriber> get(std::int64_t id, F load) {
    std::string k = key(id);
    if (shared_) {
      keel::task<subscriber> found = shared_->get_or_compute<subscriber>(std::move(k), ttl, std::move(load));
      co_return co_await std::move(found);
    }
    keel::task<subscriber> found = local_->get_or_compute<subscriber>(std::move(k), ttl, std::move(load));
    co_return co_await std::move(found);
  }

  // The Redis connection the cache uses (null without --redis): the admin sessions share it.
  keel::redis::client* redis() const noexcept { return client_.get(); }

  keel::task<void> invalidate(std::int64_t id) {
    std::string k = key(id);
    if (shared_) {
      co_await shared_->erase(std::move(k));
    } else {
      co_await local_->erase(std::move(k));
    }
  }

 private:
  static std::string key(std::int64_t id) { return "subscriber:" + std::to_string(id); }

  // Declared in this order so that the cache goes first, then its client, then the client's thread.
  std::unique_ptr<keel::redis::io_thread> io_;
  std::unique_ptr<keel::redis::client> client_;
  // unique_ptr, not optional: cache<redis_store> has no default constructor, which clang's
  // std::optional<cache<redis_store>> instantiates eagerly through the constructor's default argument.
  std::unique_ptr<keel::cache::cache<keel::cache::redis_store>> shared_;
  std::optional<keel::cache::cache<>> local_;
};

// Where the admin sessions live: in Redis (prefix `newsletter:session:`) when the cache is there, so every
// process behind the load balancer knows every session; else in this process's memory.
class admin_session_store {
 public:
  explicit admin_session_store(keel::redis::client* redis) {
    if (redis != nullptr) shared_.emplace(*redis, "newsletter:session:");
  }

  keel::task<std::optional<std::string>> load(std::string key) {
    keel::task<std::optional<std::string>> found =
        shared_ ? shared_->load(std::move(key)) : local_.load(std::move(key));
    co_return co_await std::move(found);
  }
  keel::task<void> save(std::string key, std::string value, std::int64_t expires_at) {
    keel::task<void> saving = shared_ ? shared_->save(std::move(key), std::move(value), expires_at)
                                      : local_.save(std::move(key), std::move(value), expires_at);
    co_await std::move(saving);
  }
  keel::task<void> remove(std::string key) {
    keel::task<void> removing = shared_ ? shared_->remove(std::move(key)) : local_.remove(std::move(key));
    co_await std::move(removing);
  }

 private:
  std::optional<keel::redis::session_store> shared_;
  keel::auth::memory_session_store local_;
};

}  // namespace newsletter
