// keel/auth.hpp: authentication building blocks. Include next to <keel.hpp> and link keel::auth (OpenSSL 3
// and libsodium):
//   keel/auth/password.hpp  Argon2id password hashing on the worker pool (libsodium)
//   keel/auth/jwt.hpp       JWT sign/verify (HS256/384/512, RS256, PS256, ES256, EdDSA) over OpenSSL EVP
//   keel/auth/jwk.hpp       keys: HMAC secrets, PEM, JWK/JWKS, key sets with kid rotation
//   keel/auth/bearer.hpp    the jwt_bearer<Claims> layer and the keel::bearer<Claims> extractor
//   keel/auth/policy.hpp    .require<scope<"...">, role<"...">, your policies>() on routes and groups
//   keel/auth/api_key.hpp   API keys: the api_key_auth<Store> layer, keel::api_key<Principal>, key hashing
//   keel/auth/session.hpp   cookie sessions: signed, encrypted (AES-256-GCM) or server-side (a session_store)
//   keel/auth/csrf.hpp      CSRF protection for cookie sessions (synchronizer token)
//   keel/auth/rate_limit.hpp token-bucket rate limits (429 + RateLimit headers), a login-failure throttle
//   keel/auth/oauth2.hpp    the OAuth2 password and refresh-token grants (POST /token), token rotation
// The keel::db stores (SQLite by default) are in keel/auth/db_store.hpp (needs keel/sql.hpp as well).
#pragma once

#include "keel/config.hpp"
#include "keel/json.hpp"
#include "keel/auth/api_key.hpp"
#include "keel/auth/bearer.hpp"
#include "keel/auth/csrf.hpp"
#include "keel/auth/jwk.hpp"
#include "keel/auth/jwt.hpp"
#include "keel/auth/jwt_error.hpp"
#include "keel/auth/oauth2.hpp"
#include "keel/auth/password.hpp"
#include "keel/auth/policy.hpp"
#include "keel/auth/rate_limit.hpp"
#include "keel/auth/session.hpp"
