// keel::detail::make_tls_context / make_tls_acceptor: HTTPS for basic_server, from the configured
// certificate.
#pragma once

#include "keel/config.hpp"
#include "keel/server/basic_server.hpp"
#include "keel/server/config.hpp"
#include "keel/server/connection.hpp"

#include <asio/ip/tcp.hpp>
#include <asio/ssl/context.hpp>
#include <asio/ssl/stream.hpp>
#include <openssl/ssl.h>

#include <cstring>
#include <memory>
#include <stdexcept>
#include <string>
#include <system_error>
#include <utility>

namespace keel {
inline namespace v0 {
namespace detail {

// Speaks HTTP/1.1 only, so when a client offers ALPN we pick "http/1.1" and never let it assume h2.
inline int select_http11_alpn(SSL*, const unsigned char** out, unsigned char* out_len,
                              const unsigned char* in, unsigned int in_len, void*) {
  static constexpr unsigned char wanted[] = {8, 'h', 't', 't', 'p', '/', '1', '.', '1'};
  for (unsigned int i = 0; i < in_len;) {
    const unsigned int len = in[i];
    if (i + 1 + len > in_len) break;
    if (len == 8 && std::memcmp(in + i, wanted, sizeof wanted) == 0) {
      *out = in + i + 1;
      *out_len = static_cast<unsigned char>(len);
      return SSL_TLSEXT_ERR_OK;
    }
    i += 1 + len;
  }
  return SSL_TLSEXT_ERR_NOACK;
}

// TLS 1.2 and 1.3 only. Throws std::runtime_error naming the file that could not be loaded.
inline asio::ssl::context make_tls_context(const tls_config& tls) {
  asio::ssl::context ctx(asio::ssl::context::tls_server);
  ctx.set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                  asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
                  asio::ssl::context::no_tlsv1_1 | asio::ssl::context::single_dh_use);
  std::error_code ec;
  ctx.use_certificate_chain_file(tls.certificate_file, ec);
  if (ec)
    throw std::runtime_error("keel: cannot load TLS certificate '" + tls.certificate_file +
                             "': " + ec.message());
  const std::string& key = tls.private_key_file.empty() ? tls.certificate_file : tls.private_key_file;
  ctx.use_private_key_file(key, asio::ssl::context::pem, ec);
  if (ec) throw std::runtime_error("keel: cannot load TLS private key '" + key + "': " + ec.message());
  if (SSL_CTX_check_private_key(ctx.native_handle()) != 1)
    throw std::runtime_error("keel: TLS private key '" + key + "' does not match the certificate");
  SSL_CTX_set_alpn_select_cb(ctx.native_handle(), &select_http11_alpn, nullptr);
  return ctx;
}

// Found by basic_server through argument-dependent lookup (see tls_tag): preferred over the fallback that
// refuses TLS because 0 converts to int exactly.
template <class Session, class App>
tls_acceptor<App> make_tls_acceptor(tls_tag, const tls_config& tls, int) {
  using tcp = asio::ip::tcp;
  tls_acceptor<App> out;
  out.context = std::make_shared<asio::ssl::context>(make_tls_context(tls));
  out.start_connection = [](void* context, tcp::socket&& socket, App& app, const server_config& cfg,
                            connection_registry& registry) {
    using stream = asio::ssl::stream<tcp::socket>;
    auto& ssl = *static_cast<asio::ssl::context*>(context);
    (new connection<Session, stream>(stream(std::move(socket), ssl), app, cfg, registry))->start();
  };
  return out;
}

}  // namespace detail
}  // namespace v0
}  // namespace keel
