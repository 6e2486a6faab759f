// Small OpenSSL 3 helpers for sessions, CSRF and refresh tokens: random tokens, SHA-256, HMAC-SHA256,
// AES-256-GCM and constant-time comparison.
#pragma once

#include "keel/config.hpp"
#include "keel/auth/detail/base64url.hpp"

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include <cstddef>
#include <cstring>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace keel {
inline namespace v0 {
namespace auth {
namespace detail {

// `n` bytes from OpenSSL's CSPRNG. Throws std::runtime_error when it has no entropy (never in practice).
inline void random_bytes(unsigned char* out, std::size_t n) {
  if (RAND_bytes(out, static_cast<int>(n)) != 1) {
    ERR_clear_error();
    throw std::runtime_error("keel::auth: the random number generator failed");
  }
}

// A random token of `bytes` random bytes, base64url without padding (32 bytes: 43 characters, 256 bits).
inline std::string random_token(std::size_t bytes = 32) {
  unsigned char buf[64];
  if (bytes > sizeof buf) bytes = sizeof buf;
  random_bytes(buf, bytes);
  std::string out;
  base64url_append(out, std::string_view(reinterpret_cast<const char*>(buf), bytes));
  OPENSSL_cleanse(buf, sizeof buf);
  return out;
}

// Constant-time equality (the time depends on the lengths only).
inline bool constant_time_equals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  if (a.empty()) return true;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

// SHA-256 of `in` into out[32].
inline void sha256(std::string_view in, unsigned char* out) {
  unsigned int length = 0;
  if (EVP_Digest(in.data(), in.size(), out, &length, EVP_sha256(), nullptr) != 1 || length != 32) {
    ERR_clear_error();
    throw std::runtime_error("keel::auth: SHA-256 failed");
  }
}

// base64url(SHA-256(in)): how session ids and refresh tokens are stored (a leaked table holds no usable
// token).
inline std::string sha256_base64url(std::string_view in) {
  unsigned char digest[32];
  sha256(in, digest);
  std::string out;
  base64url_append(out, std::string_view(reinterpret_cast<const char*>(digest), sizeof digest));
  return out;
}

struct cipher_ctx_free {
  void operator()(EVP_CIPHER_CTX* p) const noexcept { EVP_CIPHER_CTX_free(p); }
};
struct mac_ctx_deleter {
  void operator()(EVP_MAC_CTX* p) const noexcept { EVP_MAC_CTX_free(p); }
};

// HMAC-SHA256 of the concatenation of `a` and `b` with `key`, into out[32].
inline void hmac_sha256(std::string_view key, std::string_view a, std::string_view b, unsigned char* out) {
  static EVP_MAC* const mac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
  std::unique_ptr<EVP_MAC_CTX, mac_ctx_deleter> ctx(mac != nullptr ? EVP_MAC_CTX_new(mac) : nullptr);
  char digest[] = "SHA2-256";
  OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string("digest", digest, 0), OSSL_PARAM_construct_end()};
  std::size_t length = 0;
  if (!ctx ||
      EVP_MAC_init(ctx.get(), reinterpret_cast<const unsigned char*>(key.data()), key.size(), params) != 1 ||
      EVP_MAC_update(ctx.get(), reinterpret_cast<const unsigned char*>(a.data()), a.size()) != 1 ||
      EVP_MAC_update(ctx.get(), reinterpret_cast<const unsigned char*>(b.data()), b.size()) != 1 ||
      EVP_MAC_final(ctx.get(), out, &length, 32) != 1 || length != 32) {
    ERR_clear_error();
    throw std::runtime_error("keel::auth: HMAC-SHA256 failed");
  }
}

inline constexpr std::size_t gcm_nonce_bytes = 12;
inline constexpr std::size_t gcm_tag_bytes = 16;

// AES-256-GCM: returns nonce (12 random bytes) || ciphertext || tag (16 bytes). `key` must be 32 bytes.
inline std::string aes256gcm_seal(std::string_view key, std::string_view plaintext, std::string_view aad) {
  std::unique_ptr<EVP_CIPHER_CTX, cipher_ctx_free> ctx(EVP_CIPHER_CTX_new());
  std::string out(gcm_nonce_bytes + plaintext.size() + gcm_tag_bytes, '\0');
  auto* o = reinterpret_cast<unsigned char*>(out.data());
  random_bytes(o, gcm_nonce_bytes);
  int n = 0;
  const auto* k = reinterpret_cast<const unsigned char*>(key.data());
  bool ok = ctx && key.size() == 32 &&
            EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, nullptr, nullptr) == 1 &&
            EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_IVLEN, gcm_nonce_bytes, nullptr) == 1 &&
            EVP_EncryptInit_ex(ctx.get(), nullptr, nullptr, k, o) == 1 &&
            EVP_EncryptUpdate(ctx.get(), nullptr, &n, reinterpret_cast<const unsigned char*>(aad.data()),
                              static_cast<int>(aad.size())) == 1 &&
            EVP_EncryptUpdate(ctx.get(), o + gcm_nonce_bytes, &n,
                              reinterpret_cast<const unsigned char*>(plaintext.data()),
                              static_cast<int>(plaintext.size())) == 1;
  int tail = 0;
  ok = ok && EVP_EncryptFinal_ex(ctx.get(), o + gcm_nonce_bytes + n, &tail) == 1 &&
       EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, gcm_tag_bytes,
                           o + gcm_nonce_bytes + plaintext.size()) == 1;
  if (!ok) {
    ERR_clear_error();
    throw std::runtime_error("keel::auth: AES-256-GCM encryption failed");
  }
  return out;
}

// Opens what aes256gcm_seal made; nullopt when the tag does not verify (wrong key, tampered, truncated).
inline std::optional<std::string> aes256gcm_open(std::string_view key, std::string_view sealed,
                                                 std::string_view aad) {
  if (key.size() != 32 || sealed.size() < gcm_nonce_bytes + gcm_tag_bytes) return std::nullopt;
  std::unique_ptr<EVP_CIPHER_CTX, cipher_ctx_free> ctx(EVP_CIPHER_CTX_new());
  const auto* s = reinterpret_cast<const unsigned char*>(sealed.data());
  const std::size_t length = sealed.size() - gcm_nonce_bytes - gcm_tag_bytes;
  std::string out(length, '\0');
  auto* o = reinterpret_cast<unsigned char*>(out.data());
  unsigned char tag[gcm_tag_bytes];
  std::memcpy(tag, s + gcm_nonce_bytes + length, gcm_tag_bytes);
  int n = 0, tail = 0;
  const bool ok =
      ctx && EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, nullptr, nullptr) == 1 &&
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_IVLEN, gcm_nonce_bytes, nullptr) == 1 &&
      EVP_DecryptInit_ex(ctx.get(), nullptr, nullptr, reinterpret_cast<const unsigned char*>(key.data()),
                         s) == 1 &&
      EVP_DecryptUpdate(ctx.get(), nullptr, &n, reinterpret_cast<const unsigned char*>(aad.data()),
                        static_cast<int>(aad.size())) == 1 &&
      EVP_DecryptUpdate(ctx.get(), o, &n, s + gcm_nonce_bytes, static_cast<int>(length)) == 1 &&
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, gcm_tag_bytes, tag) == 1 &&
      EVP_DecryptFinal_ex(ctx.get(), o + n, &tail) == 1;
  if (!ok) {
    ERR_clear_error();
    OPENSSL_cleanse(out.data(), out.size());
    return std::nullopt;
  }
  return out;
}

}  // namespace detail
}  // namespace auth
}  // namespace v0
}  // namespace keel
