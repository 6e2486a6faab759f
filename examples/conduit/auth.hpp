// Conduit's authentication: HS256 tokens (keel::auth::sign) carrying the user's id, verified by keel's
// jwt_bearer layer from `Authorization: Token <jwt>` (or `Bearer <jwt>`), and Argon2id password hashes on the
// worker pool. Handlers see `conduit::signed_in` (keel::bearer: 401 without a valid token) and
// `conduit::visitor` (optional bearer: anonymous without the header, 401 with a bad token).
#pragma once

#include "errors.hpp"

#include <keel.hpp>
#include <keel/auth.hpp>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

namespace conduit {

struct token_claims {
  std::int64_t uid = 0;
  std::int64_t iat = 0;
  std::int64_t exp = 0;
};

// The signing key, the token lifetime and the password-hashing cost: one service the handlers receive.
class authority {
 public:
  explicit authority(std::string_view secret, keel::auth::password_params passwords = {},
                     std::int64_t token_seconds = 60LL * 24 * 3600)
      : key_(keel::auth::jwt_key::hmac(keel::auth::jwt_alg::HS256, secret, "conduit")),
        passwords_(passwords),
        token_seconds_(token_seconds) {}

  std::string issue(std::int64_t user_id) const {
    const std::int64_t now = keel::auth::unix_now();
    return keel::auth::sign(token_claims{user_id, now, now + token_seconds_}, key_);
  }
  const keel::auth::password_params& passwords() const noexcept { return passwords_; }
  const keel::auth::jwt_key& key() const noexcept { return key_; }

  static keel::http_error unauthorized(std::string message) {
    keel::http_error e(keel::http::status::unauthorized, std::move(message));
    e.with_header("WWW-Authenticate", "Token");
    return e;
  }

 private:
  keel::auth::jwt_key key_;
  keel::auth::password_params passwords_;
  std::int64_t token_seconds_;
};

// The secret of a database without --jwt-secret: read from `path`, or 32 random bytes (hex) written there
// (mode 0600) the first time, so tokens stay valid across restarts.
inline std::string load_or_create_secret(const std::filesystem::path& path) {
  if (std::ifstream in{path}; in) {
    std::string secret;
    std::getline(in, secret);
    if (secret.size() >= 32) return secret;
  }
  std::ifstream random{"/dev/urandom", std::ios::binary};
  unsigned char bytes[32];
  if (!random.read(reinterpret_cast<char*>(bytes), sizeof bytes))
    throw std::runtime_error("conduit: cannot read /dev/urandom");
  static constexpr char hex[] = "0123456789abcdef";
  std::string secret;
  for (unsigned char b : bytes) {
    secret.push_back(hex[b >> 4]);
    secret.push_back(hex[b & 15]);
  }
  {
    std::ofstream out{path, std::ios::trunc};
    out << secret << '\n';
    if (!out) throw std::runtime_error("conduit: cannot write the token secret to " + path.string());
  }
  std::filesystem::permissions(path,
                               std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  return secret;
}

// Handler parameters: the caller's verified claims through keel::bearer (the jwt_bearer layer of
// bearer_layer() below reads `Authorization: Token <jwt>` or `Bearer <jwt>`). signed_in: 401 without a valid
// token; visitor: anonymous without credentials, still 401 with a bad token. The OpenAPI document takes its
// per-operation security from these types.
using signed_in = keel::bearer<token_claims>;
using visitor = keel::optional_bearer<token_claims>;

// The user id of a visitor, if signed in.
inline std::optional<std::int64_t> viewer_id(const visitor& me) {
  if (!me) return std::nullopt;
  return (*me)->uid;
}

// The app's layer that verifies tokens with `auth`'s key: RealWorld's word `Token`, and `Bearer` too (what
// many frontends and Swagger UI's Authorize send).
inline keel::auth::jwt_bearer<token_claims> bearer_layer(const authority& auth) {
  return keel::auth::jwt_bearer<token_claims>{
      auth.key(),
      {.verify = {}, .scheme = "Token", .also_scheme = "Bearer", .realm = "conduit", .cache = true}};
}

}  // namespace conduit
