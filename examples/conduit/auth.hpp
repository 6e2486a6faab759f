// Conduit's authentication: HS256 tokens (keel::auth::sign / verify) carrying the user's id, read from
// `Authorization: Token <jwt>` (or `Bearer <jwt>`), and Argon2id password hashes on the worker pool.
// Self-contained so it can be swapped for keel::bearer<Claims> once that exists: handlers only see
// `conduit::signed_in` (required: 401 without a valid token) and `conduit::visitor` (optional: anonymous
// without the header, 401 with a bad token).
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
  // The user id of a valid token, else the 401 to answer with.
  keel::result<std::int64_t> check(std::string_view token) const {
    auto r = keel::auth::verify<token_claims>(token, key_, options_);
    if (!r) return unauthorized("invalid or expired token");
    return r->uid;
  }
  const keel::auth::password_params& passwords() const noexcept { return passwords_; }

  static keel::http_error unauthorized(std::string message) {
    keel::http_error e(keel::http::status::unauthorized, std::move(message));
    e.with_header("WWW-Authenticate", "Token");
    return e;
  }

 private:
  keel::auth::jwt_key key_;
  keel::auth::verify_options options_{};
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

// The token of `Authorization: Token <jwt>` or `Bearer <jwt>` (scheme in any letter case); nullopt when the
// header is absent, "" when it is there but malformed.
inline std::optional<std::string_view> presented_token(std::string_view header) {
  if (header.empty()) return std::nullopt;
  std::size_t space = header.find(' ');
  if (space == std::string_view::npos) return std::string_view{};
  std::string_view scheme = header.substr(0, space);
  auto is = [&](std::string_view word) {
    if (scheme.size() != word.size()) return false;
    for (std::size_t i = 0; i < word.size(); ++i)
      if ((scheme[i] | 0x20) != word[i]) return false;
    return true;
  };
  if (!is("token") && !is("bearer")) return std::string_view{};
  std::string_view token = header.substr(space + 1);
  while (!token.empty() && token.front() == ' ') token.remove_prefix(1);
  return token;
}

// A handler parameter: the caller, who must be signed in.
struct signed_in {
  std::int64_t id = 0;
  // For the OpenAPI document: a required Authorization header.
  using keel_dto = std::string;
  static constexpr std::string_view keel_location = "header";
  static constexpr std::string_view keel_name = "Authorization";
};

// A handler parameter: the caller if signed in (a token that is there must be valid).
struct visitor {
  std::optional<std::int64_t> id;
  using keel_dto = std::optional<std::string>;
  static constexpr std::string_view keel_location = "header";
  static constexpr std::string_view keel_name = "Authorization";
};

}  // namespace conduit

template <>
struct keel::extractor<conduit::signed_in> {
  template <class Ctx>
  static keel::result<conduit::signed_in> extract(Ctx& ctx) {
    auto token = conduit::presented_token(ctx.request().header("Authorization"));
    if (!token) return conduit::authority::unauthorized("missing Authorization: Token <jwt>");
    auto id = ctx.template service<conduit::authority>().check(*token);
    if (!id) return std::move(id).error();
    return conduit::signed_in{*id};
  }
};

template <>
struct keel::extractor<conduit::visitor> {
  template <class Ctx>
  static keel::result<conduit::visitor> extract(Ctx& ctx) {
    auto token = conduit::presented_token(ctx.request().header("Authorization"));
    if (!token) return conduit::visitor{};
    auto id = ctx.template service<conduit::authority>().check(*token);
    if (!id) return std::move(id).error();
    return conduit::visitor{*id};
  }
};
