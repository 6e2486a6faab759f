// keel::auth JWT: the RFC 7515 Appendix A and RFC 8037 Appendix A vectors, every refusal with its own error
// code, keys from JWK/JWKS/PEM, key sets with rotation, strict base64url and the ECDSA signature form.
#include "keel/auth/jwt.hpp"

#include "keel/auth/detail/base64url.hpp"
#include "keel/auth/detail/evp.hpp"
#include "keel/auth/jwk.hpp"

#include <catch2/catch.hpp>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>

#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

using namespace keel::auth;
using keel::auth::detail::base64url_encode;

// DTOs live in a named namespace: reflection needs types with linkage (clang).
namespace auth_jwt_test {

struct rfc_claims {  // the RFC payload: its third member is not declared, so it is ignored
  std::string iss;
  std::int64_t exp;
};

struct big {
  std::string pad;
  std::int64_t exp;
};

struct fractional_exp {
  double exp;
};

struct user_claims {
  std::string sub;
  std::string username;
  std::vector<std::string> roles;
  std::int64_t iat, exp;
  std::string iss, aud;
};

}  // namespace auth_jwt_test

using namespace auth_jwt_test;

namespace {

// --- RFC 7515 Appendix A (A.1-A.3 share this payload; the header and payload bytes contain CRLFs)
constexpr std::string_view rfc_payload_b64 =
    "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ";
constexpr std::string_view rfc_payload =
    "{\"iss\":\"joe\",\r\n \"exp\":1300819380,\r\n \"http://example.com/is_root\":true}";
constexpr std::int64_t rfc_now = 1300819000;  // before the vectors' exp

constexpr std::string_view a1_key = R"({"kty":"oct",
 "k":"AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow"})";
constexpr std::string_view a1_token =
    "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9."
    "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ."
    "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";

constexpr std::string_view a2_key = R"({"kty":"RSA",
 "n":"ofgWCuLjybRlzo0tZWJjNiuSfb4p4fAkd_wWJcyQoTbji9k0l8W26mPddxHmfHQp-Vaw-4qPCJrcS2mJPMEzP1Pt0Bm4d4QlL-yRT-SFd2lZS-pCgNMsD1W_YpRPEwOWvG6b32690r2jZ47soMZo9wGzjb_7OMg0LOL-bSf63kpaSHSXndS5z5rexMdbBYUsLA9e-KXBdQOS-UTo7WTBEMa2R2CapHg665xsmtdVMTBQY4uDZlxvb3qCo5ZwKh9kG4LT6_I5IhlJH7aGhyxXFvUK-DWNmoudF8NAco9_h9iaGNj8q2ethFkMLs91kzk2PAcDTW9gb54h4FRWyuXpoQ",
 "e":"AQAB",
 "d":"Eq5xpGnNCivDflJsRQBXHx1hdR1k6Ulwe2JZD50LpXyWPEAeP88vLNO97IjlA7_GQ5sLKMgvfTeXZx9SE-7YwVol2NXOoAJe46sui395IW_GO-pWJ1O0BkTGoVEn2bKVRUCgu-GjBVaYLU6f3l9kJfFNS3E0QbVdxzubSu3Mkqzjkn439X0M_V51gfpRLI9JYanrC4D4qAdGcopV_0ZHHzQlBjudU2QvXt4ehNYTCBr6XCLQUShb1juUO1ZdiYoFaFQT5Tw8bGUl_x_jTj3ccPDVZFD9pIuhLhBOneufuBiB4cS98l2SR_RQyGWSeWjnczT0QU91p1DhOVRuOopznQ",
 "p":"4BzEEOtIpmVdVEZNCqS7baC4crd0pqnRH_5IB3jw3bcxGn6QLvnEtfdUdiYrqBdss1l58BQ3KhooKeQTa9AB0Hw_Py5PJdTJNPY8cQn7ouZ2KKDcmnPGBY5t7yLc1QlQ5xHdwW1VhvKn-nXqhJTBgIPgtldC-KDV5z-y2XDwGUc",
 "q":"uQPEfgmVtjL0Uyyx88GZFF1fOunH3-7cepKmtH4pxhtCoHqpWmT8YAmZxaewHgHAjLYsp1ZSe7zFYHj7C6ul7TjeLQeZD_YwD66t62wDmpe_HlB-TnBA-njbglfIsRLtXlnDzQkv5dTltRJ11BKBBypeeF6689rjcJIDEz9RWdc",
 "dp":"BwKfV3Akq5_MFZDFZCnW-wzl-CCo83WoZvnLQwCTeDv8uzluRSnm71I3QCLdhrqE2e9YkxvuxdBfpT_PI7Yz-FOKnu1R6HsJeDCjn12Sk3vmAktV2zb34MCdy7cpdTh_YVr7tss2u6vneTwrA86rZtu5Mbr1C1XsmvkxHQAdYo0",
 "dq":"h_96-mK1R_7glhsum81dZxjTnYynPbZpHziZjeeHcXYsXaaMwkOlODsWa7I9xXDoRwbKgB719rrmI2oKr6N3Do9U0ajaHF-NKJnwgjMd2w9cjz3_-kyNlxAr2v4IKhGNpmM5iIgOS1VZnOZ68m6_pbLBSp3nssTdlqvd0tIiTHU",
 "qi":"IYd7DHOhrWvxkwPQsRM2tOgrjbcrfvtQJipd-DlcxyVuuM9sQLdgjVk2oy26F0EmpScGLq2MowX7fhd_QJQ3ydy5cY7YIBi87w93IKLEdfnbJtoOPLUW0ITrJReOgo1cq9SbsxYawBgfp_gh6A5603k2-ZQwVK0JKSHuLFkuQ3U"})";
constexpr std::string_view a2_token =
    "eyJhbGciOiJSUzI1NiJ9."
    "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ."
    "cC4hiUPoj9Eetdgtv3hF80EGrhuB__dzERat0XF9g2VtQgr9PJbu3XOiZj5RZmh7AAuHIm4Bh-0Qc_lF5YKt_"
    "O8W2Fp5jujGbds9uJdbF9CUAr7t"
    "1dnZcAcQjbKBYNX4BAynRFdiuB--f_nZLgrnbyTyWzO75vRK5h6xBArLIARNPvkSjtQBMHlb1L07Qe7K0GarZRmB_eSN9383LcOLn6_"
    "dO--xi12j"
    "zDwusC-eOkHWEsqtFZESc6BfI7noOPqvhJ1phCnvWh6IeYI2w9QOYEUipUTI8np6LbgGY9Fs98rqVt5AXLIhWkWywlVmtVrBp0igcN_"
    "IoypGlUPQ"
    "Ge77Rw";

constexpr std::string_view a3_public_key =
    R"({"kty":"EC","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
 "y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"})";
constexpr std::string_view a3_private_key =
    R"({"kty":"EC","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
 "y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0","d":"jpsQnnGQmL-YBIffH1136cspYG6-0iY7X1fCE9-E9LI"})";
constexpr std::string_view a3_token =
    "eyJhbGciOiJFUzI1NiJ9."
    "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ."
    "DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSApmWQxfKTUJqPP3-Kg6NU1Q";

constexpr std::string_view a5_token =
    "eyJhbGciOiJub25lIn0."
    "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ.";

// --- RFC 8037 Appendix A (A.1 key, A.4 signing, A.5 validation)
constexpr std::string_view ed_private_key =
    R"({"kty":"OKP","crv":"Ed25519","d":"nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A",
 "x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"})";
constexpr std::string_view ed_public_key =
    R"({"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"})";
constexpr std::string_view ed_payload = "Example of Ed25519 signing";
constexpr std::string_view ed_token =
    "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc."
    "hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg";

verify_options at_rfc_time() {
  verify_options o;
  o.now = rfc_now;
  return o;
}

const std::string secret32(32, 's');

user_claims sample(std::int64_t now) {
  return {"42", "alice", {"admin", "dev"}, now, now + 600, "keel", "api"};
}

// A token signed over exactly these header and payload texts (for malformed-but-signed inputs).
std::string signed_token(const jwt_key& key, std::string_view header_json, std::string_view payload_json) {
  std::string input = base64url_encode(header_json) + "." + base64url_encode(payload_json);
  return input + "." + base64url_encode(key.sign(input));
}

std::string public_pem(const jwt_key& key) {
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PUBKEY(bio, key.pkey());
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio, &data);
  std::string pem(data, static_cast<std::size_t>(n));
  BIO_free(bio);
  return pem;
}

std::string private_pem(const jwt_key& key) {
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(bio, key.pkey(), nullptr, nullptr, 0, nullptr, nullptr);
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio, &data);
  std::string pem(data, static_cast<std::size_t>(n));
  BIO_free(bio);
  return pem;
}

jwt_errc key_error_code(auto&& make) {
  try {
    make();
  } catch (const key_error& e) {
    return e.code();
  }
  FAIL("no key_error thrown");
  return {};
}

}  // namespace

// ------------------------------------------------------------------------------------------------ vectors

TEST_CASE("RFC 7515 A.1: the HS256 example verifies, and signing reproduces its signature",
          "[auth][jwt][rfc]") {
  const auto key = jwt_key::from_jwk(a1_key, jwt_alg::HS256);
  auto r = verify<rfc_claims>(a1_token, key, at_rfc_time());
  REQUIRE(r.ok());
  CHECK(r->iss == "joe");
  CHECK(r->exp == 1300819380);
  CHECK(r.key() == &key);
  auto payload = verify_jws(a1_token, key, at_rfc_time());
  REQUIRE(payload.ok());
  CHECK(*payload == rfc_payload);
  // The signature over the RFC's own signing input is the RFC's.
  const std::string_view input = a1_token.substr(0, a1_token.rfind('.'));
  CHECK(base64url_encode(key.sign(input)) == a1_token.substr(a1_token.rfind('.') + 1));
  CHECK(base64url_encode(rfc_payload) == rfc_payload_b64);
}

TEST_CASE("RFC 7515 A.2: the RS256 example verifies, and signing it again gives the same token",
          "[auth][jwt][rfc]") {
  const auto private_key = jwt_key::from_jwk(a2_key, jwt_alg::RS256);
  CHECK(private_key.can_sign());
  const auto public_key = jwt_key::from_jwk(private_key.public_jwk());
  CHECK_FALSE(public_key.can_sign());
  auto r = verify<rfc_claims>(a2_token, public_key, at_rfc_time());
  REQUIRE(r.ok());
  CHECK(r->iss == "joe");
  CHECK(sign_jws(rfc_payload, private_key) == a2_token);  // RSASSA-PKCS1-v1_5 is deterministic
}

TEST_CASE("RFC 7515 A.3: the ES256 example (raw r||s) verifies; our ES256 signatures verify too",
          "[auth][jwt][rfc]") {
  const auto public_key = jwt_key::from_jwk(a3_public_key);
  CHECK(public_key.alg() == jwt_alg::ES256);
  auto r = verify<rfc_claims>(a3_token, public_key, at_rfc_time());
  REQUIRE(r.ok());
  CHECK(r->iss == "joe");
  const auto private_key = jwt_key::from_jwk(a3_private_key);
  const std::string token = sign_jws(rfc_payload, private_key);
  CHECK(token.substr(token.rfind('.') + 1).size() == 86);  // 64 bytes, not DER
  CHECK(verify_jws(token, public_key).ok());
}

TEST_CASE("RFC 7515 A.5: the unsecured JWS (alg none) is refused", "[auth][jwt][rfc]") {
  const auto key = jwt_key::from_jwk(a1_key, jwt_alg::HS256);
  CHECK(verify<rfc_claims>(a5_token, key, at_rfc_time()).code() == jwt_errc::alg_none);
  // ... with a signature attached as well
  CHECK(verify<rfc_claims>(std::string(a5_token) + "c2ln", key, at_rfc_time()).code() == jwt_errc::alg_none);
}

TEST_CASE("RFC 8037 A.4/A.5: Ed25519 signs the example exactly and verifies it", "[auth][jwt][rfc]") {
  const auto private_key = jwt_key::from_jwk(ed_private_key);
  CHECK(private_key.alg() == jwt_alg::EdDSA);
  CHECK(sign_jws(ed_payload, private_key) == ed_token);
  const auto public_key = jwt_key::from_jwk(ed_public_key);
  auto r = verify_jws(ed_token, public_key);
  REQUIRE(r.ok());
  CHECK(*r == ed_payload);
  std::string tampered(ed_token);
  tampered[tampered.size() - 5] = tampered[tampered.size() - 5] == 'A' ? 'B' : 'A';
  CHECK(verify_jws(tampered, public_key).code() == jwt_errc::bad_signature);
}

// ------------------------------------------------------------------------------------------ round trips

TEST_CASE("every algorithm signs and verifies a user claims struct", "[auth][jwt]") {
  const auto now = unix_now();
  for (auto alg : {jwt_alg::HS256, jwt_alg::HS384, jwt_alg::HS512, jwt_alg::RS256, jwt_alg::PS256,
                   jwt_alg::ES256, jwt_alg::EdDSA}) {
    INFO(to_string(alg));
    const auto key = jwt_key::generate(alg, "k-" + std::string(to_string(alg)));
    const std::string token = sign(sample(now), key);
    verify_options options;
    options.issuer = "keel";
    options.audience = "api";
    auto r = verify<user_claims>(token, key, options);
    REQUIRE(r.ok());
    CHECK(r->username == "alice");
    CHECK(r->roles == std::vector<std::string>{"admin", "dev"});
    if (!is_hmac(alg)) {  // and through the public JWK alone
      const auto public_key = jwt_key::from_jwk(key.public_jwk());
      CHECK(public_key.kid() == key.kid());
      CHECK(verify<user_claims>(token, public_key, options).ok());
      const auto from_pem = jwt_key::from_pem(alg, public_pem(key));
      CHECK(verify<user_claims>(token, from_pem, options).ok());
      const auto signer = jwt_key::from_pem(alg, private_pem(key));
      CHECK(verify<user_claims>(sign(sample(now), signer), public_key, options).ok());
    }
  }
}

TEST_CASE("registered_claims reads aud as a string or an array", "[auth][jwt]") {
  const auto key = jwt_key::hmac(jwt_alg::HS256, secret32);
  const auto now = unix_now();
  verify_options options;
  options.audience = "b";
  const auto exp = std::to_string(now + 60);
  auto r = verify<registered_claims>(
      signed_token(key, R"({"alg":"HS256"})", R"({"sub":"x","aud":["a","b"],"exp":)" + exp + "}"), key,
      options);
  REQUIRE(r.ok());
  CHECK(r->aud->values == std::vector<std::string>{"a", "b"});
  registered_claims c;
  c.aud = audience("b");
  c.exp = now + 60;
  auto back = verify<registered_claims>(sign(c, key), key, options);
  REQUIRE(back.ok());
  CHECK(back->aud == audience("b"));
}

// ------------------------------------------------------------------------------------------- refusals

TEST_CASE("refused: alg none, also from a key set and with a kid", "[auth][jwt][refuse]") {
  const auto key = jwt_key::hmac(jwt_alg::HS256, secret32, "k1");
  key_set keys{key};
  const auto token = signed_token(key, R"({"alg":"none","kid":"k1"})", R"({"exp":9999999999})");
  CHECK(verify<registered_claims>(token, keys).code() == jwt_errc::alg_none);
  CHECK(verify_jws(token, key).code() == jwt_errc::alg_none);
}

TEST_CASE("refused: an RSA public key presented as an HMAC secret", "[auth][jwt][refuse]") {
  const auto rsa = jwt_key::generate(jwt_alg::RS256, "rsa");
  const std::string pem = public_pem(rsa);
  // Loading it as a secret is refused outright ...
  CHECK(key_error_code([&] { jwt_key::hmac(jwt_alg::HS256, pem); }) == jwt_errc::public_key_as_secret);
  CHECK(key_error_code([&] { jwt_key::from_pem(jwt_alg::HS256, pem); }) == jwt_errc::public_key_as_secret);
  CHECK(key_error_code([&] {
          std::string jwk = rsa.public_jwk();
          jwk.replace(jwk.find("\"RS256\""), 7, "\"HS256\"");
          jwt_key::from_jwk(jwk);
        }) == jwt_errc::public_key_as_secret);
  CHECK(key_error_code([&] { jwt_key::hmac(jwt_alg::HS256, rsa.public_jwk()); }) ==
        jwt_errc::public_key_as_secret);
  // ... and the classic attack, an HS256 token MACed with the public key's PEM, meets an RS256 key.
  const std::string input = base64url_encode(R"({"alg":"HS256","kid":"rsa"})") + "." +
                            base64url_encode(R"({"sub":"admin","exp":9999999999})");
  unsigned char mac[32];
  unsigned int length = 0;
  HMAC(EVP_sha256(), pem.data(), static_cast<int>(pem.size()),
       reinterpret_cast<const unsigned char*>(input.data()), input.size(), mac, &length);
  const std::string forged =
      input + "." + base64url_encode(std::string_view(reinterpret_cast<char*>(mac), length));
  CHECK(verify<registered_claims>(forged, rsa).code() == jwt_errc::alg_mismatch);
  key_set keys{rsa};
  CHECK(verify<registered_claims>(forged, keys).code() == jwt_errc::alg_mismatch);
}

TEST_CASE("refused: a token whose alg is not its key's alg", "[auth][jwt][refuse]") {
  const auto hs256 = jwt_key::hmac(jwt_alg::HS256, std::string(64, 'x'), "k");
  const auto hs512 = jwt_key::hmac(jwt_alg::HS512, std::string(64, 'x'), "k");
  const auto token = sign(registered_claims{.exp = unix_now() + 60}, hs512);
  CHECK(verify<registered_claims>(token, hs256).code() == jwt_errc::alg_mismatch);
  const auto es = jwt_key::generate(jwt_alg::ES256, "k");
  const auto ed = jwt_key::generate(jwt_alg::EdDSA, "k");
  CHECK(verify<registered_claims>(sign(registered_claims{.exp = unix_now() + 60}, es), ed).code() ==
        jwt_errc::alg_mismatch);
}

TEST_CASE("refused: an alg keel does not implement", "[auth][jwt][refuse]") {
  const auto key = jwt_key::hmac(jwt_alg::HS256, secret32);
  CHECK(verify<registered_claims>(signed_token(key, R"({"alg":"HS1"})", "{}"), key).code() ==
        jwt_errc::unknown_alg);
  CHECK(verify<registered_claims>(signed_token(key, R"({"alg":"ES512"})", "{}"), key).code() ==
        jwt_errc::unknown_alg);
}

TEST_CASE("refused: crit headers that were not declared understood", "[auth][jwt][refuse]") {
  const auto key = jwt_key::hmac(jwt_alg::HS256, secret32);
  const std::string claims = R"({"exp":9999999999})";
  const auto with_crit = signed_token(key, R"({"alg":"HS256","crit":["exp"],"exp":1})", claims);
  CHECK(verify<registered_claims>(with_crit, key).code() == jwt_errc::unsupported_crit);
  verify_options understood;
  understood.critical_headers = {"exp"};
  CHECK(verify<registered_claims>(with_crit, key, understood).ok());
  // declared understood, but: empty list, a name missing from the header, a name the spec defines
  CHECK(verify<registered_claims>(signed_token(key, R"({"alg":"HS256","crit":[]})", claims), key, understood)
            .code() == jwt_errc::unsupported_crit);
  CHECK(verify<registered_claims>(signed_token(key, R"({"alg":"HS256","crit":["exp"]})", claims), key,
                                  understood)
            .code() == jwt_errc::unsupported_crit);
  understood.critical_headers.push_back("alg");
  CHECK(verify<registered_claims>(signed_token(key, R"({"alg":"HS256","crit":["alg"]})", claims), key,
                                  understood)
            .code() == jwt_errc::unsupported_crit);
  CHECK(verify<registered_claims>(signed_token(key, R"({"alg":"HS256","crit":"exp"})", claims), key).code() ==
        jwt_errc::malformed_header);
}

TEST_CASE("refused: padded, non-alphabet or non-canonical base64url", "[auth][jwt][refuse][base64url]") {
  const auto key = jwt_key::hmac(jwt_alg::HS256, secret32);
  const std::string good = sign(registered_claims{.exp = unix_now() + 60}, key);
  REQUIRE(verify<registered_claims>(good, key).ok());
  const auto dot1 = good.find('.'), dot2 = good.rfind('.');
  const std::string header = good.substr(0, dot1), payload = good.substr(dot1 + 1, dot2 - dot1 - 1),
                    sig = good.substr(dot2 + 1);
  CHECK(verify<registered_claims>(header + "=." + payload + "." + sig, key).code() ==
        jwt_errc::bad_base64url);
  CHECK(verify<registered_claims>(header + "." + payload + "." + sig + "=", key).code() ==
        jwt_errc::bad_base64url);
  std::string plus = good;
  plus[dot2 + 3] = '+';  // standard base64, not base64url
  CHECK(verify<registered_claims>(plus, key).code() == jwt_errc::bad_base64url);
  CHECK(verify<registered_claims>(header + "." + payload + "." + sig + "AA", key).code() ==
        jwt_errc::bad_base64url);  // 45 characters: a length no encoding has
  // A payload whose last character carries non-zero unused bits, correctly signed over its ASCII form.
  const std::string canonical =
      base64url_encode("{\"exp\":9999999999}");                    // 18 bytes -> 24 chars, no spare bits
  std::string claims17 = base64url_encode("{\"exp\":999999999}");  // 17 bytes -> 23 chars, 2 spare bits
  REQUIRE(claims17.size() % 4 == 3);
  claims17.back() = keel::auth::detail::base64url_alphabet
      [keel::auth::detail::base64url_values[static_cast<unsigned char>(claims17.back())] | 1];
  const std::string input = base64url_encode(R"({"alg":"HS256"})") + "." + claims17;
  const std::string odd = input + "." + base64url_encode(key.sign(input));
  CHECK(verify<registered_claims>(odd, key).code() == jwt_errc::bad_base64url);
  CHECK(canonical.size() == 24);
}

TEST_CASE("refused: duplicate member names in the header or the claims", "[auth][jwt][refuse]") {
  const auto key = jwt_key::hmac(jwt_alg::HS256, secret32);
  CHECK(verify<registered_claims>(
            signed_token(key, R"({"alg":"HS256","alg":"HS256"})", R"({"exp":9999999999})"), key)
            .code() == jwt_errc::duplicate_key);
  CHECK(verify<registered_claims>(signed_token(key, R"({"alg":"HS256","kid":"a","kid":"a"})", "{}"), key)
            .code() == jwt_errc::duplicate_key);
  CHECK(verify<registered_claims>(
            signed_token(key, R"({"alg":"HS256"})", R"({"exp":9999999999,"sub":"a","sub":"b"})"), key)
            .code() == jwt_errc::duplicate_key);
  // the same name written with an escape, and an undeclared claim given twice
  CHECK(verify<registered_claims>(
            signed_token(key, R"({"alg":"HS256"})", R"({"exp":9999999999,"sub":"a","s\u0075b":"b"})"), key)
            .code() == jwt_errc::duplicate_key);
  CHECK(verify<registered_claims>(
            signed_token(key, R"({"alg":"HS256"})", R"({"exp":9999999999,"admin":false,"admin":true})"), key)
            .code() == jwt_errc::duplicate_key);
}

TEST_CASE("refused: a header with more members than any real one (the duplicate check stays cheap)",
          "[auth][jwt][refuse]") {
  const auto key = jwt_key::hmac(jwt_alg::HS256, secret32);
  std::string header = R"({"alg":"HS256")";
  for (int i = 0; i < 31; ++i) header += ",\"m" + std::to_string(i) + "\":0";
  header += "}";  // 32 members: still fine
  CHECK(verify<registered_claims>(signed_token(key, header, R"({"exp":9999999999})"), key).ok());
  std::string many = R"({"alg":"HS256")";
  for (int i = 0; i < 500; ++i) many += ",\"m" + std::to_string(i) + "\":0";
  many += "}";
  CHECK(verify<registered_claims>(signed_token(key, many, R"({"exp":9999999999})"), key).code() ==
        jwt_errc::malformed_header);
}

TEST_CASE("refused: tokens over the size limit (configurable)", "[auth][jwt][refuse]") {
  const auto key = jwt_key::hmac(jwt_alg::HS256, secret32);
  const std::string token = sign(big{std::string(7000, 'p'), unix_now() + 60}, key);
  REQUIRE(token.size() > 8192);
  CHECK(verify<big>(token, key).code() == jwt_errc::token_too_large);
  verify_options larger;
  larger.max_token_size = 16 * 1024;
  CHECK(verify<big>(token, key, larger).ok());
}

TEST_CASE("refused: the wrong number of segments", "[auth][jwt][refuse]") {
  const auto key = jwt_key::hmac(jwt_alg::HS256, secret32);
  const std::string good = sign(registered_claims{.exp = unix_now() + 60}, key);
  for (const std::string& bad : {std::string(), std::string("abc"), good.substr(0, good.rfind('.')),
                                 good + ".x", good + ".", std::string("...")}) {
    INFO(bad);
    CHECK(verify<registered_claims>(bad, key).code() == jwt_errc::wrong_segment_count);
  }
}

TEST_CASE("refused: expired, not yet valid, missing exp, wrong issuer or audience (with leeway)",
          "[auth][jwt][refuse]") {
  const auto key = jwt_key::hmac(jwt_alg::HS256, secret32);
  const std::int64_t now = 2'000'000'000;
  verify_options o;
  o.now = now;
  o.leeway = std::chrono::seconds(30);
  auto check = [&](std::string_view claims, const verify_options& options) {
    return verify<registered_claims>(signed_token(key, R"({"alg":"HS256"})", claims), key, options);
  };
  CHECK(check(R"({"exp":1999999970})", o).code() == jwt_errc::expired);  // now - leeway reached exp
  CHECK(check(R"({"exp":1999999000})", o).code() == jwt_errc::expired);
  // within the leeway (a NumericDate may have a fraction; registered_claims::exp is an integer, so read a
  // double)
  CHECK(verify<fractional_exp>(signed_token(key, R"({"alg":"HS256"})", R"({"exp":1999999970.5})"), key, o)
            .ok());
  CHECK(check(R"({"exp":1999999971})", o).ok());
  CHECK(check(R"({"exp":2000000000})", o).ok());
  CHECK(check(R"({"exp":2000000100,"nbf":2000000031})", o).code() == jwt_errc::not_yet_valid);
  CHECK(check(R"({"exp":2000000100,"nbf":2000000030})", o).ok());
  CHECK(check(R"({"sub":"x"})", o).code() == jwt_errc::missing_exp);
  verify_options no_exp = o;
  no_exp.require_exp = false;
  CHECK(check(R"({"sub":"x"})", no_exp).ok());
  verify_options iss = o;
  iss.issuer = "https://issuer.example";
  CHECK(check(R"({"exp":2000000100,"iss":"https://issuer.example"})", iss).ok());
  CHECK(check(R"({"exp":2000000100,"iss":"https://evil.example"})", iss).code() == jwt_errc::bad_issuer);
  CHECK(check(R"({"exp":2000000100})", iss).code() == jwt_errc::bad_issuer);
  verify_options aud = o;
  aud.audience = "api";
  CHECK(check(R"({"exp":2000000100,"aud":"api"})", aud).ok());
  CHECK(check(R"({"exp":2000000100,"aud":["web","api"]})", aud).ok());
  CHECK(check(R"({"exp":2000000100,"aud":["web"]})", aud).code() == jwt_errc::bad_audience);
  CHECK(check(R"({"exp":2000000100,"aud":"apix"})", aud).code() == jwt_errc::bad_audience);
  CHECK(check(R"({"exp":2000000100})", aud).code() == jwt_errc::bad_audience);
  // registered claims of the wrong type
  CHECK(check(R"({"exp":"2000000100"})", o).code() == jwt_errc::malformed_claims);
  CHECK(check(R"({"exp":2000000100,"aud":[1]})", aud).code() == jwt_errc::malformed_claims);
  CHECK(check(R"({"exp":2000000100,"iss":7})", o).code() == jwt_errc::malformed_claims);
  CHECK(check(R"([1,2])", o).code() == jwt_errc::malformed_claims);
  CHECK(check(R"({"exp":2000000100} x)", o).code() == jwt_errc::malformed_claims);
}

TEST_CASE("refused: bad signatures, unknown kids, malformed headers, claims that do not fit the struct",
          "[auth][jwt][refuse]") {
  const auto key = jwt_key::hmac(jwt_alg::HS256, secret32, "k1");
  const auto other = jwt_key::hmac(jwt_alg::HS256, std::string(32, 't'), "k1");
  const auto token = sign(sample(unix_now()), key);
  CHECK(verify<user_claims>(token, other).code() == jwt_errc::bad_signature);
  std::string flipped = token;
  flipped[flipped.size() - 2] = flipped[flipped.size() - 2] == 'A' ? 'B' : 'A';
  CHECK(verify<user_claims>(flipped, key).code() == jwt_errc::bad_signature);
  const auto k2 = jwt_key::hmac(jwt_alg::HS256, secret32, "k2");
  CHECK(verify<user_claims>(token, k2).code() == jwt_errc::key_not_found);
  CHECK(verify<user_claims>(signed_token(key, "[1]", "{}"), key).code() == jwt_errc::malformed_header);
  CHECK(verify<user_claims>(signed_token(key, R"({"alg":256})", "{}"), key).code() ==
        jwt_errc::malformed_header);
  CHECK(verify<user_claims>(signed_token(key, R"({"kid":"k1"})", "{}"), key).code() ==
        jwt_errc::malformed_header);
  CHECK(verify<user_claims>(signed_token(key, R"({"alg":"HS256"} {})", "{}"), key).code() ==
        jwt_errc::malformed_header);
  auto missing =
      verify<user_claims>(signed_token(key, R"({"alg":"HS256"})", R"({"sub":"1","exp":9999999999})"), key);
  REQUIRE(missing.code() == jwt_errc::claims_rejected);
  CHECK_FALSE(missing.error().claim_errors.empty());
  const auto http = to_http_error(missing.error());
  CHECK(http.status() == keel::http::status::unauthorized);
  CHECK(http.code() == "invalid_token");
  REQUIRE(http.headers().size() == 1);
  CHECK(http.headers()[0].second == "Bearer error=\"invalid_token\", error_description=\"claims_rejected\"");
}

TEST_CASE("refused keys: weak secrets and RSA keys, public keys that sign", "[auth][jwk][refuse]") {
  CHECK(key_error_code([] { jwt_key::hmac(jwt_alg::HS256, std::string(31, 'k')); }) == jwt_errc::weak_key);
  CHECK(key_error_code([] { jwt_key::hmac(jwt_alg::HS512, std::string(63, 'k')); }) == jwt_errc::weak_key);
  CHECK(key_error_code([] {
          jwt_key::from_pkey(
              jwt_alg::RS256,
              keel::auth::detail::pkey_ptr(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", std::size_t{1024})),
              true);
        }) == jwt_errc::weak_key);
  const auto pub = jwt_key::from_jwk(ed_public_key);
  CHECK(key_error_code([&] { sign(registered_claims{}, pub); }) == jwt_errc::key_cannot_sign);
  CHECK(key_error_code([] { jwt_key::from_jwk(R"({"kty":"EC","crv":"P-256","x":"AAAA","y":"AAAA"})"); }) ==
        jwt_errc::invalid_key);
  CHECK(key_error_code([] { jwt_key::from_jwk(R"({"kty":"RSA","alg":"RS256","n":"AQAB"})"); }) ==
        jwt_errc::invalid_key);
  CHECK(key_error_code([] { jwt_key::from_pem(jwt_alg::ES256, "-----BEGIN PUBLIC KEY-----\nnope\n"); }) ==
        jwt_errc::invalid_key);
  const auto rsa = jwt_key::generate(jwt_alg::RS256);
  CHECK(key_error_code([&] { jwt_key::from_pem(jwt_alg::ES256, public_pem(rsa)); }) == jwt_errc::invalid_key);
}

// ---------------------------------------------------------------------------------------- keys and sets

TEST_CASE("a key set signs with its current key and verifies with any, by kid (rotation)", "[auth][jwk]") {
  const auto k1 = jwt_key::generate(jwt_alg::ES256, "2026-01");
  const auto k2 = jwt_key::generate(jwt_alg::EdDSA, "2026-02");
  key_set keys;
  keys.add(k1);
  REQUIRE(keys.current() != nullptr);
  CHECK(keys.current()->kid() == "2026-01");
  const auto old_token = sign(registered_claims{.exp = unix_now() + 60}, keys);
  keys.add(k2).set_current("2026-02");
  const auto new_token = sign(registered_claims{.exp = unix_now() + 60}, keys);
  CHECK(new_token.substr(0, new_token.find('.')) ==
        base64url_encode(R"({"alg":"EdDSA","kid":"2026-02","typ":"JWT"})"));
  auto a = verify<registered_claims>(old_token, keys);
  auto b = verify<registered_claims>(new_token, keys);
  REQUIRE(a.ok());
  REQUIRE(b.ok());
  CHECK(a.key()->kid() == "2026-01");
  CHECK(b.key()->kid() == "2026-02");
  keys.remove("2026-01");
  CHECK(verify<registered_claims>(old_token, keys).code() == jwt_errc::key_not_found);
  CHECK(key_error_code([&] { keys.add(k2); }) == jwt_errc::invalid_key);  // duplicate kid
  // A published JWKS of the set verifies its tokens.
  const auto published = key_set::from_jwks(keys.public_jwks());
  CHECK(published.keys().size() == 1);
  CHECK(verify<registered_claims>(new_token, published).ok());
  CHECK(published.current() == nullptr);
}

TEST_CASE("a JWKS with RSA, EC, OKP and oct keys, skipping encryption keys and other curves", "[auth][jwk]") {
  const auto rsa = jwt_key::generate(jwt_alg::RS256, "r");
  std::string rsa_no_alg = rsa.public_jwk();
  rsa_no_alg.replace(rsa_no_alg.find(",\"alg\":\"RS256\""), 14, "");
  const std::string jwks = R"({"keys":[)" + rsa_no_alg + "," +
                           std::string(a3_public_key).replace(1, 0, "\"kid\":\"ec\",") + "," +
                           std::string(ed_public_key).replace(1, 0, "\"kid\":\"ed\",") + "," +
                           std::string(a1_key).replace(1, 0, "\"kid\":\"hs\",\"alg\":\"HS256\",") + R"(,
    {"kty":"EC","crv":"P-384","kid":"p384","x":"AAAA","y":"AAAA"},
    {"kty":"RSA","use":"enc","kid":"enc","n":"AQAB","e":"AQAB"},
    {"kty":"OKP","crv":"X25519","kid":"x","x":"AAAA"}]})";
  CHECK(key_error_code([&] { key_set::from_jwks(jwks); }) == jwt_errc::invalid_key);  // RSA without alg
  const auto keys = key_set::from_jwks(jwks, jwt_alg::RS256);
  REQUIRE(keys.keys().size() == 4);
  CHECK(keys.find("r")->alg() == jwt_alg::RS256);
  CHECK(keys.find("ec")->alg() == jwt_alg::ES256);
  CHECK(keys.find("ed")->alg() == jwt_alg::EdDSA);
  CHECK(keys.find("hs")->alg() == jwt_alg::HS256);
  CHECK(verify<registered_claims>(sign(registered_claims{.exp = unix_now() + 60}, rsa), keys).ok());
  // The RFC tokens carry no kid: the key for their alg is found without one.
  CHECK(verify<rfc_claims>(a3_token, keys, at_rfc_time()).ok());
  CHECK(verify<rfc_claims>(a1_token, keys, at_rfc_time()).ok());
  CHECK(key_error_code([] {
          key_set::from_jwks(R"({"keys":[{"kty":"oct","kid":"a","kid":"b","k":"AA"}]})");
        }) == jwt_errc::invalid_key);
}

// ----------------------------------------------------------------------------------------- primitives

TEST_CASE("base64url: round trips and refusals", "[auth][base64url]") {
  using namespace keel::auth::detail;
  std::mt19937 rng(7);
  for (std::size_t n = 0; n < 70; ++n) {
    std::string bytes(n, '\0');
    for (auto& c : bytes) c = static_cast<char>(rng());
    const std::string encoded = base64url_encode(bytes);
    CHECK(encoded.find_first_of("=+/") == std::string::npos);
    auto decoded = base64url_decode(encoded);
    REQUIRE(decoded);
    CHECK(*decoded == bytes);
  }
  CHECK(base64url_encode("\xfb\xff") == "-_8");
  CHECK_FALSE(base64url_decode("-_9"));  // non-zero unused bits
  CHECK_FALSE(base64url_decode("AA=="));
  CHECK_FALSE(base64url_decode("A"));
  CHECK_FALSE(base64url_decode("AA A"));
  CHECK_FALSE(base64url_decode("AB"));
  CHECK(base64url_decode("AA") == std::string(1, '\0'));
}

TEST_CASE("ECDSA: raw r||s to DER and back, leading zeros and high bits", "[auth][ecdsa]") {
  using namespace keel::auth::detail;
  unsigned char raw[64], back[64], der[es256_der_max];
  for (int shape = 0; shape < 4; ++shape) {
    for (int i = 0; i < 64; ++i) raw[i] = static_cast<unsigned char>(i * 7 + 1);
    if (shape & 1) raw[0] = 0x80;  // r needs a 0x00 pad
    if (shape & 2) {               // s starts with zero bytes
      raw[32] = 0;
      raw[33] = 0;
      raw[34] = 0x05;
    }
    const std::size_t n = ecdsa_raw_to_der(raw, der);
    REQUIRE(ecdsa_der_to_raw(der, n, back));
    CHECK(std::equal(raw, raw + 64, back));
  }
  CHECK_FALSE(ecdsa_der_to_raw(der, 3, back));
}
