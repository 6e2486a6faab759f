// OpenSSL 3 EVP plumbing for JOSE: owning pointers, digests fetched once, per-thread contexts, HMAC with a
// per-thread keyed context cache, ECDSA's JOSE form (raw r||s) to DER and back, and one-shot sign/verify.
#pragma once

#include "keel/config.hpp"
#include "keel/auth/jwt_error.hpp"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/params.h>
#include <openssl/rsa.h>

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>

namespace keel {
inline namespace v0 {
namespace auth {
namespace detail {

struct pkey_free {
  void operator()(EVP_PKEY* p) const noexcept { EVP_PKEY_free(p); }
};
struct md_ctx_free {
  void operator()(EVP_MD_CTX* p) const noexcept { EVP_MD_CTX_free(p); }
};
struct mac_ctx_free {
  void operator()(EVP_MAC_CTX* p) const noexcept { EVP_MAC_CTX_free(p); }
};
struct pkey_ctx_free {
  void operator()(EVP_PKEY_CTX* p) const noexcept { EVP_PKEY_CTX_free(p); }
};
using pkey_ptr = std::unique_ptr<EVP_PKEY, pkey_free>;
using md_ctx_ptr = std::unique_ptr<EVP_MD_CTX, md_ctx_free>;
using mac_ctx_ptr = std::unique_ptr<EVP_MAC_CTX, mac_ctx_free>;
using pkey_ctx_ptr = std::unique_ptr<EVP_PKEY_CTX, pkey_ctx_free>;

// The most recent OpenSSL error as text; empties the thread's error queue.
inline std::string openssl_error_text() {
  unsigned long code = ERR_get_error();
  std::string text = "OpenSSL error";
  if (code != 0) {
    char buf[256];
    ERR_error_string_n(code, buf, sizeof buf);
    text = buf;
  }
  ERR_clear_error();
  return text;
}

// SHA-256/384/512, fetched once per process (an explicit fetch spares the per-call name lookup).
inline const EVP_MD* digest_for(jwt_alg alg) noexcept {
  static EVP_MD* const sha256 = EVP_MD_fetch(nullptr, "SHA2-256", nullptr);
  static EVP_MD* const sha384 = EVP_MD_fetch(nullptr, "SHA2-384", nullptr);
  static EVP_MD* const sha512 = EVP_MD_fetch(nullptr, "SHA2-512", nullptr);
  switch (alg) {
    case jwt_alg::HS384:
      return sha384;
    case jwt_alg::HS512:
      return sha512;
    case jwt_alg::EdDSA:
      return nullptr;  // Ed25519 hashes internally
    default:
      return sha256;
  }
}

constexpr std::size_t hmac_size(jwt_alg alg) noexcept {
  return alg == jwt_alg::HS384 ? 48 : alg == jwt_alg::HS512 ? 64 : 32;
}
constexpr std::string_view hmac_digest_name(jwt_alg alg) noexcept {
  return alg == jwt_alg::HS384 ? "SHA2-384" : alg == jwt_alg::HS512 ? "SHA2-512" : "SHA2-256";
}

inline std::uint64_t next_key_id() noexcept {
  static std::atomic<std::uint64_t> counter{0};
  return ++counter;
}

// --- HMAC
// EVP_MAC_init with the key is the expensive part (it hashes the padded key into the inner and outer
// states). Each thread keeps a few keyed contexts, found by the key's process-unique id; re-initialising one
// without a key restarts it from those states. Ids are never reused, so a destroyed key's slot simply ages
// out.
struct hmac_thread_cache {
  struct slot {
    std::uint64_t key_id = 0;
    mac_ctx_ptr ctx;
  };
  std::array<slot, 8> slots;
  unsigned next = 0;
};

inline EVP_MAC* hmac_algorithm() noexcept {
  static EVP_MAC* const mac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
  return mac;
}

inline EVP_MAC_CTX* keyed_hmac_context(std::uint64_t key_id, jwt_alg alg, std::string_view secret) noexcept {
  thread_local hmac_thread_cache cache;
  for (auto& s : cache.slots) {
    if (s.key_id == key_id && s.ctx) {
      if (EVP_MAC_init(s.ctx.get(), nullptr, 0, nullptr) != 1) break;
      return s.ctx.get();
    }
  }
  auto& s = cache.slots[cache.next++ % cache.slots.size()];
  s.key_id = 0;
  s.ctx.reset(EVP_MAC_CTX_new(hmac_algorithm()));
  if (!s.ctx) return nullptr;
  char digest[16];
  const std::string_view name = hmac_digest_name(alg);
  std::memcpy(digest, name.data(), name.size());
  digest[name.size()] = '\0';
  OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
                         OSSL_PARAM_construct_end()};
  if (EVP_MAC_init(s.ctx.get(), reinterpret_cast<const unsigned char*>(secret.data()), secret.size(),
                   params) != 1) {
    s.ctx.reset();
    return nullptr;
  }
  s.key_id = key_id;
  return s.ctx.get();
}

// Writes hmac_size(alg) bytes to out; false on an OpenSSL failure.
inline bool hmac_compute(std::uint64_t key_id, jwt_alg alg, std::string_view secret, std::string_view input,
                         unsigned char* out) noexcept {
  EVP_MAC_CTX* ctx = keyed_hmac_context(key_id, alg, secret);
  std::size_t length = 0;
  if (ctx == nullptr ||
      EVP_MAC_update(ctx, reinterpret_cast<const unsigned char*>(input.data()), input.size()) != 1 ||
      EVP_MAC_final(ctx, out, &length, 64) != 1 || length != hmac_size(alg)) {
    ERR_clear_error();
    return false;
  }
  return true;
}

// The one-shot HMAC() of OpenSSL (for the benchmark's comparison; verification uses hmac_compute).
inline bool hmac_oneshot(jwt_alg alg, std::string_view secret, std::string_view input,
                         unsigned char* out) noexcept {
  unsigned int length = 0;
  const EVP_MD* md = alg == jwt_alg::HS384   ? EVP_sha384()
                     : alg == jwt_alg::HS512 ? EVP_sha512()
                                             : EVP_sha256();
  return HMAC(md, secret.data(), static_cast<int>(secret.size()),
              reinterpret_cast<const unsigned char*>(input.data()), input.size(), out, &length) != nullptr &&
         length == hmac_size(alg);
}

// --- ECDSA signatures: JOSE sends r||s, each left-padded to the curve size (RFC 7518 section 3.4); OpenSSL
// speaks DER (SEQUENCE { INTEGER r, INTEGER s }).
inline constexpr std::size_t es256_part = 32;
inline constexpr std::size_t es256_der_max = 2 + 2 * (2 + es256_part + 1);

// raw: 2 * es256_part bytes. Returns the DER length written to der (at least es256_der_max bytes).
inline std::size_t ecdsa_raw_to_der(const unsigned char* raw, unsigned char* der) noexcept {
  unsigned char* p = der + 2;
  for (int part = 0; part < 2; ++part) {
    const unsigned char* v = raw + part * es256_part;
    std::size_t n = es256_part;
    while (n > 1 && *v == 0) {  // minimal INTEGER: no leading zero bytes ...
      ++v;
      --n;
    }
    const bool pad = (*v & 0x80) != 0;  // ... except one that keeps it positive
    *p++ = 0x02;
    *p++ = static_cast<unsigned char>(n + (pad ? 1 : 0));
    if (pad) *p++ = 0x00;
    std::memcpy(p, v, n);
    p += n;
  }
  der[0] = 0x30;
  der[1] = static_cast<unsigned char>(p - der - 2);
  return static_cast<std::size_t>(p - der);
}

// Reads OpenSSL's DER signature into raw (2 * es256_part bytes). False when it is not one.
inline bool ecdsa_der_to_raw(const unsigned char* der, std::size_t length, unsigned char* raw) noexcept {
  if (length < 8 || der[0] != 0x30 || der[1] != length - 2) return false;
  std::size_t at = 2;
  for (int part = 0; part < 2; ++part) {
    if (at + 2 > length || der[at] != 0x02) return false;
    std::size_t n = der[at + 1];
    at += 2;
    if (n == 0 || at + n > length) return false;
    const unsigned char* v = der + at;
    at += n;
    while (n > 0 && *v == 0) {
      ++v;
      --n;
    }
    if (n > es256_part) return false;
    unsigned char* out = raw + part * es256_part;
    std::memset(out, 0, es256_part - n);
    std::memcpy(out + es256_part - n, v, n);
  }
  return at == length;
}

// --- signatures with EVP_PKEY (RS256, PS256, ES256, EdDSA)
inline EVP_MD_CTX* thread_md_context() noexcept {
  thread_local md_ctx_ptr ctx(EVP_MD_CTX_new());
  return ctx.get();
}

inline bool configure_padding(EVP_PKEY_CTX* pctx, jwt_alg alg) noexcept {
  if (alg != jwt_alg::PS256) return true;
  // RFC 7518 section 3.5: MGF1 with the same hash, salt as long as the hash.
  return EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) == 1 &&
         EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) == 1;
}

// The JOSE signature of input (raw r||s for ES256). Throws key_error on failure.
inline std::string sign_with_pkey(EVP_PKEY* key, jwt_alg alg, std::string_view input) {
  EVP_MD_CTX* ctx = thread_md_context();
  struct reset {
    EVP_MD_CTX* c;
    ~reset() { EVP_MD_CTX_reset(c); }
  } reset_on_exit{ctx};
  EVP_PKEY_CTX* pctx = nullptr;
  if (ctx == nullptr || EVP_DigestSignInit(ctx, &pctx, digest_for(alg), nullptr, key) != 1 ||
      !configure_padding(pctx, alg))
    throw key_error(jwt_errc::invalid_key, openssl_error_text());
  std::size_t length = 0;
  const auto* in = reinterpret_cast<const unsigned char*>(input.data());
  if (EVP_DigestSign(ctx, nullptr, &length, in, input.size()) != 1)
    throw key_error(jwt_errc::invalid_key, openssl_error_text());
  std::string signature(length, '\0');
  auto* out = reinterpret_cast<unsigned char*>(signature.data());
  if (EVP_DigestSign(ctx, out, &length, in, input.size()) != 1)
    throw key_error(jwt_errc::invalid_key, openssl_error_text());
  signature.resize(length);
  if (alg == jwt_alg::ES256) {
    std::string raw(2 * es256_part, '\0');
    if (!ecdsa_der_to_raw(out, length, reinterpret_cast<unsigned char*>(raw.data())))
      throw key_error(jwt_errc::invalid_key, "ECDSA signature is not DER");
    return raw;
  }
  return signature;
}

inline bool verify_with_pkey(EVP_PKEY* key, jwt_alg alg, std::string_view input,
                             const unsigned char* signature, std::size_t length) noexcept {
  unsigned char der[es256_der_max];
  if (alg == jwt_alg::ES256) {
    if (length != 2 * es256_part) return false;
    length = ecdsa_raw_to_der(signature, der);
    signature = der;
  }
  EVP_MD_CTX* ctx = thread_md_context();
  EVP_PKEY_CTX* pctx = nullptr;
  const bool ok = ctx != nullptr && EVP_DigestVerifyInit(ctx, &pctx, digest_for(alg), nullptr, key) == 1 &&
                  configure_padding(pctx, alg) &&
                  EVP_DigestVerify(ctx, signature, length,
                                   reinterpret_cast<const unsigned char*>(input.data()), input.size()) == 1;
  if (ctx != nullptr) EVP_MD_CTX_reset(ctx);
  if (!ok) ERR_clear_error();
  return ok;
}

}  // namespace detail
}  // namespace auth
}  // namespace v0
}  // namespace keel
