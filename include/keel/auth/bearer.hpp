// Bearer tokens: the keel::auth::jwt_bearer<Claims> layer (the keys and checks, configured once per app) and
// the keel::bearer<Claims> extractor (the verified claims, as a handler parameter).
//
//   struct claims { std::string sub; std::vector<std::string> roles; std::int64_t exp; };
//   auto api = keel::router{
//       keel::get<"/me">([](keel::bearer<claims> user) { return user->sub; }),            // 401 without a
//       token keel::get<"/feed">([](std::optional<keel::bearer<claims>> user) { ... }),          // anyone;
//       401 if invalid
//   };
//   keel::app{std::move(api)}.use(keel::auth::jwt_bearer<claims>{keys, {.verify = {.issuer = "me"}}});
//
// The layer does no work of its own: it tells the request which keys and options apply (one pointer). The
// token is read and verified when something asks for the claims: a keel::bearer<Claims> parameter, or a
// policy of .require<...>() (keel/auth/policy.hpp), whichever comes first; the others reuse the result.
//
// Answers (RFC 6750 section 3): no credentials -> 401 with `WWW-Authenticate: Bearer realm="api"` and no
// error code; a token that does not verify -> 401 with `error="invalid_token", error_description="<why>"`;
// both in keel's JSON error shape (codes "unauthorized" and "invalid_token").
//
// Verified tokens are cached per reactor thread (32 slots, keyed by the exact token text, per layer), so a
// client that sends the same token again costs a comparison instead of a signature check; an entry is used
// only while the token's exp/nbf (with the leeway) still allow it. bearer_options::cache = false turns it
// off.
#pragma once

#include "keel/config.hpp"
#include "keel/auth/jwk.hpp"
#include "keel/auth/jwt.hpp"
#include "keel/auth/jwt_error.hpp"
#include "keel/context.hpp"
#include "keel/error.hpp"
#include "keel/extract.hpp"
#include "keel/http/status.hpp"
#include "keel/router/layer_needs.hpp"

#include <time.h>

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

namespace keel {
inline namespace v0 {
namespace auth {

struct bearer_options {
  verify_options verify{};        // issuer, audience, leeway, ... (keel/auth/jwt.hpp)
  std::string scheme = "Bearer";  // the word before the token in Authorization ("Token" for RealWorld)
  std::string also_scheme{};  // a second word accepted as well ("" none): {.scheme = "Token", .also_scheme
                              // = "Bearer"}; challenges name `scheme`
  std::string realm = "api";  // the realm of the WWW-Authenticate challenge
  bool cache = true;          // keep verified tokens per thread (see above)
};

namespace detail {

struct bearer_config {
  key_set keys;
  bearer_options options;
  std::uint64_t id = 0;  // tells layers apart in the token cache
};

inline std::uint64_t next_bearer_id() noexcept {
  static std::atomic<std::uint64_t> next{0};
  return next.fetch_add(1, std::memory_order_relaxed) + 1;
}

// What a request carries for a jwt_bearer<Claims> layer: its configuration (set by the layer on the routes
// it runs for) and, once verified, the claims.
template <class Claims>
struct bearer_state {
  const bearer_config* config = nullptr;
  std::shared_ptr<const Claims> claims;
  bool checked = false;  // authenticate() ran: claims is the answer (null: missing or invalid)
  bool missing = false;  // ... and there were no credentials
  jwt_errc error{};      // ... or the token was refused for this reason
};

template <class T>
struct is_bearer_state : std::false_type {};
template <class C>
struct is_bearer_state<bearer_state<C>> : std::true_type {};

// What .require<...>() needs: the state of a jwt_bearer layer of any claims type.
struct any_bearer_state {};

// The bearer state among a context's states (void when there is none).
template <class States>
struct find_bearer_state {
  using type = void;
  static constexpr std::size_t count = 0;
};
template <class... Ss>
struct find_bearer_state<std::tuple<Ss...>> {
  static constexpr std::size_t count = (std::size_t{0} + ... + (is_bearer_state<Ss>::value ? 1 : 0));
  template <class First, class... Rest>
  static auto first(std::tuple<First, Rest...>*) {
    if constexpr (is_bearer_state<First>::value)
      return static_cast<First*>(nullptr);
    else
      return first(static_cast<std::tuple<Rest...>*>(nullptr));
  }
  static void* first(std::tuple<>*) { return nullptr; }
  using type = std::remove_pointer_t<decltype(first(static_cast<std::tuple<Ss...>*>(nullptr)))>;
};

inline bool iequals_ascii(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

// The credentials of an Authorization value for `scheme` (matched case-insensitively, RFC 9110 11.1):
// nullopt when the header is absent or names another scheme, "" when the scheme has no token.
inline std::optional<std::string_view> credentials_for(std::string_view header,
                                                       std::string_view scheme) noexcept {
  const std::size_t n = scheme.size();
  if (header.size() < n) return std::nullopt;
  // Clients send the scheme as registered ("Bearer"): compare bytes first, case-insensitively only then.
  if (std::memcmp(header.data(), scheme.data(), n) != 0 && !iequals_ascii({header.data(), n}, scheme))
    return std::nullopt;
  const char* p = header.data() + n;
  const char* end = header.data() + header.size();
  if (p == end) return std::string_view{};
  if (*p != ' ') return std::nullopt;  // "Bearerx": another scheme
  while (p != end && *p == ' ') ++p;
  while (p != end && (end[-1] == ' ' || end[-1] == '\t')) --end;
  return std::string_view(p, static_cast<std::size_t>(end - p));
}

// Verified tokens of one thread, for one claims type: direct-mapped on the signature's last bytes (random
// for every algorithm), compared on the whole token text.
template <class Claims>
struct token_cache {
  static constexpr std::size_t slot_bits = 5;
  static constexpr std::size_t max_token = 2048;
  struct entry {
    std::uint64_t owner = 0;  // bearer_config::id; 0: empty
    double valid_from = 0, valid_until = 0;
    std::string token;
    std::shared_ptr<const Claims> claims;
  };
  std::array<entry, std::size_t{1} << slot_bits> slots{};

  static token_cache& local() {
    thread_local token_cache cache;
    return cache;
  }
  static std::size_t slot_of(std::string_view token) noexcept {
    std::uint64_t tail = 0;
    std::memcpy(&tail, token.data() + token.size() - sizeof tail, sizeof tail);
    return static_cast<std::size_t>((tail * 0x9E3779B97F4A7C15ull) >> (64 - slot_bits));
  }
};

// The current second for cached tokens: CLOCK_REALTIME_COARSE (vDSO, lags a scheduler tick at most).
inline double bearer_now(const verify_options& o) noexcept {
  if (o.now) return static_cast<double>(*o.now);
  timespec now{};
  clock_gettime(CLOCK_REALTIME_COARSE, &now);
  return static_cast<double>(now.tv_sec);
}

// Verifies the request's token once (the answer stays in `st`). Returns the claims, or null with st.missing
// or st.error saying why.
template <class Claims>
const std::shared_ptr<const Claims>& authenticate(const request_context& ctx, bearer_state<Claims>& st) {
  if (st.checked) return st.claims;
  st.checked = true;
  const bearer_config& config = *st.config;
  const std::string_view header = ctx.request().header("Authorization");
  auto token = credentials_for(header, config.options.scheme);
  if (!token && !config.options.also_scheme.empty())
    token = credentials_for(header, config.options.also_scheme);
  if (!token) {
    st.missing = true;
    return st.claims;
  }
  if (token->empty()) {
    st.error = jwt_errc::wrong_segment_count;
    return st.claims;
  }
  const verify_options& vo = config.options.verify;
  const bool cacheable =
      config.options.cache && token->size() >= 8 && token->size() <= token_cache<Claims>::max_token;
  if (cacheable) {
    auto& e = token_cache<Claims>::local().slots[token_cache<Claims>::slot_of(*token)];
    if (e.owner == config.id && e.token.size() == token->size() &&
        std::memcmp(e.token.data(), token->data(), token->size()) == 0) {
      const double now = bearer_now(vo);
      if (now >= e.valid_from && now < e.valid_until) {
        st.claims = e.claims;
        return st.claims;
      }
    }
  }
  claim_times times;
  auto r = detail::verify_with_times<Claims>(*token, config.keys.keys(), vo, times);
  if (!r) {
    st.error = r.code();
    return st.claims;
  }
  st.claims = std::make_shared<const Claims>(std::move(r).value());
  if (cacheable) {
    auto& e = token_cache<Claims>::local().slots[token_cache<Claims>::slot_of(*token)];
    const double leeway = static_cast<double>(vo.leeway.count());
    e.owner = config.id;
    e.token.assign(token->data(), token->size());
    e.claims = st.claims;
    e.valid_from = times.nbf ? *times.nbf - leeway : -std::numeric_limits<double>::infinity();
    e.valid_until = times.exp ? *times.exp + leeway : std::numeric_limits<double>::infinity();
  }
  return st.claims;
}

// `<scheme> realm="<realm>"[, error="<error>", error_description="<description>"][, scope="<scope>"]`
inline std::string bearer_challenge(const bearer_options& o, std::string_view error = {},
                                    std::string_view description = {}, std::string_view scope = {}) {
  std::string c = o.scheme;
  c.append(" realm=\"").append(o.realm).push_back('"');
  auto attribute = [&c](std::string_view name, std::string_view value) {
    c.append(", ").append(name).append("=\"");
    for (char ch : value) {
      if (ch == '"' || ch == '\\') c.push_back('\\');
      c.push_back(ch);
    }
    c.push_back('"');
  };
  if (!error.empty()) attribute("error", error);
  if (!description.empty()) attribute("error_description", description);
  if (!scope.empty()) attribute("scope", scope);
  return c;
}

// The 401 for a request the bearer state says was not authenticated.
template <class Claims>
http_error unauthenticated_error(const bearer_state<Claims>& st) {
  const bearer_options& o = st.config->options;
  if (st.missing) {
    http_error e(http::status::unauthorized,
                 "authentication required: send the header Authorization: " + o.scheme + " <token>",
                 "unauthorized");
    e.with_header("WWW-Authenticate", bearer_challenge(o));
    return e;
  }
  const std::string_view why = to_string(st.error);
  http_error e(http::status::unauthorized, "invalid token: " + std::string(why), "invalid_token");
  e.add_field("header", "Authorization", std::string(why));
  e.with_header("WWW-Authenticate", bearer_challenge(o, "invalid_token", why));
  return e;
}

template <class Claims>
[[noreturn]] void no_bearer_layer_on_route() {
  throw std::logic_error(
      "keel: keel::bearer<Claims> or .require<...>() on a route that no keel::auth::jwt_bearer<Claims> layer "
      "runs for: add the layer to the app (.use(...)) rather than to another group");
}

}  // namespace detail

// The layer: `app.use(keel::auth::jwt_bearer<claims>{keys, options})` (or a group's or a route's .use).
// Copies share one configuration.
template <class Claims>
class jwt_bearer {
 public:
  using claims_type = Claims;
  using state = detail::bearer_state<Claims>;

  explicit jwt_bearer(key_set keys, bearer_options options = {})
      : config_(std::make_shared<const detail::bearer_config>(
            detail::bearer_config{std::move(keys), std::move(options), detail::next_bearer_id()})) {}
  explicit jwt_bearer(const jwt_key& key, bearer_options options = {})
      : jwt_bearer(key_set{key}, std::move(options)) {}

  template <class Ctx>
  void before(Ctx& ctx) const {
    ctx.template state<state>().config = config_.get();
  }

  const key_set& keys() const noexcept { return config_->keys; }
  const bearer_options& options() const noexcept { return config_->options; }

 private:
  std::shared_ptr<const detail::bearer_config> config_;
};

}  // namespace auth
}  // namespace v0
}  // namespace keel

namespace keel {
inline namespace v0 {

template <class S>
struct state_satisfies<auth::detail::any_bearer_state, S> : auth::detail::is_bearer_state<S> {};

// A handler parameter: the verified claims of the request's bearer token (401 when there is none or it does
// not verify). `user->sub`, `*user`, `user.claims()`. std::optional<keel::bearer<Claims>>: empty when the
// request has no credentials, still 401 when it has a bad token. Like the other extractors it is valid for
// the request (coroutine handlers included); shared() gives the claims to keep beyond it.
template <class Claims>
class bearer {
 public:
  using claims_type = Claims;
  // For the OpenAPI generator: this operation needs a bearer token.
  static constexpr std::string_view keel_security = "bearer";
  // For the router's compile-time check: a jwt_bearer<Claims> layer must run for the route.
  using keel_needs_state = auth::detail::bearer_state<Claims>;

  explicit bearer(const std::shared_ptr<const Claims>& claims) noexcept : claims_(&claims) {}

  const Claims& claims() const noexcept { return **claims_; }
  const Claims& operator*() const noexcept { return **claims_; }
  const Claims* operator->() const noexcept { return claims_->get(); }
  // The claims, shared: they may outlive the request (a background task). Call it while the request runs.
  std::shared_ptr<const Claims> shared() const noexcept { return *claims_; }

 private:
  const std::shared_ptr<const Claims>* claims_;  // the request's bearer state holds them
};

template <class Claims>
using optional_bearer = std::optional<bearer<Claims>>;

namespace detail {
template <class Claims>
struct bearer_parameter_without_layer {
  static_assert(
      sizeof(Claims) == 0,
      "keel: this handler takes keel::bearer<Claims>, but no keel::auth::jwt_bearer<Claims> layer is in "
      "the app (the claims type is shown): add .use(keel::auth::jwt_bearer<Claims>{keys, options}) to "
      "the app (#include <keel/auth.hpp>)");
  static constexpr bool ok = false;
};

template <class Claims, class Ctx>
auth::detail::bearer_state<Claims>* bearer_state_of(Ctx& ctx) {
  using S = auth::detail::bearer_state<Claims>;
  if constexpr (!Ctx::template has_state<S>) {
    (void)bearer_parameter_without_layer<Claims>::ok;
    return nullptr;
  } else {
    S& st = ctx.template state<S>();
    if (st.config == nullptr) auth::detail::no_bearer_layer_on_route<Claims>();
    return &st;
  }
}
}  // namespace detail

template <class Claims>
struct extractor<bearer<Claims>> {
  template <class Ctx>
  static result<bearer<Claims>> extract(Ctx& ctx) {
    auto* st = detail::bearer_state_of<Claims>(ctx);
    const auto& claims = auth::detail::authenticate(ctx, *st);
    if (!claims) return auth::detail::unauthenticated_error(*st);
    return bearer<Claims>(claims);
  }
};

template <class Claims>
struct extractor<std::optional<bearer<Claims>>> {
  template <class Ctx>
  static result<std::optional<bearer<Claims>>> extract(Ctx& ctx) {
    auto* st = detail::bearer_state_of<Claims>(ctx);
    const auto& claims = auth::detail::authenticate(ctx, *st);
    if (claims) return std::optional<bearer<Claims>>(bearer<Claims>(claims));
    if (st->missing) return std::optional<bearer<Claims>>();
    return auth::detail::unauthenticated_error(*st);
  }
};

}  // namespace v0
}  // namespace keel
