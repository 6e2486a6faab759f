// Reading `curl -s -i` output: the status code, one header's value (case-insensitive name), the body.
#pragma once

#include <cctype>
#include <cstdlib>
#include <string>
#include <string_view>

namespace keel_test {

inline std::string header_of(const std::string& response, std::string_view name) {
  std::string lower;
  for (char c : response) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  std::string key = "\r\n";
  for (char c : name) key += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  key += ": ";
  const std::size_t at = lower.find(key);
  if (at == std::string::npos) return {};
  const std::size_t from = at + key.size();
  return response.substr(from, response.find("\r\n", from) - from);
}
inline int status_of(const std::string& response) {
  return response.size() > 12 ? std::atoi(response.c_str() + 9) : 0;
}
inline std::string body_of(const std::string& response) {
  const std::size_t at = response.find("\r\n\r\n");
  return at == std::string::npos ? std::string() : response.substr(at + 4);
}

}  // namespace keel_test
