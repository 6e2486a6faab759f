// What the server tests share: a server_config for 127.0.0.1 on a free port with signals left alone, and
// running a shell command (curl, openssl, python3) for its output.
#pragma once

#include "keel/server/config.hpp"

#include <cstdio>
#include <string>

namespace keel_test {

inline keel::server_config local_config(unsigned threads = 1) {
  keel::server_config cfg;
  cfg.host = "127.0.0.1";
  cfg.port = 0;
  cfg.threads = threads;
  cfg.workers = 2;
  cfg.handle_signals = false;
  return cfg;
}

// The command's standard output (stderr as the command redirects it).
inline std::string run_command(const std::string& command) {
  std::string out;
  if (FILE* p = ::popen(command.c_str(), "r")) {
    char buf[512];
    while (std::fgets(buf, sizeof buf, p) != nullptr) out += buf;
    ::pclose(p);
  }
  return out;
}

}  // namespace keel_test
