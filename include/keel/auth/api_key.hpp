// API keys: long random keys a client sends in a header (X-API-Key) or the query (?api_key=), stored only
// as their SHA-256 (a 256-bit random secret needs no slow hash: there is nothing to guess), compared in
// constant time, shown once when created, revocable.
//
//   keel::db db{"sqlite:app.db"};
//   keel::auth::sql_api_key_store keys{db};          // keel/auth/sql_api_key_store.hpp (a SQLite table)
//   keys.create_schema_sync();
//   auto api = keel::router{
//       keel::get<"/reports">([](keel::api_key<keel::auth::api_key_principal> caller) { return caller->owner;
//       }),
//   };
//   keel::app{std::move(api)}.use(keel::auth::api_key_auth{keys}).provide(db);
//
// The layer looks the key up before the handler runs (an asynchronous `before`: the store's query runs on the
// worker pool); a request without a key goes on, and the keel::api_key<Principal> parameter answers 401 for
// it (std::optional<keel::api_key<Principal>> takes it as anonymous). A key that is unknown or revoked is a
// 401 at once (code "invalid_api_key"). The layer awaits a coroutine for every request it runs for, so put
// it on the groups or routes that take API keys when the rest of the app does not.
//
// Your own store: any type with `using principal_type = P;` and `keel::task<std::optional<P>>
// find(std::string key)`; generate_api_key(), api_key_lookup_id() and api_key_matches() do the key format,
// the hashing and the constant-time comparison.
#pragma once

#include "keel/config.hpp"
#include "keel/auth/detail/base64url.hpp"
#include "keel/context.hpp"
#include "keel/error.hpp"
#include "keel/extract.hpp"
#include "keel/http/status.hpp"
#include "keel/http/url.hpp"
#include "keel/middleware/middleware.hpp"
#include "keel/task.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <concepts>
#include <cstddef>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

namespace keel {
inline namespace v0 {
namespace auth {

// A new key: `key` goes to the client once; the server keeps `lookup_id` (to find the row) and `hash`.
// Format: "<prefix>_" + 16 characters of lookup id (12 random bytes) + 43 characters of secret (32 random
// bytes), base64url: "kk_Vq3...". The whole text is hashed, so the secret's 256 bits are what protects it.
struct generated_api_key {
  std::string key;
  std::string lookup_id;
  std::string hash;  // SHA-256 of the key, 64 hex digits
};

inline constexpr std::size_t api_key_id_chars = 16;
inline constexpr std::size_t api_key_secret_chars = 43;

// SHA-256 of `key` as 64 lowercase hex digits.
inline std::string api_key_hash(std::string_view key) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  if (EVP_Digest(key.data(), key.size(), digest, &size, EVP_sha256(), nullptr) != 1)
    throw std::runtime_error("keel::auth: SHA-256 failed");
  constexpr char hex[] = "0123456789abcdef";
  std::string out;
  out.reserve(size * 2);
  for (unsigned int i = 0; i < size; ++i) {
    out.push_back(hex[digest[i] >> 4]);
    out.push_back(hex[digest[i] & 15]);
  }
  return out;
}

inline generated_api_key generate_api_key(std::string_view prefix = "kk") {
  unsigned char random[12 + 32];
  if (RAND_bytes(random, sizeof random) != 1) throw std::runtime_error("keel::auth: no random bytes");
  generated_api_key out;
  out.key.assign(prefix).push_back('_');
  detail::base64url_append(out.key, std::string_view(reinterpret_cast<const char*>(random), sizeof random));
  out.lookup_id = out.key.substr(prefix.size() + 1, api_key_id_chars);
  out.hash = api_key_hash(out.key);
  OPENSSL_cleanse(random, sizeof random);
  return out;
}

// The lookup id of a presented key of this format, or nullopt when it cannot be one of ours.
inline std::optional<std::string_view> api_key_lookup_id(std::string_view key,
                                                         std::string_view prefix = "kk") {
  if (key.size() != prefix.size() + 1 + api_key_id_chars + api_key_secret_chars) return std::nullopt;
  if (key.substr(0, prefix.size()) != prefix || key[prefix.size()] != '_') return std::nullopt;
  for (char c : key.substr(prefix.size() + 1))
    if (detail::base64url_values[static_cast<unsigned char>(c)] == 0xff) return std::nullopt;
  return key.substr(prefix.size() + 1, api_key_id_chars);
}

// Whether `key` hashes to `stored_hash` (hex), compared in constant time.
inline bool api_key_matches(std::string_view key, std::string_view stored_hash) {
  const std::string h = api_key_hash(key);
  return stored_hash.size() == h.size() && CRYPTO_memcmp(h.data(), stored_hash.data(), h.size()) == 0;
}

// Where the layer looks for a key: a header, then a query parameter ("" turns either off).
struct api_key_options {
  std::string header = "X-API-Key";
  std::string query = "api_key";
  std::string realm = "api";
};

// A store finds the principal a key belongs to (nullopt: unknown or revoked).
template <class S>
concept ApiKeyStore = requires(S& s, std::string key) {
  typename S::principal_type;
  { s.find(std::move(key)) } -> std::same_as<task<std::optional<typename S::principal_type>>>;
};

namespace detail {

template <class Principal>
struct api_key_state {
  const api_key_options* options = nullptr;  // set by the layer on the routes it runs for
  std::optional<Principal> principal;
};

inline std::string api_key_challenge(const api_key_options& o, std::string_view error = {}) {
  std::string c = "ApiKey realm=\"" + o.realm + "\"";
  if (!error.empty()) c.append(", error=\"").append(error).push_back('"');
  return c;
}

// The key the request presents, percent-decoded when it came in the query; "" when none.
inline std::string presented_api_key(const http::request& req, const api_key_options& o) {
  if (!o.header.empty()) {
    const std::string_view h = req.header(o.header);
    if (!h.empty()) return std::string(h);
  }
  if (o.query.empty()) return {};
  std::string_view q = req.query;
  while (!q.empty()) {
    const std::size_t end = q.find('&');
    const std::string_view pair = q.substr(0, end);
    if (pair.size() > o.query.size() && pair.substr(0, o.query.size()) == o.query &&
        pair[o.query.size()] == '=') {
      std::string out;
      if (!http::percent_decode(pair.substr(o.query.size() + 1), out, true)) return {};
      return out;
    }
    if (end == std::string_view::npos) break;
    q.remove_prefix(end + 1);
  }
  return {};
}

}  // namespace detail

// The layer: `.use(keel::auth::api_key_auth{store})` on the app, a group or a route. The store must outlive
// the app (it is held by pointer).
template <ApiKeyStore Store>
class api_key_auth {
 public:
  using principal_type = typename Store::principal_type;
  using state = detail::api_key_state<principal_type>;

  explicit api_key_auth(Store& store, api_key_options options = {})
      : store_(&store), options_(std::make_shared<const api_key_options>(std::move(options))) {}

  template <class Ctx>
  task<flow> before(Ctx& ctx) const {
    state& st = ctx.template state<state>();
    st.options = options_.get();
    std::string key = detail::presented_api_key(ctx.request(), *options_);
    if (key.empty()) co_return flow::next;
    task<std::optional<principal_type>> lookup = store_->find(std::move(key));
    std::optional<principal_type> found = co_await std::move(lookup);
    if (!found) {
      http_error e(http::status::unauthorized, "unknown or revoked API key", "invalid_api_key");
      e.with_header("WWW-Authenticate", detail::api_key_challenge(*options_, "invalid_key"));
      ctx.fail(e);
      co_return flow::respond;
    }
    st.principal = std::move(found);
    co_return flow::next;
  }

  const api_key_options& options() const noexcept { return *options_; }

 private:
  Store* store_;
  std::shared_ptr<const api_key_options> options_;
};

}  // namespace auth
}  // namespace v0
}  // namespace keel

namespace keel {
inline namespace v0 {

// A handler parameter: who the request's API key belongs to (401 without a key). `caller->owner`, `*caller`.
template <class Principal>
class api_key {
 public:
  using principal_type = Principal;
  static constexpr std::string_view keel_security = "api_key";  // for the OpenAPI generator

  explicit api_key(Principal p) : principal_(std::move(p)) {}
  const Principal& principal() const noexcept { return principal_; }
  const Principal& operator*() const noexcept { return principal_; }
  const Principal* operator->() const noexcept { return &principal_; }

 private:
  Principal principal_;
};

namespace detail {
template <class Principal>
struct api_key_parameter_without_layer {
  static_assert(
      sizeof(Principal) == 0,
      "keel: this handler takes keel::api_key<Principal>, but no keel::auth::api_key_auth layer with "
      "that principal type is in the app (the type is shown): add .use(keel::auth::api_key_auth{store}) "
      "to the app, the group or the route (#include <keel/auth.hpp>)");
  static constexpr bool ok = false;
};

template <class Principal, class Ctx>
auth::detail::api_key_state<Principal>* api_key_state_of(Ctx& ctx) {
  using S = auth::detail::api_key_state<Principal>;
  if constexpr (!Ctx::template has_state<S>) {
    (void)api_key_parameter_without_layer<Principal>::ok;
    return nullptr;
  } else {
    S& st = ctx.template state<S>();
    if (st.options == nullptr)
      throw std::logic_error(
          "keel: keel::api_key<Principal> on a route no keel::auth::api_key_auth layer runs for");
    return &st;
  }
}
}  // namespace detail

template <class Principal>
struct extractor<api_key<Principal>> {
  template <class Ctx>
  static result<api_key<Principal>> extract(Ctx& ctx) {
    auto* st = detail::api_key_state_of<Principal>(ctx);
    if (st->principal) return api_key<Principal>(*st->principal);
    const auth::api_key_options& o = *st->options;
    std::string how = o.header.empty() ? "" : "the " + o.header + " header";
    if (!o.query.empty()) how.append(how.empty() ? "" : " or ").append("the " + o.query + " query parameter");
    http_error e(http::status::unauthorized, "an API key is required: send it in " + how, "unauthorized");
    e.with_header("WWW-Authenticate", auth::detail::api_key_challenge(o));
    return e;
  }
};

template <class Principal>
struct extractor<std::optional<api_key<Principal>>> {
  template <class Ctx>
  static std::optional<api_key<Principal>> extract(Ctx& ctx) {
    auto* st = detail::api_key_state_of<Principal>(ctx);
    if (st->principal) return api_key<Principal>(*st->principal);
    return std::nullopt;
  }
};

}  // namespace v0
}  // namespace keel
