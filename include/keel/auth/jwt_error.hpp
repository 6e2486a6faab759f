// The JOSE algorithms keel signs and verifies, and the error codes of JWT verification and key loading.
#pragma once

#include "keel/config.hpp"

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace keel {
inline namespace v0 {
namespace auth {

// A key is bound to exactly one of these (RFC 7518 section 3.1, RFC 8037 section 3.1). "none" is not one.
enum class jwt_alg : std::uint8_t { HS256, HS384, HS512, RS256, PS256, ES256, EdDSA };

constexpr std::string_view to_string(jwt_alg alg) noexcept {
  switch (alg) {
    case jwt_alg::HS256:
      return "HS256";
    case jwt_alg::HS384:
      return "HS384";
    case jwt_alg::HS512:
      return "HS512";
    case jwt_alg::RS256:
      return "RS256";
    case jwt_alg::PS256:
      return "PS256";
    case jwt_alg::ES256:
      return "ES256";
    case jwt_alg::EdDSA:
      return "EdDSA";
  }
  return "?";
}

constexpr std::optional<jwt_alg> jwt_alg_from_string(std::string_view name) noexcept {
  for (auto alg : {jwt_alg::HS256, jwt_alg::HS384, jwt_alg::HS512, jwt_alg::RS256, jwt_alg::PS256,
                   jwt_alg::ES256, jwt_alg::EdDSA})
    if (to_string(alg) == name) return alg;
  return std::nullopt;
}

constexpr bool is_hmac(jwt_alg alg) noexcept {
  return alg == jwt_alg::HS256 || alg == jwt_alg::HS384 || alg == jwt_alg::HS512;
}

// Why a token or a key was refused. Each refusal has its own code, so logs and tests can tell them apart.
enum class jwt_errc : std::uint8_t {
  // the token's shape
  token_too_large = 1,  // longer than verify_options::max_token_size
  wrong_segment_count,  // not header.payload.signature
  bad_base64url,        // '=' padding, a character outside the alphabet, non-zero trailing bits
  malformed_header,     // the header is not a JSON object, or alg/kid/crit have the wrong type
  malformed_claims,     // the payload is not a JSON object, or exp/nbf/iat/iss/aud have the wrong type
  duplicate_key,        // a member name appears twice in the header or the claims
  // the header
  alg_none,          // "alg":"none" (an unsecured JWS): never accepted
  unknown_alg,       // an alg keel does not implement
  alg_mismatch,      // the token's alg is not the alg its key is bound to (algorithm confusion)
  key_not_found,     // no key with the token's kid (or, without a kid, none for its alg)
  unsupported_crit,  // a "crit" header this verifier was not told it understands
  // the signature
  bad_signature,
  // the registered claims
  expired,          // exp (plus leeway) has passed
  not_yet_valid,    // nbf is still ahead (beyond leeway)
  missing_exp,      // verify_options::require_exp and the token has no exp
  bad_issuer,       // iss differs from verify_options::issuer (or is missing)
  bad_audience,     // aud does not name verify_options::audience (or is missing)
  claims_rejected,  // the claims did not read into the claims type (json_io errors attached)
  // keys (key_error)
  invalid_key,           // unreadable PEM/JWK, wrong key type or curve for the alg
  public_key_as_secret,  // PEM or JWK text of an RSA/EC/OKP key given as an HMAC secret
  weak_key,              // HMAC secret shorter than the hash, RSA modulus under 2048 bits
  key_cannot_sign,       // signing with a public key
};

constexpr std::string_view to_string(jwt_errc code) noexcept {
  switch (code) {
    case jwt_errc::token_too_large:
      return "token_too_large";
    case jwt_errc::wrong_segment_count:
      return "wrong_segment_count";
    case jwt_errc::bad_base64url:
      return "bad_base64url";
    case jwt_errc::malformed_header:
      return "malformed_header";
    case jwt_errc::malformed_claims:
      return "malformed_claims";
    case jwt_errc::duplicate_key:
      return "duplicate_key";
    case jwt_errc::alg_none:
      return "alg_none";
    case jwt_errc::unknown_alg:
      return "unknown_alg";
    case jwt_errc::alg_mismatch:
      return "alg_mismatch";
    case jwt_errc::key_not_found:
      return "key_not_found";
    case jwt_errc::unsupported_crit:
      return "unsupported_crit";
    case jwt_errc::bad_signature:
      return "bad_signature";
    case jwt_errc::expired:
      return "expired";
    case jwt_errc::not_yet_valid:
      return "not_yet_valid";
    case jwt_errc::missing_exp:
      return "missing_exp";
    case jwt_errc::bad_issuer:
      return "bad_issuer";
    case jwt_errc::bad_audience:
      return "bad_audience";
    case jwt_errc::claims_rejected:
      return "claims_rejected";
    case jwt_errc::invalid_key:
      return "invalid_key";
    case jwt_errc::public_key_as_secret:
      return "public_key_as_secret";
    case jwt_errc::weak_key:
      return "weak_key";
    case jwt_errc::key_cannot_sign:
      return "key_cannot_sign";
  }
  return "unknown";
}

// Thrown by key loading and signing (configuration time), never by verification, which returns errors.
class key_error : public std::runtime_error {
 public:
  key_error(jwt_errc code, const std::string& message)
      : std::runtime_error("keel::auth: " + std::string(to_string(code)) + ": " + message), code_(code) {}
  jwt_errc code() const noexcept { return code_; }

 private:
  jwt_errc code_;
};

}  // namespace auth
}  // namespace v0
}  // namespace keel
