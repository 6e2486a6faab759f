// keel::response: status, headers and body of one HTTP response.
//
// The connection keeps one response per request slot and reuses it, so its buffers keep their capacity and a
// steady-state request allocates nothing. Content-Length, Date, Server and Connection are written by the
// response writer, never stored here: the writer is the only place that can get them right.
#pragma once

#include "keel/config.hpp"
#include "keel/http/status.hpp"

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>

namespace keel::inline v0 {

namespace detail {
constexpr char ascii_lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }
constexpr bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (ascii_lower(a[i]) != ascii_lower(b[i])) return false;
  return true;
}
}  // namespace detail

class response {
 public:
  response() = default;
  explicit response(http::status s) : status_(s) {}
  response(http::status s, std::string body, std::string_view content_type = "text/plain; charset=utf-8")
      : status_(s), body_(std::move(body)) {
    this->content_type(content_type);
  }

  // --- status
  http::status status() const { return status_; }
  response& status(http::status s) {
    status_ = s;
    return *this;
  }
  int status_code() const { return http::to_int(status_); }

  // --- headers (kept pre-formatted as "Name: value\r\n" lines, written verbatim)
  // Adds a header line. Several lines with the same name are allowed (Set-Cookie). Names the writer owns
  // (Content-Length, Transfer-Encoding, Date, Connection) are ignored: see set_close() for Connection.
  response& header(std::string_view name, std::string_view value) {
    if (is_writer_owned(name)) return *this;
    headers_.append(name).append(": ").append(value).append("\r\n");
    return *this;
  }
  // Replaces every line named `name` with one line (or adds it).
  response& set_header(std::string_view name, std::string_view value) {
    remove_header(name);
    return header(name, value);
  }
  // The first value of header `name` (case-insensitive), or "" when absent.
  std::string_view header(std::string_view name) const {
    std::string_view rest = headers_;
    while (!rest.empty()) {
      auto eol = rest.find("\r\n");
      auto line = rest.substr(0, eol);
      auto colon = line.find(':');
      if (colon != std::string_view::npos && detail::iequals(line.substr(0, colon), name)) {
        auto v = line.substr(colon + 1);
        while (!v.empty() && v.front() == ' ') v.remove_prefix(1);
        return v;
      }
      rest.remove_prefix(eol + 2);
    }
    return {};
  }
  bool has_header(std::string_view name) const {
    std::string_view rest = headers_;
    while (!rest.empty()) {
      auto eol = rest.find("\r\n");
      auto colon = rest.find(':');
      if (colon < eol && detail::iequals(rest.substr(0, colon), name)) return true;
      rest.remove_prefix(eol + 2);
    }
    return false;
  }
  void remove_header(std::string_view name) {
    std::size_t pos = 0;
    while (pos < headers_.size()) {
      auto eol = headers_.find("\r\n", pos);
      auto colon = headers_.find(':', pos);
      if (colon < eol && detail::iequals(std::string_view(headers_).substr(pos, colon - pos), name)) {
        headers_.erase(pos, eol + 2 - pos);
      } else {
        pos = eol + 2;
      }
    }
  }
  // All header lines, "Name: value\r\n" each.
  std::string_view header_block() const { return headers_; }

  response& content_type(std::string_view type) { return set_header("Content-Type", type); }

  // --- body
  response& body(std::string_view b) {
    body_.assign(b.data(), b.size());
    return *this;
  }
  response& body(std::string&& b) {
    body_ = std::move(b);
    return *this;
  }
  response& body(const char* b) { return body(std::string_view(b)); }
  std::string_view body() const { return body_; }
  // The body buffer itself, for writers that append (JSON encoders, templates).
  std::string& body_buffer() { return body_; }

  // --- connection
  // Ask the server to close the connection after this response ("Connection: close").
  response& set_close(bool close = true) {
    close_ = close;
    return *this;
  }
  bool close() const { return close_; }

  // Back to a fresh 200 with no headers and no body, keeping the buffers' capacity.
  void reset() {
    status_ = http::status::ok;
    headers_.clear();
    body_.clear();
    close_ = false;
  }

  static response text(std::string body, http::status s = http::status::ok) {
    return response(s, std::move(body), "text/plain; charset=utf-8");
  }
  static response html(std::string body, http::status s = http::status::ok) {
    return response(s, std::move(body), "text/html; charset=utf-8");
  }
  // `body` must already be JSON text.
  static response json_text(std::string body, http::status s = http::status::ok) {
    return response(s, std::move(body), "application/json");
  }
  static response redirect(std::string_view location, http::status s = http::status::found) {
    response r(s);
    r.header("Location", location);
    return r;
  }

 private:
  static bool is_writer_owned(std::string_view name) {
    return detail::iequals(name, "Content-Length") || detail::iequals(name, "Transfer-Encoding") ||
           detail::iequals(name, "Date") || detail::iequals(name, "Connection");
  }

  http::status status_ = http::status::ok;
  bool close_ = false;
  std::string headers_;
  std::string body_;
};

}  // namespace keel::inline v0
