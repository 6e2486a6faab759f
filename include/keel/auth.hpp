// keel/auth.hpp: authentication building blocks. Include next to <keel.hpp> and link keel::auth (OpenSSL 3
// and libsodium):
//   keel/auth/password.hpp  Argon2id password hashing on the worker pool (libsodium)
//   keel/auth/jwt.hpp       JWT sign/verify (HS256/384/512, RS256, PS256, ES256, EdDSA) over OpenSSL EVP
//   keel/auth/jwk.hpp       keys: HMAC secrets, PEM, JWK/JWKS, key sets with kid rotation
#pragma once

#include "keel/config.hpp"
#include "keel/json.hpp"
#include "keel/auth/jwk.hpp"
#include "keel/auth/jwt.hpp"
#include "keel/auth/jwt_error.hpp"
#include "keel/auth/password.hpp"
