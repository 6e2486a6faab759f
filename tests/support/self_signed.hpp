// A self-signed certificate (EC P-256) for localhost and 127.0.0.1, made with the openssl CLI in a fresh temp
// directory that is removed with it. Clients trust it with `--cacert cert` (curl) or `cafile=` (Python).
#pragma once

#include "local_server.hpp"

#include <stdlib.h>

#include <filesystem>
#include <stdexcept>
#include <string>
#include <system_error>

namespace keel_test {

struct self_signed {
  std::filesystem::path dir;
  std::string cert, key;  // PEM files in dir

  self_signed() {
    std::string pattern = (std::filesystem::temp_directory_path() / "keel-tls-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("self_signed: mkdtemp failed");
    dir = pattern;
    cert = (dir / "cert.pem").string();
    key = (dir / "key.pem").string();
    const std::string out = run_command(
        "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 -subj "
        "/CN=localhost"
        " -addext subjectAltName=DNS:localhost,IP:127.0.0.1 -keyout " +
        key + " -out " + cert + " 2>&1");
    if (!std::filesystem::exists(cert) || !std::filesystem::exists(key))
      throw std::runtime_error("self_signed: openssl req made no certificate: " + out);
  }
  self_signed(const self_signed&) = delete;
  self_signed& operator=(const self_signed&) = delete;
  ~self_signed() {
    std::error_code ignored;
    std::filesystem::remove_all(dir, ignored);
  }

  // cfg serving TLS with this certificate.
  keel::server_config serve_tls(keel::server_config cfg) const {
    cfg.tls.certificate_file = cert;
    cfg.tls.private_key_file = key;
    return cfg;
  }
};

}  // namespace keel_test
