// keel::cache::redis_store: the cache backend on a keel::redis::client. Keys get a prefix; TTLs are Redis's
// own (SET PX), so every process sharing the server sees the same entries and the same deletions.
#pragma once

#include "keel/config.hpp"
#include "keel/redis/client.hpp"

#include <chrono>
#include <string>
#include <string_view>

namespace keel {
inline namespace v0 {
namespace cache {

class redis_store {
 public:
  explicit redis_store(redis::client& client, std::string prefix = "keel:cache:")
      : client_(&client), prefix_(std::move(prefix)) {}

  [[nodiscard]] auto get(std::string_view key) { return client_->get(full(key)); }
  [[nodiscard]] auto set(std::string_view key, std::string_view value, std::chrono::milliseconds ttl = {}) {
    return client_->set(full(key), value, ttl);
  }
  [[nodiscard]] auto erase(std::string_view key) { return client_->del(full(key)); }

  redis::client& client() noexcept { return *client_; }
  const std::string& prefix() const noexcept { return prefix_; }

 private:
  std::string full(std::string_view key) const {
    std::string k;
    k.reserve(prefix_.size() + key.size());
    k.append(prefix_).append(key);
    return k;
  }

  redis::client* client_;
  std::string prefix_;
};

}  // namespace cache
}  // namespace v0
}  // namespace keel
