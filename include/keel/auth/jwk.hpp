// JWT keys: keel::auth::jwt_key (one key bound to one algorithm: an HMAC secret, or an RSA, P-256 or Ed25519
// key pair or public key) and keel::auth::key_set (several keys found by "kid", one of them the signing key,
// for rotation). Keys load from PEM, from a JWK or a JWKS document (RFC 7517), or are generated.
//
//   auto keys = keel::auth::key_set::from_jwks(jwks_json);             // verify tokens an IdP issued
//   auto mine = keel::auth::jwt_key::hmac(keel::auth::jwt_alg::HS256, secret_bytes, "2026-05");
//   auto rsa = keel::auth::jwt_key::from_pem(keel::auth::jwt_alg::RS256, pem_text, "rsa-1");
//
// Loading throws keel::auth::key_error (with a jwt_errc) at configuration time; verification never throws.
#pragma once

#include "keel/config.hpp"
#include "keel/auth/detail/base64url.hpp"
#include "keel/auth/detail/evp.hpp"
#include "keel/auth/jwt_error.hpp"
#include "keel/detail/json_escape.hpp"
#include "keel/json/reader.hpp"

#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include <algorithm>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace keel {
inline namespace v0 {
namespace auth {

namespace detail {

// One JWK as JSON (RFC 7517 section 4, RFC 7518 section 6, RFC 8037 section 2). Unknown members (key_ops,
// x5c ...) are ignored; a known member given twice is refused by the JSON reader.
struct jwk_json {
  std::optional<std::string> kty, kid, alg, use, crv, x, y, n, e, d, p, q, dp, dq, qi, k;
};
struct jwks_json {
  std::vector<jwk_json> keys;
};

inline std::string jwk_field(const std::optional<std::string>& value, std::string_view name) {
  if (!value) throw key_error(jwt_errc::invalid_key, "JWK has no \"" + std::string(name) + "\"");
  auto bytes = base64url_decode(*value);
  if (!bytes || bytes->empty())
    throw key_error(jwt_errc::invalid_key, "JWK \"" + std::string(name) + "\" is not base64url");
  return std::move(*bytes);
}

// OSSL_PARAM integers are native-endian; JWK integers are big-endian.
inline std::string to_native_integer(std::string big_endian) {
  if constexpr (std::endian::native == std::endian::little)
    std::reverse(big_endian.begin(), big_endian.end());
  return big_endian;
}

inline pkey_ptr pkey_from_params(const char* type, int selection, OSSL_PARAM* params) {
  pkey_ctx_ptr ctx(EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr));
  EVP_PKEY* key = nullptr;
  if (!ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
      EVP_PKEY_fromdata(ctx.get(), &key, selection, params) != 1)
    throw key_error(jwt_errc::invalid_key, openssl_error_text());
  return pkey_ptr(key);
}

inline std::string bn_param(EVP_PKEY* key, const char* name) {
  BIGNUM* bn = nullptr;
  if (EVP_PKEY_get_bn_param(key, name, &bn) != 1)
    throw key_error(jwt_errc::invalid_key, openssl_error_text());
  std::string out(static_cast<std::size_t>(BN_num_bytes(bn)), '\0');
  BN_bn2bin(bn, reinterpret_cast<unsigned char*>(out.data()));
  BN_free(bn);
  return out;
}

inline bool looks_like_key_text(std::string_view secret) {
  if (secret.find("-----BEGIN") != std::string_view::npos) return true;
  const auto first = secret.find_first_not_of(" \t\r\n");
  return first != std::string_view::npos && secret[first] == '{' &&
         secret.find("\"kty\"") != std::string_view::npos;
}

inline void check_pkey_for(EVP_PKEY* key, jwt_alg alg) {
  switch (alg) {
    case jwt_alg::RS256:
    case jwt_alg::PS256:
      if (!EVP_PKEY_is_a(key, "RSA") && !(alg == jwt_alg::PS256 && EVP_PKEY_is_a(key, "RSA-PSS")))
        throw key_error(jwt_errc::invalid_key, std::string(to_string(alg)) + " needs an RSA key");
      if (EVP_PKEY_get_bits(key) < 2048)
        throw key_error(jwt_errc::weak_key, "RSA keys must have at least 2048 bits");
      return;
    case jwt_alg::ES256: {
      char group[64] = {};
      std::size_t length = 0;
      if (!EVP_PKEY_is_a(key, "EC") ||
          EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group, &length) !=
              1 ||
          (std::string_view(group) != "prime256v1" && std::string_view(group) != "P-256"))
        throw key_error(jwt_errc::invalid_key, "ES256 needs an EC key on P-256");
      return;
    }
    case jwt_alg::EdDSA:
      if (!EVP_PKEY_is_a(key, "ED25519"))
        throw key_error(jwt_errc::invalid_key, "EdDSA needs an Ed25519 key");
      return;
    default:
      throw key_error(jwt_errc::public_key_as_secret,
                      std::string(to_string(alg)) + " takes a secret, not an RSA/EC/OKP key");
  }
}

}  // namespace detail

class jwt_key {
 public:
  // An HMAC secret (raw bytes, at least as long as the hash: 32/48/64 bytes, RFC 7518 section 3.2). PEM or
  // JWK text is refused (public_key_as_secret): an RSA public key used as an HMAC secret is the classic
  // algorithm-confusion attack.
  static jwt_key hmac(jwt_alg alg, std::string_view secret, std::string kid = {}) {
    if (!is_hmac(alg))
      throw key_error(jwt_errc::invalid_key, std::string(to_string(alg)) + " is not an HMAC algorithm");
    if (detail::looks_like_key_text(secret))
      throw key_error(jwt_errc::public_key_as_secret, "PEM/JWK key text given as an HMAC secret");
    if (secret.size() < detail::hmac_size(alg))
      throw key_error(jwt_errc::weak_key, std::string(to_string(alg)) + " secrets need at least " +
                                              std::to_string(detail::hmac_size(alg)) + " bytes");
    auto s = std::make_shared<state>(alg, std::move(kid));
    s->secret.assign(secret.data(), secret.size());
    s->private_part = true;
    return jwt_key(std::move(s));
  }

  // A PEM private key (PKCS#8 or traditional), public key (SPKI) or certificate.
  static jwt_key from_pem(jwt_alg alg, std::string_view pem, std::string kid = {}) {
    if (is_hmac(alg)) throw key_error(jwt_errc::public_key_as_secret, "a PEM key cannot be an HMAC secret");
    std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())),
                                                  &BIO_free);
    EVP_PKEY* key = nullptr;
    bool is_private = false;
    if (pem.find("PRIVATE KEY-----") != std::string_view::npos) {
      key = PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr);
      is_private = true;
    } else if (pem.find("BEGIN CERTIFICATE-----") != std::string_view::npos) {
      if (X509* cert = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) {
        key = X509_get_pubkey(cert);
        X509_free(cert);
      }
    } else {
      key = PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr);
    }
    if (key == nullptr)
      throw key_error(jwt_errc::invalid_key, "unreadable PEM: " + detail::openssl_error_text());
    detail::pkey_ptr owned(key);
    return from_pkey(alg, std::move(owned), is_private, std::move(kid));
  }

  // One JWK. Its alg is the JWK's "alg", else `alg`, else implied by the key type when only one fits
  // (EC P-256: ES256; OKP Ed25519: EdDSA). With a "d" (or an oct "k") the key can sign.
  static jwt_key from_jwk(std::string_view json, std::optional<jwt_alg> alg = std::nullopt) {
    auto doc = json_io::read<detail::jwk_json>(json);
    if (!doc) throw key_error(jwt_errc::invalid_key, "JWK is not a valid JSON object");
    return from_jwk(*doc, alg);
  }

  // A new random key: RSA 2048 (RS256, PS256), P-256, Ed25519, or a hash-sized HMAC secret.
  static jwt_key generate(jwt_alg alg, std::string kid = {}) {
    if (is_hmac(alg)) {
      std::string secret(detail::hmac_size(alg), '\0');
      if (RAND_bytes(reinterpret_cast<unsigned char*>(secret.data()), static_cast<int>(secret.size())) != 1)
        throw key_error(jwt_errc::invalid_key, detail::openssl_error_text());
      auto key = hmac(alg, secret, std::move(kid));
      OPENSSL_cleanse(secret.data(), secret.size());
      return key;
    }
    EVP_PKEY* key = nullptr;
    if (alg == jwt_alg::ES256)
      key = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
    else if (alg == jwt_alg::EdDSA)
      key = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
    else
      key = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", std::size_t{2048});
    if (key == nullptr) throw key_error(jwt_errc::invalid_key, detail::openssl_error_text());
    return from_pkey(alg, detail::pkey_ptr(key), true, std::move(kid));
  }

  // An OpenSSL key you loaded yourself (ownership passes to the jwt_key).
  static jwt_key from_pkey(jwt_alg alg, detail::pkey_ptr key, bool has_private, std::string kid = {}) {
    detail::check_pkey_for(key.get(), alg);
    auto s = std::make_shared<state>(alg, std::move(kid));
    s->pkey = std::move(key);
    s->private_part = has_private;
    return jwt_key(std::move(s));
  }

  jwt_alg alg() const noexcept { return s_->alg; }
  std::string_view kid() const noexcept { return s_->kid; }
  bool can_sign() const noexcept { return s_->private_part; }
  // The same key under another kid (keys are immutable and share their material).
  jwt_key with_kid(std::string kid) const {
    auto s = std::make_shared<state>(s_->alg, std::move(kid));
    s->secret = s_->secret;
    if (s_->pkey) {
      EVP_PKEY_up_ref(s_->pkey.get());
      s->pkey.reset(s_->pkey.get());
    }
    s->private_part = s_->private_part;
    return jwt_key(std::move(s));
  }

  // The public JWK (JSON) with kid, alg and "use":"sig". HMAC secrets are never published: key_error.
  std::string public_jwk() const {
    std::string out = "{";
    auto member = [&out](std::string_view name, std::string_view value, bool encode) {
      if (out.size() > 1) out += ',';
      out += '"';
      out += name;
      out += "\":";
      if (encode) {
        out += '"';
        detail::base64url_append(out, value);
        out += '"';
      } else {
        keel::detail::append_json_string(out, value);
      }
    };
    EVP_PKEY* key = s_->pkey.get();
    switch (s_->alg) {
      case jwt_alg::RS256:
      case jwt_alg::PS256:
        member("kty", "RSA", false);
        member("n", detail::bn_param(key, OSSL_PKEY_PARAM_RSA_N), true);
        member("e", detail::bn_param(key, OSSL_PKEY_PARAM_RSA_E), true);
        break;
      case jwt_alg::ES256: {
        unsigned char point[65];
        std::size_t length = 0;
        if (EVP_PKEY_get_octet_string_param(key, OSSL_PKEY_PARAM_PUB_KEY, point, sizeof point, &length) !=
                1 ||
            length != 65 || point[0] != 0x04)
          throw key_error(jwt_errc::invalid_key, "cannot read the EC public point");
        member("kty", "EC", false);
        member("crv", "P-256", false);
        member("x", std::string_view(reinterpret_cast<const char*>(point + 1), 32), true);
        member("y", std::string_view(reinterpret_cast<const char*>(point + 33), 32), true);
        break;
      }
      case jwt_alg::EdDSA: {
        unsigned char raw[32];
        std::size_t length = sizeof raw;
        if (EVP_PKEY_get_raw_public_key(key, raw, &length) != 1 || length != 32)
          throw key_error(jwt_errc::invalid_key, "cannot read the Ed25519 public key");
        member("kty", "OKP", false);
        member("crv", "Ed25519", false);
        member("x", std::string_view(reinterpret_cast<const char*>(raw), 32), true);
        break;
      }
      default:
        throw key_error(jwt_errc::invalid_key, "an HMAC secret has no public JWK");
    }
    if (!s_->kid.empty()) member("kid", s_->kid, false);
    member("alg", to_string(s_->alg), false);
    member("use", "sig", false);
    out += '}';
    return out;
  }

  // The JWS signature of `signing_input` (raw r||s for ES256). Throws key_error(key_cannot_sign) for a
  // public key.
  std::string sign(std::string_view signing_input) const {
    if (!s_->private_part) throw key_error(jwt_errc::key_cannot_sign, "this key has no private part");
    if (is_hmac(s_->alg)) {
      unsigned char mac[64];
      if (!detail::hmac_compute(s_->id, s_->alg, s_->secret, signing_input, mac))
        throw key_error(jwt_errc::invalid_key, "HMAC failed");
      return std::string(reinterpret_cast<const char*>(mac), detail::hmac_size(s_->alg));
    }
    return detail::sign_with_pkey(s_->pkey.get(), s_->alg, signing_input);
  }

  // Checks a JWS signature over `signing_input`; HMACs are compared in constant time.
  bool verify(std::string_view signing_input, const unsigned char* signature,
              std::size_t length) const noexcept {
    if (is_hmac(s_->alg)) {
      unsigned char mac[64];
      const std::size_t size = detail::hmac_size(s_->alg);
      return length == size && detail::hmac_compute(s_->id, s_->alg, s_->secret, signing_input, mac) &&
             CRYPTO_memcmp(mac, signature, size) == 0;
    }
    return detail::verify_with_pkey(s_->pkey.get(), s_->alg, signing_input, signature, length);
  }

  // For the benchmarks: the HMAC secret (empty for other keys) and the OpenSSL key (null for HMAC).
  std::string_view secret_bytes() const noexcept { return s_->secret; }
  EVP_PKEY* pkey() const noexcept { return s_->pkey.get(); }

  static jwt_key from_jwk(const detail::jwk_json& jwk, std::optional<jwt_alg> fallback) {
    if (!jwk.kty) throw key_error(jwt_errc::invalid_key, "JWK has no \"kty\"");
    const std::string& kty = *jwk.kty;
    std::optional<jwt_alg> alg = fallback;
    if (jwk.alg) {
      if (*jwk.alg == "none") throw key_error(jwt_errc::invalid_key, "a key for alg \"none\"");
      alg = jwt_alg_from_string(*jwk.alg);
      if (!alg) throw key_error(jwt_errc::invalid_key, "unsupported JWK alg \"" + *jwk.alg + "\"");
    }
    std::string kid = jwk.kid.value_or("");
    if (kty == "oct") {
      if (!alg) throw key_error(jwt_errc::invalid_key, "an oct JWK needs an alg");
      auto secret = detail::jwk_field(jwk.k, "k");
      auto key = hmac(*alg, secret, std::move(kid));
      OPENSSL_cleanse(secret.data(), secret.size());
      return key;
    }
    if (alg && is_hmac(*alg))
      throw key_error(jwt_errc::public_key_as_secret, "a " + kty + " JWK cannot be an HMAC secret");
    const bool has_private = jwk.d.has_value();
    if (kty == "RSA") {
      if (!alg) throw key_error(jwt_errc::invalid_key, "an RSA JWK without \"alg\": say RS256 or PS256");
      std::vector<std::string> values;
      std::vector<OSSL_PARAM> params;
      values.reserve(8);
      auto add = [&](const char* name, const std::optional<std::string>& field, std::string_view json_name) {
        values.push_back(detail::to_native_integer(detail::jwk_field(field, json_name)));
        params.push_back(OSSL_PARAM_construct_BN(name, reinterpret_cast<unsigned char*>(values.back().data()),
                                                 values.back().size()));
      };
      add(OSSL_PKEY_PARAM_RSA_N, jwk.n, "n");
      add(OSSL_PKEY_PARAM_RSA_E, jwk.e, "e");
      if (has_private) {
        add(OSSL_PKEY_PARAM_RSA_D, jwk.d, "d");
        if (jwk.p && jwk.q && jwk.dp && jwk.dq && jwk.qi) {
          add(OSSL_PKEY_PARAM_RSA_FACTOR1, jwk.p, "p");
          add(OSSL_PKEY_PARAM_RSA_FACTOR2, jwk.q, "q");
          add(OSSL_PKEY_PARAM_RSA_EXPONENT1, jwk.dp, "dp");
          add(OSSL_PKEY_PARAM_RSA_EXPONENT2, jwk.dq, "dq");
          add(OSSL_PKEY_PARAM_RSA_COEFFICIENT1, jwk.qi, "qi");
        }
      }
      params.push_back(OSSL_PARAM_construct_end());
      auto key = detail::pkey_from_params("RSA", has_private ? EVP_PKEY_KEYPAIR : EVP_PKEY_PUBLIC_KEY,
                                          params.data());
      for (auto& v : values) OPENSSL_cleanse(v.data(), v.size());
      return from_pkey(*alg, std::move(key), has_private, std::move(kid));
    }
    if (kty == "EC") {
      if (jwk.crv != "P-256")
        throw key_error(jwt_errc::invalid_key, "unsupported EC curve (ES256 needs P-256)");
      if (!alg) alg = jwt_alg::ES256;
      const auto x = detail::jwk_field(jwk.x, "x"), y = detail::jwk_field(jwk.y, "y");
      if (x.size() != 32 || y.size() != 32)
        throw key_error(jwt_errc::invalid_key, "P-256 x and y are 32 bytes");
      std::string point = "\x04" + x + y;
      char group[] = "prime256v1";
      std::string d;
      std::vector<OSSL_PARAM> params{
          OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, group, 0),
          OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, point.data(), point.size())};
      if (has_private) {
        d = detail::jwk_field(jwk.d, "d");
        if (d.size() != 32) throw key_error(jwt_errc::invalid_key, "P-256 d is 32 bytes");
        d = detail::to_native_integer(std::move(d));
        params.push_back(OSSL_PARAM_construct_BN(OSSL_PKEY_PARAM_PRIV_KEY,
                                                 reinterpret_cast<unsigned char*>(d.data()), d.size()));
      }
      params.push_back(OSSL_PARAM_construct_end());
      auto key =
          detail::pkey_from_params("EC", has_private ? EVP_PKEY_KEYPAIR : EVP_PKEY_PUBLIC_KEY, params.data());
      OPENSSL_cleanse(d.data(), d.size());
      return from_pkey(*alg, std::move(key), has_private, std::move(kid));
    }
    if (kty == "OKP") {
      if (jwk.crv != "Ed25519")
        throw key_error(jwt_errc::invalid_key, "unsupported OKP curve (EdDSA needs Ed25519)");
      if (!alg) alg = jwt_alg::EdDSA;
      const auto x = detail::jwk_field(jwk.x, "x");
      if (x.size() != 32) throw key_error(jwt_errc::invalid_key, "Ed25519 x is 32 bytes");
      EVP_PKEY* key = nullptr;
      if (has_private) {
        auto d = detail::jwk_field(jwk.d, "d");
        if (d.size() != 32) throw key_error(jwt_errc::invalid_key, "Ed25519 d is 32 bytes");
        key = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr,
                                           reinterpret_cast<const unsigned char*>(d.data()), d.size());
        OPENSSL_cleanse(d.data(), d.size());
      } else {
        key = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr,
                                          reinterpret_cast<const unsigned char*>(x.data()), x.size());
      }
      if (key == nullptr) throw key_error(jwt_errc::invalid_key, detail::openssl_error_text());
      detail::pkey_ptr owned(key);
      if (has_private) {  // the public half derived from d must be the x the JWK states
        unsigned char derived[32];
        std::size_t length = sizeof derived;
        if (EVP_PKEY_get_raw_public_key(key, derived, &length) != 1 ||
            std::memcmp(derived, x.data(), 32) != 0)
          throw key_error(jwt_errc::invalid_key, "Ed25519 d does not match x");
      }
      return from_pkey(*alg, std::move(owned), has_private, std::move(kid));
    }
    throw key_error(jwt_errc::invalid_key, "unsupported JWK kty \"" + kty + "\"");
  }

 private:
  struct state {
    state(jwt_alg a, std::string k) : id(detail::next_key_id()), alg(a), kid(std::move(k)) {}
    state(const state&) = delete;
    state& operator=(const state&) = delete;
    ~state() { OPENSSL_cleanse(secret.data(), secret.size()); }
    std::uint64_t id;
    jwt_alg alg;
    std::string kid;
    std::string secret;  // HMAC
    detail::pkey_ptr pkey;
    bool private_part = false;
  };
  explicit jwt_key(std::shared_ptr<state> s) : s_(std::move(s)) {}
  std::shared_ptr<const state> s_;
};

// Keys found by kid. One of them signs (current(): the first key able to sign unless set_current chose);
// all verify. Rotation: add the new key, set_current(new kid), keep the old one until its tokens expired,
// then remove it. A key_set is not synchronised: build a new one and swap a std::shared_ptr<const key_set>
// to rotate while serving.
class key_set {
 public:
  key_set() = default;
  key_set(std::initializer_list<jwt_key> keys) {
    for (const auto& k : keys) add(k);
  }

  // Throws key_error(invalid_key) for a kid already in the set.
  key_set& add(jwt_key key) {
    if (!key.kid().empty() && find(key.kid()) != nullptr)
      throw key_error(jwt_errc::invalid_key, "duplicate kid \"" + std::string(key.kid()) + "\"");
    keys_.push_back(std::move(key));
    if (current_ == npos && keys_.back().can_sign()) current_ = keys_.size() - 1;
    return *this;
  }
  key_set& set_current(std::string_view kid) {
    const jwt_key* k = find(kid);
    if (k == nullptr) throw key_error(jwt_errc::invalid_key, "no key with kid \"" + std::string(kid) + "\"");
    if (!k->can_sign())
      throw key_error(jwt_errc::key_cannot_sign, "key \"" + std::string(kid) + "\" is public");
    current_ = static_cast<std::size_t>(k - keys_.data());
    return *this;
  }
  key_set& remove(std::string_view kid) {
    const jwt_key* k = find(kid);
    if (k == nullptr) return *this;
    const auto index = static_cast<std::size_t>(k - keys_.data());
    keys_.erase(keys_.begin() + static_cast<std::ptrdiff_t>(index));
    if (current_ == index)
      current_ = npos;
    else if (current_ != npos && current_ > index)
      --current_;
    return *this;
  }

  // The signing key, or null when the set has none.
  const jwt_key* current() const noexcept { return current_ == npos ? nullptr : &keys_[current_]; }
  const jwt_key* find(std::string_view kid) const noexcept {
    for (const auto& k : keys_)
      if (k.kid() == kid) return &k;
    return nullptr;
  }
  std::span<const jwt_key> keys() const noexcept { return keys_; }
  bool empty() const noexcept { return keys_.empty(); }

  // A JWKS document ({"keys":[...]}). Keys marked "use":"enc" and key types or curves keel does not verify
  // (P-384, X25519 ...) are skipped; a malformed key among the rest throws. `rsa_alg` is the alg of RSA keys
  // that do not state one.
  static key_set from_jwks(std::string_view json, std::optional<jwt_alg> rsa_alg = std::nullopt) {
    auto doc = json_io::read<detail::jwks_json>(json);
    if (!doc) throw key_error(jwt_errc::invalid_key, "JWKS is not a JSON object with a \"keys\" array");
    key_set set;
    for (const auto& jwk : doc->keys) {
      if (jwk.use && *jwk.use != "sig") continue;
      if (!jwk.kty) throw key_error(jwt_errc::invalid_key, "JWK has no \"kty\"");
      const std::string& kty = *jwk.kty;
      if (kty != "RSA" && kty != "EC" && kty != "OKP" && kty != "oct") continue;
      if (kty == "EC" && jwk.crv != "P-256") continue;
      if (kty == "OKP" && jwk.crv != "Ed25519") continue;
      if (jwk.alg && !jwt_alg_from_string(*jwk.alg)) continue;
      set.add(jwt_key::from_jwk(jwk, kty == "RSA" ? rsa_alg : std::nullopt));
    }
    return set;
  }

  // {"keys":[...]} with the public JWK of every asymmetric key (HMAC secrets are left out).
  std::string public_jwks() const {
    std::string out = "{\"keys\":[";
    bool first = true;
    for (const auto& k : keys_) {
      if (is_hmac(k.alg())) continue;
      if (!first) out += ',';
      first = false;
      out += k.public_jwk();
    }
    out += "]}";
    return out;
  }

 private:
  static constexpr std::size_t npos = static_cast<std::size_t>(-1);
  std::vector<jwt_key> keys_;
  std::size_t current_ = npos;
};

}  // namespace auth
}  // namespace v0
}  // namespace keel
