// Password hashing with Argon2id (RFC 9106) from libsodium, as PHC strings:
//   $argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>
// Hashing costs tens of milliseconds and megabytes of memory on purpose, so the awaitable versions run on
// keel's worker pool (keel::offload) and resume the handler on its reactor thread:
//
//   std::string stored = co_await keel::auth::hash_password(form.password);
//   auto r = co_await keel::auth::verify_password(form.password, user.password_hash);
//   if (!r) return keel::unauthorized("wrong email or password");
//   if (r.needs_rehash()) ... store co_await keel::auth::hash_password(form.password) ...
//
// Unknown users: verify_password_or_dummy(password, std::nullopt) spends the same time against a dummy
// hash, so response times do not tell which accounts exist. Link keel::auth (libsodium).
#pragma once

#include "keel/config.hpp"
#include "keel/offload.hpp"

#include <sodium.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <list>
#include <mutex>
#include <new>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <utility>

namespace keel {
inline namespace v0 {
namespace auth {

// Argon2id cost. The defaults are OWASP's Password Storage Cheat Sheet recommendation (m=19 MiB, t=2, p=1);
// OWASP's equivalent alternatives trade memory for passes (m=46 MiB t=1, m=12 MiB t=3, m=9 MiB t=4, m=7 MiB
// t=5). libsodium always uses one lane (p=1). Raising either makes needs_rehash() true for older hashes.
struct password_params {
  std::uint64_t time_cost = 2;         // passes over memory (libsodium's opslimit), at least 1
  std::size_t memory_kib = 19 * 1024;  // memory per hash in KiB (memlimit / 1024), at least 8
  friend bool operator==(const password_params&, const password_params&) = default;
};

// Passwords longer than this are refused (hash: std::length_error; verify: mismatch): an unbounded input
// would be a cheap way to make the server hash megabytes.
inline constexpr std::size_t max_password_bytes = 4096;

enum class password_status : std::uint8_t {
  mismatch,      // wrong password (or an unknown user, via verify_password_or_dummy)
  ok,            // right password, hash made with the current parameters
  needs_rehash,  // right password, but hashed with other parameters (or an older algorithm): store a new hash
  invalid_hash,  // the stored string is not an Argon2 PHC string (treat as a mismatch; log it)
};

struct password_result {
  password_status status = password_status::mismatch;
  // True when the password matched (ok or needs_rehash).
  explicit operator bool() const noexcept {
    return status == password_status::ok || status == password_status::needs_rehash;
  }
  bool needs_rehash() const noexcept { return status == password_status::needs_rehash; }
  friend bool operator==(const password_result&, const password_result&) = default;
};

namespace detail {

inline void sodium_ready() {
  static const int status = sodium_init();  // thread-safe, idempotent; < 0 only when no RNG is available
  if (status < 0) throw std::runtime_error("keel::auth: libsodium failed to initialise");
}

inline void check_params(const password_params& p) {
  if (p.time_cost < crypto_pwhash_argon2id_OPSLIMIT_MIN || p.time_cost > crypto_pwhash_argon2id_OPSLIMIT_MAX)
    throw std::invalid_argument("keel::auth::password_params: time_cost out of range");
  if (p.memory_kib * 1024 < crypto_pwhash_argon2id_MEMLIMIT_MIN ||
      p.memory_kib > crypto_pwhash_argon2id_MEMLIMIT_MAX / 1024)
    throw std::invalid_argument("keel::auth::password_params: memory_kib out of range");
}

inline bool is_argon2_phc(std::string_view hash) {
  return hash.size() < crypto_pwhash_STRBYTES &&
         (hash.starts_with("$argon2id$") || hash.starts_with("$argon2i$"));
}

// A test hook: called with the thread each hash or verification runs on (null: nothing).
inline std::atomic<void (*)(std::thread::id)> password_work_observer{nullptr};

inline void observe_password_work() {
  if (auto* observer = password_work_observer.load(std::memory_order_acquire))
    observer(std::this_thread::get_id());
}

// Best effort: the worker's copy of the password does not outlive the call.
struct wipe_on_exit {
  std::string& s;
  ~wipe_on_exit() { sodium_memzero(s.data(), s.size()); }
};

}  // namespace detail

// --- synchronous (tools, migrations, tests; in a handler use the awaitable versions below)

// A new PHC string with a random salt. Throws std::length_error for a password over max_password_bytes,
// std::bad_alloc when the memory cost cannot be allocated.
inline std::string hash_password_sync(std::string_view password, const password_params& params = {}) {
  detail::sodium_ready();
  detail::check_params(params);
  if (password.size() > max_password_bytes) throw std::length_error("keel::auth: password too long");
  detail::observe_password_work();
  char out[crypto_pwhash_STRBYTES];
  if (crypto_pwhash_str_alg(out, password.data(), password.size(), params.time_cost, params.memory_kib * 1024,
                            crypto_pwhash_ALG_ARGON2ID13) != 0)
    throw std::bad_alloc();
  return std::string(out);
}

// True when `hash` was not made with Argon2id and exactly `params` (or is not a valid PHC string).
inline bool needs_rehash(std::string_view hash, const password_params& params = {}) {
  detail::sodium_ready();
  if (!detail::is_argon2_phc(hash)) return true;
  char buf[crypto_pwhash_STRBYTES] = {};
  hash.copy(buf, hash.size());
  return crypto_pwhash_argon2id_str_needs_rehash(buf, params.time_cost, params.memory_kib * 1024) != 0;
}

// Checks `password` against a stored PHC string (Argon2id or Argon2i). libsodium recomputes the hash with
// the stored parameters and compares in constant time.
inline password_result verify_password_sync(std::string_view password, std::string_view hash,
                                            const password_params& params = {}) {
  detail::sodium_ready();
  if (!detail::is_argon2_phc(hash)) return {password_status::invalid_hash};
  if (password.size() > max_password_bytes) return {password_status::mismatch};
  detail::observe_password_work();
  char buf[crypto_pwhash_STRBYTES] = {};
  hash.copy(buf, hash.size());
  if (crypto_pwhash_str_verify(buf, password.data(), password.size()) != 0)
    return {password_status::mismatch};
  return {needs_rehash(hash, params) ? password_status::needs_rehash : password_status::ok};
}

// A fixed hash of a random password with `params`, made once per parameter set and process.
inline const std::string& dummy_password_hash(const password_params& params = {}) {
  static std::mutex mutex;
  static std::list<std::pair<password_params, std::string>> made;  // a list: references stay valid
  std::lock_guard lock(mutex);
  for (const auto& [p, h] : made)
    if (p == params) return h;
  unsigned char random[16];
  randombytes_buf(random, sizeof random);
  made.emplace_back(params,
                    hash_password_sync(std::string_view(reinterpret_cast<const char*>(random), 16), params));
  return made.back().second;
}

// verify_password_sync against `hash`, or, for an unknown user (no hash), against the dummy hash: the same
// work, always a mismatch. Call dummy_password_hash(params) at start-up so the first unknown user does not
// pay for making it.
inline password_result verify_password_or_dummy_sync(std::string_view password,
                                                     std::optional<std::string_view> hash,
                                                     const password_params& params = {}) {
  if (hash) {
    const password_result r = verify_password_sync(password, *hash, params);
    // A stored value that is no Argon2 hash (a legacy scheme, a corrupt row) answers as slowly as the rest.
    if (r.status == password_status::invalid_hash)
      static_cast<void>(verify_password_sync(password, dummy_password_hash(params), params));
    return r;
  }
  static_cast<void>(verify_password_sync(password, dummy_password_hash(params), params));
  return {password_status::mismatch};
}

// --- awaitable: run on the worker pool, resume on the reactor (inline when there is no pool, as in tests)
//   std::string h = co_await keel::auth::hash_password(pw);
// The password and hash are copied into the awaitable; wait for it in the same full expression or keep
// the awaitable alive (it is a keel::offload awaiter).

[[nodiscard]] inline auto hash_password(std::string_view password, const password_params& params = {}) {
  return keel::offload(
      [](std::string pw, password_params p) {
        detail::wipe_on_exit wipe{pw};
        return hash_password_sync(pw, p);
      },
      std::string(password), params);
}

[[nodiscard]] inline auto verify_password(std::string_view password, std::string_view hash,
                                          const password_params& params = {}) {
  return keel::offload(
      [](std::string pw, std::string h, password_params p) {
        detail::wipe_on_exit wipe{pw};
        return verify_password_sync(pw, h, p);
      },
      std::string(password), std::string(hash), params);
}

[[nodiscard]] inline auto verify_password_or_dummy(std::string_view password,
                                                   std::optional<std::string_view> hash,
                                                   const password_params& params = {}) {
  return keel::offload(
      [](std::string pw, std::optional<std::string> h, password_params p) {
        detail::wipe_on_exit wipe{pw};
        return verify_password_or_dummy_sync(pw, h ? std::optional<std::string_view>(*h) : std::nullopt, p);
      },
      std::string(password), hash ? std::optional<std::string>(std::string(*hash)) : std::nullopt, params);
}

}  // namespace auth
}  // namespace v0
}  // namespace keel
