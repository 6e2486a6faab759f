// test_ca: a throwaway certificate authority and a server certificate it signed, made with the openssl CLI in
// a fresh temporary directory (removed afterwards). For tests of outgoing TLS: a client trusting ca_cert
// accepts the server; one that does not, or that expects another host name, refuses it.
#pragma once

#include "local_server.hpp"

#include <catch2/catch.hpp>

#include <cstdlib>
#include <filesystem>
#include <string>

namespace keel_test {

struct test_ca {
  std::filesystem::path dir;
  std::string ca_cert, ca_key, cert, key;

  // `san`: the server certificate's subjectAltName, e.g. "DNS:localhost" or "DNS:localhost,IP:127.0.0.1".
  explicit test_ca(const std::string& san = "DNS:localhost") {
    std::string pattern = (std::filesystem::temp_directory_path() / "keel-ca-XXXXXX").string();
    REQUIRE(::mkdtemp(pattern.data()) != nullptr);
    dir = pattern;
    ca_cert = (dir / "ca.pem").string();
    ca_key = (dir / "ca-key.pem").string();
    cert = (dir / "server.pem").string();
    key = (dir / "server-key.pem").string();
    const std::string d = dir.string();
    const std::string script =
        "set -e; cd " + d +
        "; openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj '/CN=keel "
        "test CA'"
        " -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign"
        " -keyout ca-key.pem -out ca.pem"
        "; openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj /CN=server"
        " -keyout server-key.pem -out server.csr"
        "; printf 'subjectAltName=" +
        san +
        "\\nbasicConstraints=CA:FALSE\\nextendedKeyUsage=serverAuth\\n' > ext.cnf"
        "; openssl x509 -req -in server.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial -days 2"
        " -extfile ext.cnf -out server.pem";
    run_command("sh -c \"" + script + "\" >" + d + "/openssl.log 2>&1");
    REQUIRE(std::filesystem::exists(ca_cert));
    REQUIRE(std::filesystem::exists(cert));
    REQUIRE(std::filesystem::exists(key));
  }
  test_ca(const test_ca&) = delete;
  test_ca& operator=(const test_ca&) = delete;
  ~test_ca() {
    std::error_code ignored;
    std::filesystem::remove_all(dir, ignored);
  }
};

}  // namespace keel_test
