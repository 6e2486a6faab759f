// One HTTP/1.1 request over a fresh socket (raw_client) and its parsed answer: status, header fields (all of
// them, Set-Cookie included) and body. For tests that look at exact headers and cookies.
#pragma once

#include "raw_client.hpp"

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace keel_test {

struct http_answer {
  int status = 0;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;

  std::string header(std::string_view name) const {
    for (const auto& [n, v] : headers)
      if (iequal(n, name)) return v;
    return {};
  }
  std::vector<std::string> all(std::string_view name) const {
    std::vector<std::string> out;
    for (const auto& [n, v] : headers)
      if (iequal(n, name)) out.push_back(v);
    return out;
  }
  // The value of cookie `name` in this answer's Set-Cookie fields ("" when not set).
  std::string cookie(std::string_view name) const {
    for (const auto& sc : all("Set-Cookie")) {
      if (sc.size() > name.size() && sc.compare(0, name.size(), name) == 0 && sc[name.size()] == '=') {
        const auto end = sc.find(';');
        return sc.substr(name.size() + 1,
                         end == std::string::npos ? std::string::npos : end - name.size() - 1);
      }
    }
    return {};
  }
  std::string set_cookie(std::string_view name) const {
    for (const auto& sc : all("Set-Cookie"))
      if (sc.size() > name.size() && sc.compare(0, name.size(), name) == 0 && sc[name.size()] == '=')
        return sc;
    return {};
  }

  static bool iequal(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
      char x = a[i], y = b[i];
      if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
      if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
      if (x != y) return false;
    }
    return true;
  }
};

inline http_answer parse_answer(const std::string& raw) {
  http_answer a;
  const auto head_end = raw.find("\r\n\r\n");
  if (head_end == std::string::npos || raw.size() < 12) return a;
  a.status = std::stoi(raw.substr(9, 3));
  std::size_t pos = raw.find("\r\n") + 2;
  while (pos < head_end) {
    const auto eol = raw.find("\r\n", pos);
    const std::string line = raw.substr(pos, eol - pos);
    const auto colon = line.find(':');
    if (colon != std::string::npos) {
      std::size_t v = colon + 1;
      while (v < line.size() && line[v] == ' ') ++v;
      a.headers.emplace_back(line.substr(0, colon), line.substr(v));
    }
    pos = eol + 2;
  }
  a.body = raw.substr(head_end + 4);
  return a;
}

// Sends `method path` with the given header lines ("Name: value") and body to 127.0.0.1:port.
inline http_answer exchange(std::uint16_t port, std::string_view method, std::string_view path,
                            const std::vector<std::string>& headers = {}, std::string_view body = {}) {
  raw_client c("127.0.0.1", port);
  if (!c.connected()) return {};
  std::string req;
  req.append(method).append(" ").append(path).append(" HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n");
  for (const auto& h : headers) req.append(h).append("\r\n");
  if (!body.empty() || method == "POST" || method == "PUT" || method == "PATCH")
    req.append("Content-Length: ").append(std::to_string(body.size())).append("\r\n");
  req.append("\r\n").append(body);
  c.send(req);
  std::string out;
  c.read_until_closed(&out);
  return parse_answer(out);
}

}  // namespace keel_test
