// keel::detail::make_client_tls_context: the OpenSSL context outgoing connections (HTTP client, SMTP) use:
// TLS 1.2 and 1.3, the system trust store plus an optional CA file, peer verification on unless turned off.
#pragma once

#include "keel/config.hpp"
#include "keel/client/types.hpp"

#include <asio/ssl/context.hpp>

#include <string>
#include <system_error>

namespace keel {
inline namespace v0 {
namespace detail {

inline asio::ssl::context make_client_tls_context(const std::string& ca_file, bool verify_peer) {
  asio::ssl::context ctx(asio::ssl::context::tls_client);
  ctx.set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                  asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
                  asio::ssl::context::no_tlsv1_1);
  std::error_code ec;
  ctx.set_default_verify_paths(ec);  // no system store is not an error: a CA file may still be given
  if (!ca_file.empty()) {
    ctx.load_verify_file(ca_file, ec);
    if (ec)
      throw client_error(client_error_kind::tls,
                         "keel: cannot load CA file '" + ca_file + "': " + ec.message());
  }
  ctx.set_verify_mode(verify_peer ? asio::ssl::verify_peer : asio::ssl::verify_none);
  return ctx;
}

}  // namespace detail
}  // namespace v0
}  // namespace keel
