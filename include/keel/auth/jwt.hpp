// JSON Web Tokens (RFC 7519) in the JWS compact serialization (RFC 7515): sign a claims DTO, verify a token
// into one. Claims are plain aggregates read and written by keel's JSON layer (keel/json), like any DTO.
//
//   struct claims { std::string sub; std::vector<std::string> roles; std::int64_t iat, exp; };
//   auto key = keel::auth::jwt_key::hmac(keel::auth::jwt_alg::HS256, secret);
//   std::string token = keel::auth::sign(claims{"alice", {"admin"}, now, now + 900}, key);
//   auto r = keel::auth::verify<claims>(token, key, {.issuer = "", .leeway = 30s});
//   if (!r) return keel::auth::to_http_error(r.error());   // 401 + WWW-Authenticate: Bearer error=...
//   r->sub ...
//
// Verification order: size, segments, header (strict base64url, JSON without duplicate members, alg, kid,
// crit), key (by kid, then its alg must be the token's alg), signature, then the claims: exp, nbf, iss, aud
// (with leeway), and last the claims DTO. Nothing of the payload is parsed before the signature checked out.
#pragma once

#include "keel/config.hpp"
#include "keel/auth/detail/base64url.hpp"
#include "keel/auth/jwk.hpp"
#include "keel/auth/jwt_error.hpp"
#include "keel/error.hpp"
#include "keel/json/errors.hpp"
#include "keel/json/reader.hpp"
#include "keel/json/traits.hpp"
#include "keel/json/writer.hpp"

#include <simdjson.h>

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace keel {
inline namespace v0 {
namespace auth {

// What verify() checks besides the signature. Build it once (it is read, never copied, per token).
struct verify_options {
  std::string issuer{};                   // "iss" must equal it (not checked when empty)
  std::string audience{};                 // "aud" (a string or an array) must contain it (when not empty)
  std::chrono::seconds leeway{30};        // clock skew allowed for exp and nbf
  bool require_exp = true;                // a token without "exp" is refused (missing_exp)
  std::size_t max_token_size = 8 * 1024;  // longer tokens are refused before any decoding
  std::vector<std::string> critical_headers{};  // "crit" names this verifier understands (none by default)
  std::optional<std::int64_t> now{};  // Unix time to check against (tests); the system clock if unset
};

// Why verification failed. claim_errors lists the claims DTO's problems (claims_rejected only).
struct jwt_error {
  jwt_errc code{};
  std::vector<json_io::error> claim_errors;
};

// A verified token's claims, or the error. key() is the key that verified it (in the set you passed).
template <class T>
class jwt_result {
 public:
  jwt_result(jwt_errc code) : error_{code, {}} {}            // NOLINT(google-explicit-constructor)
  jwt_result(jwt_error error) : error_(std::move(error)) {}  // NOLINT(google-explicit-constructor)
  jwt_result(T value, const jwt_key* key) : value_(std::move(value)), key_(key) {}

  bool ok() const noexcept { return value_.has_value(); }
  explicit operator bool() const noexcept { return ok(); }
  T& value() & { return *value_; }
  const T& value() const& { return *value_; }
  T&& value() && { return std::move(*value_); }
  T& operator*() & { return *value_; }
  const T& operator*() const& { return *value_; }
  T* operator->() { return &*value_; }
  const T* operator->() const { return &*value_; }
  const jwt_key* key() const noexcept { return key_; }
  // Only when !ok().
  const jwt_error& error() const noexcept { return error_; }
  jwt_errc code() const noexcept { return error_.code; }

 private:
  std::optional<T> value_;
  const jwt_key* key_ = nullptr;
  jwt_error error_{};
};

// The framework error for a refused bearer token: 401, code "invalid_token", the reason as a field, and
// `WWW-Authenticate: Bearer error="invalid_token", error_description="<reason>"` (RFC 6750 section 3).
inline http_error to_http_error(const jwt_error& e) {
  const std::string reason(to_string(e.code));
  http_error err(http::status::unauthorized, "invalid bearer token", "invalid_token");
  err.add_field("header", "Authorization", reason);
  for (const auto& c : e.claim_errors) err.add_field("token", c.path, c.reason);
  err.with_header("WWW-Authenticate", "Bearer error=\"invalid_token\", error_description=\"" + reason + "\"");
  return err;
}

// "aud": one audience or several (RFC 7519 section 4.1.3). Reads a string or an array of strings; writes a
// string when there is one.
struct audience {
  std::vector<std::string> values;
  audience() = default;
  audience(std::string one) { values.push_back(std::move(one)); }  // NOLINT(google-explicit-constructor)
  audience(std::initializer_list<std::string> many) : values(many) {}
  bool contains(std::string_view name) const noexcept {
    for (const auto& v : values)
      if (v == name) return true;
    return false;
  }
  friend bool operator==(const audience&, const audience&) = default;
};

// The registered claims (RFC 7519 section 4.1), all optional. Usable as a claims type on its own; for your
// own claims, declare the ones you use as fields of your struct (keel's DTOs have no base classes):
//   struct claims { std::string sub; std::string username; std::int64_t iat, exp; std::string iss, aud; };
// exp, nbf, iss and aud are checked by verify() whatever your struct declares.
struct registered_claims {
  std::optional<std::string> iss{};
  std::optional<std::string> sub{};
  std::optional<audience> aud{};
  std::optional<std::int64_t> exp{};
  std::optional<std::int64_t> nbf{};
  std::optional<std::int64_t> iat{};
  std::optional<std::string> jti{};
};

// Seconds since the Unix epoch, for iat/exp.
inline std::int64_t unix_now() noexcept {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace auth
}  // namespace v0
}  // namespace keel

namespace keel {
inline namespace v0 {

template <>
struct json_traits<auth::audience> {
  using json_type = std::variant<std::string, std::vector<std::string>>;
  static json_type to_json(const auth::audience& a) {
    if (a.values.size() == 1) return a.values.front();
    return a.values;
  }
  static bool from_json(json_type&& j, auth::audience& out, std::string& reason) {
    if (auto* one = std::get_if<std::string>(&j)) {
      out.values.assign(1, std::move(*one));
    } else {
      out.values = std::move(std::get<1>(j));
      if (out.values.empty()) {
        reason = "an empty audience array";
        return false;
      }
    }
    return true;
  }
};

}  // namespace v0
}  // namespace keel

namespace keel {
inline namespace v0 {
namespace auth {
namespace detail {

// A reusable byte buffer with simdjson's padding after the data.
class padded_buffer {
 public:
  unsigned char* reserve(std::size_t size) {
    const std::size_t needed = size + simdjson::SIMDJSON_PADDING;
    if (needed > capacity_) {
      capacity_ = needed < 1024 ? 1024 : needed;
      data_ = std::make_unique<unsigned char[]>(capacity_);
    }
    return data_.get();
  }
  const char* chars() const noexcept { return reinterpret_cast<const char*>(data_.get()); }
  std::size_t capacity() const noexcept { return capacity_; }

 private:
  std::unique_ptr<unsigned char[]> data_;
  std::size_t capacity_ = 0;
};

struct jwt_thread_state {
  simdjson::ondemand::parser parser;
  padded_buffer header;
  padded_buffer payload;
};
inline jwt_thread_state& this_thread_jwt_state() {
  thread_local jwt_thread_state state;
  return state;
}

// Member names seen in one JSON object, to refuse duplicates (the views point into the parser's buffer).
class member_names {
 public:
  bool insert(std::string_view name) {
    for (std::size_t i = 0; i < count_; ++i)
      if (inline_[i] == name) return false;
    for (const auto& n : overflow_)
      if (n == name) return false;
    if (count_ < inline_.size())
      inline_[count_++] = name;
    else
      overflow_.push_back(name);
    return true;
  }
  bool contains(std::string_view name) const noexcept {
    for (std::size_t i = 0; i < count_; ++i)
      if (inline_[i] == name) return true;
    for (const auto& n : overflow_)
      if (n == name) return true;
    return false;
  }

 private:
  std::array<std::string_view, 24> inline_{};
  std::size_t count_ = 0;
  std::vector<std::string_view> overflow_;
};

// Decodes a base64url segment into buf (padded); the decoded size, or nullopt.
inline std::optional<std::size_t> decode_segment(std::string_view segment, padded_buffer& buf) {
  const auto size = base64url_decoded_size(segment.size());
  if (!size) return std::nullopt;
  return base64url_decode(segment, buf.reserve(*size));
}

inline bool at_document_end(simdjson::ondemand::document& doc) {
  const char* rest = nullptr;
  return doc.current_location().get(rest) == simdjson::OUT_OF_BOUNDS;
}

// The most members a JOSE header may have (RFC 7515 defines 11; typ, cty, kid and crit are the usual extras).
inline constexpr std::size_t max_header_members = 32;

struct parsed_header {
  std::string_view alg;
  std::string_view kid;
  bool has_kid = false;
};

// The header's alg, kid and crit; duplicates, wrong types and unknown crit names are refused.
inline std::optional<jwt_errc> parse_header(simdjson::ondemand::parser& parser, const padded_buffer& buf,
                                            std::size_t size, const verify_options& options,
                                            parsed_header& out) {
  using namespace simdjson;
  ondemand::document doc;
  ondemand::object object;
  if (parser.iterate(buf.chars(), size, buf.capacity()).get(doc) || doc.get_object().get(object))
    return jwt_errc::malformed_header;
  member_names names;
  std::array<std::string_view, 8> crit{};
  std::size_t crit_count = 0;
  bool has_crit = false, has_alg = false;
  std::size_t members = 0;
  for (auto field_result : object) {
    ondemand::field field;
    std::string_view key;
    if (std::move(field_result).get(field) || field.unescaped_key().get(key))
      return jwt_errc::malformed_header;
    // Read before any signature is checked, so its cost must stay flat: real headers have a handful of
    // members, and the duplicate check compares each with the ones before it.
    if (++members > max_header_members) return jwt_errc::malformed_header;
    if (!names.insert(key)) return jwt_errc::duplicate_key;
    if (key == "alg") {
      if (field.value().get_string().get(out.alg)) return jwt_errc::malformed_header;
      has_alg = true;
    } else if (key == "kid") {
      if (field.value().get_string().get(out.kid)) return jwt_errc::malformed_header;
      out.has_kid = true;
    } else if (key == "crit") {
      ondemand::array array;
      if (field.value().get_array().get(array)) return jwt_errc::malformed_header;
      has_crit = true;
      for (auto element : array) {
        std::string_view name;
        if (element.get_string().get(name)) return jwt_errc::malformed_header;
        if (crit_count == crit.size()) return jwt_errc::unsupported_crit;
        crit[crit_count++] = name;
      }
    }  // other members are skipped by the iteration (the signature covers them)
  }
  if (!at_document_end(doc)) return jwt_errc::malformed_header;
  if (!has_alg) return jwt_errc::malformed_header;
  if (has_crit) {
    // RFC 7515 section 4.1.11: not empty, no names the spec defines, each present and understood.
    if (crit_count == 0) return jwt_errc::unsupported_crit;
    for (std::size_t i = 0; i < crit_count; ++i) {
      const std::string_view name = crit[i];
      bool understood = false;
      for (const auto& c : options.critical_headers) understood = understood || c == name;
      if (!understood || !names.contains(name) || name == "alg" || name == "kid" || name == "typ" ||
          name == "cty" || name == "jku" || name == "jwk" || name == "x5u" || name == "x5c" || name == "crit")
        return jwt_errc::unsupported_crit;
    }
  }
  return std::nullopt;
}

inline std::optional<jwt_errc> read_numeric_date(simdjson::ondemand::value value,
                                                 std::optional<double>& out) {
  double d = 0;
  if (value.get_double().get(d)) return jwt_errc::malformed_claims;
  out = d;
  return std::nullopt;
}

// The registered claims the options ask about; duplicates anywhere at the top level are refused.
// `times`, when given, receives the token's exp and nbf (what a cache of verified tokens needs to know).
struct claim_times {
  std::optional<double> exp, nbf;
};
inline std::optional<jwt_errc> check_claims(simdjson::ondemand::parser& parser, const padded_buffer& buf,
                                            std::size_t size, const verify_options& options,
                                            claim_times* times = nullptr) {
  using namespace simdjson;
  ondemand::document doc;
  ondemand::object object;
  if (parser.iterate(buf.chars(), size, buf.capacity()).get(doc) || doc.get_object().get(object))
    return jwt_errc::malformed_claims;
  member_names names;
  std::optional<double> exp, nbf;
  bool issuer_ok = options.issuer.empty(), audience_ok = options.audience.empty();
  for (auto field_result : object) {
    ondemand::field field;
    std::string_view key;
    if (std::move(field_result).get(field) || field.unescaped_key().get(key))
      return jwt_errc::malformed_claims;
    if (!names.insert(key)) return jwt_errc::duplicate_key;
    if (key == "exp") {
      if (auto e = read_numeric_date(field.value(), exp)) return e;
    } else if (key == "nbf") {
      if (auto e = read_numeric_date(field.value(), nbf)) return e;
    } else if (key == "iat") {
      std::optional<double> iat;
      if (auto e = read_numeric_date(field.value(), iat)) return e;
    } else if (key == "iss") {
      std::string_view iss;
      if (field.value().get_string().get(iss)) return jwt_errc::malformed_claims;
      issuer_ok = issuer_ok || iss == options.issuer;
    } else if (key == "aud") {
      ondemand::value value = field.value();
      ondemand::json_type type;
      if (value.type().get(type)) return jwt_errc::malformed_claims;
      if (type == ondemand::json_type::string) {
        std::string_view aud;
        if (value.get_string().get(aud)) return jwt_errc::malformed_claims;
        audience_ok = audience_ok || aud == options.audience;
      } else if (type == ondemand::json_type::array) {
        ondemand::array array;
        if (value.get_array().get(array)) return jwt_errc::malformed_claims;
        for (auto element : array) {
          std::string_view aud;
          if (element.get_string().get(aud)) return jwt_errc::malformed_claims;
          audience_ok = audience_ok || aud == options.audience;
        }
      } else {
        return jwt_errc::malformed_claims;
      }
    }  // the claims DTO's reader checks the syntax of every other member
  }
  if (!at_document_end(doc)) return jwt_errc::malformed_claims;
  const double now = static_cast<double>(options.now ? *options.now : unix_now());
  const double leeway = static_cast<double>(options.leeway.count());
  if (exp) {
    if (now - leeway >= *exp) return jwt_errc::expired;
  } else if (options.require_exp) {
    return jwt_errc::missing_exp;
  }
  if (nbf && now + leeway < *nbf) return jwt_errc::not_yet_valid;
  if (!issuer_ok) return jwt_errc::bad_issuer;
  if (!audience_ok) return jwt_errc::bad_audience;
  if (times != nullptr) *times = claim_times{exp, nbf};
  return std::nullopt;
}

struct verified_jws {
  const jwt_key* key = nullptr;
  std::size_t payload_size = 0;  // the payload is in this_thread_jwt_state().payload
  claim_times times{};           // exp and nbf of a JWT (check_jwt_claims)
};

// Everything but the claims DTO. check_jwt_claims: the payload is a JWT claims set (false for raw JWS).
inline std::optional<jwt_errc> verify_compact(std::string_view token, std::span<const jwt_key> keys,
                                              const verify_options& options, bool check_jwt_claims,
                                              verified_jws& out) {
  if (token.size() > options.max_token_size) return jwt_errc::token_too_large;
  const auto dot1 = token.find('.');
  if (dot1 == std::string_view::npos) return jwt_errc::wrong_segment_count;
  const auto dot2 = token.find('.', dot1 + 1);
  if (dot2 == std::string_view::npos || token.find('.', dot2 + 1) != std::string_view::npos)
    return jwt_errc::wrong_segment_count;
  const std::string_view header_b64 = token.substr(0, dot1);
  const std::string_view payload_b64 = token.substr(dot1 + 1, dot2 - dot1 - 1);
  const std::string_view signature_b64 = token.substr(dot2 + 1);
  const std::string_view signing_input = token.substr(0, dot2);

  jwt_thread_state& state = this_thread_jwt_state();
  const auto header_size = decode_segment(header_b64, state.header);
  if (!header_size) return jwt_errc::bad_base64url;
  parsed_header header;
  if (auto e = parse_header(state.parser, state.header, *header_size, options, header)) return e;
  if (header.alg == "none") return jwt_errc::alg_none;
  const auto alg = jwt_alg_from_string(header.alg);
  if (!alg) return jwt_errc::unknown_alg;

  // Base64url checks of the other segments come before the key lookup: a malformed token is malformed
  // whatever key it names.
  const auto payload_size = base64url_decoded_size(payload_b64.size());
  const auto signature_size = base64url_decoded_size(signature_b64.size());
  if (!payload_size || !signature_size) return jwt_errc::bad_base64url;
  unsigned char signature[1024];
  if (*signature_size > sizeof signature) return jwt_errc::bad_signature;
  const auto signature_length = base64url_decode(signature_b64, signature);
  if (!signature_length) return jwt_errc::bad_base64url;

  // Candidates: the keys with the token's kid (keys without a kid stand in for any kid), or all without one.
  bool any_candidate = false, tried = false;
  const jwt_key* verified = nullptr;
  for (int pass = 0; pass < 2 && !any_candidate; ++pass) {
    for (const auto& key : keys) {
      const bool candidate =
          pass == 0 ? (!header.has_kid || key.kid() == header.kid) : (header.has_kid && key.kid().empty());
      if (!candidate) continue;
      any_candidate = true;
      if (key.alg() != *alg) continue;
      tried = true;
      if (key.verify(signing_input, signature, *signature_length)) {
        verified = &key;
        break;
      }
    }
  }
  if (!any_candidate) return jwt_errc::key_not_found;
  if (!tried) return jwt_errc::alg_mismatch;
  if (verified == nullptr) return jwt_errc::bad_signature;

  const auto decoded = base64url_decode(payload_b64, state.payload.reserve(*payload_size));
  if (!decoded) return jwt_errc::bad_base64url;
  if (check_jwt_claims) {
    if (auto e = check_claims(state.parser, state.payload, *decoded, options, &out.times)) return e;
  }
  out.key = verified;
  out.payload_size = *decoded;
  return std::nullopt;
}

inline void append_header(std::string& out, const jwt_key& key, bool jwt) {
  std::string header = "{\"alg\":\"";
  header += to_string(key.alg());
  header += '"';
  if (!key.kid().empty()) {
    header += ",\"kid\":";
    keel::detail::append_json_string(header, key.kid());
  }
  if (jwt) header += ",\"typ\":\"JWT\"";
  header += '}';
  base64url_append(out, header);
}

inline std::string finish_signature(std::string token, const jwt_key& key) {
  const std::string signature = key.sign(token);
  token += '.';
  base64url_append(token, signature);
  return token;
}

inline const jwt_key& signing_key(const key_set& keys) {
  const jwt_key* key = keys.current();
  if (key == nullptr) throw key_error(jwt_errc::key_cannot_sign, "the key set has no signing key");
  return *key;
}

}  // namespace detail
}  // namespace auth
}  // namespace v0
}  // namespace keel

namespace keel {
inline namespace v0 {
namespace auth {

// A signed JWT whose payload is `claims` as JSON; header {"alg":...,"kid":...,"typ":"JWT"}. Throws key_error
// when the key cannot sign. Set iat/exp in your claims (unix_now() + lifetime).
template <class Claims>
std::string sign(const Claims& claims, const jwt_key& key) {
  std::string payload;
  json_io::write(payload, claims);
  std::string token;
  token.reserve(64 + payload.size() * 4 / 3 + 700);
  detail::append_header(token, key, true);
  token += '.';
  detail::base64url_append(token, payload);
  return detail::finish_signature(std::move(token), key);
}

// Signs with the set's current key (its kid goes in the header).
template <class Claims>
std::string sign(const Claims& claims, const key_set& keys) {
  return sign(claims, detail::signing_key(keys));
}

// Verifies `token` against the keys and reads its claims into Claims (see the order at the top).
namespace detail {
// verify() that also reports the token's exp and nbf (keel/auth/bearer.hpp caches verified tokens).
template <class Claims>
jwt_result<Claims> verify_with_times(std::string_view token, std::span<const jwt_key> keys,
                                     const verify_options& options, claim_times& times) {
  verified_jws jws;
  if (auto e = verify_compact(token, keys, options, true, jws)) return *e;
  const padded_buffer& payload = this_thread_jwt_state().payload;
  auto claims = json_io::read<Claims>(payload.chars(), jws.payload_size, payload.capacity());
  if (!claims) return jwt_error{jwt_errc::claims_rejected, claims.errors()};
  times = jws.times;
  return jwt_result<Claims>(std::move(claims).value(), jws.key);
}
}  // namespace detail

template <class Claims>
jwt_result<Claims> verify(std::string_view token, std::span<const jwt_key> keys,
                          const verify_options& options = {}) {
  detail::verified_jws jws;
  if (auto e = detail::verify_compact(token, keys, options, true, jws)) return *e;
  const detail::padded_buffer& payload = detail::this_thread_jwt_state().payload;
  auto claims = json_io::read<Claims>(payload.chars(), jws.payload_size, payload.capacity());
  if (!claims) return jwt_error{jwt_errc::claims_rejected, claims.errors()};
  return jwt_result<Claims>(std::move(claims).value(), jws.key);
}
template <class Claims>
jwt_result<Claims> verify(std::string_view token, const key_set& keys, const verify_options& options = {}) {
  return verify<Claims>(token, keys.keys(), options);
}
template <class Claims>
jwt_result<Claims> verify(std::string_view token, const jwt_key& key, const verify_options& options = {}) {
  return verify<Claims>(token, std::span<const jwt_key>(&key, 1), options);
}

// JWS with any payload bytes (not a JWT: no "typ", no claim checks), e.g. the RFC 7515/8037 examples.
inline std::string sign_jws(std::string_view payload, const jwt_key& key) {
  std::string token;
  detail::append_header(token, key, false);
  token += '.';
  detail::base64url_append(token, payload);
  return detail::finish_signature(std::move(token), key);
}

// The payload of a JWS whose header and signature check out (exp/nbf/iss/aud are not looked at).
inline jwt_result<std::string> verify_jws(std::string_view token, std::span<const jwt_key> keys,
                                          const verify_options& options = {}) {
  detail::verified_jws jws;
  if (auto e = detail::verify_compact(token, keys, options, false, jws)) return *e;
  return jwt_result<std::string>(
      std::string(detail::this_thread_jwt_state().payload.chars(), jws.payload_size), jws.key);
}
inline jwt_result<std::string> verify_jws(std::string_view token, const jwt_key& key,
                                          const verify_options& options = {}) {
  return verify_jws(token, std::span<const jwt_key>(&key, 1), options);
}

}  // namespace auth
}  // namespace v0
}  // namespace keel
