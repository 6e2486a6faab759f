// Cookie sessions: keel::auth::sessions<Data, Backend> is a middleware that reads the session cookie before
// the handler and writes it back after, and keel::auth::session<Data> is the per-request state a handler
// takes. Three backends behind one API:
//
//   keel::auth::signed_cookie{keys}        the data in the cookie, HMAC-SHA256 signed (readable by the
//   client) keel::auth::encrypted_cookie{keys}     the data in the cookie, AES-256-GCM (random 96-bit nonce,
//   authenticated) keel::auth::server_side{store}         a random 256-bit id in the cookie, the data in a
//   session_store
//                                          (keel::auth::db_session_store over keel::db: SQLite by default)
//
//   struct user_session { std::int64_t user_id = 0; std::string name; };
//   auto layer = keel::auth::sessions<user_session, keel::auth::server_side<keel::auth::db_session_store>>{
//       {store}, {.idle_timeout = std::chrono::hours(2)}};
//   keel::post<"/login">([](keel::auth::session<user_session>& s, ...) { ...; s.login({id, name}); })
//   keel::get<"/me">([](const keel::auth::session<user_session>& s) { return s ? s->name : "anonymous"; })
//
// Keys are lists, newest first: the first signs/encrypts, all of them verify/decrypt (rotation). A login
// rotates the session (new id, the old record deleted, a new CSRF token: no session fixation); logout()
// deletes it and expires the cookie. Idle and absolute timeouts are checked on every read; the cookie (and
// the stored record) is refreshed at most once per touch_interval when nothing else changed.
#pragma once

#include "keel/config.hpp"
#include "keel/auth/detail/base64url.hpp"
#include "keel/auth/detail/crypto.hpp"
#include "keel/context.hpp"
#include "keel/detail/exception_response.hpp"
#include "keel/error.hpp"
#include "keel/extractors/cookie.hpp"
#include "keel/json/reader.hpp"
#include "keel/json/writer.hpp"
#include "keel/middleware/middleware.hpp"
#include "keel/task.hpp"

#include <chrono>
#include <concepts>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

namespace keel {
inline namespace v0 {
namespace auth {

enum class same_site : std::uint8_t { lax, strict, none };
// When the cookie gets the Secure attribute: on TLS connections (ctx.is_tls()), always (behind a TLS
// terminating proxy), or never (local development over plain HTTP).
enum class secure_cookie : std::uint8_t { when_tls, always, never };

struct session_cookie {
  std::string name = "keel_session";
  std::string path = "/";
  std::string domain;  // empty: a host-only cookie (recommended)
  same_site same_site_policy = same_site::lax;
  secure_cookie secure = secure_cookie::when_tls;
  bool http_only = true;
  bool persistent = true;  // Max-Age (the remaining lifetime); false: a browser-session cookie
};

struct session_options {
  session_cookie cookie{};
  std::chrono::seconds idle_timeout = std::chrono::hours(2);           // 0: none
  std::chrono::seconds absolute_timeout = std::chrono::hours(24 * 7);  // 0: none
  // A read session is written back (cookie re-issued, record refreshed) at most this often when nothing
  // else changed, to move the idle deadline along.
  std::chrono::seconds touch_interval = std::chrono::seconds(60);
  std::size_t max_cookie_bytes = 4096;  // a cookie-backed session that would be larger is a 500
  std::int64_t (*clock)() = nullptr;    // Unix seconds; null: the system clock (tests set it)
};

// A new random 32-byte key for signed_cookie / encrypted_cookie (store it; keys are raw bytes).
inline std::string generate_session_key() {
  std::string key(32, '\0');
  detail::random_bytes(reinterpret_cast<unsigned char*>(key.data()), key.size());
  return key;
}

// --- backends

// The session's data in the cookie, readable by the client, signed with HMAC-SHA256. Keys: newest first, at
// least 32 bytes each.
struct signed_cookie {
  std::vector<std::string> keys;
};

// The session's data in the cookie, encrypted and authenticated with AES-256-GCM (random 96-bit nonce per
// cookie, the cookie name as associated data). Keys: newest first, exactly 32 bytes each.
struct encrypted_cookie {
  std::vector<std::string> keys;
};

// Where server-side sessions live. Keys are the base64url SHA-256 of the session id (the store never sees a
// usable id), values the serialized session, expires_at a Unix time after which the record may be dropped.
template <class S>
concept session_store = requires(S& s, std::string key, std::string value, std::int64_t expires_at) {
  { s.load(key) } -> std::same_as<task<std::optional<std::string>>>;
  { s.save(key, value, expires_at) } -> std::same_as<task<void>>;
  { s.remove(key) } -> std::same_as<task<void>>;
};

// Only a random 256-bit id in the cookie; the data in `store` (which must outlive the app).
template <session_store Store>
struct server_side {
  Store* store = nullptr;
  server_side(Store& s) : store(&s) {}  // NOLINT: implicit, so `{store}` configures the layer
};

// A process-local store (tests, development, a single process that may lose sessions on restart).
class memory_session_store {
 public:
  task<std::optional<std::string>> load(std::string key) {
    std::lock_guard lock(mutex_);
    auto it = records_.find(key);
    if (it == records_.end() || it->second.second <= now()) co_return std::nullopt;
    co_return it->second.first;
  }
  task<void> save(std::string key, std::string value, std::int64_t expires_at) {
    std::lock_guard lock(mutex_);
    if (records_.size() > 1024 && ++saves_ % 1024 == 0) purge_locked();
    records_[std::move(key)] = {std::move(value), expires_at};
    co_return;
  }
  task<void> remove(std::string key) {
    std::lock_guard lock(mutex_);
    records_.erase(key);
    co_return;
  }
  std::size_t size() const {
    std::lock_guard lock(mutex_);
    return records_.size();
  }

 private:
  static std::int64_t now() {
    return std::chrono::duration_cast<std::chrono::seconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }
  void purge_locked() {
    const auto t = now();
    std::erase_if(records_, [t](const auto& r) { return r.second.second <= t; });
  }
  mutable std::mutex mutex_;
  std::unordered_map<std::string, std::pair<std::string, std::int64_t>> records_;
  std::uint64_t saves_ = 0;
};
static_assert(session_store<memory_session_store>);

template <class Data, class Backend>
class sessions;

// The request's session: what a handler takes (`keel::auth::session<user_session>& s`).
template <class Data>
class session {
 public:
  // Whether the session holds data (a logged-in user, for most apps).
  bool has_value() const noexcept { return data_.has_value(); }
  explicit operator bool() const noexcept { return has_value(); }
  const Data* get() const noexcept { return data_ ? &*data_ : nullptr; }
  const Data& operator*() const { return *data_; }
  const Data* operator->() const { return &*data_; }

  // Replaces the data; written back after the handler.
  Data& set(Data d) {
    data_ = std::move(d);
    changed_ = true;
    return *data_;
  }
  // The data to change in place (default-constructed when empty); written back after the handler.
  Data& modify() {
    if (!data_) data_.emplace();
    changed_ = true;
    return *data_;
  }
  // Signs a user in: sets the data and rotates the session (a new id, the old one invalidated, a new CSRF
  // token), so an id planted before login is worthless after it (session fixation).
  Data& login(Data d) {
    regenerate();
    return set(std::move(d));
  }
  // A new id and CSRF token for the same data (call it on any privilege change).
  void regenerate() {
    rotate_ = true;
    changed_ = true;
    created_ = 0;  // a fresh session: the absolute timeout starts again
    csrf_ = detail::random_token(32);
  }
  // Ends the session: the stored record is deleted and the cookie expired.
  void logout() {
    destroy_ = true;
    changed_ = true;
    data_.reset();
    csrf_.clear();
  }
  // The session's CSRF token (created on first use; the session is then written back, also for a client
  // that is not logged in). Send it to the client; unsafe requests must echo it (keel::auth::csrf).
  std::string_view csrf_token() {
    if (csrf_.empty()) {
      csrf_ = detail::random_token(32);
      changed_ = true;
    }
    return csrf_;
  }
  // The token as stored, "" when there is none (what keel::auth::csrf compares against).
  std::string_view stored_csrf_token() const noexcept { return csrf_; }

  // True when the request carried a valid session cookie.
  bool loaded() const noexcept { return loaded_; }
  // Unix seconds: when the session started, and when it was last written back.
  std::int64_t created_at() const noexcept { return created_; }
  std::int64_t last_seen() const noexcept { return accessed_; }

 private:
  template <class, class>
  friend class sessions;

  std::optional<Data> data_;
  std::string id_;  // server-side: the id the cookie carried
  std::string csrf_;
  std::int64_t created_ = 0;
  std::int64_t accessed_ = 0;
  bool loaded_ = false;          // a valid cookie came with the request
  bool cookie_present_ = false;  // a session cookie came, valid or not
  bool changed_ = false;
  bool touched_ = false;  // the idle deadline moved: write back
  bool rotate_ = false;
  bool destroy_ = false;
};

namespace detail {

// What is serialized: created, last access, CSRF token, the app's data.
template <class Data>
struct session_envelope {
  std::int64_t c = 0;
  std::int64_t a = 0;
  std::string t;
  std::optional<Data> d;
};

inline std::int64_t system_unix_now() noexcept {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

inline std::optional<std::string_view> request_cookie(const request_context& ctx, std::string_view name) {
  for (const http::header_field& field : ctx.request().headers) {
    if (!keel::detail::iequals(field.name, "Cookie")) continue;
    if (auto v = http::find_cookie(field.value, name)) return v;
  }
  return std::nullopt;
}

// A valid server-side session id: 43 base64url characters (32 bytes).
inline bool is_session_id(std::string_view id) noexcept {
  if (id.size() != 43) return false;
  for (unsigned char c : id)
    if (base64url_values[c] == 0xff) return false;
  return true;
}

template <class B>
inline constexpr bool is_server_side = false;
template <class S>
inline constexpr bool is_server_side<server_side<S>> = true;

// Pending writes of server-side sessions: what after() decided, visible to every reactor thread at once,
// until the store has it (a request right after a login reads its session even if the write is still
// running). At most one write per key is in flight; a newer value that arrives meanwhile is written when it
// finishes, so the store's writes for one key happen in order.
class pending_writes {
 public:
  enum class lookup { none, removed, value };
  struct job {
    std::optional<std::string> value;  // nullopt: remove
    std::int64_t expires = 0;
    std::uint64_t seq = 0;
  };

  lookup find(const std::string& key, std::string& out) {
    std::lock_guard lock(mutex_);
    auto it = entries_.find(key);
    if (it == entries_.end()) return lookup::none;
    if (!it->second.work.value) return lookup::removed;
    out = *it->second.work.value;
    return lookup::value;
  }
  // Records the newest value of `key`. True when the caller must start a write (none is in flight).
  bool put(const std::string& key, std::optional<std::string> value, std::int64_t expires) {
    std::lock_guard lock(mutex_);
    auto& e = entries_[key];
    e.work.value = std::move(value);
    e.work.expires = expires;
    e.work.seq = ++seq_;
    if (e.in_flight) return false;
    e.in_flight = true;
    return true;
  }
  job current(const std::string& key) {
    std::lock_guard lock(mutex_);
    return entries_[key].work;
  }
  // The write of `seq` finished. True when nothing newer is pending (the entry is gone); false when the
  // caller must write current(key) next.
  bool finish(const std::string& key, std::uint64_t seq) {
    std::lock_guard lock(mutex_);
    auto it = entries_.find(key);
    if (it == entries_.end()) return true;
    if (it->second.work.seq != seq) return false;
    entries_.erase(it);
    return true;
  }
  std::size_t size() {
    std::lock_guard lock(mutex_);
    return entries_.size();
  }

 private:
  struct entry {
    job work;
    bool in_flight = false;
  };
  std::mutex mutex_;
  std::unordered_map<std::string, entry> entries_;
  std::uint64_t seq_ = 0;
};

inline void log_session_error(const char* what) {
  std::string line = R"({"level":"error","event":"session_store_error","what":)";
  keel::detail::append_json_string(line, what);
  line.append("}\n");
  std::fwrite(line.data(), 1, line.size(), stderr);
}

}  // namespace detail

// The session middleware. `using state = session<Data>`: handlers take `keel::auth::session<Data>&`, and
// keel::auth::csrf<Data> reads the token from it. Copies share their configuration.
template <class Data, class Backend>
class sessions {
  static constexpr bool server = detail::is_server_side<Backend>;

 public:
  using state = session<Data>;
  using data_type = Data;

  explicit sessions(Backend backend, session_options options = {})
      : core_(std::make_shared<core>(std::move(backend), std::move(options))) {
    if constexpr (!server) {
      if (core_->backend.keys.empty()) throw std::invalid_argument("keel::auth::sessions: no key");
      for (const auto& k : core_->backend.keys) {
        if constexpr (std::is_same_v<Backend, encrypted_cookie>) {
          if (k.size() != 32)
            throw std::invalid_argument("keel::auth::sessions: an AES-256-GCM key is exactly 32 bytes");
        } else if (k.size() < 32) {
          throw std::invalid_argument("keel::auth::sessions: an HMAC-SHA256 key has at least 32 bytes");
        }
      }
    } else {
      if (core_->backend.store == nullptr) throw std::invalid_argument("keel::auth::sessions: no store");
    }
    const auto& name = core_->options.cookie.name;
    if (name.empty() || name.find_first_of("=;, \t\"") != std::string::npos)
      throw std::invalid_argument("keel::auth::sessions: invalid cookie name");
  }

  const session_options& options() const noexcept { return core_->options; }
  // Server-side writes not yet in the store (tests).
  std::size_t pending_writes() const { return core_->pending.size(); }

  template <class Ctx>
  requires(!server) flow before(Ctx& ctx)
  const {
    session<Data>& s = ctx.template state<session<Data>>();
    auto cookie = detail::request_cookie(ctx, core_->options.cookie.name);
    if (!cookie) return flow::next;
    s.cookie_present_ = true;
    auto envelope = decode_cookie(*cookie);
    if (envelope) core_->accept(s, std::move(*envelope));
    return flow::next;
  }

  template <class Ctx>
  requires server task<flow> before(Ctx& ctx)
  const {
    session<Data>& s = ctx.template state<session<Data>>();
    auto cookie = detail::request_cookie(ctx, core_->options.cookie.name);
    if (!cookie) co_return flow::next;
    s.cookie_present_ = true;
    if (!detail::is_session_id(*cookie)) co_return flow::next;
    std::string id(*cookie);
    std::string key = detail::sha256_base64url(id);
    std::string record;
    const auto pending = core_->pending.find(key, record);
    if (pending == detail::pending_writes::lookup::removed) co_return flow::next;
    if (pending == detail::pending_writes::lookup::none) {
      auto load = core_->backend.store->load(key);
      std::optional<std::string> stored = co_await std::move(load);
      if (!stored) co_return flow::next;
      record = std::move(*stored);
    }
    auto envelope = json_io::read<detail::session_envelope<Data>>(std::string_view(record));
    if (!envelope) co_return flow::next;
    if (core_->accept(s, std::move(*envelope))) {
      s.id_ = std::move(id);
    } else {
      core_->write_behind(std::move(key), std::nullopt, 0);  // expired: drop the record
    }
    co_return flow::next;
  }

  template <class Ctx>
  void after(Ctx& ctx) const {
    try {
      core_->finish(ctx.template state<session<Data>>(), ctx);
    } catch (...) {
      keel::detail::respond_to_exception(ctx);
    }
  }

 private:
  std::optional<detail::session_envelope<Data>> decode_cookie(std::string_view value) const {
    std::optional<std::string> json;
    if constexpr (std::is_same_v<Backend, signed_cookie>) {
      const auto dot = value.rfind('.');
      if (dot == std::string_view::npos) return std::nullopt;
      const auto mac = detail::base64url_decode(value.substr(dot + 1));
      if (!mac || mac->size() != 32) return std::nullopt;
      const std::string_view payload = value.substr(0, dot);
      bool ok = false;
      unsigned char expected[32];
      for (const auto& k : core_->backend.keys) {
        detail::hmac_sha256(k, core_->mac_prefix, payload, expected);
        ok =
            detail::constant_time_equals(std::string_view(reinterpret_cast<const char*>(expected), 32), *mac);
        if (ok) break;
      }
      if (!ok) return std::nullopt;
      json = detail::base64url_decode(payload);
    } else {
      const auto sealed = detail::base64url_decode(value);
      if (!sealed) return std::nullopt;
      for (const auto& k : core_->backend.keys) {
        json = detail::aes256gcm_open(k, *sealed, core_->options.cookie.name);
        if (json) break;
      }
    }
    if (!json) return std::nullopt;
    auto r = json_io::read<detail::session_envelope<Data>>(std::string_view(*json));
    if (!r) return std::nullopt;
    return std::move(*r);
  }

  struct core : std::enable_shared_from_this<core> {
    Backend backend;
    session_options options;
    std::string mac_prefix;  // "name=": the MAC covers the cookie's name too
    detail::pending_writes pending;

    core(Backend b, session_options o) : backend(std::move(b)), options(std::move(o)) {
      mac_prefix = options.cookie.name + "=";
    }

    std::int64_t now() const { return options.clock ? options.clock() : detail::system_unix_now(); }

    // The deadline of a session last seen at `a`, started at `c` (INT64_MAX: none).
    std::int64_t expires_at(std::int64_t c, std::int64_t a) const {
      std::int64_t e = INT64_MAX;
      if (options.idle_timeout.count() > 0) e = std::min(e, a + options.idle_timeout.count());
      if (options.absolute_timeout.count() > 0) e = std::min(e, c + options.absolute_timeout.count());
      return e;
    }

    // Takes a decoded envelope into the state unless it expired; moves the idle deadline when it is time.
    bool accept(session<Data>& s, detail::session_envelope<Data>&& e) const {
      const std::int64_t t = now();
      if (t >= expires_at(e.c, e.a)) return false;
      s.data_ = std::move(e.d);
      s.csrf_ = std::move(e.t);
      s.created_ = e.c;
      s.accessed_ = e.a;
      s.loaded_ = true;
      if (t - e.a >= options.touch_interval.count()) {
        s.accessed_ = t;
        s.touched_ = true;
      }
      return true;
    }

    std::string serialize(const session<Data>& s) const {
      detail::session_envelope<Data> e;
      e.c = s.created_;
      e.a = s.accessed_;
      e.t = s.csrf_;
      e.d = s.data_;
      std::string out;
      json_io::write(out, e);
      return out;
    }

    void set_cookie(request_context& ctx, std::string_view value, std::int64_t max_age) const {
      const session_cookie& c = options.cookie;
      std::string h;
      h.reserve(c.name.size() + value.size() + 96);
      h.append(c.name).append("=").append(value);
      if (!c.path.empty()) h.append("; Path=").append(c.path);
      if (!c.domain.empty()) h.append("; Domain=").append(c.domain);
      if (max_age == 0 || c.persistent) h.append("; Max-Age=").append(std::to_string(max_age));
      if (c.http_only) h.append("; HttpOnly");
      const bool secure = c.secure == secure_cookie::always ||
                          (c.secure == secure_cookie::when_tls && ctx.is_tls()) ||
                          c.same_site_policy == same_site::none;  // browsers refuse SameSite=None without it
      if (secure) h.append("; Secure");
      h.append(c.same_site_policy == same_site::strict ? "; SameSite=Strict"
               : c.same_site_policy == same_site::none ? "; SameSite=None"
                                                       : "; SameSite=Lax");
      ctx.response().header("Set-Cookie", h);
    }
    void expire_cookie(request_context& ctx) const { set_cookie(ctx, "", 0); }

    // Server-side: record the write for readers at once, then run it on the store.
    void write_behind(std::string key, std::optional<std::string> value, std::int64_t expires) {
      if (pending.put(key, std::move(value), expires)) start_write(std::move(key));
    }

    void start_write(std::string key) {
      detail::pending_writes::job next = pending.current(key);
      auto self = this->shared_from_this();
      task<void> work = store_write(self, key, std::move(next.value), next.expires);
      keel::detail::start_detached(std::move(work), [self, key = std::move(key), seq = next.seq](
                                                        keel::detail::task_result<void>&& r) mutable {
        if (r.exception) {
          try {
            std::rethrow_exception(r.exception);
          } catch (const std::exception& e) {
            detail::log_session_error(e.what());
          } catch (...) {
            detail::log_session_error("unknown exception");
          }
        }
        if (!self->pending.finish(key, seq))
          self->start_write(std::move(key));  // a newer value came meanwhile
      });
    }

    static task<void> store_write(std::shared_ptr<core> self, std::string key,
                                  std::optional<std::string> value, std::int64_t expires) {
      if constexpr (server) {
        if (value) {
          auto w = self->backend.store->save(key, std::move(*value), expires);
          co_await std::move(w);
        } else {
          auto w = self->backend.store->remove(key);
          co_await std::move(w);
        }
      }
      co_return;
    }

    void finish(session<Data>& s, request_context& ctx) {
      const bool has_content = s.data_.has_value() || !s.csrf_.empty();
      const std::int64_t t = now();
      if constexpr (server) {
        if ((s.destroy_ || s.rotate_) && !s.id_.empty()) {
          write_behind(detail::sha256_base64url(s.id_), std::nullopt, 0);
          s.id_.clear();
        }
        if (!has_content) {
          if (s.cookie_present_ && (s.destroy_ || !s.loaded_)) expire_cookie(ctx);
          return;
        }
        bool new_id = false;
        if (s.id_.empty()) {
          s.id_ = detail::random_token(32);
          new_id = true;
        }
        if (!s.changed_ && !s.touched_ && !new_id) return;
        if (s.created_ == 0) s.created_ = t;
        if (s.changed_ || new_id) s.accessed_ = t;
        const std::int64_t expires = expires_at(s.created_, s.accessed_);
        write_behind(detail::sha256_base64url(s.id_), serialize(s), expires);
        set_cookie(ctx, s.id_, expires == INT64_MAX ? 400LL * 24 * 3600 : expires - t);
      } else {
        if (!has_content) {
          if (s.cookie_present_ && (s.destroy_ || !s.loaded_ || s.changed_)) expire_cookie(ctx);
          return;
        }
        if (!s.changed_ && !s.touched_) return;
        if (s.created_ == 0) s.created_ = t;
        if (s.changed_) s.accessed_ = t;
        const std::int64_t expires = expires_at(s.created_, s.accessed_);
        const std::string json = serialize(s);
        std::string value;
        if constexpr (std::is_same_v<Backend, signed_cookie>) {
          detail::base64url_append(value, json);
          unsigned char mac[32];
          detail::hmac_sha256(backend.keys.front(), mac_prefix, value, mac);
          value.push_back('.');
          detail::base64url_append(value, std::string_view(reinterpret_cast<const char*>(mac), 32));
        } else {
          detail::base64url_append(value,
                                   detail::aes256gcm_seal(backend.keys.front(), json, options.cookie.name));
        }
        if (value.size() + options.cookie.name.size() + 1 > options.max_cookie_bytes)
          throw std::length_error("keel::auth::sessions: the session cookie would exceed max_cookie_bytes (" +
                                  std::to_string(value.size()) +
                                  " bytes): keep less in it or use server_side");
        set_cookie(ctx, value, expires == INT64_MAX ? 400LL * 24 * 3600 : expires - t);
      }
    }
  };

  std::shared_ptr<core> core_;
};

// Shorthands: keel::auth::signed_sessions<user>({key}), encrypted_sessions<user>({key}),
// server_sessions<user>(store).
template <class Data>
sessions<Data, signed_cookie> signed_sessions(std::vector<std::string> keys, session_options options = {}) {
  return sessions<Data, signed_cookie>(signed_cookie{std::move(keys)}, std::move(options));
}
template <class Data>
sessions<Data, encrypted_cookie> encrypted_sessions(std::vector<std::string> keys,
                                                    session_options options = {}) {
  return sessions<Data, encrypted_cookie>(encrypted_cookie{std::move(keys)}, std::move(options));
}
template <class Data, session_store Store>
sessions<Data, server_side<Store>> server_sessions(Store& store, session_options options = {}) {
  return sessions<Data, server_side<Store>>(server_side<Store>(store), std::move(options));
}

}  // namespace auth
}  // namespace v0
}  // namespace keel
