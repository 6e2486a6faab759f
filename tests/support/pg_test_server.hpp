// The URL of the PostgreSQL server the tests use: $KEEL_TEST_PG_URL, else the one scripts/pg-test-server
// starts (ctest passes its fixture's command in $KEEL_PG_TEST_COMMAND; it is idempotent).
#pragma once

#include <array>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>

namespace keel_test_support {

inline std::string pg_test_server_url() {
  if (const char* url = std::getenv("KEEL_TEST_PG_URL"); url != nullptr && *url != '\0') return url;
  // By hand (no ctest fixture), run from the source tree.
  const char* given = std::getenv("KEEL_PG_TEST_COMMAND");
  std::string command = given != nullptr ? given : "scripts/pg-test-server start";
  std::FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) throw std::runtime_error("cannot run " + command);
  std::string out;
  std::array<char, 256> buffer{};
  while (std::fgets(buffer.data(), static_cast<int>(buffer.size()), pipe) != nullptr) out += buffer.data();
  if (pclose(pipe) != 0) throw std::runtime_error(command + " failed");
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
  return out;
}

}  // namespace keel_test_support
