// keel::client_options, client_request, client_response, client_error: what keel::http_client takes and
// gives.
#pragma once

#include "keel/config.hpp"
#include "keel/http/response.hpp"  // detail::iequals
#include "keel/http/method.hpp"
#include "keel/json/reader.hpp"
#include "keel/json/writer.hpp"

#include <chrono>
#include <cstddef>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace keel {
inline namespace v0 {

struct client_timeouts {
  std::chrono::milliseconds connect{10'000};  // resolving, TCP connect and the TLS handshake
  std::chrono::milliseconds read{30'000};     // the longest wait for any one read or write
  std::chrono::milliseconds total{
      60'000};  // the whole exchange, redirects and a stale-connection retry included
};

struct client_options {
  client_timeouts timeout{};
  // A PEM file of extra trusted certificates (a private CA), used next to the system's trust store.
  std::string ca_file{};
  // Checks the server certificate against the trust store and the URL's host name (or IP address). Off only
  // for tests that know why.
  bool verify_peer = true;
  std::size_t max_idle_per_host = 8;               // kept-alive connections waiting for reuse, per origin
  std::chrono::milliseconds idle_timeout{30'000};  // an idle connection older than this is closed, not reused
  std::size_t max_response_bytes = 64 * 1024 * 1024;  // a larger body fails with client_error_kind::too_large
  std::size_t max_header_bytes = 64 * 1024;
  std::string user_agent = "keel";
};

enum class client_error_kind {
  invalid_url,         // not an http(s) URL, or a header with CR/LF
  connect,             // resolving or connecting failed
  tls,                 // handshake or certificate check failed
  timeout,             // a connect, read, write or total deadline passed
  closed,              // the connection failed or closed before a response
  protocol,            // a malformed response
  too_large,           // over max_response_bytes
  too_many_redirects,  // more than client_request::max_redirects
  bad_body,            // client_response::json<T>() could not read the body
  smtp,                // an SMTP server refused a command (keel/smtp.hpp)
};

// Why a request failed: no response, or none that may be used.
class client_error : public std::runtime_error {
 public:
  client_error(client_error_kind k, const std::string& what) : std::runtime_error(what), kind_(k) {}
  client_error_kind kind() const noexcept { return kind_; }

 private:
  client_error_kind kind_;
};

struct client_request {
  http::method method = http::method::get;
  std::string url{};
  std::vector<std::pair<std::string, std::string>> headers{};
  std::string body{};
  // Follow 301, 302, 303, 307 and 308 up to this many times (0: return the redirect itself). 303, and 301/302
  // after a POST, continue as GET without the body; Authorization, Cookie and Proxy-Authorization are dropped
  // when the redirect leaves the origin.
  int max_redirects = 0;

  client_request& header(std::string name, std::string value) {
    headers.emplace_back(std::move(name), std::move(value));
    return *this;
  }
  // The DTO as the JSON body (keel's JSON layer), with Content-Type: application/json.
  template <class T>
  client_request& json(const T& dto) {
    body.clear();
    json_io::write(body, dto);
    return header("Content-Type", "application/json");
  }
};

struct client_response {
  int status = 0;
  std::vector<std::pair<std::string, std::string>> headers{};
  std::string body{};
  std::string url{};  // the URL that answered (after redirects)
  int redirects = 0;  // how many were followed

  // The first value of `name` (case-insensitive), "" when absent.
  std::string_view header(std::string_view name) const noexcept {
    for (const auto& [n, v] : headers)
      if (detail::iequals(n, name)) return v;
    return {};
  }
  bool ok() const noexcept { return status >= 200 && status < 300; }
  // The body read as a DTO through keel's JSON layer; throws client_error (bad_body) naming what was wrong.
  template <class T>
  T json() const {
    auto result = json_io::read<T>(body);
    if (!result) {
      std::string why = "keel: the response body is not the expected JSON";
      for (const auto& e : result.errors())
        why += "; " + (e.path.empty() ? std::string("(document)") : e.path) + ": " + e.reason;
      throw client_error(client_error_kind::bad_body, why);
    }
    return std::move(result).value();
  }
};

}  // namespace v0
}  // namespace keel
