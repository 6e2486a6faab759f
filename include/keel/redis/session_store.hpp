// keel::redis::session_store: server-side sessions (keel::auth::server_sessions) in Redis, so every process
// behind a load balancer sees the same sessions. It satisfies keel::auth::session_store: load = GET,
// save = SET ... EXAT expires_at (Redis drops the record itself, Redis >= 6.2), remove = DEL; keys prefixed.
#pragma once

#include "keel/config.hpp"
#include "keel/redis/client.hpp"
#include "keel/task.hpp"

#include <cstdint>
#include <optional>
#include <string>

namespace keel {
inline namespace v0 {
namespace redis {

class session_store {
 public:
  // `c` must outlive the store and the app using it.
  explicit session_store(client& c, std::string prefix = "keel:session:")
      : client_(&c), prefix_(std::move(prefix)) {}

  task<std::optional<std::string>> load(std::string key) {
    const std::string full = prefix_ + key;
    std::optional<std::string> value = co_await client_->get(full);
    co_return value;
  }
  task<void> save(std::string key, std::string value, std::int64_t expires_at) {
    const std::string full = prefix_ + key;
    reply r = co_await client_->command("SET", full, value, "EXAT", expires_at);
    r.ok();
  }
  task<void> remove(std::string key) {
    const std::string full = prefix_ + key;
    co_await client_->del(full);
  }

  const std::string& prefix() const noexcept { return prefix_; }

 private:
  client* client_;
  std::string prefix_;
};

}  // namespace redis
}  // namespace v0
}  // namespace keel
