// The keel side of the jose_interop test (tests/jose/check.mjs drives it):
//   jwt_interop sign ALG KEYFILE KID            a token for {"sub","name","roles","iat","exp","iss","aud"}
//   jwt_interop verify ALG KEYFILE TOKEN        "ok <sub> <name> <roles...>", or "error <code>"
//   jwt_interop jwks ALG KEYFILE KID            the key's public JWKS
// KEYFILE is a PEM file (private or public key), or the raw secret bytes for HS256/384/512.
#include "keel/auth/jwt.hpp"

#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

namespace jwt_interop {  // a named namespace: reflection needs types with linkage

struct claims {
  std::string sub;
  std::string name;
  std::vector<std::string> roles;
  std::int64_t iat;
  std::int64_t exp;
  std::string iss;
  std::string aud;
};

}  // namespace jwt_interop
using jwt_interop::claims;

namespace {

std::string read_file(const char* path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

keel::auth::jwt_key load(keel::auth::jwt_alg alg, const char* path, std::string kid = {}) {
  const std::string bytes = read_file(path);
  if (keel::auth::is_hmac(alg)) return keel::auth::jwt_key::hmac(alg, bytes, std::move(kid));
  return keel::auth::jwt_key::from_pem(alg, bytes, std::move(kid));
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 5) {
    std::fprintf(stderr, "usage: jwt_interop sign|verify|jwks ALG KEYFILE KID|TOKEN\n");
    return 2;
  }
  const std::string mode = argv[1];
  const auto alg = keel::auth::jwt_alg_from_string(argv[2]);
  if (!alg) {
    std::fprintf(stderr, "jwt_interop: unknown alg %s\n", argv[2]);
    return 2;
  }
  try {
    if (mode == "sign") {
      const auto now = keel::auth::unix_now();
      claims c{"user-42", "Zoë \"Z\" Example", {"admin", "dev"}, now, now + 600, "keel-test", "jose-test"};
      std::cout << keel::auth::sign(c, load(*alg, argv[3], argv[4])) << '\n';
    } else if (mode == "verify") {
      keel::auth::verify_options options;
      options.issuer = "jose-test";
      options.audience = "keel-test";
      auto r = keel::auth::verify<claims>(argv[4], load(*alg, argv[3]), options);
      if (!r) {
        std::cout << "error " << to_string(r.code()) << '\n';
        return 0;
      }
      std::cout << "ok " << r->sub << ' ' << r->name;
      for (const auto& role : r->roles) std::cout << ' ' << role;
      std::cout << '\n';
    } else if (mode == "jwks") {
      keel::auth::key_set keys{load(*alg, argv[3], argv[4])};
      std::cout << keys.public_jwks() << '\n';
    } else {
      return 2;
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "jwt_interop: %s\n", e.what());
    return 1;
  }
  return 0;
}
