// JWT and password-hashing micro-benchmarks (Google Benchmark): sign and verify per algorithm for a typical
// access token, the HMAC variants (per-thread keyed EVP_MAC context vs OpenSSL's one-shot HMAC()), and one
// Argon2id hash/verify with the default (OWASP) parameters. benchmarks/jwt.sh runs it next to jose's numbers.
#include "keel/auth/jwt.hpp"
#include "keel/auth/password.hpp"

#include <benchmark/benchmark.h>

#include <cstdint>
#include <string>
#include <vector>

namespace jwt_bench {  // a named namespace: reflection needs types with linkage

struct claims {  // a typical access token's claims (~200 bytes of JSON)
  std::string sub;
  std::string username;
  std::vector<std::string> roles;
  std::int64_t iat, exp;
  std::string iss, aud;
};

}  // namespace jwt_bench
using jwt_bench::claims;

namespace {

claims sample() {
  const auto now = keel::auth::unix_now();
  return {"8c2f6d0e-5b1a-4c39-9f0b-2d7e4a1c9b33",
          "alice",
          {"user", "admin"},
          now,
          now + 3600,
          "https://auth.example.com",
          "https://api.example.com"};
}

keel::auth::verify_options options() {
  keel::auth::verify_options o;
  o.issuer = "https://auth.example.com";
  o.audience = "https://api.example.com";
  return o;
}

const keel::auth::jwt_key& key_for(keel::auth::jwt_alg alg) {
  static std::vector<keel::auth::jwt_key> keys = [] {
    std::vector<keel::auth::jwt_key> k;
    for (auto a : {keel::auth::jwt_alg::HS256, keel::auth::jwt_alg::HS384, keel::auth::jwt_alg::HS512,
                   keel::auth::jwt_alg::RS256, keel::auth::jwt_alg::PS256, keel::auth::jwt_alg::ES256,
                   keel::auth::jwt_alg::EdDSA})
      k.push_back(keel::auth::jwt_key::generate(a, "bench-" + std::string(to_string(a))));
    return k;
  }();
  return keys[static_cast<std::size_t>(alg)];
}

void BM_sign(benchmark::State& state) {
  const auto alg = static_cast<keel::auth::jwt_alg>(state.range(0));
  const auto& key = key_for(alg);
  const claims c = sample();
  for (auto _ : state) benchmark::DoNotOptimize(keel::auth::sign(c, key));
  state.SetLabel(std::string(to_string(alg)));
}

void BM_verify(benchmark::State& state) {
  const auto alg = static_cast<keel::auth::jwt_alg>(state.range(0));
  const auto& key = key_for(alg);
  const std::string token = keel::auth::sign(sample(), key);
  const auto opts = options();
  for (auto _ : state) {
    auto r = keel::auth::verify<claims>(token, key, opts);
    if (!r) state.SkipWithError("verification failed");
    benchmark::DoNotOptimize(r);
  }
  state.SetLabel(std::string(to_string(alg)) + ", " + std::to_string(token.size()) + " B token");
}

// HS256 verification parts: the MAC alone, with the cached keyed context keel uses and with HMAC().
void BM_hs256_mac_cached(benchmark::State& state) {
  const auto& key = key_for(keel::auth::jwt_alg::HS256);
  const std::string token = keel::auth::sign(sample(), key);
  const std::string_view input(token.data(), token.rfind('.'));
  unsigned char mac[64];
  const auto secret = key.secret_bytes();
  for (auto _ : state) {
    benchmark::DoNotOptimize(
        keel::auth::detail::hmac_compute(1u << 30, keel::auth::jwt_alg::HS256, secret, input, mac));
  }
}
void BM_hs256_mac_oneshot(benchmark::State& state) {
  const auto& key = key_for(keel::auth::jwt_alg::HS256);
  const std::string token = keel::auth::sign(sample(), key);
  const std::string_view input(token.data(), token.rfind('.'));
  unsigned char mac[64];
  const auto secret = key.secret_bytes();
  for (auto _ : state)
    benchmark::DoNotOptimize(
        keel::auth::detail::hmac_oneshot(keel::auth::jwt_alg::HS256, secret, input, mac));
}

void BM_argon2id_hash_default(benchmark::State& state) {
  for (auto _ : state)
    benchmark::DoNotOptimize(keel::auth::hash_password_sync("correct horse battery staple"));
  state.SetLabel("m=19456 KiB, t=2, p=1");
}
void BM_argon2id_verify_default(benchmark::State& state) {
  const std::string hash = keel::auth::hash_password_sync("correct horse battery staple");
  for (auto _ : state)
    benchmark::DoNotOptimize(keel::auth::verify_password_sync("correct horse battery staple", hash));
  state.SetLabel("m=19456 KiB, t=2, p=1");
}

}  // namespace

BENCHMARK(BM_sign)->DenseRange(0, 6);
BENCHMARK(BM_verify)->DenseRange(0, 6);
BENCHMARK(BM_hs256_mac_cached);
BENCHMARK(BM_hs256_mac_oneshot);
BENCHMARK(BM_argon2id_hash_default)->Unit(benchmark::kMillisecond)->Iterations(20);
BENCHMARK(BM_argon2id_verify_default)->Unit(benchmark::kMillisecond)->Iterations(20);
BENCHMARK_MAIN();
