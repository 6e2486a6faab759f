// libFuzzer target for keel::auth's JWT verifier: the raw input as a token against a key set; the input split
// in two and turned into a correctly signed token (so the header and claims parsers and the claims DTO reader
// see the fuzzer's bytes); and strict base64url, whose accepted encodings must be canonical.
#include "keel/auth/jwt.hpp"

#include "keel/auth/detail/base64url.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace jwt_fuzz {  // a named namespace: reflection needs types with linkage
struct claims {
  std::string sub;
  std::vector<std::string> roles;
  std::optional<keel::auth::audience> aud;
  std::int64_t exp;
};
}  // namespace jwt_fuzz
using jwt_fuzz::claims;

namespace {

const keel::auth::key_set& keys() {
  static const keel::auth::key_set set{
      keel::auth::jwt_key::hmac(keel::auth::jwt_alg::HS256, std::string(32, 'k'), "hs"),
      keel::auth::jwt_key::generate(keel::auth::jwt_alg::ES256, "ec")};
  return set;
}

void require(bool condition, const char* what) {
  if (!condition) {
    std::fprintf(stderr, "jwt_fuzz invariant failed: %s\n", what);
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  keel::auth::verify_options options;
  options.now = 1'700'000'000;
  options.audience = "api";
  options.critical_headers = {"b64"};

  // 1. the input as a token
  static_cast<void>(keel::auth::verify<claims>(in, keys(), options));

  // 2. header and claims from the input (split at the first NUL or the middle), signed with the HS256 key
  std::size_t cut = in.find('\0');
  if (cut == std::string_view::npos) cut = size / 2;
  const std::string_view header = in.substr(0, cut), payload = in.substr(cut < size ? cut + 1 : cut);
  const std::string input =
      keel::auth::detail::base64url_encode(header) + "." + keel::auth::detail::base64url_encode(payload);
  const std::string token =
      input + "." + keel::auth::detail::base64url_encode(keys().find("hs")->sign(input));
  auto r = keel::auth::verify<claims>(token, keys(), options);
  if (r) require(r.key() == keys().find("hs"), "verified by another key");

  // 3. base64url: whatever decodes re-encodes to the same text
  if (auto decoded = keel::auth::detail::base64url_decode(in))
    require(keel::auth::detail::base64url_encode(*decoded) == in, "a non-canonical encoding was accepted");
  return 0;
}
