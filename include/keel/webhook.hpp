// keel::webhook: signed webhooks, outgoing and incoming.
//
// The signature is HMAC-SHA256 over "<unix timestamp>.<body>" with a shared secret, sent as
//     Keel-Signature: t=1733390000,v1=<64 lowercase hex digits>
// A receiver recomputes it, compares in constant time, and refuses timestamps outside a tolerance (replays).
// Several v1= entries may be present (the sender signing with an old and a new secret while rotating them);
// one match is enough.
//
//   keel::webhook::sign(secret, body)                        -> the header value, for now
//   keel::webhook::verify(secret, header_value, body)        -> verify_status::ok, or why not
//   .use(keel::webhook::verify_signature{secret})            -> 401 in keel's JSON error shape unless signed
//   co_await keel::webhook::deliver(client, url, secret, body) -> delivery_result for a job's retry logic
//
// The HMAC is computed inline (microseconds for webhook-sized bodies), not on the worker pool.
#pragma once

#include "keel/config.hpp"
#include "keel/error.hpp"
#include "keel/http_client.hpp"
#include "keel/middleware/middleware.hpp"
#include "keel/task.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <array>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace keel {
inline namespace v0 {
namespace webhook {

inline constexpr std::string_view signature_header = "Keel-Signature";
inline constexpr std::chrono::seconds default_tolerance{300};

inline std::int64_t unix_now() noexcept {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

namespace detail {

using mac_bytes = std::array<unsigned char, 32>;

inline mac_bytes hmac_sha256(std::string_view secret, std::int64_t timestamp, std::string_view body) {
  const std::string prefix = std::to_string(timestamp) + ".";
  mac_bytes out{};
  std::unique_ptr<EVP_MAC, decltype(&EVP_MAC_free)> mac(EVP_MAC_fetch(nullptr, "HMAC", nullptr),
                                                        &EVP_MAC_free);
  std::unique_ptr<EVP_MAC_CTX, decltype(&EVP_MAC_CTX_free)> ctx(mac ? EVP_MAC_CTX_new(mac.get()) : nullptr,
                                                                &EVP_MAC_CTX_free);
  char digest[] = "SHA256";
  const OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string("digest", digest, 0),
                               OSSL_PARAM_construct_end()};
  std::size_t length = 0;
  const bool ok =
      ctx &&
      EVP_MAC_init(ctx.get(), reinterpret_cast<const unsigned char*>(secret.data()), secret.size(), params) ==
          1 &&
      EVP_MAC_update(ctx.get(), reinterpret_cast<const unsigned char*>(prefix.data()), prefix.size()) == 1 &&
      EVP_MAC_update(ctx.get(), reinterpret_cast<const unsigned char*>(body.data()), body.size()) == 1 &&
      EVP_MAC_final(ctx.get(), out.data(), &length, out.size()) == 1 && length == out.size();
  if (!ok) throw std::runtime_error("keel: HMAC-SHA256 failed (OpenSSL)");
  return out;
}

inline std::string to_hex(const mac_bytes& bytes) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (const unsigned char b : bytes) {
    out += digits[b >> 4];
    out += digits[b & 15];
  }
  return out;
}

inline bool from_hex(std::string_view hex, mac_bytes& out) noexcept {
  if (hex.size() != out.size() * 2) return false;
  auto value = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  for (std::size_t i = 0; i < out.size(); ++i) {
    const int hi = value(hex[2 * i]), lo = value(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return false;
    out[i] = static_cast<unsigned char>(hi * 16 + lo);
  }
  return true;
}

inline std::string_view trim(std::string_view s) noexcept {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace detail

// The hex HMAC-SHA256 of "<timestamp>.<body>".
inline std::string signature(std::string_view secret, std::int64_t timestamp, std::string_view body) {
  return detail::to_hex(detail::hmac_sha256(secret, timestamp, body));
}

// The Keel-Signature header value for `body` signed at `timestamp` (default: now).
inline std::string sign(std::string_view secret, std::string_view body, std::int64_t timestamp = unix_now()) {
  return "t=" + std::to_string(timestamp) + ",v1=" + signature(secret, timestamp, body);
}

enum class verify_status { ok, missing, malformed, expired, mismatch };

inline std::string_view to_string(verify_status s) noexcept {
  switch (s) {
    case verify_status::ok:
      return "ok";
    case verify_status::missing:
      return "missing Keel-Signature header";
    case verify_status::malformed:
      return "malformed Keel-Signature header";
    case verify_status::expired:
      return "signature timestamp outside the tolerance";
    case verify_status::mismatch:
      return "signature does not match";
  }
  return "?";
}

// Checks a Keel-Signature header value against `body`: the timestamp within `tolerance` of `now` (either
// side), and one v1= signature equal, compared in constant time.
inline verify_status verify(std::string_view secret, std::string_view header, std::string_view body,
                            std::chrono::seconds tolerance = default_tolerance,
                            std::int64_t now = unix_now()) {
  header = detail::trim(header);
  if (header.empty()) return verify_status::missing;
  std::int64_t timestamp = 0;
  bool have_time = false;
  std::vector<detail::mac_bytes> candidates;
  while (!header.empty()) {
    const std::size_t comma = header.find(',');
    const std::string_view item = detail::trim(header.substr(0, comma));
    header = comma == std::string_view::npos ? std::string_view{} : header.substr(comma + 1);
    const std::size_t eq = item.find('=');
    if (eq == std::string_view::npos) return verify_status::malformed;
    const std::string_view key = item.substr(0, eq), value = item.substr(eq + 1);
    if (key == "t") {
      const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), timestamp);
      if (ec != std::errc{} || end != value.data() + value.size() || have_time || value.empty())
        return verify_status::malformed;
      have_time = true;
    } else if (key == "v1") {
      detail::mac_bytes mac{};
      if (!detail::from_hex(value, mac)) return verify_status::malformed;
      candidates.push_back(mac);
    }  // other schemes (v0, v2, ...) are ignored, so a sender may add one later
  }
  if (!have_time || candidates.empty()) return verify_status::malformed;
  const std::int64_t skew = now > timestamp ? now - timestamp : timestamp - now;
  if (skew > tolerance.count()) return verify_status::expired;
  const detail::mac_bytes expected = detail::hmac_sha256(secret, timestamp, body);
  bool match = false;
  for (const auto& candidate :
       candidates)  // every candidate is compared: the time does not tell which matched
    match |= CRYPTO_memcmp(candidate.data(), expected.data(), expected.size()) == 0;
  return match ? verify_status::ok : verify_status::mismatch;
}

// Incoming webhooks: `.use(keel::webhook::verify_signature{secret})` on a route or group. A request without a
// valid Keel-Signature over its buffered body is answered 401 (code "invalid_signature") in keel's JSON error
// shape before the handler runs. Several secrets may be accepted while rotating them.
class verify_signature {
 public:
  explicit verify_signature(std::string secret, std::chrono::seconds tolerance = default_tolerance)
      : secrets_(
            std::make_shared<const std::vector<std::string>>(std::vector<std::string>{std::move(secret)})),
        tolerance_(tolerance) {}
  explicit verify_signature(std::vector<std::string> secrets,
                            std::chrono::seconds tolerance = default_tolerance)
      : secrets_(std::make_shared<const std::vector<std::string>>(std::move(secrets))),
        tolerance_(tolerance) {}

  template <class Ctx>
  flow before(Ctx& ctx) const {
    const auto& request = ctx.request();
    const std::string_view header = request.header(signature_header);
    verify_status status = verify_status::mismatch;
    for (const std::string& secret : *secrets_) {
      status = verify(secret, header, request.body, tolerance_);
      if (status != verify_status::mismatch) break;  // ok, or a problem no other secret changes
    }
    if (status == verify_status::ok) return flow::next;
    ctx.fail(http_error(http::status::unauthorized, std::string(to_string(status)), "invalid_signature"));
    return flow::respond;
  }

 private:
  std::shared_ptr<const std::vector<std::string>> secrets_;
  std::chrono::seconds tolerance_;
};

// What one delivery attempt came to, for the job that retries it.
struct delivery_result {
  enum class outcome {
    delivered,  // 2xx
    retry,      // worth another attempt: a network failure or timeout, 408, 425, 429 or 5xx
    give_up,    // another attempt would fail the same way: other 4xx, a bad URL, a redirect loop
  };
  outcome result = outcome::give_up;
  int status = 0;                       // the HTTP status, 0 when no response came
  std::string error{};                  // why, when not delivered
  std::chrono::seconds retry_after{0};  // the receiver's Retry-After (delta-seconds form), 0 when absent

  bool delivered() const noexcept { return result == outcome::delivered; }
  bool retryable() const noexcept { return result == outcome::retry; }
};

namespace detail {

inline delivery_result classify(const client_response& r) {
  delivery_result out;
  out.status = r.status;
  if (r.ok()) {
    out.result = delivery_result::outcome::delivered;
    return out;
  }
  const bool transient = r.status == 408 || r.status == 425 || r.status == 429 || r.status >= 500;
  out.result = transient ? delivery_result::outcome::retry : delivery_result::outcome::give_up;
  out.error = "the receiver answered " + std::to_string(r.status);
  const std::string_view after = r.header("Retry-After");
  unsigned seconds = 0;
  const auto [end, ec] = std::from_chars(after.data(), after.data() + after.size(), seconds);
  if (!after.empty() && ec == std::errc{} && end == after.data() + after.size())
    out.retry_after = std::chrono::seconds(seconds);
  return out;
}

inline delivery_result classify(const client_error& e) {
  delivery_result out;
  const bool permanent =
      e.kind() == client_error_kind::invalid_url || e.kind() == client_error_kind::too_many_redirects;
  out.result = permanent ? delivery_result::outcome::give_up : delivery_result::outcome::retry;
  out.error = e.what();
  return out;
}

}  // namespace detail

// One signed POST of `body` (Content-Type: application/json unless `headers` say otherwise) to `url`. Never
// throws for a failed delivery: the result says whether to retry. This is the seam for delivery "as a job
// with retries": the job calls deliver() per attempt and reschedules while retryable(), honouring
// retry_after, and stops on delivered() or give_up. Each attempt is signed afresh (a new timestamp), so a
// retry hours later still verifies.
inline task<delivery_result> deliver(http_client& client, std::string url, std::string secret,
                                     std::string body,
                                     std::vector<std::pair<std::string, std::string>> headers = {}) {
  client_request request;
  request.method = http::method::post;
  request.url = std::move(url);
  bool has_type = false;
  for (auto& [name, value] : headers) {
    has_type |= keel::detail::iequals(name, "Content-Type");
    request.header(std::move(name), std::move(value));
  }
  if (!has_type) request.header("Content-Type", "application/json");
  request.header(std::string(signature_header), sign(secret, body));
  request.body = std::move(body);
  std::optional<client_error> failure;
  std::optional<client_response> response;
  try {
    task<client_response> sending = client.send(std::move(request));
    response.emplace(co_await std::move(sending));
  } catch (const client_error& e) {
    failure.emplace(e);
  }
  if (failure) co_return detail::classify(*failure);
  co_return detail::classify(*response);
}

}  // namespace webhook
}  // namespace v0
}  // namespace keel
